// GET /metrics through app.request(): decisions by action/decision/reason and their latency histogram, HTTP
// requests by route pattern, reloads by outcome with the live revision as an info metric, the decision log's
// commits, the outbox gauge, Node's process metrics, who may scrape, and one registry per app.
import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine, EngineError, openStore, type Store } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig, type ServerConfig } from '../server/config.ts';
import { BLOCKED, connect } from './support/fixtures.ts';

const root = join(import.meta.dirname, '..');
const NOW = 1_790_000_000; // the engine's clock: reload timestamps are exact
let dir: string;
let engine: Engine;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appwarden-metrics-'));
  await cp(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  engine = createEngine({ policyDir: dir, clock: () => NOW });
  await engine.load();
});
test.after(async () => {
  engine.close();
  await rm(dir, { recursive: true, force: true });
});

const DANA = 'dana-admin-token-0123456789';
const SERVICE = 'service-decision-token-0123456789';
const ADMIN_TOKENS = [{ email: 'dana.whitfield@acme.example', tokenSha256: sha256Hex(DANA) }];

/** The engine, except that resource id `explode` makes the evaluation fail (a Wasm trap stand-in). */
function withTrap(e: Engine): Engine {
  const t = Object.create(e) as Engine;
  t.decide = (req, opts) => {
    if ((req as { resource?: { id?: string } }).resource?.id === 'explode')
      throw new EngineError('evaluation_error', 'wasm trap: unreachable');
    return e.decide(req, opts);
  };
  return t;
}

function setup(config: Partial<ServerConfig> = {}, store: Store = openStore(':memory:')) {
  const app = createApp({
    engine: withTrap(engine),
    config: { ...defaultConfig, adminTokens: ADMIN_TOKENS, ...config },
    store,
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const scrape = async (headers: Record<string, string> = {}) => {
    const res = await app.request('/metrics', { headers });
    assert.is(res.status, 200, await res.clone().text());
    return parse(await res.text());
  };
  return { app, store, post, scrape };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (version 0.0.4): one sample per non-comment line. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples named `name` whose labels include `labels`. */
function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The value of the one sample named `name` with exactly these labels (0 when absent, like a fresh counter). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hit = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(hit.length <= 1, `one sample of ${name} ${JSON.stringify(labels)}`);
  return hit[0]?.value ?? 0;
}

test('decisions are counted by action, decision and reason, with a latency histogram from 50 µs', async () => {
  const { post, scrape } = setup();
  const sent: [unknown, number][] = [
    [connect('U1', BLOCKED), 200],
    [connect('U2', BLOCKED), 200],
    [connect('U3', BLOCKED), 200],
    [connect('U1', 'A1'), 200],
    [connect('U2', 'A2'), 200],
    [connect('U1', 'A1', 'nowhere.example'), 200],
    [connect('U1', 'explode'), 500],
  ];
  const reasons: string[] = [];
  for (const [body, status] of sent) {
    const res = await post('/access/v1/evaluation', body);
    assert.is(res.status, status);
    const json = (await res.json()) as { context: { reason: { code: string } } };
    reasons.push(json.context.reason.code);
  }
  // A batch of two and the OPA Data API are decisions too; a 400 is not (nothing was decided).
  const batch = await post('/access/v1/evaluations', {
    evaluations: [connect('U4', BLOCKED), connect('U4', 'A4')],
  });
  assert.is(batch.status, 200);
  assert.is((await post('/v1/data/appwarden/decision', { input: connect('U5', BLOCKED) })).status, 200);
  assert.is(
    (await post('/access/v1/evaluation', { ...connect('U6', 'A6'), action: { name: 'nope' } })).status,
    400,
  );
  assert.equal(reasons, [
    'app_blocked',
    'app_blocked',
    'app_blocked',
    'allowed',
    'allowed',
    'org_unknown',
    'evaluation_error',
  ]);

  const m = await scrape();
  const d = (decision: string, reason: string) =>
    value(m, 'appwarden_decisions_total', { action: 'app.connect', decision, reason });
  assert.is(d('deny', 'app_blocked'), 3 + 1 + 1);
  assert.is(d('allow', 'allowed'), 2 + 1);
  assert.is(d('deny', 'org_unknown'), 1);
  assert.is(d('deny', 'evaluation_error'), 1);
  assert.is(find(m, 'appwarden_decisions_total').length, 4, 'no other series (the 400 is not a decision)');

  const h = (le: string) =>
    value(m, 'appwarden_decision_duration_seconds_bucket', { action: 'app.connect', le });
  assert.ok(
    find(m, 'appwarden_decision_duration_seconds_bucket', { le: '0.00005' }).length === 1,
    '50 µs bucket',
  );
  assert.is(h('+Inf'), 10);
  assert.is(value(m, 'appwarden_decision_duration_seconds_count', { action: 'app.connect' }), 10);
  assert.ok(h('0.00005') <= h('0.001') && h('0.001') <= h('1'), 'cumulative buckets');
  assert.ok(value(m, 'appwarden_decision_duration_seconds_sum', { action: 'app.connect' }) > 0);
});

test('HTTP requests are labelled with the route pattern, never a raw path with ids', async () => {
  const { app, scrape } = setup();
  const asDana = { authorization: `Bearer ${DANA}` };
  assert.is((await app.request('/admin/v1/orgs/acme.example/tokens/T1', { headers: asDana })).status, 404);
  assert.is((await app.request('/admin/v1/orgs/acme.example/tokens/T2', { headers: asDana })).status, 404);
  // Stopped by the admin auth before any route ran: still the pattern it was going to.
  assert.is((await app.request('/admin/v1/orgs/globex.example/tokens/T3')).status, 401);
  assert.is((await app.request('/health')).status, 200);
  assert.is((await app.request('/no/such/thing-42')).status, 404);
  assert.is((await app.request('/health', { method: 'DELETE' })).status, 405);
  // Routes with an operator in the path: one series per operation, written as operators read it.
  const post = (path: string) => app.request(path, { method: 'POST', headers: asDana });
  await post('/admin/v1/orgs/acme.example/apps/A-secret-1:block');
  await post('/admin/v1/orgs/acme.example/apps/A-secret-2:approve');
  await post('/admin/v1/orgs/acme.example/tokens:set-expiration');
  await post('/admin/v1/orgs/acme.example/notifications/N-secret-3:retry');

  const m = await scrape();
  const routes = new Set(find(m, 'appwarden_http_requests_total').map((x) => x.labels.route as string));
  for (const want of [
    '/admin/v1/orgs/:org/apps/:id:block',
    '/admin/v1/orgs/:org/apps/:id:approve',
    '/admin/v1/orgs/:org/tokens:set-expiration',
    '/admin/v1/orgs/:org/notifications/:id:retry',
  ]) {
    assert.ok(routes.has(want), `${want} in ${[...routes].join(', ')}`);
  }
  assert.not.ok(
    [...routes].some((x) => x.includes('{')),
    'no router regex in a label',
  );
  const r = (route: string, method: string, status: string) =>
    value(m, 'appwarden_http_requests_total', { route, method, status });
  assert.is(r('/admin/v1/orgs/:org/tokens/:id', 'GET', '404'), 2);
  assert.is(r('/admin/v1/orgs/:org/tokens/:id', 'GET', '401'), 1);
  assert.is(r('/health', 'GET', '200'), 1);
  assert.is(r('/health', 'DELETE', '405'), 1);
  assert.is(r('unmatched', 'GET', '404'), 1);
  const labels = m.flatMap((s) => Object.values(s.labels));
  for (const raw of ['T1', 'T2', 'T3', 'acme.example', 'globex.example', 'thing-42', 'secret']) {
    assert.ok(!labels.some((l) => l.includes(raw)), `no label carries ${raw}`);
  }
  assert.is(
    value(m, 'appwarden_http_request_duration_seconds_count', {
      route: '/admin/v1/orgs/:org/tokens/:id',
      method: 'GET',
    }),
    3,
  );
});

test('a rejected reload is counted, the info metric keeps the old revision; a good one replaces it', async () => {
  const { scrape } = setup();
  const before = await scrape();
  const old = engine.revision as string;
  assert.equal(
    find(before, 'appwarden_policy_info').map((s) => [s.labels.revision, s.value]),
    [[old, 1]],
  );
  const acme = join(dir, 'orgs', 'acme.yaml');
  const good = await readFile(acme, 'utf8');
  try {
    await writeFile(acme, good.replace('mode: allow_all', 'mode: sometimes'));
    await engine.load().then(
      () => assert.unreachable('the broken policy loaded'),
      () => undefined,
    );
    const m = await scrape();
    assert.is(value(m, 'appwarden_reloads_total', { outcome: 'rejected' }), 1);
    assert.is(value(m, 'appwarden_reloads_total', { outcome: 'ok' }), 0);
    assert.equal(
      find(m, 'appwarden_policy_info').map((s) => [s.labels.revision, s.value]),
      [[old, 1]],
    );
    assert.is(value(m, 'appwarden_last_reload_timestamp_seconds'), NOW);
    // Unreadable sources are an error, not a rejection.
    await rename(dir, `${dir}.away`);
    await engine.load().then(
      () => assert.unreachable('a missing directory loaded'),
      () => undefined,
    );
    await rename(`${dir}.away`, dir);
    assert.is(value(await scrape(), 'appwarden_reloads_total', { outcome: 'error' }), 1);
  } finally {
    await writeFile(acme, good);
  }
  // A real change: the old revision's series is gone, only the new one is 1.
  await writeFile(acme, good.replace('expiration: default', 'expiration: 90d'));
  try {
    await engine.load();
    const m = await scrape();
    assert.is.not(engine.revision, old);
    assert.equal(
      find(m, 'appwarden_policy_info').map((s) => [s.labels.revision, s.value]),
      [[engine.revision, 1]],
    );
    assert.is(value(m, 'appwarden_reloads_total', { outcome: 'ok' }), 1);
    assert.is(value(m, 'appwarden_last_successful_reload_timestamp_seconds'), NOW);
  } finally {
    await writeFile(acme, good);
    await engine.load();
  }
});

test('the decision log commits, the queue depth and the outbox are reported', async () => {
  const store = openStore(':memory:');
  const { post, scrape } = setup({}, store);
  // Sent together: they share group commits.
  const answers = await Promise.all(
    Array.from({ length: 6 }, (_, i) => post('/access/v1/evaluation', connect(`U${i}`, BLOCKED))),
  );
  assert.equal(
    answers.map((a) => a.status),
    [200, 200, 200, 200, 200, 200],
  );
  await store.enqueueNotifications(
    [{ kind: 'token_revoked', org: 'acme.example', to: ['ann@acme.example'], dedupe_key: 'k1', data: {} }],
    NOW,
  );
  const m = await scrape();
  assert.is(value(m, 'appwarden_decision_log_commit_records_sum'), 6);
  const commits = value(m, 'appwarden_decision_log_commits_total', { outcome: 'ok' });
  assert.ok(commits >= 1 && commits <= 6, `${commits} commits`);
  assert.is(value(m, 'appwarden_decision_log_commit_records_count'), commits);
  assert.is(value(m, 'appwarden_decision_log_commits_total', { outcome: 'error' }), 0);
  assert.is(value(m, 'appwarden_decision_log_queue_depth'), 0, 'every answered decision is committed');
  assert.ok(find(m, 'appwarden_decision_log_commit_duration_seconds_count').length === 1);
  assert.is(value(m, 'appwarden_outbox_messages', { status: 'pending' }), 1);
  assert.is(value(m, 'appwarden_outbox_messages', { status: 'dead' }), 0);
  await store.close();
});

test('Node process metrics are there; /metrics is not a decision', async () => {
  const store = openStore(':memory:');
  const { scrape } = setup({}, store);
  const m = await scrape();
  assert.ok(find(m, 'process_cpu_user_seconds_total').length === 1, 'process_cpu_user_seconds_total');
  assert.ok(find(m, 'nodejs_heap_size_used_bytes').length === 1, 'nodejs_heap_size_used_bytes');
  const again = await scrape();
  assert.is(find(again, 'appwarden_decisions_total').length, 0);
  assert.is((await store.queryDecisions({ org: 'acme.example', limit: 10 })).decisions.length, 0);
  assert.is(
    value(again, 'appwarden_http_requests_total', { route: '/metrics', method: 'GET', status: '200' }),
    1,
  );
  await store.close();
});

test('two apps in one process keep their own counters', async () => {
  const a = setup();
  const b = setup();
  await a.post('/access/v1/evaluation', connect('U1', BLOCKED));
  const ma = await a.scrape();
  const mb = await b.scrape();
  assert.is(
    value(ma, 'appwarden_decisions_total', {
      action: 'app.connect',
      decision: 'deny',
      reason: 'app_blocked',
    }),
    1,
  );
  assert.is(find(mb, 'appwarden_decisions_total').length, 0);
});

test('who may scrape: open without decision tokens (loopback only); otherwise a decision-API or admin token', async () => {
  assert.is((await setup().app.request('/metrics')).status, 200);
  const { app } = setup({ tokenSha256: [sha256Hex(SERVICE)] });
  const none = await app.request('/metrics');
  assert.is(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
  assert.is(
    (await app.request('/metrics', { headers: { authorization: 'Bearer wrong-token-value' } })).status,
    401,
  );
  const svc = await app.request('/metrics', { headers: { authorization: `Bearer ${SERVICE}` } });
  assert.is(svc.status, 200);
  assert.match(svc.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.is((await app.request('/metrics', { headers: { authorization: `Bearer ${DANA}` } })).status, 200);
  assert.is((await app.request('/metrics', { method: 'POST' })).status, 405);
});

test.run();
