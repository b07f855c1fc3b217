// Graceful shutdown of `appwarden serve` (issue 6, docs/operations.md "Shutdown"): SIGTERM / SIGINT under
// keep-alive load loses no accepted request, exits 0 and leaves every answered decision in the store; the
// grace deadline ends a request slower than it; a second signal exits at once.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.ts';
import { ROOT, type RunningServer, startAppwarden } from '../examples/support.ts';
import { generateTraffic } from '../examples/traffic/generate.ts';

const dir = mkdtempSync(join(tmpdir(), 'appwarden-shutdown-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// Mixed decisions (every action, allows and denies) from the seeded generator, for the real clock.
const traffic = generateTraffic({ seed: 6, count: 600, now: Date.now() / 1000 });

interface Child {
  server: RunningServer;
  db: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function serve(name: string, graceMs: number): Promise<Child> {
  const db = join(dir, name, 'appwarden.db');
  const server = await startAppwarden(join(ROOT, 'examples', 'policy-repo'), ['--store', db], {
    env: {
      APPWARDEN_LOG_LEVEL: 'warn',
      APPWARDEN_SHUTDOWN_GRACE_MS: String(graceMs),
      // The outbox worker writes .eml files when no SMTP is configured: here, never in the repository's var/.
      APPWARDEN_NOTIFICATIONS_OUTBOX_DIR: join(dir, name, 'outbox'),
    },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    if (server.child.exitCode !== null) done({ code: server.child.exitCode, signal: null });
    server.child.once('exit', (code, signal) => done({ code, signal }));
  });
  return { server, db, exited };
}

/** What one request ended as, from the client's side. */
type Outcome =
  | { kind: 'answered'; status: number; ids: string[]; connectionClose: boolean }
  | { kind: 'not_sent'; code: string } // no response at all: refused, or the socket closed before any byte
  | { kind: 'cut'; detail: string }; // a response started and did not end whole

/** One decision request on a keep-alive agent: an evaluation, the OPA Data API, or a batch of three. */
function send(url: string, agent: Agent, i: number): Promise<Outcome> {
  const one = traffic[i % traffic.length];
  const kind = i % 7 === 0 ? 'batch' : i % 5 === 0 ? 'opa' : 'one';
  const path =
    kind === 'batch'
      ? '/access/v1/evaluations'
      : kind === 'opa'
        ? '/v1/data/appwarden/decision'
        : '/access/v1/evaluation';
  const body =
    kind === 'batch'
      ? { evaluations: [0, 1, 2].map((k) => traffic[(i + k) % traffic.length]) }
      : kind === 'opa'
        ? { input: one }
        : one;
  return new Promise<Outcome>((resolve) => {
    let responded = false;
    const req = request(
      `${url}${path}`,
      { agent, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('aborted', () => resolve({ kind: 'cut', detail: `aborted after status ${res.statusCode}` }));
        res.on('error', (e) => resolve({ kind: 'cut', detail: `response error ${e.message}` }));
        res.on('end', () => {
          if (!res.complete) return resolve({ kind: 'cut', detail: 'incomplete' });
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            return resolve({ kind: 'cut', detail: `unparsable body ${text.slice(0, 80)}` });
          }
          type D = { context?: { decision_id?: string } };
          const ids =
            kind === 'batch'
              ? ((parsed.evaluations as D[] | undefined) ?? []).map((d) => d.context?.decision_id ?? '')
              : kind === 'opa'
                ? [String(parsed.decision_id ?? '')]
                : [(parsed as D).context?.decision_id ?? ''];
          resolve({
            kind: 'answered',
            status: res.statusCode ?? 0,
            ids,
            connectionClose: res.headers.connection === 'close',
          });
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (!responded) resolve({ kind: 'not_sent', code: e.code ?? e.message });
    });
    req.end(JSON.stringify(body));
  });
}

interface LoadResult {
  answered: string[];
  answeredAfterSignal: number;
  connectionClose: number;
  notSent: Map<string, number>;
  failures: string[];
}

/**
 * Sends from `connections` keep-alive clients until each is refused; `signal` is sent once `signalAfter`
 * requests were answered.
 */
async function loadAndSignal(
  child: Child,
  signal: NodeJS.Signals,
  signalAfter: number,
  connections = 8,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const r: LoadResult = {
    answered: [],
    answeredAfterSignal: 0,
    connectionClose: 0,
    notSent: new Map(),
    failures: [],
  };
  let next = 0;
  let signalled = false;
  const worker = async () => {
    // Bounded: a server that never refuses would otherwise keep the test running.
    for (let attempt = 0; attempt < 5_000; attempt++) {
      const out = await send(child.server.url, agent, next++);
      if (out.kind === 'answered') {
        if (out.status !== 200) r.failures.push(`status ${out.status}`);
        r.answered.push(...out.ids);
        if (signalled) r.answeredAfterSignal++;
        if (out.connectionClose) r.connectionClose++;
      } else if (out.kind === 'cut') r.failures.push(`cut: ${out.detail}`);
      else {
        r.notSent.set(out.code, (r.notSent.get(out.code) ?? 0) + 1);
        // Refused: the listener is gone, this client is done. Anything else (a keep-alive socket closed as
        // the request left): try again, which is what a client does after a connection error.
        if (out.code === 'ECONNREFUSED') return;
      }
      if (!signalled && r.answered.length >= signalAfter) {
        signalled = true;
        child.server.child.kill(signal);
      }
    }
    r.failures.push('never refused');
  };
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return r;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);
}

/** Every answered id is in the store, and the store has nothing else: no decision was made and not answered. */
async function assertLogMatches(db: string, answered: string[]): Promise<void> {
  const store = openStore(db);
  const missing: string[] = [];
  for (const id of answered) if ((await store.getDecision(id)) === null) missing.push(id);
  await store.close();
  assert.equal(missing, [], `${missing.length} of ${answered.length} answered decisions are not in the log`);
  const sqlite = new Database(db, { readonly: true });
  const { n } = sqlite.prepare('SELECT count(*) AS n FROM decision_log').get() as { n: number };
  sqlite.close();
  assert.is(
    n,
    new Set(answered).size,
    'the log holds exactly the answered decisions (none decided, then cut)',
  );
}

test('SIGTERM under keep-alive load: every accepted request is answered 200, exit 0, the log has them all', async () => {
  const child = await serve('term', 20_000);
  const r = await loadAndSignal(child, 'SIGTERM', 300);
  const exit = await within(child.exited, 25_000, 'exit after SIGTERM');
  const out = child.server.output();
  assert.equal(r.failures, [], `failed requests (answered ${r.answered.length}):\n${out}`);
  assert.equal(exit, { code: 0, signal: null }, out);
  assert.ok(r.answered.length >= 300, `${r.answered.length} decisions answered`);
  assert.ok(
    (r.notSent.get('ECONNREFUSED') ?? 0) > 0,
    'clients kept sending until new connections were refused',
  );
  assert.not.match(out, 'grace period over', 'every open request finished within the grace');
  assert.not.ok(r.answered.includes(''), 'every answer carries a decision id');
  await assertLogMatches(child.db, r.answered);
});

test('SIGINT under load: the same graceful shutdown, exit 0', async () => {
  const child = await serve('int', 20_000);
  const r = await loadAndSignal(child, 'SIGINT', 100, 4);
  const exit = await within(child.exited, 25_000, 'exit after SIGINT');
  const out = child.server.output();
  assert.equal(r.failures, [], out);
  assert.equal(exit, { code: 0, signal: null }, out);
  assert.not.match(out, 'grace period over');
  await assertLogMatches(child.db, r.answered);
});

/**
 * A request slower than any grace: headers and half of a declared body, then nothing (the server waits for
 * the rest until its 30 s request timeout). Resolves with what came back when the server closed the socket.
 */
function trap(url: string): Promise<{ opened: Promise<void>; closed: Promise<string> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolveTrap) => {
    let received = '';
    const socket = connect(Number(port), hostname);
    const closed = new Promise<string>((done) => socket.on('close', () => done(received)));
    socket.on('data', (b: Buffer) => {
      received += b.toString('utf8');
    });
    socket.on('error', () => {});
    const opened = new Promise<void>((ok) =>
      socket.on('connect', () => {
        socket.write(
          'POST /access/v1/evaluation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            'Content-Length: 400\r\n\r\n{"subject":{"type":"user",',
        );
        ok();
      }),
    );
    resolveTrap({ opened, closed });
  });
}

test('a request slower than the grace is cut at the deadline and the server still exits 0', async () => {
  const child = await serve('deadline', 1_500);
  const slow = await trap(child.server.url);
  await slow.opened;
  // The trap's request is open on the server once a later request on another connection is answered.
  const agent = new Agent({ keepAlive: false });
  const before = await send(child.server.url, agent, 1);
  assert.is(before.kind, 'answered');
  child.server.child.kill('SIGTERM');
  const exit = await within(child.exited, 15_000, 'exit after the grace deadline');
  const received = await slow.closed;
  const out = child.server.output();
  assert.equal(exit, { code: 0, signal: null }, out);
  assert.match(out, 'grace period over', 'the deadline, not the request, ended the wait');
  assert.is(received, '', 'the cut request got no partial answer: its connection closed without a byte');
  const after = await send(child.server.url, agent, 2);
  assert.equal(after, { kind: 'not_sent', code: 'ECONNREFUSED' });
});

test('a second signal during shutdown exits at once with 128 + signal number (SIGTERM: 143)', async () => {
  const child = await serve('twice', 60_000);
  const slow = await trap(child.server.url);
  await slow.opened;
  const agent = new Agent({ keepAlive: false });
  assert.is((await send(child.server.url, agent, 3)).kind, 'answered');
  child.server.child.kill('SIGTERM');
  // Shutdown has started once the listener refuses; the trap holds it open for the 60 s grace.
  for (let i = 0; i < 100; i++) {
    const out = await send(child.server.url, agent, 4);
    if (out.kind === 'not_sent' && out.code === 'ECONNREFUSED') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.is(child.server.child.exitCode, null, 'still shutting down (the trap is open)');
  child.server.child.kill('SIGTERM');
  const exit = await within(child.exited, 10_000, 'exit after the second SIGTERM');
  assert.equal(exit, { code: 143, signal: null }, child.server.output());
  assert.match(child.server.output(), 'second signal during shutdown');
  await slow.closed;
});

test('SIGTERM as soon as the server listens, its first policy load still running: a graceful exit 0', async () => {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'appwarden.js'),
      'serve',
      '--policy',
      join(ROOT, 'examples', 'policy-repo'),
      '--port',
      '0',
      '--store',
      ':memory:',
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        APPWARDEN_LOG_LEVEL: 'info',
        APPWARDEN_NOTIFICATIONS_OUTBOX_DIR: join(dir, 'early'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let sent = false;
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString('utf8');
    if (!sent && out.includes('decision server listening')) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  const exit = await within(
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once('exit', (code, signal) => done({ code, signal })),
    ),
    20_000,
    'exit after an early SIGTERM',
  );
  assert.ok(sent, out);
  assert.equal(exit, { code: 0, signal: null }, `not killed by the signal's default action:\n${out}`);
  assert.match(out, 'shutdown: store closed; exiting');
});

test.run();
