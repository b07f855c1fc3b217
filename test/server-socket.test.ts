// The decision server over real sockets: body limits with Content-Length and chunked bodies, a real engine
// behind it, and the refusal to serve unauthenticated beyond loopback.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, isEngineError, openStore, type Store } from '../engine/index.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig } from '../server/config.ts';
import { type RunningServer, startServer } from '../server/main.ts';

const LIMIT = 1024;
const silent = pino({ level: 'silent' });
let dir = '';
let server: RunningServer;

const REQUEST = {
  subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
  action: { name: 'app.connect' },
  resource: { type: 'app', id: 'bad-app' },
  context: { org: 'acme.example' },
};

/** Sends raw bytes and resolves with the status code and body of the answer. */
function raw(port: number, text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('error', (err) => (data ? undefined : reject(err)));
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      resolve({ status, body });
    });
    socket.write(text);
  });
}

function chunked(parts: string[]): string {
  return `${parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('')}0\r\n\r\n`;
}

const head = (extra: string) =>
  `POST /access/v1/evaluation HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n${extra}\r\n`;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'appwarden-socket-'));
  mkdirSync(join(dir, 'orgs'));
  writeFileSync(
    join(dir, 'orgs', 'acme.yaml'),
    'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata:\n  org: acme.example\nspec:\n  apps:\n    blocked:\n      - id: bad-app\n        name: Bad App\n',
  );
  const engine = createEngine({ policyDir: dir });
  await engine.load();
  server = await startServer({
    engine,
    config: { ...defaultConfig, port: 0, maxBodyBytes: LIMIT },
    logger: silent,
  });
});

test.after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a client that disconnects mid-body is a 400 incomplete_body, not a server error', async () => {
  const errors: string[] = [];
  const logged = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
  const engine = createEngine({ policyDir: dir });
  await engine.load();
  const own = await startServer({ engine, config: { ...defaultConfig, port: 0 }, logger: logged });
  try {
    await new Promise<void>((resolve) => {
      const socket = connect(own.port, '127.0.0.1', () => {
        socket.write(`${head('Content-Length: 100\r\n')}{"sub`);
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(errors, [], 'nothing logged at error level');
  } finally {
    await own.close();
  }
});

test('a chunked body under the limit is evaluated by the real engine', async () => {
  const body = JSON.stringify(REQUEST);
  const half = Math.floor(body.length / 2);
  const res = await raw(
    server.port,
    head('Transfer-Encoding: chunked\r\n') + chunked([body.slice(0, half), body.slice(half)]),
  );
  assert.is(res.status, 200);
  const json = JSON.parse(res.body.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, '')) as {
    decision: boolean;
    context: { reason: { code: string } };
  };
  assert.is(json.decision, false);
  assert.is(json.context.reason.code, 'app_blocked');
});

test('a chunked body over the limit is 413, with no Content-Length to trust', async () => {
  const pad = 'a'.repeat(400);
  const parts = ['{"subject":', `"${pad}`, pad, `${pad}"}`];
  const res = await raw(server.port, head('Transfer-Encoding: chunked\r\n') + chunked(parts));
  assert.is(res.status, 413);
  assert.match(res.body, /payload_too_large/);
});

test('a declared Content-Length over the limit is 413 before the body is read', async () => {
  const body = JSON.stringify({ ...REQUEST, context: { org: 'acme.example', pad: 'a'.repeat(LIMIT) } });
  const res = await raw(server.port, head(`Content-Length: ${Buffer.byteLength(body)}\r\n`) + body);
  assert.is(res.status, 413);
  assert.match(res.body, /payload_too_large/);
  const ok = JSON.stringify(REQUEST);
  const small = await raw(server.port, head(`Content-Length: ${Buffer.byteLength(ok)}\r\n`) + ok);
  assert.is(small.status, 200);
});

test('health over the socket names the live revision', async () => {
  const res = await fetch(`${server.url}/health`);
  assert.is(res.status, 200);
  const body = (await res.json()) as { revision: string };
  assert.match(body.revision, /^[0-9a-f]{16}$/);
});

test('no tokens on a non-loopback host: refused before listening; loopback names are fine', async () => {
  const engine = createEngine({ policyDir: dir });
  for (const host of ['0.0.0.0', '::', '192.168.1.10', 'pdp.example.com']) {
    try {
      await startServer({ engine, config: { ...defaultConfig, host, port: 0 }, logger: silent });
      assert.unreachable(`started on ${host}`);
    } catch (err) {
      assert.ok(isEngineError(err, 'invalid_config'), String(err));
      assert.match((err as Error).message, /without authentication/);
    }
  }
  const local = await startServer({
    engine,
    config: { ...defaultConfig, host: 'localhost', port: 0, tokenSha256: [sha256Hex('t')] },
    logger: silent,
  });
  assert.is((await fetch(`${local.url}/ready`)).status, 503, 'not loaded yet: not ready');
  await local.close();
});

test('close() finishes while keep-alive clients keep sending: Connection: close, then the deadline', async () => {
  const engine = createEngine({ policyDir: dir });
  await engine.load();
  // Each decision commit takes a few ms (as an fsync does), so connections are busy, not idle, at close.
  const base = openStore(':memory:');
  const store: Store = {
    ...base,
    appendDecisions: async (...args) => {
      await new Promise((r) => setTimeout(r, 5));
      return base.appendDecisions(...args);
    },
  };
  const local = await startServer({
    engine,
    config: { ...defaultConfig, port: 0 },
    logger: silent,
    store,
    shutdownGraceMs: 3_000,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const failures: string[] = [];
  let answered = 0;
  let stop = false;
  const body = JSON.stringify(REQUEST);
  const one = () =>
    new Promise<'again' | 'done'>((res) => {
      const req = request(
        `${local.url}/access/v1/evaluation`,
        { agent, method: 'POST', headers: { 'content-type': 'application/json' } },
        (r) => {
          r.resume();
          r.on('end', () => {
            if (r.statusCode === 200) answered += 1;
            else failures.push(`status ${r.statusCode}`);
            res('again');
          });
          r.on('error', (e) => {
            failures.push(`response ${e.message}`);
            res('done');
          });
        },
      );
      // Refused: the listener is gone, so the request was never accepted. Reset on a reused keep-alive
      // socket: the server closed it idle as the request left (never read; Node's docs say retry), so go again.
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNRESET' && req.reusedSocket) res('again');
        else {
          if (e.code !== 'ECONNREFUSED') failures.push(`request ${e.code ?? e.message}`);
          res('done');
        }
      });
      req.end(body);
    });
  const clients = Array.from({ length: 8 }, async () => {
    while (!stop && (await one()) === 'again') {}
  });
  await new Promise((r) => setTimeout(r, 200));
  const before = answered;
  const started = Date.now();
  const closed = local.close().then(() => Date.now() - started);
  const tookMs = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 6_000))]);
  stop = true;
  await Promise.all(clients);
  agent.destroy();
  await closed;
  await base.close();
  engine.close();
  assert.ok(before > 0, 'the clients were sending');
  assert.ok(tookMs >= 0 && tookMs < 3_000, `close took ${tookMs} ms (-1: still open after 6 s)`);
  assert.equal(failures, [], 'no accepted request failed');
});

test.run();
