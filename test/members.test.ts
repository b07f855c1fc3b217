// Member events through HTTP (SPEC §5 join rule, SPEC §6): the platform reports a join with its
// decision-API token; a token.use without joined_at then follows the join rule, also after a restart; in
// require_approval mode the user's unapproved apps are recorded blocked for them; admins read a member.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, openStore, parseRfc3339 } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig } from '../server/config.ts';
import { adminTokens, asAdmin } from './support/admins.ts';

const root = join(import.meta.dirname, '..');
const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PEOPLE = {
  super_admin: 'hank.scorpio@globex.example',
  admin: 'frank.grimes@globex.example',
  member: 'ann@globex.example',
  other_org_admin: 'dana.whitfield@acme.example',
} as const;
type Who = keyof typeof PEOPLE;
const ADMIN_TOKENS = adminTokens(PEOPLE);
const PLATFORM = 'platform-token-0123456789';

const at = (t: string) => parseRfc3339(t) as number;

async function setup(existing?: { dir: string; db: string }) {
  let dir = existing?.dir;
  let db = existing?.db;
  if (!dir || !db) {
    const tmp = mkdtempSync(join(tmpdir(), 'appwarden-members-'));
    dirs.push(tmp);
    dir = join(tmp, 'repo');
    db = join(tmp, 'state.db');
    cpSync(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  }
  let now = at('2026-06-01T00:00:00Z');
  const store = openStore(db);
  const engine = createEngine({ policyDir: dir, store, clock: () => now });
  await engine.load();
  const app = createApp({
    engine,
    config: { ...defaultConfig, adminTokens: ADMIN_TOKENS, tokenSha256: [sha256Hex(PLATFORM)] },
    store,
  });
  const post = (path: string, body: unknown, token = PLATFORM) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  const joined = (body: unknown, token = PLATFORM) =>
    post('/v1/orgs/globex.example/events/member-joined', body, token);
  const decide = async (body: unknown) => {
    const res = await post('/access/v1/evaluation', body);
    assert.is(res.status, 200);
    return ((await res.json()) as { context: { reason: { code: string } } }).context.reason.code;
  };
  const admin = (path: string, who: Who = 'super_admin') =>
    app.request(`/admin/v1/orgs/globex.example${path}`, {
      headers: { ...asAdmin(who) },
    });
  const close = async () => {
    engine.close();
    await store.close();
  };
  return { dir, db, store, engine, app, joined, decide, admin, close, setNow: (t: number) => (now = t) };
}

const patUse = (user: string, created: string, extra: Record<string, unknown> = {}) => ({
  subject: { type: 'user', id: user, properties: { email: 'u7@globex.example', role: 'member', ...extra } },
  action: { name: 'token.use' },
  resource: {
    type: 'token',
    id: `pat-${user}`,
    properties: { kind: 'personal_access', created_at: created, owner: user },
  },
  context: { org: 'globex.example' },
});

test('a reported join applies the join rule to token.use that lacks joined_at, also after a restart', async () => {
  // Globex's 90d expiration went live at 2026-06-01 (the first load); the PAT predates the join.
  const s = await setup();
  s.setNow(at('2026-06-20T00:00:00Z'));
  assert.is(await s.decide(patUse('U7', '2026-05-01T00:00:00Z')), 'allowed');
  const res = await s.joined({ user: 'U7', role: 'member', joined_at: '2026-06-10T00:00:00Z', apps: [] });
  assert.is(res.status, 200);
  const body = (await res.json()) as { member: Record<string, unknown>; blocked_apps: unknown[] };
  assert.equal(
    [body.member.user, body.member.role, body.member.joined_at],
    ['U7', 'member', '2026-06-10T00:00:00Z'],
  );
  assert.is(await s.decide(patUse('U7', '2026-05-01T00:00:00Z')), 'token_expired');
  // A token created after the join, and a caller's own joined_at, are not touched.
  assert.is(await s.decide(patUse('U7', '2026-06-11T00:00:00Z')), 'allowed');
  assert.is(
    await s.decide(patUse('U7', '2026-05-01T00:00:00Z', { joined_at: '2026-04-01T00:00:00Z' })),
    'allowed',
  );
  assert.is(await s.decide(patUse('U8', '2026-05-01T00:00:00Z')), 'allowed', 'another user');
  await s.close();

  const again = await setup({ dir: s.dir, db: s.db });
  again.setNow(at('2026-06-20T00:00:00Z'));
  try {
    assert.is(await again.decide(patUse('U7', '2026-05-01T00:00:00Z')), 'token_expired');
  } finally {
    await again.close();
  }
});

test('require_approval: the unapproved apps of a joining user are recorded blocked for them', async () => {
  const s = await setup();
  try {
    // Globex approves Slack (A0F7XDUAZ); Trello and Miro are not approved.
    const res = await s.joined({
      user: 'G1',
      role: 'guest',
      joined_at: '2026-05-31T12:00:00Z',
      apps: ['A0F7XDUAZ', 'trello-board', '3458764513820540928', 'trello-board'],
    });
    assert.is(res.status, 200);
    const read = await s.admin('/members/G1', 'admin');
    assert.is(read.status, 200);
    const m = (await read.json()) as {
      member: { role: string };
      blocked_apps: { app: string; at: string }[];
    };
    assert.is(m.member.role, 'guest');
    assert.equal(m.blocked_apps.map((b) => b.app).sort(), ['3458764513820540928', 'trello-board']);
    assert.match(m.blocked_apps[0]?.at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  } finally {
    await s.close();
  }
});

test('member events: bad bodies name the field; tokens and roles are checked', async () => {
  const s = await setup();
  try {
    const bad = await s.joined({ user: 7, role: 'owner', joined_at: '2026-06-10', apps: [1], extra: true });
    assert.is(bad.status, 400);
    const err = ((await bad.json()) as { error: { problems: { field: string }[] } }).error;
    assert.equal(err.problems.map((p) => p.field).sort(), [
      '/apps/0',
      '/extra',
      '/joined_at',
      '/role',
      '/user',
    ]);
    const good = { user: 'U1', role: 'member', joined_at: '2026-06-10T00:00:00Z' };
    // Ids and the address are stored and shown to admins: the decision API's character and secret checks.
    const hostile = await s.joined({
      ...good,
      user: 'U1\u0007',
      apps: ['ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
      email: 'g\u0000@x.example',
    });
    assert.is(hostile.status, 400);
    const herr = ((await hostile.json()) as { error: { problems: { field: string }[] } }).error;
    assert.equal(herr.problems.map((p) => p.field).sort(), ['/apps/0', '/email', '/user']);
    assert.is((await s.joined(good, 'wrong-token')).status, 401);
    assert.is(
      (await s.joined(good, 'tok-super_admin-0123456789')).status,
      403,
      'an admin token is not the platform',
    );
    const unknown = await s.app.request('/v1/orgs/nowhere.example/events/member-joined', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PLATFORM}` },
      body: JSON.stringify(good),
    });
    assert.is(unknown.status, 404);
    assert.is((await s.joined(good)).status, 200);
    for (const who of Object.keys(PEOPLE) as Who[]) {
      const res = await s.admin('/members/U1', who);
      assert.is(res.status, who === 'super_admin' || who === 'admin' ? 200 : 403, who);
    }
    assert.is((await s.admin('/members/nobody')).status, 404);
  } finally {
    await s.close();
  }
});

test.run();
