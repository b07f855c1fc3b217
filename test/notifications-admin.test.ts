// The outbox as admins see it (SPEC §6 emails, roles of SPEC §1): GET /admin/v1/orgs/{org}/notifications and
// POST …/notifications/{id}:retry through app.request(), `appwarden notifications list|retry` on a store file
// and through a running server, and where token emails go (the owner's email kept from decisions).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine, type NewNotification, openStore, type Store } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { defaultConfig } from '../server/config.ts';
import { startServer } from '../server/main.ts';
import { ACME_PEOPLE, adminTokenOf, adminTokens, asAdmin } from './support/admins.ts';
import { runCli } from './support/cli.ts';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'appwarden-outbox-admin-'));
let engine: Engine;
test.before(async () => {
  engine = createEngine({ policyDir: join(root, 'examples', 'policy-repo') });
  await engine.load();
});
test.after(() => {
  engine.close();
  rmSync(tmp, { recursive: true, force: true });
});

type Who = keyof typeof ACME_PEOPLE;
const CSV_CONTENT = 'app,user,email\r\nA1,U1,private-row@acme.example\r\n';

function mail(key: string, over: Partial<NewNotification> = {}): NewNotification {
  return {
    kind: 'token_revoked',
    org: 'acme.example',
    to: ['ann@acme.example'],
    dedupe_key: key,
    data: { token_id: key },
    ...over,
  };
}

/** acme: a sent email, a dead one, a pending export with its CSV; globex: one pending. Ids by dedupe key. */
async function seed(store: Store): Promise<Record<string, string>> {
  // The orgs a server made live with this store (the CLI refuses an org the store does not know).
  await store.recordGoLive(
    ['acme.example', 'globex.example'].map((org) => ({
      org,
      revision: 'rev-seed',
      at: 500,
      expiration_days: null,
      personal_access_tokens: 'enabled' as const,
    })),
  );
  await store.enqueueNotifications([mail('sent-1')], 1_000);
  await store.enqueueNotifications([mail('dead-1', { to: ['gone@acme.example'] })], 2_000);
  await store.enqueueNotifications(
    [
      mail('export-1', {
        kind: 'usage_export',
        to: ['dana.whitfield@acme.example'],
        data: { token_id: 'export-1', requested_at: 3_000, rows: [{ last_used_at: 2_000, uses: 3 }] },
        attachments: [{ filename: 'acme-usage.csv', content_type: 'text/csv', content: CSV_CONTENT }],
      }),
      mail('globex-1', { org: 'globex.example', to: ['hank.scorpio@globex.example'] }),
    ],
    3_000,
  );
  const [sent, dead] = await store.claimNotifications(2_500, 2, 60);
  await store.markNotificationSent(sent?.id ?? '', 2_600);
  await store.markNotificationFailed(dead?.id ?? '', 2_600, '550 mailbox unavailable', null);
  const rows = [
    ...(await store.listNotifications({ org: 'acme.example' })),
    ...(await store.listNotifications({ org: 'globex.example' })),
  ];
  return Object.fromEntries(rows.map((r) => [r.dedupe_key, r.id]));
}

async function setup() {
  const store = openStore(':memory:');
  const ids = await seed(store);
  const app = createApp({
    engine,
    config: { ...defaultConfig, adminTokens: adminTokens(ACME_PEOPLE) },
    store,
  });
  return { app, store, ids };
}

const LIST = '/admin/v1/orgs/acme.example/notifications';
const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string; field?: string } }).error;

test('list: super admins and admins of the org read it; everyone else is refused', async () => {
  const { app, store } = await setup();
  const want: Record<Who, number> = {
    super_admin: 200,
    admin: 200,
    division_admin: 403,
    member: 403,
    guest: 403,
    other_org_admin: 403,
  };
  for (const who of Object.keys(want) as Who[]) {
    const res = await app.request(LIST, { headers: asAdmin(who) });
    assert.is(res.status, want[who], who);
  }
  assert.is((await app.request(LIST)).status, 401, 'no token');
  const home = await app.request('/admin/v1/orgs/globex.example/notifications', {
    headers: asAdmin('other_org_admin'),
  });
  assert.equal(
    ((await home.json()) as { notifications: { to: string[] }[] }).notifications.map((n) => n.to),
    [['hank.scorpio@globex.example']],
    "the other org's admin sees their own org's emails only",
  );
  await store.close();
});

test("list: the org's emails newest first, with status, attempts, errors and attachments by name only", async () => {
  const { app, store, ids } = await setup();
  const res = await app.request(LIST, { headers: asAdmin('admin') });
  const text = await res.text();
  assert.not.ok(text.includes('private-row'), 'no attachment content');
  const { notifications } = JSON.parse(text) as { notifications: Record<string, unknown>[] };
  assert.equal(
    notifications.map((n) => [n.dedupe_key, n.status, n.attempts]),
    [
      ['export-1', 'pending', 0],
      ['dead-1', 'dead', 1],
      ['sent-1', 'sent', 1],
    ],
  );
  assert.equal(notifications[0], {
    id: ids['export-1'],
    kind: 'usage_export',
    org: 'acme.example',
    to: ['dana.whitfield@acme.example'],
    status: 'pending',
    attempts: 0,
    created_at: '1970-01-01T00:50:00Z',
    next_attempt_at: '1970-01-01T00:50:00Z',
    sent_at: null,
    last_error: null,
    dedupe_key: 'export-1',
    // Times in the facts are RFC 3339 like every other time of the API, at any depth; counts stay numbers.
    data: {
      token_id: 'export-1',
      requested_at: '1970-01-01T00:50:00Z',
      rows: [{ last_used_at: '1970-01-01T00:33:20Z', uses: 3 }],
    },
    attachments: [{ filename: 'acme-usage.csv', content_type: 'text/csv', size_bytes: CSV_CONTENT.length }],
  });
  assert.equal(
    [notifications[1]?.last_error, notifications[1]?.next_attempt_at],
    ['550 mailbox unavailable', null],
  );
  assert.is(notifications[2]?.sent_at, '1970-01-01T00:43:20Z');

  const dead = await app.request(`${LIST}?status=dead`, { headers: asAdmin('admin') });
  assert.equal(
    ((await dead.json()) as { notifications: { id: string }[] }).notifications.map((n) => n.id),
    [ids['dead-1']],
  );
  const one = await app.request(`${LIST}?limit=1`, { headers: asAdmin('admin') });
  assert.is(((await one.json()) as { notifications: unknown[] }).notifications.length, 1);
  for (const [q, field] of [
    ['status=lost', 'status'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['to=ann@acme.example', 'to'],
  ] as const) {
    const bad = await app.request(`${LIST}?${q}`, { headers: asAdmin('admin') });
    assert.is(bad.status, 400, q);
    const e = await errorOf(bad);
    assert.equal([e.code, e.field], ['invalid_request', field], q);
  }
  assert.is((await app.request(LIST, { method: 'DELETE', headers: asAdmin('super_admin') })).status, 405);
  await store.close();
});

test('retry: super admins only; a dead email is due again with a full set of attempts; sent ones are refused', async () => {
  const { app, store, ids } = await setup();
  const retry = (id: string | undefined, who: Who) =>
    app.request(`${LIST}/${id}:retry`, { method: 'POST', headers: asAdmin(who) });
  const admin = await retry(ids['dead-1'], 'admin');
  assert.is(admin.status, 403);
  assert.match((await errorOf(admin)).message, /super admin/);
  assert.is((await retry(ids['dead-1'], 'member')).status, 403);

  const res = await retry(ids['dead-1'], 'super_admin');
  assert.is(res.status, 200);
  const n = ((await res.json()) as { notification: Record<string, unknown> }).notification;
  assert.equal(
    [n.id, n.status, n.attempts, n.last_error],
    [ids['dead-1'], 'pending', 0, '550 mailbox unavailable'],
  );
  assert.is((await store.getNotification(ids['dead-1'] ?? ''))?.status, 'pending', 'in the store');
  const due = await store.claimNotifications(Math.floor(Date.now() / 1000), 10, 60);
  assert.ok(
    due.some((r) => r.id === ids['dead-1']),
    'a worker takes it now',
  );

  const sent = await retry(ids['sent-1'], 'super_admin');
  assert.is(sent.status, 409);
  assert.match((await errorOf(sent)).message, /was sent .*twice/);
  assert.is((await retry('no-such-id', 'super_admin')).status, 404);
  assert.is(
    (await retry(ids['globex-1'], 'super_admin')).status,
    404,
    "another org's email is not found here",
  );
  await store.close();
});

test("token emails go to the owner's address the decisions told (lower-cased), never to another user's", async () => {
  const store = openStore(':memory:');
  const app = createApp({ engine, config: defaultConfig, store });
  const decide = (
    subject: Record<string, unknown>,
    action: string,
    id: string,
    props: Record<string, unknown>,
  ) =>
    app.request('/access/v1/evaluation', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        subject,
        action: { name: action },
        resource: { type: 'token', id, properties: props },
        context: { org: 'acme.example' },
      }),
    });
  const ann = { type: 'user', id: 'U1', properties: { email: 'Ann@Acme.Example', role: 'member' } };
  const bob = { type: 'user', id: 'U2', properties: { email: 'bob@acme.example', role: 'member' } };
  const created = await decide(ann, 'token.create', 'pat-a', { kind: 'personal_access' });
  assert.is(created.status, 200);
  // Bob uses a token Ann owns: his address is not hers.
  await decide(bob, 'token.use', 'pat-b', {
    kind: 'personal_access',
    owner: 'U1',
    created_at: '2026-01-10T00:00:00Z',
  });
  await decide(ann, 'token.use', 'pat-b', {
    kind: 'personal_access',
    owner: 'U1',
    created_at: '2026-01-10T00:00:00Z',
  });
  await decide(bob, 'token.use', 'pat-c', {
    kind: 'personal_access',
    owner: 'U1',
    created_at: '2026-01-10T00:00:00Z',
  });
  const t = async (id: string) => (await store.getToken('acme.example', id))?.owner_email;
  assert.is(await t('pat-a'), 'ann@acme.example', 'the creator');
  assert.is(await t('pat-b'), 'ann@acme.example', 'the owner, once she used it');
  assert.is(await t('pat-c'), null, 'only another user was seen');
  await store.close();
});

// ---- the CLI ----

const run = (...args: string[]) => runCli(args);

test('appwarden notifications list|retry on the store file: table, --json, exit codes', async () => {
  const db = join(tmp, 'cli.db');
  const store = openStore(db);
  const ids = await seed(store);
  await store.close();

  const table = await run('notifications', 'list', '--org', 'acme.example', '--store', db);
  assert.is(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^ID\s+KIND\s+TO\s+STATUS\s+ATTEMPTS\s+CREATED\s+SENT\s+LAST ERROR$/);
  assert.is(lines.length, 4);
  assert.match(
    lines[2] ?? '',
    new RegExp(
      `^${ids['dead-1']}\\s+token_revoked\\s+gone@acme.example\\s+dead\\s+1\\s.*550 mailbox unavailable$`,
    ),
  );
  const json = await run(
    'notifications',
    'list',
    '--org',
    'acme.example',
    '--store',
    db,
    '--status',
    'dead',
    '--json',
  );
  assert.equal(
    (JSON.parse(json.stdout) as { notifications: { id: string }[] }).notifications.map((n) => n.id),
    [ids['dead-1']],
  );
  // Stored text is shown on one line, escaped: an SMTP reply cannot forge rows or drive the terminal.
  const hostile = openStore(db);
  await hostile.enqueueNotifications([mail('esc-1')], 4_000);
  const [claimed] = await hostile.claimNotifications(5_000, 1, 60);
  await hostile.markNotificationFailed(
    claimed?.id ?? '',
    5_001,
    '550-first line\r\nfake-id  token_revoked  x@acme.example  sent\n550 \u001b[31mRED\u001b]0;title\u0007',
    null,
  );
  await hostile.close();
  const escaped = await run(
    'notifications',
    'list',
    '--org',
    'acme.example',
    '--store',
    db,
    '--status',
    'dead',
  );
  for (const c of ['\u001b', '\u0007', '\r']) assert.not.ok(escaped.stdout.includes(c), JSON.stringify(c));
  assert.is(
    escaped.stdout.trimEnd().split('\n').length,
    3,
    'the header and the two dead emails, one line each',
  );
  assert.match(escaped.stdout, /550-first line\\r\\nfake-id/);
  const bad = await run('notifications', 'list', '--org', 'acme.example', '--store', db, '--status', 'lost');
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--status must be one of pending, sending, sent, dead/);

  const retried = await run(
    'notifications',
    'retry',
    ids['dead-1'] ?? '',
    '--org',
    'acme.example',
    '--store',
    db,
  );
  assert.is(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, /is due now/);
  const check = openStore(db);
  assert.equal(
    [
      (await check.getNotification(ids['dead-1'] ?? ''))?.status,
      (await check.getNotification(ids['dead-1'] ?? ''))?.attempts,
    ],
    ['pending', 0],
  );
  await check.close();
  const again = await run(
    'notifications',
    'retry',
    ids['sent-1'] ?? '',
    '--org',
    'acme.example',
    '--store',
    db,
  );
  assert.is(again.code, 1);
  assert.match(again.stderr, /was sent at .*a retry would send it twice/);
  const elsewhere = await run(
    'notifications',
    'retry',
    ids['globex-1'] ?? '',
    '--org',
    'acme.example',
    '--store',
    db,
  );
  assert.is(elsewhere.code, 1);
});

test('appwarden notifications --server: through the admin API, the token from the environment, its role applying', async () => {
  const db = join(tmp, 'server.db');
  const store = openStore(db);
  const ids = await seed(store);
  const server = await startServer({
    engine,
    store,
    logger: pino({ level: 'silent' }),
    config: { ...defaultConfig, port: 0, adminTokens: adminTokens(ACME_PEOPLE) },
  });
  const saved = process.env.APPWARDEN_ADMIN_TOKEN;
  try {
    delete process.env.APPWARDEN_ADMIN_TOKEN;
    const noToken = await run('notifications', 'list', '--org', 'acme.example', '--server', server.url);
    assert.is(noToken.code, 2);
    assert.match(noToken.stderr, /APPWARDEN_ADMIN_TOKEN/);

    process.env.APPWARDEN_ADMIN_TOKEN = adminTokenOf('admin');
    const viaServer = await run(
      'notifications',
      'list',
      '--org',
      'acme.example',
      '--server',
      server.url,
      '--json',
    );
    const viaStore = await run('notifications', 'list', '--org', 'acme.example', '--store', db, '--json');
    assert.is(viaServer.code, 0, viaServer.stderr);
    assert.is(viaServer.stdout, viaStore.stdout, 'the same wire shape either way');
    const refused = await run(
      'notifications',
      'retry',
      ids['dead-1'] ?? '',
      '--org',
      'acme.example',
      '--server',
      server.url,
    );
    assert.is(refused.code, 2);
    assert.match(refused.stderr, /forbidden: .*super admin/);

    process.env.APPWARDEN_ADMIN_TOKEN = adminTokenOf('super_admin');
    const ok = await run(
      'notifications',
      'retry',
      ids['dead-1'] ?? '',
      '--org',
      'acme.example',
      '--server',
      server.url,
      '--json',
    );
    assert.is(ok.code, 0, ok.stderr);
    assert.is((JSON.parse(ok.stdout) as { notification: { status: string } }).notification.status, 'pending');
    const sent = await run(
      'notifications',
      'retry',
      ids['sent-1'] ?? '',
      '--org',
      'acme.example',
      '--server',
      server.url,
    );
    assert.is(sent.code, 1);
    assert.match(sent.stderr, /conflict/);
  } finally {
    if (saved === undefined) delete process.env.APPWARDEN_ADMIN_TOKEN;
    else process.env.APPWARDEN_ADMIN_TOKEN = saved;
    await server.close();
    await store.close();
  }
});

test.run();
