// The decision log through HTTP (app.request()): every served decision is committed before it is answered,
// with only the logged fields; a failed commit answers 500 evaluation_error; and the admin query
// GET /admin/v1/orgs/{org}/decisions with its filters, cursor paging, errors and auth.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine, openStore, type Store } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig, type ServerConfig } from '../server/config.ts';
import { BLOCKED, connect, engineWithTrap } from './support/fixtures.ts';

const root = join(import.meta.dirname, '..');
let real: Engine;

test.before(async () => {
  real = createEngine({ policyDir: join(root, 'examples', 'policy-repo') });
  await real.load();
});
test.after(() => real.close());

// Super admins of Acme and of Globex in examples/policy-repo (the admin API needs an admin token, SPEC §1).
const DANA = 'dana-admin-token-0123456789';
const HANK = 'hank-admin-token-0123456789';
const ADMIN_TOKENS = [
  { email: 'dana.whitfield@acme.example', tokenSha256: sha256Hex(DANA) },
  { email: 'hank.scorpio@globex.example', tokenSha256: sha256Hex(HANK) },
];
const asDana = { authorization: `Bearer ${DANA}` };

function setup(config: Partial<ServerConfig> = {}) {
  const store = openStore(':memory:');
  const app = createApp({
    engine: engineWithTrap(real),
    config: { ...defaultConfig, adminTokens: ADMIN_TOKENS, ...config },
    store,
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const get = (path: string, headers: Record<string, string> = asDana) => app.request(path, { headers });
  return { store, app, post, get };
}

const patCreate = (user: string) => ({
  subject: { type: 'user', id: user, properties: { email: 'guest@acme.example', role: 'guest' } },
  action: { name: 'token.create' },
  resource: { type: 'token', properties: { kind: 'personal_access' } },
  context: { org: 'ACME.example' },
});

interface WireRecord {
  decision_id: string;
  time: string;
  org: string;
  action: string;
  subject_type: string;
  subject_id: string;
  subject_role: string | null;
  resource_type: string;
  resource_id: string | null;
  decision: boolean;
  reason: string;
  revision: string;
  latency_us: number;
}
type Page = { decisions: WireRecord[]; next_cursor: string | null };

test('each answered decision is in the log with exactly the logged fields and its input minus the email', async () => {
  const { store, post } = setup();
  const res = await post('/access/v1/evaluation', connect('U1', BLOCKED));
  assert.is(res.status, 200);
  const d = (await res.json()) as { decision: boolean; context: { decision_id: string; revision: string } };
  // Committed before the answer: readable at once, no waiting.
  const rec = await store.getDecision(d.context.decision_id);
  assert.ok(rec, 'the answered decision is logged');
  assert.equal(
    { ...rec, at_ms: 0, latency_us: 0 },
    {
      decision_id: d.context.decision_id,
      at_ms: 0,
      org: 'acme.example',
      action: 'app.connect',
      subject_type: 'user',
      subject_id: 'U1',
      subject_role: 'member',
      resource_type: 'app',
      resource_id: BLOCKED,
      decision: false,
      reason: 'app_blocked',
      revision: d.context.revision,
      latency_us: 0,
      // Kept for impact replay, without the subject's email: the log holds no emails.
      input: {
        subject: { type: 'user', id: 'U1', properties: { role: 'member' } },
        action: { name: 'app.connect' },
        resource: { type: 'app', id: BLOCKED },
        context: { org: 'acme.example' },
      },
    },
  );
  assert.not.match(JSON.stringify(rec), /@acme\.example/, 'no email in the decision log');
  assert.ok(rec.latency_us > 0 && rec.latency_us < 1_000_000, `latency ${rec.latency_us} µs`);
  assert.ok(Math.abs(rec.at_ms - Date.now()) < 10_000);
  assert.not.match(JSON.stringify(rec), /@acme\.example/, 'no email in the log');

  const t = await post('/access/v1/evaluation', patCreate('G1'));
  const td = (await t.json()) as { context: { decision_id: string } };
  const trec = await store.getDecision(td.context.decision_id);
  assert.equal(
    [trec?.org, trec?.subject_role, trec?.resource_type, trec?.resource_id],
    ['acme.example', 'guest', 'token', null],
  );
});

test('batches log every served item (and only those); the OPA route is logged; refused input is not', async () => {
  const { store, post, get } = setup();
  const batch = await post('/access/v1/evaluations', {
    ...connect('U2', 'A1'),
    evaluations: [{ resource: { type: 'app', id: 'A2' } }, { resource: { type: 'app', id: BLOCKED } }, {}],
    options: { evaluations_semantic: 'deny_on_first_deny' },
  });
  const served = ((await batch.json()) as { evaluations: { context: { decision_id: string } }[] })
    .evaluations;
  assert.is(served.length, 2, 'stops at the first deny');
  for (const s of served) assert.ok(await store.getDecision(s.context.decision_id));
  const opa = await post('/v1/data/appwarden/decision', { input: connect('U3', 'A3') });
  const od = (await opa.json()) as { decision_id: string };
  assert.is((await store.getDecision(od.decision_id))?.subject_id, 'U3');
  const bad = await post('/access/v1/evaluation', { ...connect('U4', 'A4'), action: { name: 'app.nope' } });
  assert.is(bad.status, 400);
  const page = (await (await get('/admin/v1/orgs/acme.example/decisions')).json()) as Page;
  assert.equal(
    page.decisions.map((r) => r.subject_id),
    ['U3', 'U2', 'U2'],
  );
});

test('a batch item whose evaluation fails is served as a deny and logged as evaluation_error', async () => {
  const { store, post } = setup();
  const res = await post('/access/v1/evaluations', {
    ...connect('U5', 'A1'),
    evaluations: [{}, { resource: { type: 'app', id: 'explode' } }],
  });
  const items = (
    (await res.json()) as { evaluations: { decision: boolean; context: { decision_id: string } }[] }
  ).evaluations;
  const failed = await store.getDecision(items[1]?.context.decision_id ?? '');
  assert.equal(
    [failed?.decision, failed?.reason, failed?.resource_id],
    [false, 'evaluation_error', 'explode'],
  );
});

test('a single evaluation that fails is answered as a 500 deny and logged under the id it answered with', async () => {
  const { store, post } = setup();
  const res = await post('/access/v1/evaluation', connect('U6', 'explode'));
  assert.is(res.status, 500);
  const body = (await res.json()) as { decision: boolean; context: { decision_id: string } };
  const logged = await store.getDecision(body.context.decision_id);
  assert.equal(
    [logged?.decision, logged?.reason, logged?.resource_id],
    [false, 'evaluation_error', 'explode'],
  );
  const opa = await post('/v1/data/appwarden/decision', { input: connect('U6', 'explode') });
  const wrapped = (await opa.json()) as { decision_id: string };
  assert.is((await store.getDecision(wrapped.decision_id))?.reason, 'evaluation_error');
});

test('when the log cannot commit, the decision is not answered: 500 evaluation_error, decision false', async () => {
  const { store, post } = setup();
  await store.close();
  const res = await post('/access/v1/evaluation', connect('U1', 'A1'));
  assert.is(res.status, 500);
  const body = (await res.json()) as { decision: boolean; error: { code: string } };
  assert.is(body.decision, false);
  assert.is(body.error.code, 'evaluation_error');
});

async function fill(post: ReturnType<typeof setup>['post'], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const body = i % 3 === 0 ? connect(`U${i % 4}`, BLOCKED) : connect(`U${i % 4}`, `A${i}`);
    assert.is((await post('/access/v1/evaluation', body)).status, 200);
  }
  await post('/access/v1/evaluation', connect('U9', 'A1', 'globex.example'));
}

test('the admin query filters by action, reason and subject, and only shows the org asked for', async () => {
  const { post, get } = setup();
  await fill(post, 12);
  const q = async (qs: string) =>
    ((await (await get(`/admin/v1/orgs/acme.example/decisions${qs}`)).json()) as Page).decisions;
  const all = await q('');
  assert.is(all.length, 12);
  assert.ok(all.every((r) => r.org === 'acme.example'));
  assert.equal(
    (await q('?reason=app_blocked')).map((r) => r.resource_id),
    all.filter((r) => r.reason === 'app_blocked').map((r) => r.resource_id),
  );
  assert.is((await q('?reason=app_blocked')).length, 4);
  assert.equal(
    (await q('?subject=U1&action=app.connect')).map((r) => r.decision_id),
    all.filter((r) => r.subject_id === 'U1').map((r) => r.decision_id),
  );
  assert.is((await q('?action=token.use')).length, 0);
  assert.is((await q('?subject=U9')).length, 0, 'globex decisions are not acme decisions');
  assert.is(
    (
      (await (
        await get('/admin/v1/orgs/GLOBEX.example/decisions', { authorization: `Bearer ${HANK}` })
      ).json()) as Page
    ).decisions.length,
    1,
  );
});

test('since (inclusive) and until (exclusive) are RFC 3339 and bound the time', async () => {
  const { post, get } = setup();
  await fill(post, 3);
  const all = ((await (await get('/admin/v1/orgs/acme.example/decisions')).json()) as Page).decisions;
  const newest = all[0]?.time as string;
  const oldest = all[all.length - 1]?.time as string;
  const q = async (qs: string) =>
    ((await (await get(`/admin/v1/orgs/acme.example/decisions?${qs}`)).json()) as Page).decisions.length;
  assert.is(await q(`since=${encodeURIComponent(oldest)}`), 3);
  assert.is(await q(`until=${encodeURIComponent(oldest)}`), 0);
  const after = new Date(Date.parse(newest) + 1).toISOString();
  assert.is(await q(`since=${encodeURIComponent(after)}`), 0);
  assert.is(await q(`since=2000-01-01T00:00:00Z&until=${encodeURIComponent(after)}`), 3);
  assert.is(await q(`since=2000-01-01T01:00:00%2B01:00`), 3, 'offsets are read');
});

test('cursor paging walks every decision once, newest first; limit defaults to 100 and caps at 1000', async () => {
  const { post, get } = setup();
  await fill(post, 105);
  const first = (await (await get('/admin/v1/orgs/acme.example/decisions')).json()) as Page;
  assert.is(first.decisions.length, 100);
  assert.type(first.next_cursor, 'string');
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const qs: string = `?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = (await (await get(`/admin/v1/orgs/acme.example/decisions${qs}`)).json()) as Page;
    seen.push(...page.decisions.map((r) => r.decision_id));
    cursor = page.next_cursor;
  } while (cursor);
  assert.is(seen.length, 105);
  assert.is(new Set(seen).size, 105);
  assert.equal(
    seen.slice(0, 100),
    first.decisions.map((r) => r.decision_id),
  );
});

test('bad query parameters are 400 invalid_request naming the parameter', async () => {
  const { get } = setup();
  const cases: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['since=2026-06-01', 'since'],
    ['until=yesterday', 'until'],
    ['since=2026-06-02T00:00:00Z&until=2026-06-01T00:00:00Z', 'until'],
    ['action=app.delete', 'action'],
    ['reason=because', 'reason'],
    ['cursor=not-a-cursor', 'cursor'],
    ['page=2', 'page'],
  ];
  for (const [qs, field] of cases) {
    const res = await get(`/admin/v1/orgs/acme.example/decisions?${qs}`);
    assert.is(res.status, 400, qs);
    const body = (await res.json()) as { error: { code: string; field: string } };
    assert.equal([body.error.code, body.error.field], ['invalid_request', field], qs);
  }
  assert.is((await get('/admin/v1/orgs/acme.example/decisions?limit=1000')).status, 200);
  // An unencoded + offset arrives as a space: the message says how to send it.
  const plus = await get('/admin/v1/orgs/acme.example/decisions?since=2026-06-01T00:00:00+01:00');
  assert.is(plus.status, 400);
  assert.match(((await plus.json()) as { error: { message: string } }).error.message, /encode \+ as %2B/);
  assert.is(
    (await get('/admin/v1/orgs/acme.example/decisions?since=2026-06-01T00:00:00%2B01:00')).status,
    200,
  );
});

test('the admin query needs an admin token: 401 without, 403 with a decision token; other methods are 405', async () => {
  const token = 'decision-test-token-0123456789';
  const { app, get } = setup({ tokenSha256: [sha256Hex(token)] });
  const none = await get('/admin/v1/orgs/acme.example/decisions', {});
  assert.is(none.status, 401);
  assert.is(((await none.json()) as { error: { code: string } }).error.code, 'unauthorized');
  const wrong = await get('/admin/v1/orgs/acme.example/decisions', { authorization: 'Bearer nope' });
  assert.is(wrong.status, 401);
  const decisionToken = await get('/admin/v1/orgs/acme.example/decisions', {
    authorization: `Bearer ${token}`,
  });
  assert.is(decisionToken.status, 403);
  const ok = await get('/admin/v1/orgs/acme.example/decisions');
  assert.is(ok.status, 200);
  const del = await app.request('/admin/v1/orgs/acme.example/decisions', {
    method: 'DELETE',
    headers: asDana,
  });
  assert.is(del.status, 405);
  assert.is(del.headers.get('allow'), 'GET, HEAD');
});

test('a store given to createApp is the one written: two apps on one store see each other', async () => {
  const store: Store = openStore(':memory:');
  const a = createApp({ engine: real, config: { ...defaultConfig }, store });
  const b = createApp({ engine: real, config: { ...defaultConfig, adminTokens: ADMIN_TOKENS }, store });
  const res = await a.request('/access/v1/evaluation', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(connect('U7', 'A7')),
  });
  const id = ((await res.json()) as { context: { decision_id: string } }).context.decision_id;
  const page = (await (
    await b.request('/admin/v1/orgs/acme.example/decisions', { headers: asDana })
  ).json()) as Page;
  assert.equal(
    page.decisions.map((r) => r.decision_id),
    [id],
  );
  await store.close();
});

test.run();
