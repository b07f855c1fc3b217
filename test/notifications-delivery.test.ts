// Email delivery end to end (SPEC §6 outbox): the worker against a real SMTP server on loopback (smtp-server,
// parsed with mailparser): what arrives, an SMTP outage, a worker killed mid-send, the .eml file transport,
// and no SMTP password in any logged error. Run with CHILD_WORKER set, this file is the worker process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createMailTransport,
  createNotificationWorker,
  isEngineError,
  type NewNotification,
  type Notification,
  type NotificationWorkerOptions,
  openStore,
  type SmtpSettings,
  type Store,
} from '../engine/index.ts';

const FROM = 'appwarden <noreply@warden.example.com>';
const PASSWORD = 'S3cret-pa55:w0rd@x';

/** The renderer is injected: these tests are about delivery, test/email-templates.test.ts about the text. */
const render: NotificationWorkerOptions['render'] = (n, ctx) => ({
  subject: `[${ctx.orgName(n.org)}] ${n.kind} ${n.dedupe_key}`,
  text: `facts: ${JSON.stringify(n.data)}\n${ctx.publicUrl}/x`,
  html: `<p>${n.kind}</p>`,
});

const smtpAt = (port: number, over: Partial<SmtpSettings> = {}): SmtpSettings => ({
  url: null,
  host: '127.0.0.1',
  port,
  secure: false,
  user: null,
  password: null,
  ...over,
});

function mail(key: string, over: Partial<NewNotification> = {}): NewNotification {
  return {
    kind: 'token_revoked',
    org: 'acme.example',
    to: ['u1@acme.example'],
    dedupe_key: key,
    data: { token_id: key },
    ...over,
  };
}

function workerFor(store: Store, smtp: SmtpSettings, over: Partial<NotificationWorkerOptions> = {}) {
  return createNotificationWorker({
    store,
    transport: createMailTransport(smtp, { outboxDir: join(tmpdir(), 'unused-outbox') }),
    render,
    from: FROM,
    publicUrl: 'https://warden.example.com',
    orgName: (org) => (org === 'acme.example' ? 'Acme' : org),
    maxAttempts: 5,
    retryBaseSeconds: 30,
    pollMs: 50,
    random: () => 0,
    ...over,
  });
}

// ---- child mode: a worker process the tests start on a store file (and may kill); prints its result ----
if (process.env.CHILD_WORKER) {
  const { db, port } = JSON.parse(process.env.CHILD_WORKER) as { db: string; port: number };
  const store = openStore(db);
  const worker = workerFor(store, smtpAt(port), { batchSize: 100 });
  process.stdout.write(`${JSON.stringify(await worker.runOnce())}\n`);
  process.exit(0);
}

interface Received {
  rcpt: string[];
  mail: ParsedMail;
}

interface TestSmtp {
  port: number;
  received: Received[];
  /** Resolves when the n-th DATA (1-based) has been read in full. */
  dataSeen(n: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A loopback SMTP server recording each message it reads. `hold(n)`: the n-th DATA is read (and recorded) but
 * never answered, like a server that has the message when the client dies before its reply.
 */
async function startSmtp(
  opts: {
    port?: number;
    hold?: (n: number) => boolean;
    auth?: boolean;
    rejectRcpt?: (address: string) => boolean;
    /** Milliseconds to wait before accepting each message (a slow server). */
    delayMs?: number;
    /** The one login accepted (every other is refused, echoing the credentials). */
    accept?: { user: string; pass: string };
  } = {},
): Promise<TestSmtp> {
  const received: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let count = 0;
  const server = new SMTPServer({
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1_000,
    // A careless server that echoes the credentials in its reply: the worker must still log none of them.
    onAuth(auth, _session, cb) {
      if (opts.accept && auth.username === opts.accept.user && auth.password === opts.accept.pass) {
        cb(null, { user: auth.username });
        return;
      }
      cb(
        Object.assign(new Error(`Invalid login ${auth.username}:${auth.password} (${auth.method})`), {
          responseCode: 535,
        }),
      );
    },
    onRcptTo(address, _session, cb) {
      if (opts.rejectRcpt?.(address.address)) {
        cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      } else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        void simpleParser(Buffer.concat(chunks)).then((parsed) => {
          received.push({ rcpt: session.envelope.rcptTo.map((r) => r.address), mail: parsed });
          count += 1;
          for (const w of waiters.filter((x) => x.n <= count)) w.resolve();
          if (opts.hold?.(count)) return;
          if (opts.delayMs) setTimeout(() => cb(), opts.delayMs);
          else cb();
        });
      });
    },
  });
  await new Promise<void>((res) => server.listen(opts.port ?? 0, '127.0.0.1', () => res()));
  const port = ((server as unknown as { server: import('node:net').Server }).server.address() as AddressInfo)
    .port;
  return {
    port,
    received,
    dataSeen: (n) =>
      new Promise<void>((resolve) => {
        if (count >= n) resolve();
        else waiters.push({ n, resolve });
      }),
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'appwarden-mail-'));
  dirs.push(d);
  return d;
}

const T = 1_900_000_000;
const delivery = suite('notification delivery');

delivery(
  'SMTP: recipients, subject, Message-ID, kind header and attachment arrive; the row is sent',
  async () => {
    const smtp = await startSmtp();
    const store = openStore(':memory:');
    try {
      await store.enqueueNotifications(
        [
          mail('revoked:T1', { to: ['u1@acme.example', 'sec@acme.example'] }),
          mail('export:1', {
            kind: 'usage_export',
            to: ['dana@acme.example'],
            attachments: [
              { filename: 'usage.csv', content_type: 'text/csv', content: 'app,user\r\nA1,U1\r\n' },
            ],
          }),
        ],
        T,
      );
      const worker = workerFor(store, smtpAt(smtp.port), { now: () => T });
      assert.equal(await worker.runOnce(), { sent: 2, failed: 0, dead: 0 });
      const rows = await store.listNotifications({});
      const byKey = new Map(rows.map((r) => [r.dedupe_key, r]));
      assert.is(smtp.received.length, 2);
      const [first, second] = smtp.received as [Received, Received];
      const revoked = byKey.get('revoked:T1') as Notification;
      assert.equal(first.rcpt, ['u1@acme.example', 'sec@acme.example']);
      assert.is(first.mail.subject, '[Acme] token_revoked revoked:T1');
      assert.is(first.mail.messageId, `<${revoked.id}@warden.example.com>`);
      assert.is(first.mail.headers.get('x-appwarden-notification'), 'token_revoked');
      assert.is(first.mail.headers.get('auto-submitted'), 'auto-generated');
      assert.is(first.mail.from?.value[0]?.address, 'noreply@warden.example.com');
      assert.match(first.mail.text ?? '', /token_id/);
      assert.equal(second.rcpt, ['dana@acme.example']);
      assert.equal(
        second.mail.attachments.map((a) => [a.filename, a.contentType, a.content.toString('utf8')]),
        [['usage.csv', 'text/csv', 'app,user\r\nA1,U1\r\n']],
      );
      assert.equal(
        rows.map((r) => [r.status, r.attempts, r.sent_at]),
        [
          ['sent', 1, T],
          ['sent', 1, T],
        ],
      );
      assert.equal(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 }, 'nothing sent twice');
    } finally {
      await store.close();
      await smtp.close();
    }
  },
);

delivery(
  'SMTP server down: rows stay pending with the error; back up: each email delivered once',
  async () => {
    let smtp = await startSmtp();
    const port = smtp.port;
    await smtp.close();
    const store = openStore(':memory:');
    let clock = T;
    const worker = workerFor(store, smtpAt(port), { now: () => clock });
    try {
      await store.enqueueNotifications([mail('k1'), mail('k2'), mail('k3')], T);
      assert.equal(await worker.runOnce(), { sent: 0, failed: 3, dead: 0 });
      const pending = await store.listNotifications({ status: 'pending' });
      assert.is(pending.length, 3);
      for (const r of pending) {
        assert.match(r.last_error ?? '', /ECONNREFUSED|ESOCKET|ECONNECTION/);
        assert.is(r.attempts, 1);
        assert.is(r.next_attempt_at, T + 15, 'first retry after base/2..base seconds (jitter pinned low)');
      }
      smtp = await startSmtp({ port });
      assert.equal(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 }, 'not due before the backoff');
      clock = T + 60;
      assert.equal(await worker.runOnce(), { sent: 3, failed: 0, dead: 0 });
      clock = T + 100_000;
      assert.equal(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 });
      const subjects = smtp.received.map((r) => r.mail.subject).sort();
      assert.equal(subjects, [
        '[Acme] token_revoked k1',
        '[Acme] token_revoked k2',
        '[Acme] token_revoked k3',
      ]);
      assert.equal(await store.notificationCounts(), { pending: 0, sending: 0, sent: 3, dead: 0 });
    } finally {
      await store.close();
      await smtp.close();
    }
  },
);

delivery(
  'a rejected recipient backs off, is dead after max attempts, and an admin retry delivers it',
  async () => {
    let reject = true;
    const smtp = await startSmtp({ rejectRcpt: (a) => reject && a === 'gone@acme.example' });
    const store = openStore(':memory:');
    let clock = T;
    const worker = workerFor(store, smtpAt(smtp.port), {
      now: () => clock,
      maxAttempts: 2,
      random: () => 0.999,
    });
    try {
      await store.enqueueNotifications([mail('k1', { to: ['gone@acme.example'] })], T);
      assert.equal(await worker.runOnce(), { sent: 0, failed: 1, dead: 0 });
      const [row] = await store.listNotifications({});
      assert.match(row?.last_error ?? '', /550/);
      assert.is(row?.next_attempt_at, T + 30, 'base 30 s, jitter pinned high');
      clock = T + 30;
      assert.equal(await worker.runOnce(), { sent: 0, failed: 0, dead: 1 });
      clock = T + 100_000;
      assert.equal(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 }, 'a dead email is not retried');
      reject = false;
      await store.retryNotification(row?.id ?? '', clock);
      assert.equal(await worker.runOnce(), { sent: 1, failed: 0, dead: 0 });
      assert.equal(
        smtp.received.map((r) => r.rcpt),
        [['gone@acme.example']],
      );
    } finally {
      await store.close();
      await smtp.close();
    }
  },
);

/** Starts a worker process on the SQLite file `db` sending to `port`; its exit code and output when it ends. */
function spawnWorker(db: string, port: number) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, CHILD_WORKER: JSON.stringify({ db, port }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<{ code: number | null; output: string }>((res) =>
    child.once('exit', (code) => res({ code, output })),
  );
  return { child, exited };
}

delivery('two worker processes on one store file send every email exactly once', async () => {
  const db = join(tempDir(), 'appwarden.db');
  const smtp = await startSmtp({ delayMs: 10 });
  const seeded = openStore(db);
  await seeded.enqueueNotifications(
    Array.from({ length: 30 }, (_, i) => mail(`k${i + 1}`)),
    Math.floor(Date.now() / 1000) - 10,
  );
  await seeded.close();
  try {
    const results = await Promise.all([spawnWorker(db, smtp.port).exited, spawnWorker(db, smtp.port).exited]);
    for (const r of results) assert.is(r.code, 0, r.output);
    const keys = smtp.received.map((r) => r.mail.subject?.split(' ').pop()).sort();
    assert.equal(keys, Array.from({ length: 30 }, (_, i) => `k${i + 1}`).sort(), 'each once, none twice');
    const store = openStore(db);
    assert.equal(await store.notificationCounts(), { pending: 0, sending: 0, sent: 30, dead: 0 });
    await store.close();
  } finally {
    await smtp.close();
  }
});

delivery(
  'a worker killed while the SMTP server holds DATA loses no email; a re-send keeps its Message-ID',
  async () => {
    const dir = tempDir();
    const db = join(dir, 'appwarden.db');
    const smtp = await startSmtp({ hold: (n) => n === 3 });
    const seeded = openStore(db);
    await seeded.enqueueNotifications(
      Array.from({ length: 5 }, (_, i) => mail(`k${i + 1}`)),
      Math.floor(Date.now() / 1000) - 10,
    );
    await seeded.close();
    const { child, exited } = spawnWorker(db, smtp.port);
    const early = exited.then(({ code, output }) => {
      throw new Error(`the worker exited (${code}) before the third DATA:\n${output}`);
    });
    await Promise.race([smtp.dataSeen(3), early]);
    early.catch(() => undefined);
    child.kill('SIGKILL');
    await exited;

    const store = openStore(db);
    try {
      const before = await store.listNotifications({});
      assert.equal(
        before.map((r) => [r.dedupe_key, r.status]).sort(),
        [
          ['k1', 'sent'],
          ['k2', 'sent'],
          ['k3', 'sending'],
          ['k4', 'pending'],
          ['k5', 'pending'],
        ],
        'killed between the SMTP DATA and marking k3 sent',
      );
      // A new worker once the dead worker's lease ran out.
      const worker = workerFor(store, smtpAt(smtp.port), {
        now: () => Math.floor(Date.now() / 1000) + 3_600,
      });
      assert.equal(await worker.runOnce(), { sent: 3, failed: 0, dead: 0 });
      const after = await store.listNotifications({});
      assert.ok(
        after.every((r) => r.status === 'sent'),
        'every row sent',
      );
      const idOf = new Map(after.map((r) => [r.dedupe_key, r.id]));
      const got = smtp.received.map((r) => [r.mail.subject?.split(' ').pop(), r.mail.messageId]);
      for (const k of ['k1', 'k2', 'k3', 'k4', 'k5']) {
        const copies = got.filter(([key]) => key === k);
        assert.ok(copies.length >= 1, `${k} delivered`);
        for (const [, messageId] of copies) {
          assert.is(
            messageId,
            `<${idOf.get(k)}@warden.example.com>`,
            `${k}: every copy has the row's Message-ID`,
          );
        }
      }
      assert.is(
        got.filter(([key]) => key === 'k3').length,
        2,
        'k3 re-sent once (the receiver can de-duplicate)',
      );
    } finally {
      await store.close();
      await smtp.close();
    }
  },
);

delivery('no SMTP server configured: each email is a parseable .eml file named by its id', async () => {
  const dir = join(tempDir(), 'outbox');
  const store = openStore(':memory:');
  try {
    const transport = createMailTransport(smtpAt(0, { host: null }), { outboxDir: dir });
    assert.is(transport.kind, 'file');
    const worker = workerFor(store, smtpAt(0), { transport, now: () => T });
    await store.enqueueNotifications(
      [
        mail('k1', {
          attachments: [{ filename: 'usage.csv', content_type: 'text/csv', content: 'a,b\r\n' }],
        }),
        mail('k2', { to: ['a@acme.example', 'b@acme.example'] }),
      ],
      T,
    );
    assert.equal(await worker.runOnce(), { sent: 2, failed: 0, dead: 0 });
    const rows = await store.listNotifications({});
    assert.equal(
      readdirSync(dir).sort(),
      rows.map((r) => `${r.id}.eml`).sort(),
      'one file per email, no temp file',
    );
    for (const r of rows) {
      const raw = readFileSync(join(dir, `${r.id}.eml`));
      assert.ok(raw.includes('\r\n'), 'CRLF line ends');
      const parsed = await simpleParser(raw);
      assert.is(parsed.messageId, `<${r.id}@warden.example.com>`);
      assert.is(parsed.subject, `[Acme] token_revoked ${r.dedupe_key}`);
      const to = parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((v) => v.address) : [];
      assert.equal(to, r.to);
      assert.is(parsed.attachments.length, r.dedupe_key === 'k1' ? 1 : 0);
    }
  } finally {
    await store.close();
  }
});

delivery('the SMTP password never appears in a logged error nor in last_error', async () => {
  const smtp = await startSmtp({ auth: true });
  const store = openStore(':memory:');
  const lines: string[] = [];
  const capture = (level: string) => (obj: object, msg: string) => {
    lines.push(`${level} ${msg} ${JSON.stringify(obj)}`);
  };
  const logger = {
    debug: capture('debug'),
    info: capture('info'),
    warn: capture('warn'),
    error: capture('error'),
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  try {
    await store.enqueueNotifications([mail('k1'), mail('k2')], T);
    const settings = [
      smtpAt(smtp.port, { user: 'mailer', password: PASSWORD }),
      smtpAt(smtp.port, {
        host: null,
        url: `smtp://mailer:${encodeURIComponent(PASSWORD)}@127.0.0.1:${smtp.port}`,
      }),
    ];
    let clock = T;
    for (const s of settings) {
      const worker = workerFor(store, s, { now: () => clock, logger, batchSize: 1 });
      assert.equal(await worker.runOnce(), { sent: 0, failed: 1, dead: 0 });
      clock += 10_000;
    }
    const rows = await store.listNotifications({});
    const text = [...lines, ...rows.map((r) => r.last_error ?? '')].join('\n');
    assert.match(text, /535|EAUTH/, 'the failure is named');
    for (const secret of [
      PASSWORD,
      encodeURIComponent(PASSWORD),
      b64(PASSWORD),
      b64(`\u0000mailer\u0000${PASSWORD}`),
    ]) {
      assert.not.ok(text.includes(secret), `no ${secret} in:\n${text}`);
    }
    assert.is(lines.filter((l) => l.startsWith('warn email not sent')).length, 2);
  } finally {
    await store.close();
    await smtp.close();
  }
});

delivery(
  'SMTP login: the password may come apart from the URL or host (env), and a password with no user is refused',
  async () => {
    const smtp = await startSmtp({ auth: true, accept: { user: 'mailer', pass: PASSWORD } });
    const store = openStore(':memory:');
    try {
      const setups: SmtpSettings[] = [
        smtpAt(smtp.port, { user: 'mailer', password: PASSWORD }),
        smtpAt(smtp.port, {
          host: null,
          url: `smtp://mailer:${encodeURIComponent(PASSWORD)}@127.0.0.1:${smtp.port}`,
        }),
        // The documented way: the URL without its password, the password in APPWARDEN_SMTP_PASSWORD.
        smtpAt(smtp.port, { host: null, url: `smtp://mailer@127.0.0.1:${smtp.port}`, password: PASSWORD }),
        smtpAt(smtp.port, {
          host: null,
          url: `smtp://127.0.0.1:${smtp.port}`,
          user: 'mailer',
          password: PASSWORD,
        }),
      ];
      for (const [i, s] of setups.entries()) {
        await store.enqueueNotifications([mail(`login-${i}`)], T);
        assert.equal(
          await workerFor(store, s, { now: () => T }).runOnce(),
          { sent: 1, failed: 0, dead: 0 },
          `setup ${i}`,
        );
      }
      assert.is(smtp.received.length, setups.length);
      for (const bad of [
        smtpAt(smtp.port, { password: PASSWORD }),
        smtpAt(smtp.port, { host: null, url: `smtp://127.0.0.1:${smtp.port}`, password: PASSWORD }),
      ]) {
        try {
          workerFor(store, bad);
          assert.unreachable('a password without a user was accepted');
        } catch (err) {
          assert.ok(isEngineError(err, 'invalid_config'), String(err));
          assert.not.ok(String(err).includes(PASSWORD));
        }
      }
    } finally {
      await store.close();
      await smtp.close();
    }
  },
);

delivery('a recipient refused while the others get it is queued again on its own, not dropped', async () => {
  const smtp = await startSmtp({ rejectRcpt: (a) => a === 'gone@acme.example' });
  const store = openStore(':memory:');
  try {
    await store.enqueueNotifications([mail('k-part', { to: ['u1@acme.example', 'gone@acme.example'] })], T);
    const worker = workerFor(store, smtpAt(smtp.port), { now: () => T, batchSize: 1 });
    assert.equal(await worker.runOnce(), { sent: 1, failed: 0, dead: 0 });
    assert.equal(
      smtp.received.map((r) => r.rcpt),
      [['u1@acme.example']],
    );
    const rows = await store.listNotifications({});
    const followUp = rows.find((r) => r.dedupe_key.startsWith('k-part#refused:'));
    assert.ok(followUp, 'a row for the refused recipient');
    assert.equal(followUp.to, ['gone@acme.example']);
    assert.is(followUp.status, 'pending');
    assert.is(followUp.kind, 'token_revoked');
    // Refused again: a failed attempt with the server's reason, on its way to dead where an admin sees it.
    assert.equal(await worker.runOnce(), { sent: 0, failed: 1, dead: 0 });
    assert.match((await store.getNotification(followUp.id))?.last_error ?? '', /550/);
  } finally {
    await store.close();
    await smtp.close();
  }
});

delivery(
  'a server that trickles its replies cannot hold a row: the send has a deadline below the claim',
  async () => {
    // Answers EHLO with a continuation line every 100 ms, forever: never silent, so no idle timeout fires.
    const sockets = new Set<import('node:net').Socket>();
    const tarpit = createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.write('220 tarpit ESMTP\r\n');
      const drip = setInterval(() => sock.write('250-still thinking\r\n'), 100);
      sock.on('close', () => clearInterval(drip));
      sock.on('error', () => clearInterval(drip));
    });
    await new Promise<void>((res) => tarpit.listen(0, '127.0.0.1', () => res()));
    const port = (tarpit.address() as AddressInfo).port;
    const store = openStore(':memory:');
    try {
      await store.enqueueNotifications([mail('k-slow')], T);
      const worker = workerFor(store, smtpAt(port), { now: () => T, sendTimeoutMs: 800 });
      assert.equal(await worker.runOnce(), { sent: 0, failed: 1, dead: 0 });
      const [row] = await store.listNotifications({});
      assert.is(row?.status, 'pending', 'back to pending, retried later');
      assert.match(row?.last_error ?? '', /longer than 0.8 s/);
      // The deadline closed the connection: nothing keeps talking to the server behind the row's back.
      for (let i = 0; i < 40 && sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.is(sockets.size, 0, 'the abandoned connection is closed');
    } finally {
      await store.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => tarpit.close(() => res()));
    }
  },
);

delivery('nothing is sent before the server is ready (the templates need the live policy)', async () => {
  const smtp = await startSmtp();
  const store = openStore(':memory:');
  try {
    await store.enqueueNotifications([mail('k-early')], T);
    let ready = false;
    const worker = workerFor(store, smtpAt(smtp.port), { now: () => T, isReady: () => ready });
    assert.equal(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 });
    assert.is((await store.listNotifications({}))[0]?.status, 'pending', 'left alone, not claimed');
    ready = true;
    assert.equal(await worker.runOnce(), { sent: 1, failed: 0, dead: 0 });
  } finally {
    await store.close();
    await smtp.close();
  }
});

delivery('start() polls until stop(), which waits for the batch in flight', async () => {
  const smtp = await startSmtp();
  const store = openStore(':memory:');
  try {
    const worker = workerFor(store, smtpAt(smtp.port), { pollMs: 20 });
    worker.start();
    await store.enqueueNotifications([mail('k1')], Math.floor(Date.now() / 1000));
    await smtp.dataSeen(1);
    await worker.stop();
    await store.enqueueNotifications([mail('k2')], Math.floor(Date.now() / 1000));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(
      (await store.listNotifications({})).map((r) => [r.dedupe_key, r.status]),
      [
        ['k2', 'pending'],
        ['k1', 'sent'],
      ],
      'marked sent before stop() resolved; nothing sent after',
    );
  } finally {
    await store.close();
    await smtp.close();
  }
});

delivery.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

if (!process.env.CHILD_WORKER) delivery.run();
