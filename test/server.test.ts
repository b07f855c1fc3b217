// HTTP contract of the decision server through app.request() (SPEC §4 bad input, auth, batch, health, OPA API).
// The engine is a stand-in around the real request validation (engine/index.ts validateRequest), so what is
// tested here is the HTTP layer: status codes, error bodies, headers, batch semantics.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Decision, type Engine, EngineError, validateRequest } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig, type ServerConfig } from '../server/config.ts';

const REVISION = 'abcdef0123456789';

/** An engine whose decisions depend on the resource id: `blocked-*` → deny, `explode` → evaluation_error. */
function fakeEngine(
  opts: { ready?: boolean } = {},
): Engine & { setReady(v: boolean): void; calls: unknown[] } {
  let ready = opts.ready ?? true;
  const calls: unknown[] = [];
  return {
    calls,
    setReady(v: boolean) {
      ready = v;
    },
    async load() {
      ready = true;
      return { revision: REVISION, changed: true, orgs: ['acme.example'], liveSince: 1_772_323_200 };
    },
    get revision() {
      return ready ? REVISION : null;
    },
    get isReady() {
      return ready;
    },
    catalog: {},
    markJoined() {},
    joinedAt: () => null,
    get status() {
      return {
        revision: ready ? REVISION : null,
        liveSince: ready ? 1_772_323_200 : null,
        lastReload: ready ? { at: 1_772_323_200, ok: true, revision: REVISION } : null,
      };
    },
    policyDir: null,
    data: null,
    validate: (req: unknown, prefix?: string) => validateRequest(req, prefix),
    buildInput: () => {
      throw new Error('not used');
    },
    decide(request: unknown): Decision {
      const req = validateRequest(request);
      if (!ready) throw new EngineError('not_ready', 'no valid policy is live yet');
      calls.push(request);
      const id = req.resource.id ?? '';
      if (id === 'explode') throw new EngineError('evaluation_error', 'wasm trap: unreachable');
      if (id === 'bug') throw new TypeError('cannot read properties of undefined');
      const blocked = id.startsWith('blocked');
      return {
        decision: !blocked,
        context: {
          decision_id: randomUUID(),
          revision: REVISION,
          reason: blocked
            ? { code: 'app_blocked', message: `${id} is blocked` }
            : { code: 'allowed', message: 'ok' },
          ...(blocked ? { blocked_by: req.context.org } : {}),
        },
      };
    },
    markRevoked() {},
    isRevoked: () => false,
    tokenExpiry: () => null,
    close() {},
  } as Engine & { setReady(v: boolean): void; calls: unknown[] };
}

function request(appId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
    action: { name: 'app.connect' },
    resource: { type: 'app', id: appId },
    context: { org: 'acme.example' },
    ...extra,
  };
}

function setup(config: Partial<ServerConfig> = {}, engineOpts: { ready?: boolean } = {}) {
  const engine = fakeEngine(engineOpts);
  const app = createApp({ engine, config: { ...defaultConfig, tokenSha256: [], ...config } });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { engine, app, post };
}

async function errorOf(res: Response): Promise<{ code: string; message: string; field: string | null }> {
  const body = (await res.json()) as { error: { code: string; message: string; field: string | null } };
  return body.error;
}

test('an allow and a deny are both 200; the context is the decision context as the engine made it', async () => {
  const { post } = setup();
  const allow = await post('/access/v1/evaluation', request('calendar-bot'));
  assert.is(allow.status, 200);
  const a = (await allow.json()) as Decision;
  assert.is(a.decision, true);
  assert.is(a.context.revision, REVISION);
  assert.is(a.context.reason.code, 'allowed');
  const deny = await post('/access/v1/evaluation', request('blocked-dropbox'));
  assert.is(deny.status, 200);
  const d = (await deny.json()) as Decision;
  assert.is(d.decision, false);
  assert.is(d.context.reason.code, 'app_blocked');
  assert.is(d.context.blocked_by, 'acme.example');
  assert.ok(d.context.decision_id.length > 0);
});

test('malformed JSON, duplicate keys, non-objects, empty and non-UTF-8 bodies are 400 invalid_json, never evaluated', async () => {
  const { post, app, engine } = setup();
  for (const body of ['{"subject": ', '[]', '"text"', '42', 'null', '', '   ']) {
    const res = await post('/access/v1/evaluation', body);
    assert.is(res.status, 400, `body ${JSON.stringify(body)}`);
    assert.is((await errorOf(res)).code, 'invalid_json');
  }
  const dup = await post(
    '/access/v1/evaluation',
    '{"subject":{"type":"user","id":"U1"},"action":{"name":"app.connect"},"resource":{"type":"app","id":"x"},' +
      '"context":{"org":"acme.example","org":"evil.example"}}',
  );
  assert.is(dup.status, 400);
  const e = await errorOf(dup);
  assert.is(e.code, 'invalid_json');
  assert.is(e.field, '/context/org');
  assert.match(e.message, /duplicate key "org"/);
  const latin1 = await app.request('/access/v1/evaluation', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]),
  });
  assert.is(latin1.status, 400);
  assert.match((await errorOf(latin1)).message, /utf-8/i);
  assert.is(engine.calls.length, 0);
});

test('a wrong or missing field is 400 invalid_request naming the field', async () => {
  const { post, engine } = setup();
  const cases: [Record<string, unknown>, string][] = [
    [{ ...request('x'), resource: { type: 'app', id: 1204567890 } }, '/resource/id'],
    [{ ...request('x'), context: {} }, '/context/org'],
    [{ ...request('x'), action: { name: 'app.delete' } }, '/action/name'],
    [{ ...request('x'), context: { org: 'acme.example', now: '2026-01-01T00:00:00Z' } }, '/context/now'],
    [{ ...request('x'), extra: true }, '/extra'],
    [
      {
        ...request('x'),
        subject: {
          type: 'user',
          id: 'U1',
          properties: { email: 'ann@acme.example', role: 'member', joined_at: '2026-01-01' },
        },
      },
      '/subject/properties/joined_at',
    ],
  ];
  for (const [body, field] of cases) {
    const res = await post('/access/v1/evaluation', body);
    assert.is(res.status, 400, field);
    const e = await errorOf(res);
    assert.is(e.code, 'invalid_request', field);
    assert.is(e.field, field);
    assert.ok(e.message.length > 0);
  }
  // A big id as the caller's JSON carries it: digits that a double cannot hold must not be rounded into an id.
  const big = await post(
    '/access/v1/evaluation',
    JSON.stringify(request('x')).replace('"id":"x"', '"id":1204567890123456789'),
  );
  assert.is(big.status, 400);
  assert.is((await errorOf(big)).field, '/resource/id');
  const { subject: _s, ...noSubject } = request('x');
  const missing = await post('/access/v1/evaluation', noSubject);
  assert.is((await errorOf(missing)).field, '/subject');
  assert.is(engine.calls.length, 0);
});

test('a field that looks like a secret token value is refused', async () => {
  const { post } = setup();
  const res = await post('/access/v1/evaluation', {
    ...request('x'),
    resource: { type: 'app', id: 'x', properties: { name: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' } },
  });
  assert.is(res.status, 400);
  const e = await errorOf(res);
  assert.is(e.field, '/resource/properties/name');
  assert.not.match(e.message, /ghp_/, 'the secret is not echoed');
});

test('media type: application/json with parameters and application/*+json are accepted, anything else is 415', async () => {
  const { post } = setup();
  for (const ct of [
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;Charset="UTF-8"',
    'application/authzen+json',
  ]) {
    const res = await post('/access/v1/evaluation', request('x'), { 'content-type': ct });
    assert.is(res.status, 200, ct);
  }
  for (const ct of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
    'json',
  ]) {
    const res = await post('/access/v1/evaluation', request('x'), { 'content-type': ct });
    assert.is(res.status, 415, ct);
    assert.is((await errorOf(res)).code, 'unsupported_media_type');
  }
  const { app } = setup();
  const none = await app.request('/access/v1/evaluation', {
    method: 'POST',
    body: JSON.stringify(request('x')),
  });
  assert.is(none.status, 415);
});

test('a body over the limit is 413 payload_too_large (the limit is configurable)', async () => {
  const { post } = setup({ maxBodyBytes: 1024 });
  const big = request('x', { context: { org: 'acme.example', pad: 'a'.repeat(2000) } });
  const res = await post('/access/v1/evaluation', big);
  assert.is(res.status, 413);
  const e = await errorOf(res);
  assert.is(e.code, 'payload_too_large');
  assert.match(e.message, /1024/);
  const ok = await post('/access/v1/evaluation', request('x'));
  assert.is(ok.status, 200);
});

test('auth: missing or wrong token is 401, the right one passes; only digests are configured', async () => {
  const token = 'aw_test_token_value_1';
  const other = 'aw_test_token_value_2';
  const { post, app } = setup({ tokenSha256: [sha256Hex(other), sha256Hex(token)] });
  const none = await post('/access/v1/evaluation', request('x'));
  assert.is(none.status, 401);
  assert.is((await errorOf(none)).code, 'unauthorized');
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  const wrong = await post('/access/v1/evaluation', request('x'), { authorization: 'Bearer not-the-token' });
  assert.is(wrong.status, 401);
  const digestAsToken = await post('/access/v1/evaluation', request('x'), {
    authorization: `Bearer ${sha256Hex(token)}`,
  });
  assert.is(digestAsToken.status, 401, 'the digest itself is not a token');
  const basic = await post('/access/v1/evaluation', request('x'), { authorization: `Basic ${token}` });
  assert.is(basic.status, 401);
  for (const t of [token, other]) {
    const right = await post('/access/v1/evaluation', request('x'), { authorization: `Bearer ${t}` });
    assert.is(right.status, 200);
  }
  const lower = await post(
    '/v1/data/appwarden/decision',
    { input: request('x') },
    { authorization: `bearer ${token}` },
  );
  assert.is(lower.status, 200);
  const batch = await post('/access/v1/evaluations', { evaluations: [request('x')] });
  assert.is(batch.status, 401);
  const opa = await post('/v1/data/appwarden/decision', { input: request('x') });
  assert.is(opa.status, 401);
  // Unauthenticated callers learn nothing about the body: a bad body is still 401.
  const badBody = await post('/access/v1/evaluation', '{not json');
  assert.is(badBody.status, 401);
  for (const path of ['/health', '/ready', '/.well-known/authzen-configuration']) {
    assert.is((await app.request(path)).status, 200, path);
  }
});

test('before a policy is live: decisions 503 not_ready, /ready 503, /health 503; after the load all 200', async () => {
  const { post, app, engine } = setup({}, { ready: false });
  const res = await post('/access/v1/evaluation', request('x'));
  assert.is(res.status, 503);
  assert.is((await errorOf(res)).code, 'not_ready');
  assert.is((await post('/access/v1/evaluations', { evaluations: [request('x')] })).status, 503);
  assert.is((await post('/v1/data/appwarden/decision', { input: request('x') })).status, 503);
  const ready = await app.request('/ready');
  assert.is(ready.status, 503);
  assert.equal(await ready.json(), { ready: false, revision: null });
  const health = await app.request('/health');
  assert.is(health.status, 503);
  assert.is(((await health.json()) as { status: string }).status, 'not_ready');

  await engine.load();
  assert.is((await post('/access/v1/evaluation', request('x'))).status, 200);
  assert.equal(await (await app.request('/ready')).json(), { ready: true, revision: REVISION });
  const h = await app.request('/health');
  assert.is(h.status, 200);
  const hb = (await h.json()) as Record<string, unknown>;
  assert.is(hb.status, 'ok');
  assert.is(hb.revision, REVISION);
  assert.is(hb.live_since, '2026-03-01T00:00:00Z');
  assert.equal(hb.last_reload, { at: '2026-03-01T00:00:00Z', ok: true, revision: REVISION });
});

test('health: a failed last reload shows its issues and stays 200 while the old revision serves', async () => {
  const engine = fakeEngine();
  const failed = Object.create(engine, {
    status: {
      get: () => ({
        revision: REVISION,
        liveSince: 1_772_323_200,
        lastReload: {
          at: 1_772_409_600,
          ok: false,
          issues: [
            { file: 'orgs/acme.yaml', line: 3, column: 5, path: 'spec.apps', message: 'unknown key "mdoe"' },
          ],
        },
      }),
    },
  }) as Engine;
  const app = createApp({ engine: failed, config: { ...defaultConfig } });
  const res = await app.request('/health');
  assert.is(res.status, 200);
  const body = (await res.json()) as {
    revision: string;
    last_reload: { ok: boolean; at: string; issues: unknown[] };
  };
  assert.is(body.revision, REVISION);
  assert.is(body.last_reload.ok, false);
  assert.is(body.last_reload.at, '2026-03-02T00:00:00Z');
  assert.equal(body.last_reload.issues, [
    { file: 'orgs/acme.yaml', line: 3, column: 5, path: 'spec.apps', message: 'unknown key "mdoe"' },
  ]);
});

test('an evaluation that fails is 500 evaluation_error and still says decision: false', async () => {
  const { post } = setup();
  const res = await post('/access/v1/evaluation', request('explode'));
  assert.is(res.status, 500);
  const body = (await res.json()) as {
    decision: boolean;
    error: { code: string };
    context: { revision: string };
  };
  assert.is(body.decision, false);
  assert.is(body.error.code, 'evaluation_error');
  assert.is(body.context.revision, REVISION);
  assert.not.match(JSON.stringify(body), /wasm trap/, 'internal details stay in the log');
  const bug = await post('/v1/data/appwarden/decision', { input: request('bug') });
  assert.is(bug.status, 500);
  const b = (await bug.json()) as {
    result: { decision: boolean; context: { decision_id: string } };
    decision_id: string;
    error: { code: string };
  };
  assert.is(b.result.decision, false, "an unexpected throw fails closed too, in OPA's result shape");
  assert.is(b.decision_id, b.result.context.decision_id);
  assert.is(b.error.code, 'evaluation_error');
  assert.match(
    (body as unknown as { context: { decision_id: string } }).context.decision_id,
    /^[0-9a-f-]{36}$/,
  );
});

test('unknown paths are 404 JSON; a wrong method is 405 with Allow', async () => {
  const { app } = setup();
  const nf = await app.request('/access/v2/evaluation', { method: 'POST' });
  assert.is(nf.status, 404);
  assert.is((await errorOf(nf)).code, 'not_found');
  const get = await app.request('/access/v1/evaluation');
  assert.is(get.status, 405);
  assert.is(get.headers.get('allow'), 'POST');
  assert.is((await errorOf(get)).code, 'method_not_allowed');
  const del = await app.request('/health', { method: 'DELETE' });
  assert.is(del.status, 405);
  assert.match(del.headers.get('allow') ?? '', /GET/);
});

test('batch: defaults are overridden per top-level key by each item', async () => {
  const { post, engine } = setup();
  const res = await post('/access/v1/evaluations', {
    subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
    action: { name: 'app.connect' },
    context: { org: 'acme.example' },
    evaluations: [
      { resource: { type: 'app', id: 'calendar' } },
      { resource: { type: 'app', id: 'blocked-dropbox' }, context: { org: 'globex.example' } },
      { resource: { type: 'app', id: 'zoom' }, action: { name: 'app.use' } },
    ],
  });
  assert.is(res.status, 200);
  const body = (await res.json()) as { evaluations: Decision[] };
  assert.equal(
    body.evaluations.map((d) => d.decision),
    [true, false, true],
  );
  assert.is(body.evaluations[1]?.context.blocked_by, 'globex.example');
  const sent = engine.calls as { action: { name: string }; context: { org: string } }[];
  assert.is(sent[0]?.context.org, 'acme.example');
  assert.is(sent[2]?.action.name, 'app.use');
});

test('batch: execute_all, deny_on_first_deny and permit_on_first_permit', async () => {
  const { post } = setup();
  const items = ['a', 'blocked-b', 'c', 'blocked-d'].map((id) => ({ resource: { type: 'app', id } }));
  const base = { ...request('unused'), evaluations: items };
  const run = async (semantic?: string) => {
    const res = await post('/access/v1/evaluations', {
      ...base,
      ...(semantic ? { options: { evaluations_semantic: semantic } } : {}),
    });
    assert.is(res.status, 200);
    return ((await res.json()) as { evaluations: Decision[] }).evaluations.map((d) => d.decision);
  };
  assert.equal(await run(), [true, false, true, false]);
  assert.equal(await run('execute_all'), [true, false, true, false]);
  assert.equal(await run('deny_on_first_deny'), [true, false]);
  assert.equal(await run('permit_on_first_permit'), [true]);
  const denyFirst = await post('/access/v1/evaluations', {
    ...request('unused'),
    options: { evaluations_semantic: 'permit_on_first_permit' },
    evaluations: [
      { resource: { type: 'app', id: 'blocked-1' } },
      { resource: { type: 'app', id: 'blocked-2' } },
    ],
  });
  assert.equal(
    ((await denyFirst.json()) as { evaluations: Decision[] }).evaluations.map((d) => d.decision),
    [false, false],
  );
  const bad = await post('/access/v1/evaluations', {
    ...base,
    options: { evaluations_semantic: 'first_wins' },
  });
  assert.is(bad.status, 400);
  assert.is((await errorOf(bad)).field, '/options/evaluations_semantic');
});

test('batch: every item is validated before any is evaluated; a bad item is named by index', async () => {
  const { post, engine } = setup();
  const items = [0, 1, 2, 3].map((i) => ({ resource: { type: 'app', id: `app-${i}` } }));
  items[3] = { resource: { type: 'app', id: 42 as unknown as string } };
  const res = await post('/access/v1/evaluations', { ...request('unused'), evaluations: items });
  assert.is(res.status, 400);
  const e = await errorOf(res);
  assert.is(e.code, 'invalid_request');
  assert.is(e.field, '/evaluations/3/resource/id');
  assert.match(e.message, /evaluations\[3\]/);
  assert.is(engine.calls.length, 0, 'nothing was evaluated');
  const notObject = await post('/access/v1/evaluations', { ...request('unused'), evaluations: [{}, 'x'] });
  assert.is((await errorOf(notObject)).field, '/evaluations/1');
  const notArray = await post('/access/v1/evaluations', { ...request('unused'), evaluations: {} });
  assert.is((await errorOf(notArray)).field, '/evaluations');
  // A field that neither the item nor the defaults give is the item's to give.
  const { action: _dropped, ...noAction } = request('x') as Record<string, unknown>;
  const missing = await post('/access/v1/evaluations', { evaluations: [noAction] });
  assert.is((await errorOf(missing)).field, '/evaluations/0/action');
});

test('batch: more items than the limit is 400; without evaluations it answers like a single evaluation', async () => {
  const { post } = setup({ maxBatchItems: 3 });
  const items = [1, 2, 3, 4].map((i) => ({ resource: { type: 'app', id: `a${i}` } }));
  const res = await post('/access/v1/evaluations', { ...request('x'), evaluations: items });
  assert.is(res.status, 400);
  const e = await errorOf(res);
  assert.is(e.field, '/evaluations');
  assert.match(e.message, /at most 3/);
  const single = await post('/access/v1/evaluations', request('blocked-x'));
  assert.is(single.status, 200);
  const d = (await single.json()) as Decision;
  assert.is(d.decision, false);
  assert.is(d.context.reason.code, 'app_blocked');
});

test('batch: an item whose evaluation fails is a deny with an error, the others are answered', async () => {
  const { post } = setup();
  const res = await post('/access/v1/evaluations', {
    ...request('x'),
    evaluations: [{ resource: { type: 'app', id: 'explode' } }, { resource: { type: 'app', id: 'ok' } }],
  });
  assert.is(res.status, 200);
  const body = (await res.json()) as {
    evaluations: { decision: boolean; context: { reason: { code: string }; error?: { status: number } } }[];
  };
  assert.is(body.evaluations[0]?.decision, false);
  assert.is(body.evaluations[0]?.context.reason.code, 'evaluation_error');
  assert.is(body.evaluations[0]?.context.error?.status, 500);
  assert.is(body.evaluations[1]?.decision, true);
});

test('OPA Data API: {input} in, {result, decision_id} out, with the same validation under /input', async () => {
  const { post } = setup();
  const res = await post('/v1/data/appwarden/decision', { input: request('blocked-x') });
  assert.is(res.status, 200);
  const body = (await res.json()) as { result: Decision; decision_id: string };
  assert.is(body.result.decision, false);
  assert.is(body.result.context.reason.code, 'app_blocked');
  assert.is(body.decision_id, body.result.context.decision_id);
  const missing = await post('/v1/data/appwarden/decision', request('x'));
  assert.is(missing.status, 400);
  assert.is((await errorOf(missing)).field, '/subject');
  const noInput = await post('/v1/data/appwarden/decision', {});
  assert.is((await errorOf(noInput)).field, '/input');
  const badField = await post('/v1/data/appwarden/decision', {
    input: { ...request('x'), resource: { type: 'app', id: 7 } },
  });
  assert.is(badField.status, 400);
  assert.is((await errorOf(badField)).field, '/input/resource/id');
});

test('X-Request-ID is echoed (sanitized, bounded) or generated, on answers and errors alike', async () => {
  const { post, app } = setup();
  const echoed = await post('/access/v1/evaluation', request('x'), { 'x-request-id': 'req-123.abc' });
  assert.is(echoed.headers.get('x-request-id'), 'req-123.abc');
  const dirty = await post('/access/v1/evaluation', request('x'), { 'x-request-id': 'a b"c<d>\t' });
  assert.is(dirty.headers.get('x-request-id'), 'abcd');
  const long = await post('/access/v1/evaluation', request('x'), { 'x-request-id': 'x'.repeat(500) });
  assert.is(long.headers.get('x-request-id')?.length, 128);
  const generated = await post('/access/v1/evaluation', request('x'));
  const g1 = generated.headers.get('x-request-id') ?? '';
  const g2 = (await post('/access/v1/evaluation', request('x'))).headers.get('x-request-id') ?? '';
  assert.match(g1, /^[0-9a-f-]{36}$/);
  assert.is.not(g1, g2);
  const err = await post('/access/v1/evaluation', '{', { 'x-request-id': 'err-1' });
  assert.is(err.status, 400);
  assert.is(err.headers.get('x-request-id'), 'err-1');
  const nf = await app.request('/nope', { headers: { 'x-request-id': 'nf-1' } });
  assert.is(nf.headers.get('x-request-id'), 'nf-1');
});

test('the AuthZEN metadata names absolute endpoint URLs from the request host', async () => {
  const { app } = setup();
  const res = await app.request('http://pdp.internal:9000/.well-known/authzen-configuration');
  assert.is(res.status, 200);
  assert.equal(await res.json(), {
    policy_decision_point: 'http://pdp.internal:9000',
    access_evaluation_endpoint: 'http://pdp.internal:9000/access/v1/evaluation',
    access_evaluations_endpoint: 'http://pdp.internal:9000/access/v1/evaluations',
  });
});

test('expected answers are not logged as errors: 503 not_ready at info and a 401 at debug, both without a stack', async () => {
  const lines: { level: number; msg: string; err?: unknown; status?: number }[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const notReady = createEngine({ policyDir: 'examples/policy-repo' });
  const app = createApp({ engine: notReady, config: defaultConfig, logger });
  const body = JSON.stringify({
    subject: { type: 'user', id: 'U1', properties: { email: 'a@acme.example', role: 'member' } },
    action: { name: 'app.connect' },
    resource: { type: 'app', id: 'x' },
    context: { org: 'acme.example' },
  });
  const post = (b: string) =>
    app.request('/access/v1/evaluation', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: b,
    });
  assert.is((await post(body)).status, 503);
  assert.is((await app.request('/admin/v1/orgs/acme.example/decisions')).status, 401);
  const answered = lines
    .filter((l) => l.status === 503 || l.status === 401)
    .filter((l) => l.msg !== 'request');
  assert.equal(
    answered.map((l) => [l.status, l.level]),
    [
      [503, 30],
      [401, 20],
    ],
  );
  assert.ok(
    lines.every((l) => l.level < 50 && l.err === undefined),
    'no error-level line, no stack',
  );
  notReady.close();
});

test.run();
