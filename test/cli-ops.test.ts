// The operator CLI against a store file (SPEC §6 admin operations from a shell): apps list|show, tokens
// list|revoke, requests list|deny, usage export, as tables and --json, over state a server wrote.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, openStore } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig } from '../server/config.ts';
import { startServer } from '../server/main.ts';
import { runCli } from './support/cli.ts';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'appwarden-cli-ops-'));
const repo = join(tmp, 'repo');
const db = join(tmp, 'state.db');
cpSync(join(root, 'examples', 'policy-repo'), repo, { recursive: true });
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const run = (...args: string[]) => runCli(args);

let requestId = '';

test.before(async () => {
  // A server session writes the state the commands read.
  const store = openStore(db);
  const engine = createEngine({ policyDir: repo, store });
  await engine.load();
  const app = createApp({ engine, config: defaultConfig, store });
  const post = (path: string, body: unknown) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const user = (id: string, email: string, org = 'acme.example') => ({
    subject: { type: 'user', id, properties: { email, role: 'member' } },
    context: { org },
  });
  for (const [id, email] of [
    ['U1', 'ann@acme.example'],
    ['U1', 'ann@acme.example'],
    ['U2', '=cmd|calc@x.example'],
  ] as const) {
    await post('/access/v1/evaluation', {
      ...user(id, email),
      action: { name: 'app.use' },
      resource: { type: 'app', id: 'A0F7XDUAZ', properties: { name: 'Slack' } },
    });
  }
  await post('/access/v1/evaluation', {
    ...user('U1', 'ann@acme.example'),
    action: { name: 'token.use' },
    resource: {
      type: 'token',
      id: 'pat-1',
      properties: { kind: 'personal_access', created_at: '2026-01-10T00:00:00Z', owner: 'U1' },
    },
  });
  const r = await post('/v1/orgs/globex.example/approval-requests', {
    app: { id: 'trello-board', name: 'Trello' },
    requester: { id: 'U9', email: 'zoe@globex.example' },
  });
  requestId = ((await r.json()) as { request: { id: string } }).request.id;
  engine.close();
  await store.close();
});

test('apps list and show: a table and --json', async () => {
  const list = await run('apps', 'list', '--org', 'acme.example', '--store', db);
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, /^APP\s+NAME\s+LAST ACTIVITY\s+ACTIVE MEMBERS\nA0F7XDUAZ\s+Slack\s+\S+Z\s+2\n$/);
  const show = await run('apps', 'show', 'A0F7XDUAZ', '--org', 'acme.example', '--store', db, '--json');
  assert.is(show.code, 0, show.stderr);
  const app = (
    JSON.parse(show.stdout) as { app: { usage: { user_id: string; uses_last_90_days: number }[] } }
  ).app;
  assert.equal(
    app.usage.map((u) => [u.user_id, u.uses_last_90_days]),
    [
      ['U1', 2],
      ['U2', 1],
    ],
  );
  const missing = await run('apps', 'show', 'nope', '--org', 'acme.example', '--store', db);
  assert.is(missing.code, 1);
});

test('tokens list and revoke: idempotent, kept in the store', async () => {
  const list = await run('tokens', 'list', '--org', 'acme.example', '--store', db, '--json');
  assert.equal(
    (JSON.parse(list.stdout) as { tokens: { id: string; status: string }[] }).tokens.map((t) => [
      t.id,
      t.status,
    ]),
    [['pat-1', 'active']],
  );
  const revoke = await run(
    'tokens',
    'revoke',
    'pat-1',
    '--org',
    'acme.example',
    '--store',
    db,
    '--by',
    'Dana.Whitfield@acme.example',
    '--reason',
    'leaked',
  );
  assert.is(revoke.code, 0, revoke.stderr);
  assert.match(revoke.stdout, /revoked pat-1/);
  const again = await run(
    'tokens',
    'revoke',
    'pat-1',
    '--org',
    'acme.example',
    '--store',
    db,
    '--by',
    'raj.patel@acme.example',
  );
  assert.match(again.stdout, /already revoked .* by dana\.whitfield@acme\.example/);
  // Through the file, as through the API, only a super admin of the org in the live policy acts (SPEC §1).
  for (const by of ['x@acme.example', 'not an email', 'hank.scorpio@globex.example']) {
    const refused = await run(
      'tokens',
      'revoke',
      'pat-1',
      '--org',
      'acme.example',
      '--store',
      db,
      '--by',
      by,
    );
    assert.ok(refused.code !== 0, by);
    assert.match(refused.stderr, /super admin|must be an email/, by);
  }
  // A mistyped org is an error naming the orgs the store knows, not an empty list.
  const typo = await run('tokens', 'list', '--org', 'acmee.example', '--store', db);
  assert.is(typo.code, 1);
  assert.match(typo.stderr, /knows no org acmee\.example; it knows .*acme\.example/);
  const revoked = await run('tokens', 'list', '--org', 'acme.example', '--store', db, '--status', 'revoked');
  assert.match(revoked.stdout, /pat-1 .* revoked/);
  assert.is(
    (await run('tokens', 'list', '--org', 'acme.example', '--store', db)).stdout.includes('pat-1'),
    false,
  );
  assert.is(
    (await run('tokens', 'revoke', 'nope', '--org', 'acme.example', '--store', db, '--by', 'x@y.example'))
      .code,
    1,
  );
  // A server started on the store decides the revoked token token_revoked.
  const store = openStore(db);
  const engine = createEngine({ policyDir: repo, store });
  await engine.load();
  assert.is(engine.isRevoked('acme.example', 'pat-1'), true);
  engine.close();
  await store.close();
});

test('requests list and deny', async () => {
  const list = await run('requests', 'list', '--org', 'globex.example', '--store', db, '--status', 'pending');
  assert.match(
    list.stdout,
    new RegExp(`${requestId}\\s+trello-board \\(Trello\\)\\s+zoe@globex\\.example\\s+pending`),
  );
  const deny = await run(
    'requests',
    'deny',
    requestId,
    '--org',
    'globex.example',
    '--store',
    db,
    '--reason',
    'use Jira',
    '--by',
    'hank.scorpio@globex.example',
    '--json',
  );
  assert.is(deny.code, 0, deny.stderr);
  const body = JSON.parse(deny.stdout) as { request: { status: string; reason: string }; changed: boolean };
  assert.equal([body.request.status, body.request.reason, body.changed], ['denied', 'use Jira', true]);
  const bad = await run('requests', 'list', '--org', 'globex.example', '--store', db, '--status', 'open');
  assert.is(bad.code, 2);
});

test('usage export: the same CSV as the admin API, to a file or stdout', async () => {
  const out = join(tmp, 'usage.csv');
  const r = await run('usage', 'export', '--org', 'acme.example', '--store', db, '--policy', repo, '-o', out);
  assert.is(r.code, 0, r.stderr);
  const text = readFileSync(out, 'utf8');
  assert.ok(text.startsWith('\uFEFFemail,user_id,app,app_name,uses_last_90_days,last_used\r\n'), text);
  assert.match(text, /\r\nann@acme\.example,U1,A0F7XDUAZ,Slack,2,\S+Z\r\n/);
  assert.match(text, /\r\n'=cmd\|calc@x\.example,U2,A0F7XDUAZ,Slack,1,/);
});

test('--server: the same commands through the admin API, with the admin token from the environment', async () => {
  const store = openStore(db);
  const engine = createEngine({ policyDir: repo, store });
  await engine.load();
  const server = await startServer({
    engine,
    store,
    logger: pino({ level: 'silent' }),
    config: {
      ...defaultConfig,
      port: 0,
      adminTokens: [
        { email: 'dana.whitfield@acme.example', tokenSha256: sha256Hex('dana-ops-token') },
        { email: 'helpdesk@acme.example', tokenSha256: sha256Hex('helpdesk-ops-token') },
      ],
    },
  });
  const saved = process.env.APPWARDEN_ADMIN_TOKEN;
  try {
    delete process.env.APPWARDEN_ADMIN_TOKEN;
    const noToken = await run('apps', 'list', '--org', 'acme.example', '--server', server.url);
    assert.is(noToken.code, 2);
    assert.match(noToken.stderr, /APPWARDEN_ADMIN_TOKEN/);

    process.env.APPWARDEN_ADMIN_TOKEN = 'helpdesk-ops-token';
    const list = await run('apps', 'list', '--org', 'acme.example', '--server', server.url, '--json');
    assert.is(list.code, 0, list.stderr);
    const apps = (JSON.parse(list.stdout) as { apps: { id: string; developer: string }[] }).apps;
    assert.equal(
      apps.map((a) => [a.id, a.developer]),
      [['A0F7XDUAZ', 'Slack Technologies, LLC']],
      'the server adds catalog details',
    );
    const viaServer = await run('usage', 'export', '--org', 'acme.example', '--server', server.url);
    const viaStore = await run('usage', 'export', '--org', 'acme.example', '--store', db, '--policy', repo);
    assert.is(viaServer.code, 0, viaServer.stderr);
    assert.is(viaServer.stdout, viaStore.stdout);
    // An admin (not super) may not revoke: the server's 403 is the command's error.
    await post(server.url, 'U3', 'pat-3');
    const refused = await run('tokens', 'revoke', 'pat-3', '--org', 'acme.example', '--server', server.url);
    assert.is(refused.code, 2);
    assert.match(refused.stderr, /forbidden: .*not a super admin/);

    process.env.APPWARDEN_ADMIN_TOKEN = 'dana-ops-token';
    const revoke = await run(
      'tokens',
      'revoke',
      'pat-3',
      '--org',
      'acme.example',
      '--server',
      server.url,
      '--reason',
      'x',
    );
    assert.is(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, /in effect now/);
    assert.is(engine.isRevoked('acme.example', 'pat-3'), true, 'the live engine knows at once');
    const missing = await run('tokens', 'revoke', 'nope', '--org', 'acme.example', '--server', server.url);
    assert.is(missing.code, 1);
    assert.match(missing.stderr, /not_found/);
  } finally {
    if (saved === undefined) delete process.env.APPWARDEN_ADMIN_TOKEN;
    else process.env.APPWARDEN_ADMIN_TOKEN = saved;
    await server.close();
    engine.close();
    await store.close();
  }
});

/** A token.use of `token` by `user` in Acme, against a running server. */
async function post(url: string, user: string, token: string) {
  const res = await fetch(`${url}/access/v1/evaluation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      subject: { type: 'user', id: user, properties: { email: 'u3@acme.example', role: 'member' } },
      action: { name: 'token.use' },
      resource: {
        type: 'token',
        id: token,
        properties: { kind: 'personal_access', created_at: '2026-01-10T00:00:00Z', owner: user },
      },
      context: { org: 'acme.example' },
    }),
  });
  assert.is(res.status, 200);
}

test('a store that cannot be opened is exit 2', async () => {
  const r = await run(
    'apps',
    'list',
    '--org',
    'acme.example',
    '--store',
    join(tmp, 'repo', 'orgs', 'acme.yaml', 'x.db'),
  );
  assert.is(r.code, 2);
  assert.ok(r.stderr.length > 0);
});

test('an org the newest live revision dropped: nobody acts for it through the store file', async () => {
  const copy = join(tmp, 'dropped.db');
  cpSync(db, copy);
  const store = openStore(copy);
  const last = (await store.goLives('acme.example')).at(-1);
  // The server went live with a revision that has only acme: globex's rows are history now.
  await store.recordGoLive([
    { ...(last as NonNullable<typeof last>), revision: 'rev-without-globex', at: 4_000_000_000 },
  ]);
  await store.close();
  const r = await run(
    'usage',
    'export',
    '--org',
    'globex.example',
    '--store',
    copy,
    '--email',
    '--by',
    'hank.scorpio@globex.example',
  );
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /globex\.example is not in the policy the server last made live/);
});

test.run();
