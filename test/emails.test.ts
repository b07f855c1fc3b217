// Every email of SPEC §6 end to end: the real event through the app (app.request()) or an engine reload, the
// outbox worker run once against a real SMTP server on loopback (smtp-server), each message parsed with
// mailparser: recipients, subject, facts in text and HTML, the CSV attachment, a Message-ID, and no secret.
// Repeated events (a merged request, a second deny, a second revoke, sweeps across restarts) mail once.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createEngine,
  createMailTransport,
  createNotificationWorker,
  EMAILS,
  type Engine,
  formatRfc3339,
  KIND_HEADER,
  nowSeconds,
  openStore,
  renderNotification,
  type Store,
  sweepTokenExpiry,
} from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { main } from '../server/cli.ts';
import { defaultConfig, type ServerConfig } from '../server/config.ts';
import { startServer } from '../server/main.ts';
import { adminTokenOf, adminTokens, asAdmin } from './support/admins.ts';

const root = join(import.meta.dirname, '..');
const dirs: string[] = [];
const DAY = 86_400;

const PEOPLE = {
  acme_super: 'dana.whitfield@acme.example',
  acme_admin: 'helpdesk@acme.example',
  globex_super: 'hank.scorpio@globex.example',
} as const;
type Who = keyof typeof PEOPLE;
const PLATFORM = 'platform-token-0123456789';
const SMTP_USER = 'mailer';
const SMTP_PASSWORD = 'smtp-secret-pa55word-0123';
const PUBLIC_URL = 'https://warden.example.com';

/** Secrets that must never appear in an email. */
const SECRETS = [PLATFORM, SMTP_PASSWORD, ...Object.keys(PEOPLE).map((w) => adminTokenOf(w))];

interface Received {
  envelope: string[];
  mail: ParsedMail;
  raw: string;
}

/** A real SMTP server on 127.0.0.1:0 that requires a login and keeps every message it accepts. */
async function startSmtp() {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
      else cb(new Error('bad login'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (mail) => {
            received.push({
              envelope: session.envelope.rcptTo.map((r) => r.address).sort(),
              mail,
              raw: raw.toString('utf8'),
            });
            cb();
          },
          (err: Error) => cb(err),
        );
      });
    },
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.server.address() as AddressInfo).port;
  return { received, port, close: () => new Promise<void>((res) => server.close(() => res())) };
}

/** The worker's clock (epoch seconds): the real one, unless a test sweeps at a time of its choosing. */
let workerNow: number | null = null;

/** A copy of the example repository, a file store, an engine over both, the app and a worker. */
async function setup(smtpPort: number, existing?: { dir: string; db: string }) {
  let dir = existing?.dir;
  let db = existing?.db;
  if (!dir || !db) {
    const tmp = mkdtempSync(join(tmpdir(), 'appwarden-emails-'));
    dirs.push(tmp);
    dir = join(tmp, 'repo');
    db = join(tmp, 'state.db');
    cpSync(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  }
  const store: Store = openStore(db);
  const engine: Engine = createEngine({ policyDir: dir, store });
  await engine.load();
  const config: ServerConfig = {
    ...defaultConfig,
    adminTokens: adminTokens(PEOPLE),
    tokenSha256: [sha256Hex(PLATFORM)],
    publicUrl: PUBLIC_URL,
    smtp: {
      ...defaultConfig.smtp,
      url: null,
      host: '127.0.0.1',
      port: smtpPort,
      secure: false,
      user: SMTP_USER,
      password: SMTP_PASSWORD,
      from: 'appwarden <appwarden@warden.example.com>',
    },
  };
  const app = createApp({ engine, config, store });
  const transport = createMailTransport(config.smtp, { outboxDir: join(dir, '..', 'outbox') });
  const worker = createNotificationWorker({
    store,
    transport,
    render: renderNotification,
    from: config.smtp.from,
    publicUrl: config.publicUrl,
    orgName: (org) => engine.data?.orgs[org]?.name ?? org,
    maxAttempts: 3,
    retryBaseSeconds: 1,
    pollMs: 1000,
    now: () => workerNow ?? nowSeconds(),
  });
  const call = (path: string, init: RequestInit & { as?: Who | 'platform' } = {}) => {
    const { as, ...rest } = init;
    const auth =
      as === 'platform'
        ? { authorization: `Bearer ${PLATFORM}` }
        : as
          ? asAdmin(as)
          : ({} as Record<string, string>);
    return app.request(path, {
      ...rest,
      headers: {
        'content-type': 'application/json',
        ...auth,
        ...((rest.headers as Record<string, string>) ?? {}),
      },
    });
  };
  const post = (path: string, body: unknown, as: Who | 'platform') =>
    call(path, { method: 'POST', body: JSON.stringify(body), as });
  const decide = async (body: unknown) => {
    const res = await call('/access/v1/evaluation', {
      method: 'POST',
      body: JSON.stringify(body),
      as: 'platform',
    });
    assert.is(res.status, 200);
    return (await res.json()) as { decision: boolean; context: { reason: { code: string } } };
  };
  const close = async () => {
    await worker.stop();
    transport.close();
    engine.close();
    await store.close();
  };
  return { dir, db, store, engine, app, worker, call, post, decide, close };
}

type Env = Awaited<ReturnType<typeof setup>>;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let env: Env;
let seen = 0;

/** Runs the worker until the outbox is empty; the messages the SMTP server received since the last call. */
async function deliver(e: Env = env): Promise<Received[]> {
  for (let i = 0; i < 10; i += 1) {
    await e.worker.runOnce();
    const pending = (await e.store.listNotifications({ status: 'pending' })).length;
    if (pending === 0) break;
  }
  const fresh = smtp.received.slice(seen);
  seen = smtp.received.length;
  for (const m of fresh) {
    assert.match(m.mail.messageId ?? '', /^<.+@.+>$/, 'every message has a Message-ID');
    for (const s of SECRETS)
      assert.not.ok(m.raw.includes(s), `a secret (${s.slice(0, 6)}…) in ${m.mail.subject}`);
  }
  return fresh;
}

const one = (list: Received[], subject: string | RegExp): Received => {
  const hits = list.filter((m) =>
    typeof subject === 'string' ? m.mail.subject === subject : subject.test(m.mail.subject ?? ''),
  );
  assert.is(hits.length, 1, `one message "${subject}" among: ${list.map((m) => m.mail.subject).join(' | ')}`);
  return hits[0] as Received;
};
const html = (m: Received) => (typeof m.mail.html === 'string' ? m.mail.html : '');
const facts = (m: Received, ...values: string[]) => {
  for (const v of values) {
    assert.ok(m.mail.text?.includes(v), `text of "${m.mail.subject}" has ${v}:\n${m.mail.text}`);
    assert.ok(html(m).includes(v), `HTML of "${m.mail.subject}" has ${v}`);
  }
};

test.before(async () => {
  smtp = await startSmtp();
  env = await setup(smtp.port);
});
test.after(async () => {
  await env.close();
  await smtp.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const GLOBEX = '/v1/orgs/globex.example';
const ADMIN_GLOBEX = '/admin/v1/orgs/globex.example';
const ADMIN_ACME = '/admin/v1/orgs/acme.example';
const ask = (appId: string, name: string, user = 'U7', email = 'Ann@Globex.example') => ({
  app: { id: appId, name },
  requester: { id: user, email },
  note: 'for the <team> calendar',
});

let deniedId = '';

test('an approval request mails the expanded recipients and confirms to the requester; asking again mails nobody', async () => {
  const res = await env.post(`${GLOBEX}/approval-requests`, ask('calendly-1', 'Calendly'), 'platform');
  assert.is(res.status, 201);
  const { request } = (await res.json()) as { request: { id: string } };
  deniedId = request.id;
  const again = await env.post(`${GLOBEX}/approval-requests`, ask('calendly-1', 'Calendly'), 'platform');
  assert.is(again.status, 200);
  const mails = await deliver();
  assert.is(mails.length, 2);
  const admins = one(mails, '[Globex Corporation] ann@globex.example asks to use Calendly (calendly-1)');
  // notify: [super_admins, it-approvals@globex.example]: both super admins and the listed address.
  assert.equal(admins.envelope, [
    'hank.scorpio@globex.example',
    'it-approvals@globex.example',
    'it-lead@globex.example',
  ]);
  facts(
    admins,
    'ann@globex.example',
    'Calendly (calendly-1)',
    `${PUBLIC_URL}/admin/v1/orgs/globex.example/approval-requests/${request.id}`,
  );
  assert.ok(admins.mail.text?.includes('Note: for the <team> calendar'));
  assert.ok(html(admins).includes('for the &lt;team&gt; calendar'));
  const mine = one(mails, '[Globex Corporation] Your request for Calendly (calendly-1) was sent');
  assert.equal(mine.envelope, ['ann@globex.example']);
  facts(mine, 'Calendly (calendly-1)', request.id, '3 recipients');
});

test('a denial tells the requester the reason once; a repeated deny mails nobody', async () => {
  const deny = () =>
    env.post(
      `${ADMIN_GLOBEX}/approval-requests/${deniedId}/deny`,
      { reason: 'Use the Google Calendar booking page' },
      'globex_super',
    );
  assert.is((await deny()).status, 200);
  const second = await deny();
  assert.is(((await second.json()) as { changed: boolean }).changed, false);
  const mails = await deliver();
  assert.is(mails.length, 1);
  const m = one(mails, '[Globex Corporation] Your request for Calendly (calendly-1) was denied');
  assert.equal(m.envelope, ['ann@globex.example']);
  facts(m, 'Use the Google Calendar booking page', 'hank.scorpio@globex.example', deniedId);
});

test('the revision that approves the app tells the requester when it goes live', async () => {
  const res = await env.post(
    `${GLOBEX}/approval-requests`,
    ask('loom-9', 'Loom', 'U8', 'bob@globex.example'),
    'platform',
  );
  assert.is(res.status, 201);
  const { request } = (await res.json()) as { request: { id: string } };
  await deliver();
  const file = join(env.dir, 'orgs', 'globex.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(
      '    approved:\n',
      '    approved:\n      - id: loom-9\n        name: Loom\n',
    ),
  );
  const loaded = await env.engine.load();
  const mails = await deliver();
  assert.is(mails.length, 1);
  const m = one(mails, '[Globex Corporation] Loom (loom-9) was approved');
  assert.equal(m.envelope, ['bob@globex.example']);
  facts(m, request.id, loaded.revision, 'You can connect the app now');
});

const create = (user: string, email: string, id: string, org = 'acme.example') => ({
  subject: { type: 'user', id: user, properties: { email, role: 'member' } },
  action: { name: 'token.create' },
  resource: { type: 'token', id, properties: { kind: 'personal_access' } },
  context: { org },
});

test('a revoked token mails its owner once; a service-account token mails the service account owner', async () => {
  assert.ok((await env.decide(create('U1', 'Ann@acme.example', 'pat-revoke-1'))).decision);
  const sa = {
    subject: { type: 'service_account', id: 'ci-bot' },
    action: { name: 'token.use' },
    resource: {
      type: 'token',
      id: 'sa-tok-1',
      properties: {
        kind: 'service_account',
        created_at: formatRfc3339(nowSeconds() - DAY),
        service_account: 'ci-bot',
      },
    },
    context: { org: 'acme.example' },
  };
  await env.decide(sa);
  const revoke = (id: string) =>
    env.call(`${ADMIN_ACME}/tokens/${id}`, {
      method: 'DELETE',
      as: 'acme_super',
      body: JSON.stringify({ reason: 'left the team' }),
    });
  assert.is((await revoke('pat-revoke-1')).status, 200);
  assert.is((await revoke('pat-revoke-1')).status, 200);
  assert.is((await revoke('sa-tok-1')).status, 200);
  const mails = await deliver();
  assert.is(mails.length, 2);
  const pat = one(mails, '[Acme Corp] Your token pat-revoke-1 was revoked');
  assert.equal(pat.envelope, ['ann@acme.example']);
  facts(pat, 'pat-revoke-1', 'dana.whitfield@acme.example', 'left the team');
  const bot = one(mails, '[Acme Corp] Your token sa-tok-1 was revoked');
  assert.equal(bot.envelope, ['platform-team@acme.example']);
  facts(bot, 'sa-tok-1', 'ci-bot');
});

test('the CLI on the store file queues the same emails: tokens revoke, requests deny, usage export --email', async () => {
  assert.ok((await env.decide(create('U3', 'cleo@acme.example', 'pat-cli-1'))).decision);
  const res = await env.post(
    `${GLOBEX}/approval-requests`,
    ask('miro-2', 'Miro', 'U9', 'dave@globex.example'),
    'platform',
  );
  const { request } = (await res.json()) as { request: { id: string } };
  await deliver();
  let stderr = '';
  const io = {
    stdout: () => {},
    stderr: (t: string) => {
      stderr += t;
    },
    readStdin: async () => '',
  };
  const cli = (cmd: string, ...rest: string[]) => main([...cmd.split(' '), ...rest, '--store', env.db], io);
  const revoke = `tokens revoke pat-cli-1 --org acme.example --by ${PEOPLE.acme_super}`;
  const deny = `requests deny ${request.id} --org globex.example --by ${PEOPLE.globex_super} --reason`;
  assert.is(await cli(revoke, '--reason', 'rotated'), 0, stderr);
  assert.is(await cli(deny, 'Use Figma'), 0, stderr);
  // Once more: already done, nothing queued.
  assert.is(await cli(revoke), 0, stderr);
  assert.is(await cli(deny, 'x'), 0, stderr);
  // The usage export by email needs its recipient with --store.
  assert.is(await cli('usage export --org acme.example --email'), 2);
  assert.match(stderr, '--by <email> is required on the store file');
  assert.is(await cli(`usage export --org acme.example --email --by ${PEOPLE.acme_super}`), 0, stderr);
  const mails = await deliver();
  assert.is(mails.length, 3, mails.map((m) => m.mail.subject).join(' | '));
  const revoked = one(mails, '[Acme Corp] Your token pat-cli-1 was revoked');
  assert.equal(revoked.envelope, ['cleo@acme.example']);
  facts(revoked, 'rotated');
  const denied = one(mails, '[Globex Corporation] Your request for Miro (miro-2) was denied');
  assert.equal(denied.envelope, ['dave@globex.example']);
  facts(denied, 'Use Figma');
  const usage = one(mails, /^\[Acme Corp\] App usage export/);
  assert.equal(usage.envelope, [PEOPLE.acme_super]);
  assert.match(
    usage.mail.attachments[0]?.content.toString('utf8') ?? '',
    /^\ufeffemail,user_id,app,app_name,uses_last_90_days,last_used\r\n/,
  );
});

test('turning PATs off mails each owner once, listing their revoked tokens', async () => {
  for (const [user, email, id] of [
    ['U4', 'erin@acme.example', 'pat-e-1'],
    ['U4', 'erin@acme.example', 'pat-e-2'],
    ['U5', 'finn@acme.example', 'pat-f-1'],
  ] as const) {
    assert.ok((await env.decide(create(user, email, id))).decision);
  }
  // Gil's PAT expired yesterday (a decision stamped that expiry): it stopped working then, so turning PATs
  // off changes nothing for it and Gil gets no pats_revoked email.
  const now = nowSeconds();
  await env.store.appendDecisions(
    [],
    [
      {
        org: 'acme.example',
        id: 'pat-g-old',
        action: 'token.create',
        kind: 'personal_access',
        owner: 'U6',
        owner_email: 'gil@acme.example',
        service_account: null,
        created_at: now - 40 * 86_400,
        at: now - 40 * 86_400,
        used: false,
        expires_at: now - 86_400,
      },
    ],
  );
  await deliver();
  const file = join(env.dir, 'orgs', 'acme.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('personal_access_tokens: enabled', 'personal_access_tokens: disabled'),
  );
  const loaded = await env.engine.load();
  await env.engine.load();
  const mails = await deliver();
  const erin = one(mails, '[Acme Corp] Personal access tokens are turned off: 2 of your tokens were revoked');
  assert.equal(erin.envelope, ['erin@acme.example']);
  facts(erin, 'pat-e-1', 'pat-e-2', loaded.revision);
  assert.not.ok(erin.mail.text?.includes('pat-f-1'));
  const finn = one(mails, '[Acme Corp] Personal access tokens are turned off: 1 of your tokens was revoked');
  assert.equal(finn.envelope, ['finn@acme.example']);
  assert.is(
    (await env.store.getToken('acme.example', 'pat-g-old'))?.revoked?.by,
    'policy',
    'swept all the same',
  );
  assert.ok(
    mails.every((m) => !m.envelope.includes('gil@acme.example')),
    'no email about a token that had expired already',
  );
  // Ann's PAT revoked earlier is not swept again, nor mailed.
  assert.ok(
    mails.every((m) => !m.envelope.includes('ann@acme.example')),
    mails.map((m) => m.envelope).join(),
  );
});

test('a guest joining an approval-mode org hears which apps stopped and how to ask', async () => {
  const joined = '2026-06-01T09:30:00Z';
  const body = {
    user: 'G1',
    role: 'guest',
    joined_at: joined,
    email: 'Visitor@Partner.example',
    apps: ['A0F7XDUAZ', 'calendly-1', 'trello-5'],
  };
  assert.is((await env.post(`${GLOBEX}/events/member-joined`, body, 'platform')).status, 200);
  assert.is((await env.post(`${GLOBEX}/events/member-joined`, body, 'platform')).status, 200);
  // A member (not a guest) is not mailed.
  await env.post(
    `${GLOBEX}/events/member-joined`,
    { ...body, user: 'M1', role: 'member', email: 'm@globex.example' },
    'platform',
  );
  const mails = await deliver();
  assert.is(mails.length, 1);
  const m = one(mails, '[Globex Corporation] 2 of your apps need approval in Globex Corporation');
  assert.equal(m.envelope, ['visitor@partner.example']);
  facts(
    m,
    'calendly-1',
    'trello-5',
    'connect the app again',
    'hank.scorpio@globex.example',
    '2026-06-01 09:30 UTC',
  );
  assert.not.ok(m.mail.text?.includes('A0F7XDUAZ'), 'an approved app did not stop');
});

test('the usage export arrives as a CSV attachment, the same bytes as GET apps/usage.csv', async () => {
  const connect = (user: string, email: string, appId: string) => ({
    subject: { type: 'user', id: user, properties: { email, role: 'member' } },
    action: { name: 'app.connect' },
    resource: { type: 'app', id: appId, properties: { name: 'Notion' } },
    context: { org: 'acme.example' },
  });
  await env.decide(connect('U1', 'ann@acme.example', 'notion-1'));
  await env.decide(connect('U2', 'bo@acme.example', 'notion-1'));
  const res = await env.call(`${ADMIN_ACME}/apps/usage:email`, { method: 'POST', as: 'acme_super' });
  assert.is(res.status, 202);
  const { notification } = (await res.json()) as { notification: { id: string; status: string } };
  assert.type(notification.id, 'string');
  const csv = Buffer.from(
    await (await env.call(`${ADMIN_ACME}/apps/usage.csv`, { as: 'acme_super' })).arrayBuffer(),
  );
  const mails = await deliver();
  assert.is(mails.length, 1);
  const m = one(mails, /^\[Acme Corp\] App usage export \(\d{4}-\d{2}-\d{2}\)$/);
  assert.equal(m.envelope, [PEOPLE.acme_super]);
  assert.is(m.mail.attachments.length, 1);
  const a = m.mail.attachments[0];
  assert.match(a?.filename ?? '', /^acme\.example-app-usage-\d{4}-\d{2}-\d{2}\.csv$/);
  assert.is(a?.contentType, 'text/csv');
  assert.equal(a?.content, csv);
  assert.ok(a?.content.toString('utf8').includes('bo@acme.example,U2,notion-1,Notion,1,'));
  assert.ok(m.mail.text?.includes('Rows: 2'), m.mail.text);
  facts(m, `${PUBLIC_URL}/admin/v1/orgs/acme.example/apps/usage.csv`);
  // The id is the outbox row's; an admin (not a super admin) cannot have it mailed.
  assert.is((await env.store.getNotification(notification.id))?.kind, 'usage_export');
  assert.is(
    (await env.call(`${ADMIN_ACME}/apps/usage:email`, { method: 'POST', as: 'acme_admin' })).status,
    403,
  );
  assert.is((await deliver()).length, 0);
});

test('the expiry sweep warns 7 days before and tells when expired, once per token, across restarts', async () => {
  const e1 = await setup(smtp.port);
  let e = e1;
  try {
    await deliver(e);
    assert.ok((await e.decide(create('U1', 'ann@globex.example', 'pat-x-1', 'globex.example'))).decision);
    const token = await e.store.getToken('globex.example', 'pat-x-1');
    const expiry = e.engine.tokenExpiry('globex.example', token?.created_at as number) as number;
    // Globex expires tokens after 90 days.
    assert.is(expiry - (token?.created_at as number), 90 * DAY);
    const warnAt = expiry - 6 * DAY;
    // The sweep queues its emails due at its `now`; the worker sends them at that time too.
    workerNow = warnAt + 7200;
    for (let i = 0; i < 3; i += 1)
      await sweepTokenExpiry({ store: e.store, engine: e.engine, now: warnAt + i * 600 });
    // A restart between runs: the store file reopened, a new engine and worker.
    const { dir, db } = e;
    await e.close();
    e = await setup(smtp.port, { dir, db });
    for (let i = 0; i < 3; i += 1)
      await sweepTokenExpiry({ store: e.store, engine: e.engine, now: warnAt + 3600 + i * 600 });
    let mails = await deliver(e);
    assert.is(mails.length, 1, mails.map((m) => m.mail.subject).join(' | '));
    const warn = one(
      mails,
      `[Globex Corporation] Your token pat-x-1 expires on ${formatRfc3339(expiry).slice(0, 10)}`,
    );
    assert.equal(warn.envelope, ['ann@globex.example']);
    facts(
      warn,
      'pat-x-1',
      `${formatRfc3339(expiry).slice(0, 10)} ${formatRfc3339(expiry).slice(11, 16)} UTC`,
    );
    // Sweeping again later in the week, and once more after another restart: nothing new.
    await sweepTokenExpiry({ store: e.store, engine: e.engine, now: expiry - DAY });
    await e.close();
    e = await setup(smtp.port, { dir, db });
    await sweepTokenExpiry({ store: e.store, engine: e.engine, now: expiry - 60 });
    workerNow = expiry;
    assert.is((await deliver(e)).length, 0);
    // Expired: one notice, however often the sweep runs.
    for (let i = 0; i < 3; i += 1)
      await sweepTokenExpiry({ store: e.store, engine: e.engine, now: expiry + i * 600 });
    workerNow = expiry + 3600;
    mails = await deliver(e);
    assert.is(mails.length, 1);
    const gone = one(
      mails,
      `[Globex Corporation] Your token pat-x-1 expired on ${formatRfc3339(expiry).slice(0, 10)}`,
    );
    assert.equal(gone.envelope, ['ann@globex.example']);
  } finally {
    workerNow = null;
    await e.close();
  }
});

test('a running server sweeps once its policy is live: the owner of a token expiring in 5 days is warned', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'appwarden-emails-serve-'));
  dirs.push(tmp);
  const dir = join(tmp, 'repo');
  cpSync(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  const store = openStore(join(tmp, 'state.db'));
  const now = nowSeconds();
  // Globex's 90-day expiration went live 85 days ago (the engine's clock then), the token was created then.
  const wentLive = now - 85 * DAY;
  const engine = createEngine({ policyDir: dir, store, clock: () => wentLive });
  await store.appendDecisions(
    [],
    [
      {
        org: 'globex.example',
        id: 'pat-serve-1',
        action: 'token.use',
        kind: 'personal_access',
        owner: 'U1',
        owner_email: 'ann@globex.example',
        service_account: null,
        created_at: wentLive,
        at: wentLive,
        used: true,
        expires_at: null,
      },
    ],
  );
  const config: ServerConfig = {
    ...defaultConfig,
    port: 0,
    smtp: {
      ...defaultConfig.smtp,
      host: '127.0.0.1',
      port: smtp.port,
      user: SMTP_USER,
      password: SMTP_PASSWORD,
    },
  };
  const transport = createMailTransport(config.smtp, { outboxDir: join(tmp, 'outbox') });
  const worker = createNotificationWorker({
    store,
    transport,
    render: renderNotification,
    from: config.smtp.from,
    publicUrl: config.publicUrl,
    orgName: (org) => engine.data?.orgs[org]?.name ?? org,
    maxAttempts: 3,
    retryBaseSeconds: 1,
    pollMs: 50,
  });
  const server = await startServer({ engine, config, logger: pino({ level: 'silent' }), store, worker });
  try {
    // The policy goes live after the server started (as `appwarden serve` does): the sweep follows the load.
    await engine.load();
    const subject = `[Globex Corporation] Your token pat-serve-1 expires on ${formatRfc3339(wentLive + 90 * DAY).slice(0, 10)}`;
    for (let i = 0; i < 200 && !smtp.received.some((m) => m.mail.subject === subject); i += 1) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const mails = smtp.received.slice(seen);
    seen = smtp.received.length;
    assert.equal(one(mails, subject).envelope, ['ann@globex.example']);
  } finally {
    await server.close();
    transport.close();
    engine.close();
    await store.close();
  }
});

test('this suite received every kind of email the README lists', () => {
  const kinds = new Set(smtp.received.map((m) => m.mail.headers.get(KIND_HEADER.toLowerCase())));
  assert.equal([...kinds].sort(), EMAILS.map((e) => e.kind).sort());
});

test.run();
