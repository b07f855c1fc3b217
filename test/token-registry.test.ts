// The token registry through HTTP (SPEC §5, §6): tokens registered by token.create (with an id) and on first
// token.use, in the decision log's commit; listing with filters; revocation by super admins only, idempotent,
// taking effect on the next use and across a restart; the PAT sweep when a revision turns PATs off.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tokenExpiry } from '../engine/history.ts';
import { createEngine, type Engine, formatRfc3339, openStore, type Store } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { defaultConfig } from '../server/config.ts';
import { ACME_PEOPLE, adminTokens, asAdmin } from './support/admins.ts';

const root = join(import.meta.dirname, '..');
const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PEOPLE = ACME_PEOPLE;
type Who = keyof typeof PEOPLE;
const as = (who: Who) => asAdmin(who);
const ADMIN_TOKENS = adminTokens(PEOPLE);

/** A copy of the example repository (so a test may edit it), an engine over it and a file store. */
async function setup(existing?: { dir: string; db: string }) {
  let dir = existing?.dir;
  let db = existing?.db;
  if (!dir || !db) {
    const tmp = mkdtempSync(join(tmpdir(), 'appwarden-tokens-'));
    dirs.push(tmp);
    dir = join(tmp, 'repo');
    db = join(tmp, 'state.db');
    cpSync(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  }
  const store: Store = openStore(db);
  const engine: Engine = createEngine({ policyDir: dir, store });
  await engine.load();
  const app = createApp({ engine, config: { ...defaultConfig, adminTokens: ADMIN_TOKENS }, store });
  const decide = async (body: unknown) => {
    const res = await app.request('/access/v1/evaluation', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.is(res.status, 200);
    return (await res.json()) as {
      decision: boolean;
      context: { reason: { code: string }; advice?: { expires_at: string } };
    };
  };
  const admin = (path: string, who: Who = 'super_admin', init: RequestInit = {}) =>
    app.request(`/admin/v1/orgs/acme.example${path}`, {
      ...init,
      headers: { ...as(who), ...((init.headers as Record<string, string>) ?? {}) },
    });
  const close = async () => {
    engine.close();
    await store.close();
  };
  return { dir, db, store, engine, app, decide, admin, close };
}

const create = (user: string, id?: string, org = 'acme.example') => ({
  subject: {
    type: 'user',
    id: user,
    properties: { email: `${user.toLowerCase()}@acme.example`, role: 'member' },
  },
  action: { name: 'token.create' },
  resource: { type: 'token', ...(id ? { id } : {}), properties: { kind: 'personal_access' } },
  context: { org },
});
const CREATED = '2026-01-10T00:00:00Z';
const use = (user: string, id: string, createdAt = CREATED) => ({
  subject: {
    type: 'user',
    id: user,
    properties: { email: `${user.toLowerCase()}@acme.example`, role: 'member' },
  },
  action: { name: 'token.use' },
  resource: {
    type: 'token',
    id,
    properties: { kind: 'personal_access', created_at: createdAt, owner: user },
  },
  context: { org: 'acme.example' },
});
const useSa = (id: string) => ({
  subject: { type: 'service_account', id: 'ci-bot' },
  action: { name: 'token.use' },
  resource: {
    type: 'token',
    id,
    properties: { kind: 'service_account', created_at: CREATED, service_account: 'ci-bot', owner: 'ops' },
  },
  context: { org: 'acme.example' },
});

interface WireToken {
  id: string;
  kind: string;
  owner: string | null;
  service_account: string | null;
  created_at: string | null;
  last_used_at: string | null;
  expires_at: string | null;
  registered_by: string;
  status: string;
  revoked: { at: string; by: string; reason: string | null } | null;
}
async function list(admin: Awaited<ReturnType<typeof setup>>['admin'], qs = ''): Promise<WireToken[]> {
  const res = await admin(`/tokens${qs}`);
  assert.is(res.status, 200, qs);
  return ((await res.json()) as { tokens: WireToken[] }).tokens;
}

test('an allowed token.create with an id registers the token with the expiry it stamped; without an id nothing', async () => {
  const t = await setup();
  const d = await t.decide(create('U1', 'pat-created-1'));
  assert.is(d.decision, true);
  await t.decide(create('U2'));
  const tokens = await list(t.admin);
  assert.is(tokens.length, 1);
  const [tok] = tokens as [WireToken];
  assert.equal(
    [tok.id, tok.kind, tok.owner, tok.registered_by, tok.status, tok.last_used_at],
    ['pat-created-1', 'personal_access', 'U1', 'token.create', 'active', null],
  );
  assert.is(tok.expires_at, d.context.advice?.expires_at ?? 'missing advice');
  assert.ok(tok.created_at !== null && Math.abs(Date.parse(tok.created_at) - Date.now()) < 10_000);
  await t.close();
});

test('token.use registers on first use and moves last use; listing filters by owner, kind and status', async () => {
  const t = await setup();
  assert.is((await t.decide(use('U1', 'pat-1'))).decision, true);
  await t.decide(use('U2', 'pat-2'));
  await t.decide(useSa('sa-1'));
  await t.decide(use('U1', 'pat-1'));
  const all = await list(t.admin);
  assert.equal(
    all.map((x) => x.id),
    ['pat-1', 'pat-2', 'sa-1'],
  );
  const pat1 = all[0] as WireToken;
  assert.equal([pat1.created_at, pat1.owner, pat1.registered_by], [CREATED, 'U1', 'token.use']);
  assert.ok(pat1.last_used_at !== null);
  // Acme's expiration is `default`: 3,650 days from creation (SPEC §5).
  assert.is(pat1.expires_at, formatRfc3339(Date.parse(CREATED) / 1000 + 3650 * 86_400));
  assert.equal(
    (await list(t.admin, '?owner=U2')).map((x) => x.id),
    ['pat-2'],
  );
  assert.equal(
    (await list(t.admin, '?kind=service_account')).map((x) => [x.id, x.service_account]),
    [['sa-1', 'ci-bot']],
  );
  assert.is((await list(t.admin, '?status=revoked')).length, 0);
  for (const qs of ['?status=gone', '?kind=pat', '?owner=', '?page=2']) {
    const res = await t.admin(`/tokens${qs}`);
    assert.is(res.status, 400, qs);
  }
  // A token of an org without a policy is never registered.
  await t.decide({ ...use('U1', 'pat-x'), context: { org: 'nowhere.example' } });
  assert.is(await t.store.getToken('nowhere.example', 'pat-x'), null);
  await t.close();
});

test('revocation: super admins only; idempotent; the next use is token_revoked, also after a restart', async () => {
  const t = await setup();
  await t.decide(use('U1', 'pat-1'));
  const del = (who: Who, body?: unknown) =>
    t.admin('/tokens/pat-1', who, {
      method: 'DELETE',
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  const matrix: Record<Who, number> = {
    admin: 403,
    division_admin: 403,
    member: 403,
    guest: 403,
    other_org_admin: 403,
    super_admin: 200,
  };
  for (const who of Object.keys(matrix) as Who[]) {
    const res = await del(who, who === 'super_admin' ? { reason: 'leaked in a log' } : undefined);
    assert.is(res.status, matrix[who], who);
    if (res.status === 403) {
      const msg = ((await res.json()) as { error: { message: string } }).error.message;
      assert.match(msg, 'acme.example', who);
      if (who === 'admin') assert.match(msg, /read-only/);
    }
  }
  // Admins may read what super admins did.
  const seen = await list(t.admin, '?status=revoked');
  assert.equal(
    seen.map((x) => [x.id, x.status, x.revoked?.by, x.revoked?.reason]),
    [['pat-1', 'revoked', PEOPLE.super_admin, 'leaked in a log']],
  );
  assert.is((await list(t.admin)).length, 0, 'not active any more');
  assert.is((await t.admin('/tokens?status=revoked', 'admin')).status, 200);
  const again = await del('super_admin');
  assert.is(again.status, 200);
  const body = (await again.json()) as { changed: boolean; token: WireToken };
  assert.equal([body.changed, body.token.revoked?.reason], [false, 'leaked in a log']);
  assert.is((await t.decide(use('U1', 'pat-1'))).context.reason.code, 'token_revoked');
  assert.is((await t.decide(use('U1', 'pat-other'))).context.reason.code, 'allowed', 'only that token');
  const unknown = await t.admin('/tokens/never-seen', 'super_admin', { method: 'DELETE' });
  assert.is(unknown.status, 404);
  const badBody = await t.admin('/tokens/pat-other', 'super_admin', {
    method: 'DELETE',
    body: JSON.stringify({ why: 'x' }),
    headers: { 'content-type': 'application/json' },
  });
  assert.is(badBody.status, 400);
  assert.is(
    (await t.store.getToken('acme.example', 'pat-other'))?.revoked,
    null,
    'a refused call revokes nothing',
  );
  await t.close();

  const after = await setup({ dir: t.dir, db: t.db });
  assert.is((await after.decide(use('U1', 'pat-1'))).context.reason.code, 'token_revoked', 'after a restart');
  assert.is((await after.decide(use('U1', 'pat-other'))).context.reason.code, 'allowed');
  await after.close();
});

test('a revision that turns PATs off revokes every registered PAT (by policy); service-account tokens stay', async () => {
  const t = await setup();
  await t.decide(use('U1', 'pat-1'));
  await t.decide(use('U2', 'pat-2'));
  await t.decide(useSa('sa-1'));
  const file = join(t.dir, 'orgs', 'acme.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('personal_access_tokens: enabled', 'personal_access_tokens: disabled'),
  );
  assert.is((await t.engine.load()).changed, true);
  const revoked = await list(t.admin, '?status=revoked');
  assert.equal(
    revoked.map((x) => [x.id, x.revoked?.by, x.revoked?.reason]),
    [
      ['pat-1', 'policy', 'personal access tokens turned off'],
      ['pat-2', 'policy', 'personal access tokens turned off'],
    ],
  );
  assert.equal(
    (await list(t.admin)).map((x) => x.id),
    ['sa-1'],
  );
  // While off: pats_disabled (precedence, SPEC §4); a PAT first seen now is recorded revoked too.
  assert.is((await t.decide(use('U1', 'pat-1'))).context.reason.code, 'pats_disabled');
  await t.decide(use('U3', 'pat-3'));
  assert.is((await t.store.getToken('acme.example', 'pat-3'))?.revoked?.by, 'policy');
  // Back on: the swept ones stay revoked; a PAT created after is fine.
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('personal_access_tokens: disabled', 'personal_access_tokens: enabled'),
  );
  await t.engine.load();
  assert.is((await t.decide(use('U1', 'pat-1'))).context.reason.code, 'token_revoked');
  const fresh = formatRfc3339(Math.floor(Date.now() / 1000));
  assert.is((await t.decide(use('U4', 'pat-4', fresh))).context.reason.code, 'allowed');
  assert.is((await t.store.getToken('acme.example', 'pat-4'))?.revoked, null);
  await t.close();
});

test('the listing expiry follows SPEC §5 worked examples (the engine computation the registry uses)', () => {
  const day = (d: string) => Date.parse(`${d}T00:00:00Z`) / 1000;
  const epochs = (...changes: [string, number | null][]) => [
    { start: null, expiration_days: null, personal_access_tokens: 'enabled' as const },
    ...changes.map(([d, n]) => ({
      start: day(d),
      expiration_days: n,
      personal_access_tokens: 'enabled' as const,
    })),
  ];
  const cases: [string, ReturnType<typeof epochs>, string][] = [
    ['2026-01-10', epochs(), '2036-01-08'],
    ['2026-01-10', epochs(['2026-03-01', 30]), '2026-03-31'],
    ['2026-03-05', epochs(['2026-03-01', 30]), '2026-04-04'],
    ['2026-01-10', epochs(['2026-03-01', 30], ['2026-03-10', 90]), '2026-03-31'],
    ['2026-03-20', epochs(['2026-03-01', 30], ['2026-03-10', 90]), '2026-06-18'],
    ['2026-01-10', epochs(['2026-03-01', 90], ['2026-03-10', 30]), '2026-04-09'],
    ['2026-01-10', epochs(['2026-03-01', 30], ['2026-03-05', null]), '2026-03-31'],
  ];
  for (const [created, history, want] of cases) {
    assert.is(tokenExpiry(day(created), history), day(want), `${created} ${JSON.stringify(history)}`);
  }
});

test.run();
