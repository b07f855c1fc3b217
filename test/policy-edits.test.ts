// The admin API's policy history and policy-edit endpoints (SPEC §6, §1): history rows as revisions went
// live; :block / :unblock / :approve and the token settings answered as a patch of the org's YAML, written
// nowhere, for super admins only.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blockApp, createEngine, openStore, parseRfc3339 } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { defaultConfig } from '../server/config.ts';
import { adminTokens, asAdmin } from './support/admins.ts';

const root = join(import.meta.dirname, '..');
const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PEOPLE = {
  super_admin: 'dana.whitfield@acme.example',
  admin: 'helpdesk@acme.example',
  member: 'ann@acme.example',
  other_org_admin: 'hank.scorpio@globex.example',
} as const;
type Who = keyof typeof PEOPLE;
const ADMIN_TOKENS = adminTokens(PEOPLE);

async function setup() {
  const tmp = mkdtempSync(join(tmpdir(), 'appwarden-edits-'));
  dirs.push(tmp);
  const dir = join(tmp, 'repo');
  cpSync(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  let now = parseRfc3339('2026-06-01T00:00:00Z') as number;
  const store = openStore(':memory:');
  const engine = createEngine({ policyDir: dir, store, clock: () => now });
  await engine.load();
  const app = createApp({ engine, config: { ...defaultConfig, adminTokens: ADMIN_TOKENS }, store });
  const call = (
    path: string,
    who: Who = 'super_admin',
    body?: unknown,
    method = body === undefined ? 'GET' : 'POST',
  ) =>
    app.request(`/admin/v1/orgs/acme.example${path}`, {
      method,
      headers: {
        ...asAdmin(who),
        ...(body === undefined || body === null ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined || body === null ? {} : { body: JSON.stringify(body) }),
    });
  const post = (path: string, body: unknown = null, who: Who = 'super_admin') =>
    call(path, who, body, 'POST');
  return { dir, store, engine, app, call, post, setNow: (t: number) => (now = t) };
}

test('history: one row per revision that went live in the org, oldest first', async () => {
  const s = await setup();
  const file = join(s.dir, 'orgs', 'acme.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('expiration: default', 'expiration: 30d'));
  s.setNow(parseRfc3339('2026-06-05T12:00:00Z') as number);
  await s.engine.load();
  const res = await s.call('/history', 'admin');
  assert.is(res.status, 200);
  const body = (await res.json()) as { history: Record<string, unknown>[]; imported: unknown };
  assert.equal(
    body.history.map((h) => [h.at, h.expiration, h.personal_access_tokens]),
    [
      ['2026-06-01T00:00:00Z', 'default', 'enabled'],
      ['2026-06-05T12:00:00Z', '30d', 'enabled'],
    ],
  );
  assert.is(body.history[1]?.revision, s.engine.revision);
  assert.is(body.imported, null);
  assert.is((await s.call('/history', 'member')).status, 403);
});

test(':block answers the same patch as appwarden apps block, and writes nothing', async () => {
  const s = await setup();
  const file = join(s.dir, 'orgs', 'acme.yaml');
  const before = readFileSync(file, 'utf8');
  const res = await s.post('/apps/A0F7XDUAZ:block', { name: 'Slack', reason: 'use Teams' });
  assert.is(res.status, 200);
  const body = (await res.json()) as { file: string; changed: boolean; diff: string; message: string };
  const cli = await blockApp(s.dir, 'acme.example', 'A0F7XDUAZ', { name: 'Slack', reason: 'use Teams' });
  assert.equal(
    [body.file, body.changed, body.diff, body.message],
    ['orgs/acme.yaml', true, cli.diff, cli.message],
  );
  assert.match(body.diff, /^\+\s+- id: A0F7XDUAZ/m);
  assert.match(body.diff, /^\+\s+reason: use Teams/m);
  assert.is(readFileSync(file, 'utf8'), before, 'nothing written');
  // Already blocked: nothing to change.
  const again = (await (await s.post('/apps/1204567890123456789:block')).json()) as {
    changed: boolean;
    diff: string;
  };
  assert.equal([again.changed, again.diff], [false, '']);
});

test(':approve, :unblock, tokens:set-expiration and tokens/pats:disable answer patches', async () => {
  const s = await setup();
  const approve = (await (await s.post('/apps/cal-bot:approve', { note: 'ok by IT' })).json()) as {
    diff: string;
  };
  assert.match(approve.diff, /^\+\s+approved:/m);
  const unblock = (await (await s.post('/apps/wetransfer-share:unblock')).json()) as { diff: string };
  assert.match(unblock.diff, /^-\s+- id: wetransfer-share/m);
  const exp = (await (await s.post('/tokens:set-expiration', { expiration: '60d' })).json()) as {
    diff: string;
  };
  assert.match(exp.diff, /^-\s+expiration: default\n\+\s+expiration: 60d/m);
  const pats = (await (await s.post('/tokens/pats:disable')).json()) as { diff: string };
  assert.match(pats.diff, /^\+\s+personal_access_tokens: disabled/m);
  const on = (await (await s.post('/tokens/pats:enable')).json()) as { changed: boolean };
  assert.is(on.changed, false);
  const bad = await s.post('/tokens:set-expiration', { expiration: '45d' });
  assert.is(bad.status, 400);
  assert.is(((await bad.json()) as { error: { field: string } }).error.field, '/expiration');
  const extra = await s.post('/apps/x:block', { why: 'no' });
  assert.is(extra.status, 400);
});

test('edits are for super admins only; admins and others get 403', async () => {
  const s = await setup();
  const paths = [
    '/apps/A0F7XDUAZ:block',
    '/apps/A0F7XDUAZ:approve',
    '/apps/0417263958821:unblock',
    '/tokens/pats:disable',
  ];
  for (const path of paths) {
    for (const who of Object.keys(PEOPLE) as Who[]) {
      const res = await s.post(path, null, who);
      assert.is(res.status, who === 'super_admin' ? 200 : 403, `${who} ${path}`);
    }
  }
  for (const who of ['admin', 'member', 'other_org_admin'] as const) {
    const res = await s.post('/tokens:set-expiration', { expiration: '30d' }, who);
    assert.is(res.status, 403, who);
  }
});

test('a repository that is invalid on disk gives no patch: 409 with its problems', async () => {
  const s = await setup();
  writeFileSync(
    join(s.dir, 'orgs', 'broken.yaml'),
    'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata: {org: 7}\n',
  );
  const res = await s.post('/apps/A0F7XDUAZ:block');
  assert.is(res.status, 409);
  const err = ((await res.json()) as { error: { code: string; problems: unknown[] } }).error;
  assert.is(err.code, 'conflict');
  assert.ok(err.problems.length >= 1);
});

test.run();
