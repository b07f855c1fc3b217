// The server's log: a real `appwarden serve` (child process, debug level) driven through requests carrying
// bearer tokens, secret-looking fields, admin calls, a bad reload and an SMTP URL with a password, whose whole
// output must hold none of those secrets while holding the expected events; levels; createLogger's redaction.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine, openStore } from '../engine/index.ts';
import { freePort, startProcess } from '../examples/support.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig } from '../server/config.ts';
import { createLogger, REDACTED } from '../server/logger.ts';

const root = join(import.meta.dirname, '..');

// Every secret the run hands the server; none may appear in its output.
const SERVICE = 'svc-token-Qm9vZ1ZhbHVlMTIz';
const DANA = 'dana-admin-token-WmFwWmFwMTIz';
const WRONG = 'not-a-real-token-S3VuZ0Z1UGFuZGE';
const FIELD_SECRET = 'hunter2-field-password-Xy7';
const GITHUB_PAT = 'ghp_R4nd0mLook1ngT0kenValue00000000000000';
const SMTP_PASSWORD = 'smtp-pass-P4ssw0rdZ';
const SECRETS = [SERVICE, DANA, WRONG, FIELD_SECRET, GITHUB_PAT, SMTP_PASSWORD];

interface Line {
  level: string;
  msg: string;
  [k: string]: unknown;
}

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appwarden-logging-'));
  await cp(join(root, 'examples', 'policy-repo'), join(dir, 'policy'), { recursive: true });
});
test.after(() => rm(dir, { recursive: true, force: true }));

const connect = (user: string, app: string) => ({
  subject: {
    type: 'user',
    id: user,
    properties: { email: `${user.toLowerCase()}@acme.example`, role: 'member' },
  },
  action: { name: 'app.connect' },
  resource: { type: 'app', id: app },
  context: { org: 'acme.example' },
});

/** Polls `check` every 50 ms for up to 10 s. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a real server logs the expected events and none of the secrets it was handed', async () => {
  const policy = join(dir, 'policy');
  const port = await freePort();
  const server = await startProcess(
    process.execPath,
    [
      join(root, 'bin', 'appwarden.js'),
      'serve',
      '--policy',
      policy,
      '--port',
      String(port),
      '--store',
      join(dir, 'store.db'),
    ],
    {
      url: `http://127.0.0.1:${port}`,
      readyPath: '/ready',
      env: {
        APPWARDEN_LOG_LEVEL: 'debug',
        APPWARDEN_TOKEN_SHA256: sha256Hex(SERVICE),
        APPWARDEN_ADMIN_TOKENS: `dana.whitfield@acme.example=${sha256Hex(DANA)}`,
        APPWARDEN_SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:2525`,
      },
    },
  );
  // Everything from here on, after what the child wrote until it was ready.
  let out = server.output();
  server.child.stdout?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  server.child.stderr?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  const svc = { authorization: `Bearer ${SERVICE}`, 'content-type': 'application/json' };
  const asDana = { authorization: `Bearer ${DANA}` };
  const post = (path: string, body: unknown, headers: Record<string, string> = svc) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  let decisionId = '';
  try {
    const allowed = await post('/access/v1/evaluation', connect('U1', 'A1'));
    assert.is(allowed.status, 200);
    decisionId = ((await allowed.json()) as { context: { decision_id: string } }).context.decision_id;
    assert.is((await post('/access/v1/evaluation', connect('U2', '1204567890123456789'))).status, 200);
    // Secrets in the body are refused before evaluation (SPEC §4), by name and by look.
    const byName = await post('/access/v1/evaluation', {
      ...connect('U3', 'A3'),
      resource: { type: 'app', id: 'A3', properties: { password: FIELD_SECRET } },
    });
    assert.is(byName.status, 400);
    const byValue = await post('/access/v1/evaluation', {
      ...connect('U3', 'A3'),
      resource: { type: 'app', id: 'A3', properties: { note: GITHUB_PAT } },
    });
    assert.is(byValue.status, 400);
    const wrong = await post('/access/v1/evaluation', connect('U4', 'A4'), {
      authorization: `Bearer ${WRONG}`,
      'content-type': 'application/json',
    });
    assert.is(wrong.status, 401);
    // The admin API with the admin token; a revocation is logged at info.
    const tokenUse = {
      subject: { type: 'user', id: 'U5', properties: { email: 'u5@acme.example', role: 'member' } },
      action: { name: 'token.use' },
      resource: {
        type: 'token',
        id: 'pat-u5',
        properties: { kind: 'personal_access', created_at: '2026-01-01T00:00:00Z', owner: 'U5' },
      },
      context: { org: 'acme.example' },
    };
    assert.is((await post('/access/v1/evaluation', tokenUse)).status, 200);
    const log = await fetch(`${server.url}/admin/v1/orgs/acme.example/decisions?limit=5`, {
      headers: asDana,
    });
    assert.is(log.status, 200);
    const revoke = await fetch(`${server.url}/admin/v1/orgs/acme.example/tokens/pat-u5`, {
      method: 'DELETE',
      headers: asDana,
    });
    assert.is(revoke.status, 200);
    assert.is(
      (
        await fetch(`${server.url}/admin/v1/orgs/acme.example/decisions`, {
          headers: { authorization: `Bearer ${WRONG}` },
        })
      ).status,
      401,
    );
    assert.is((await fetch(`${server.url}/metrics`, { headers: svc })).status, 200);

    // A bad change: rejected with every problem, the old revision stays live.
    const acme = join(policy, 'orgs', 'acme.yaml');
    const good = await readFile(acme, 'utf8');
    await writeFile(acme, good.replace('mode: allow_all', 'mode: sometimes'));
    await until('the rejected reload', async () => out.includes('"outcome":"rejected"'));
    await writeFile(acme, good);
  } finally {
    await server.stop();
  }

  for (const secret of SECRETS) assert.not.ok(out.includes(secret), `the log holds ${secret.slice(0, 12)}…`);
  const lines = out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
  const one = (msg: string | RegExp, level: string, extra: (l: Line) => boolean = () => true): Line => {
    const hit = lines.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)) && extra(l));
    assert.ok(hit, `a line ${String(msg)}`);
    assert.is(hit?.level, level, `level of ${String(msg)}`);
    return hit as Line;
  };
  const opened = one('store opened', 'info');
  assert.equal([opened.kind, opened.location], ['sqlite', join(dir, 'store.db')]);
  assert.ok(Number(opened.schema_version) >= 1);
  assert.match(String(one('decision server listening', 'info').url), /^http:\/\/127\.0\.0\.1:\d+$/);
  const startup = one(/^policy reloaded/, 'info', (l) => l.reason === 'startup');
  assert.equal(startup.orgs, ['acme.example', 'globex.example', 'initech.example', 'umbrella.example']);
  assert.type(startup.ms, 'number');
  const rejected = one(/^reload rejected/, 'error');
  assert.ok(
    (rejected.errors as string[]).some((e) => /^orgs\/acme\.yaml:\d+:\d+: /.test(e)),
    'every problem with file:line:col',
  );
  assert.is(rejected.live_revision, startup.revision);
  // One line per request at debug, with its request id, route, status and the decision.
  const request = one('request', 'debug', (l) => l.decision_id === decisionId);
  assert.equal(
    [request.method, request.route, request.status, request.reason],
    ['POST', '/access/v1/evaluation', 200, 'allowed'],
  );
  assert.type(request.request_id, 'string');
  assert.type(request.ms, 'number');
  one('request', 'debug', (l) => l.route === '/admin/v1/orgs/:org/tokens/:id' && l.status === 200);
  one('request', 'debug', (l) => l.status === 400);
  one('token revoked', 'info');
  one('shutting down', 'info');
});

/** An in-process app whose log lines are captured. */
async function captured(level: 'info' | 'debug', engine: Engine) {
  const lines: Line[] = [];
  const logger = createLogger({
    level,
    destination: { write: (l: string) => void lines.push(JSON.parse(l)) },
  });
  const app = createApp({ engine, config: defaultConfig, logger, store: openStore(':memory:') });
  const res = await app.request('/access/v1/evaluation', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(connect('U1', 'A1')),
  });
  assert.is(res.status, 200);
  return lines;
}

test('request lines are debug: absent at info, present at debug', async () => {
  const engine = createEngine({ policyDir: join(root, 'examples', 'policy-repo') });
  await engine.load();
  try {
    const info = await captured('info', engine);
    assert.equal(
      info.filter((l) => l.msg === 'request'),
      [],
    );
    const debug = await captured('debug', engine);
    const req = debug.filter((l) => l.msg === 'request');
    assert.is(req.length, 1);
    assert.equal(
      [req[0]?.level, req[0]?.route, req[0]?.reason],
      ['debug', '/access/v1/evaluation', 'allowed'],
    );
  } finally {
    engine.close();
  }
});

test('createLogger redacts secret keys at any depth, credentials in URLs and errors, bearer values in messages', () => {
  const out: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void out.push(l) } });
  const url = `smtp://mailer:${SMTP_PASSWORD}@mail.example:587`;
  const err = new Error(`connect ECONNREFUSED ${url}`, { cause: new Error(`auth failed for ${url}`) });
  logger.error({ err, smtp: { url, host: 'mail.example', password: SMTP_PASSWORD } }, 'email not sent');
  logger.error(err);
  logger.info(
    {
      headers: { authorization: `Bearer ${SERVICE}`, cookie: `session=${DANA}` },
      deep: {
        a: { b: { c: { access_token: SERVICE, apiKey: DANA, client_secret: FIELD_SECRET, token_id: 'T1' } } },
      },
      list: [{ token: WRONG }],
    },
    'got Bearer %s',
    GITHUB_PAT,
  );
  logger.child({ admin_token: DANA }).info({ path: `/x?access_token=${SERVICE}` }, 'child');
  const text = out.join('');
  for (const secret of SECRETS) assert.not.ok(text.includes(secret), `the log holds ${secret.slice(0, 12)}…`);
  const [first, second, third, fourth] = out.map((l) => JSON.parse(l) as Record<string, any>);
  assert.is(first?.smtp.url, `smtp://${REDACTED}@mail.example:587`, 'the host stays, the credentials go');
  assert.is(first?.smtp.host, 'mail.example');
  assert.match(first?.err.message, /ECONNREFUSED smtp:\/\/\[REDACTED\]@mail\.example/);
  assert.is(second?.msg, `connect ECONNREFUSED smtp://${REDACTED}@mail.example:587`);
  assert.is(third?.deep.a.b.c.token_id, 'T1', 'ids are not secrets');
  assert.is(third?.headers.authorization, REDACTED);
  assert.is(fourth?.admin_token, REDACTED);
  assert.throws(() => createLogger({ level: 'verbose' }), /log level must be one of/);
});

test.run();
