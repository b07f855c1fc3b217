// The OpenAPI 3.1 document: valid, what `npm run gen` makes, served at GET /openapi.json, documents every route
// of the app, and real answers (app.request()) match its response schemas (ajv, draft 2020-12).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine, EngineError, openStore } from '../engine/index.ts';
import { genOpenApi, OPENAPI_PATH } from '../scripts/gen-openapi.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig, type ServerConfig } from '../server/config.ts';
import { ACME_PEOPLE, adminTokens, asAdmin } from './support/admins.ts';

const root = join(import.meta.dirname, '..');
type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { responses: Record<string, unknown> };
};
const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as Doc;
let real: Engine;

test.before(async () => {
  real = createEngine({ policyDir: join(root, 'examples', 'policy-repo') });
  await real.load();
});
test.after(() => real.close());

/** The real engine, except that resource id `explode` makes the evaluation fail. */
function engineWithTrap(): Engine {
  const e = Object.create(real) as Engine;
  e.decide = (req, opts) => {
    if ((req as { resource?: { id?: string } }).resource?.id === 'explode')
      throw new EngineError('evaluation_error', 'wasm trap: unreachable');
    return real.decide(req, opts);
  };
  return e;
}

const PLATFORM_TOKEN = 'platform-token-0123456789';

function setup(config: Partial<ServerConfig> = {}, engine: Engine = engineWithTrap()) {
  const app = createApp({
    engine,
    config: { ...defaultConfig, adminTokens: adminTokens(ACME_PEOPLE), ...config },
    store: openStore(':memory:'),
  });
  return app;
}

test('the committed document is a valid OpenAPI 3.1 document', async () => {
  const validator = new Validator();
  const res = await validator.validate(
    structuredClone(doc) as unknown as Parameters<Validator['validate']>[0],
  );
  assert.ok(res.valid, JSON.stringify(res.errors, null, 2));
  assert.is(validator.version, '3.1');
});

test('the committed document is what the generator makes (stale: run npm run gen)', async () => {
  const stale = await genOpenApi({ check: true });
  assert.equal(stale, [], 'docs/openapi.json is stale: run npm run gen and commit it');
});

test('GET /openapi.json serves the document without a token, even when tokens are configured', async () => {
  const app = setup({ tokenSha256: [sha256Hex(PLATFORM_TOKEN)] });
  const res = await app.request('/openapi.json');
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', 'application/json');
  assert.equal(await res.json(), doc);
});

/** A Hono route path as a regular expression: `:name{re}` → `(re)`, `:name` → one segment, `*` → anything. */
function honoPattern(path: string): RegExp {
  let out = '';
  let i = 0;
  while (i < path.length) {
    const rest = path.slice(i);
    const param = /^:(\w+)(\{((?:[^{}]|\{[^{}]*\})+)\})?/.exec(rest);
    if (param) {
      out += param[3] ? `(?:${param[3]})` : '[^/]+';
      i += param[0].length;
    } else if (rest[0] === '*') {
      out += '.*';
      i += 1;
    } else {
      out += (rest[0] as string).replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      i += 1;
    }
  }
  return new RegExp(`^${out}$`);
}

/** A concrete path for a documented template: `{app}` → `sample-app`. */
const sample = (template: string): string => template.replace(/\{(\w+)\}/g, 'sample-$1');

test('every route of the app is documented, and every documented operation is a route', () => {
  const app = setup();
  const routes = [
    ...new Map(
      app.routes.filter((r) => r.method !== 'ALL').map((r) => [`${r.method} ${r.path}`, r] as const),
    ).values(),
  ];
  assert.ok(routes.length >= 25, `only ${routes.length} routes found`);
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })),
  );
  const missing = routes
    .filter((r) => !documented.some((d) => d.method === r.method && honoPattern(r.path).test(sample(d.path))))
    .map((r) => `${r.method} ${r.path}`);
  assert.equal(missing, [], 'routes missing from docs/openapi.json: add them to scripts/gen-openapi.ts');
  const invented = documented
    .filter((d) => !routes.some((r) => r.method === d.method && honoPattern(r.path).test(sample(d.path))))
    .map((d) => `${d.method} ${d.path}`);
  assert.equal(invented, [], 'documented operations the app does not serve');
});

test('every operation documents its errors with the error shape, and says who may call', () => {
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const o = op as { security?: unknown[]; responses: Record<string, { $ref?: string }> };
      assert.ok(Array.isArray(o.security), `${method} ${path} has no security`);
      const decisionOrAdmin =
        path.startsWith('/admin/') || path.startsWith('/access/') || path.startsWith('/v1/');
      if (decisionOrAdmin) {
        assert.ok(o.responses['401'], `${method} ${path} documents no 401`);
        assert.ok(
          Object.keys(o.responses).some((s) => s.startsWith('5')),
          `${method} ${path} documents no 5xx`,
        );
      }
    }
  }
  const error = (doc.components.responses['400'] as { content: Record<string, { schema: unknown }> }).content;
  assert.equal(error['application/json']?.schema, { $ref: '#/components/schemas/Error' });
});

// ajv with the whole document: a response schema is compiled by JSON pointer into it.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(doc, 'openapi.json');
const pointer = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');

/** The documented JSON schema of `method path` answering `status`, as a JSON pointer into the document. */
function responseSchema(path: string, method: string, status: number): string {
  const op = doc.paths[path]?.[method];
  assert.ok(op, `${method} ${path} is not documented`);
  let response = op.responses[String(status)] as { $ref?: string } | undefined;
  assert.ok(response, `${method} ${path} does not document ${status}`);
  let at = `#/paths/${pointer(path)}/${method}/responses/${status}`;
  if (response.$ref) {
    at = response.$ref;
    response = doc.components.responses[response.$ref.split('/').pop() as string] as { $ref?: string };
  }
  return `openapi.json${at}/content/application~1json/schema`;
}

/** Asserts that `res` is documented for `path`/`method` and matches the schema; returns the body. */
async function conforms(res: Response, path: string, method = 'get'): Promise<unknown> {
  const body = await res.json();
  const validate =
    ajv.getSchema(responseSchema(path, method, res.status)) ??
    ajv.compile({ $ref: responseSchema(path, method, res.status) });
  assert.ok(
    validate(body),
    `${method} ${path} ${res.status}: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(body)}`,
  );
  return body;
}

test('the response schemas are not vacuous: a wrong answer does not match', () => {
  const decision = ajv.getSchema(responseSchema('/access/v1/evaluation', 'post', 200));
  assert.ok(decision);
  assert.not.ok(decision({ decision: 'yes', context: {} }));
  const error = ajv.getSchema(responseSchema('/access/v1/evaluation', 'post', 400));
  assert.ok(error);
  assert.not.ok(error({ message: 'bad' }));
});

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const blockedConnect = {
  subject: { type: 'user', id: 'U100', properties: { email: 'ann@acme.example', role: 'member' } },
  action: { name: 'app.connect' },
  resource: { type: 'app', id: '1204567890123456789' },
  context: { org: 'acme.example' },
};

test('decision API answers match the document: allow, deny, batch, OPA, 400, 415, 401, 500, 503', async () => {
  const app = setup();
  await conforms(
    await app.request('/access/v1/evaluation', json(blockedConnect)),
    '/access/v1/evaluation',
    'post',
  );
  const allow = { ...blockedConnect, resource: { type: 'app', id: 'A0F7XDUAZ' } };
  const ok = (await conforms(
    await app.request('/access/v1/evaluation', json(allow)),
    '/access/v1/evaluation',
    'post',
  )) as { decision: boolean };
  assert.is(ok.decision, true);
  await conforms(
    await app.request(
      '/access/v1/evaluations',
      json({
        subject: blockedConnect.subject,
        action: blockedConnect.action,
        context: blockedConnect.context,
        evaluations: [
          { resource: { type: 'app', id: 'A0F7XDUAZ' } },
          { resource: { type: 'app', id: 'explode' } },
        ],
      }),
    ),
    '/access/v1/evaluations',
    'post',
  );
  await conforms(
    await app.request('/v1/data/appwarden/decision', json({ input: blockedConnect })),
    '/v1/data/appwarden/decision',
    'post',
  );
  const bad = await app.request(
    '/access/v1/evaluation',
    json({ ...blockedConnect, resource: { type: 'app', id: 12 } }),
  );
  assert.is(bad.status, 400);
  await conforms(bad, '/access/v1/evaluation', 'post');
  const media = await app.request('/access/v1/evaluation', {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: '{}',
  });
  assert.is(media.status, 415);
  await conforms(media, '/access/v1/evaluation', 'post');
  const trap = { ...blockedConnect, resource: { type: 'app', id: 'explode' } };
  const failed = await app.request('/access/v1/evaluation', json(trap));
  assert.is(failed.status, 500);
  await conforms(failed, '/access/v1/evaluation', 'post');
  const opaFailed = await app.request('/v1/data/appwarden/decision', json({ input: trap }));
  assert.is(opaFailed.status, 500);
  await conforms(opaFailed, '/v1/data/appwarden/decision', 'post');

  const locked = setup({ tokenSha256: [sha256Hex(PLATFORM_TOKEN)] });
  const noToken = await locked.request('/access/v1/evaluation', json(blockedConnect));
  assert.is(noToken.status, 401);
  await conforms(noToken, '/access/v1/evaluation', 'post');

  const idle = setup({}, createEngine({ policyDir: join(root, 'examples', 'policy-repo') }));
  const notReady = await idle.request('/access/v1/evaluation', json(blockedConnect));
  assert.is(notReady.status, 503);
  await conforms(notReady, '/access/v1/evaluation', 'post');
  await conforms(await idle.request('/health'), '/health');
  await conforms(await idle.request('/ready'), '/ready');
});

test('metadata, health and platform answers match the document', async () => {
  const app = setup();
  await conforms(await app.request('/health'), '/health');
  await conforms(await app.request('/ready'), '/ready');
  await conforms(
    await app.request('/.well-known/authzen-configuration'),
    '/.well-known/authzen-configuration',
  );
  const filed = await app.request(
    '/v1/orgs/globex.example/approval-requests',
    json({
      app: { id: 'trello-board', name: 'Trello' },
      requester: { id: 'U200', email: 'bo@globex.example' },
    }),
  );
  assert.is(filed.status, 201);
  await conforms(filed, '/v1/orgs/{org}/approval-requests', 'post');
  const conflict = await app.request(
    '/v1/orgs/acme.example/approval-requests',
    json({ app: { id: 'x' }, requester: { id: 'U1', email: 'ann@acme.example' } }),
  );
  assert.is(conflict.status, 409);
  await conforms(conflict, '/v1/orgs/{org}/approval-requests', 'post');
  const joined = await app.request(
    '/v1/orgs/acme.example/events/member-joined',
    json({ user: 'U900', role: 'member', joined_at: '2026-03-01T09:00:00Z' }),
  );
  assert.is(joined.status, 200);
  await conforms(joined, '/v1/orgs/{org}/events/member-joined', 'post');
});

test('admin API answers match the document', async () => {
  const app = setup();
  const dana = asAdmin('super_admin');
  // Some traffic first, so the lists have rows.
  await app.request('/access/v1/evaluation', json(blockedConnect));
  await app.request(
    '/access/v1/evaluation',
    json({
      ...blockedConnect,
      action: { name: 'token.use' },
      resource: {
        type: 'token',
        id: 'pat-ann-1',
        properties: { kind: 'personal_access', created_at: '2026-01-10T00:00:00Z', owner: 'U100' },
      },
    }),
  );
  await app.request(
    '/access/v1/evaluation',
    json({ ...blockedConnect, resource: { type: 'app', id: 'A0F7XDUAZ' } }),
  );
  const base = '/admin/v1/orgs/{org}';
  const get = (p: string, headers: Record<string, string> = dana) =>
    app.request(p.replace('{org}', 'acme.example'), { headers });
  const page = (await conforms(await get(`${base}/decisions?limit=2`), `${base}/decisions`)) as {
    decisions: unknown[];
  };
  assert.is(page.decisions.length, 2);
  const tokens = (await conforms(await get(`${base}/tokens?status=all`), `${base}/tokens`)) as {
    tokens: unknown[];
  };
  assert.ok(tokens.tokens.length > 0);
  await conforms(await get(`${base}/tokens/pat-ann-1`), `${base}/tokens/{id}`);
  const revoked = await app.request('/admin/v1/orgs/acme.example/tokens/pat-ann-1', {
    method: 'DELETE',
    headers: { ...dana, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'leaked' }),
  });
  await conforms(revoked, `${base}/tokens/{id}`, 'delete');
  const unknown = await get(`${base}/tokens/nope`);
  assert.is(unknown.status, 404);
  await conforms(unknown, `${base}/tokens/{id}`);
  await conforms(await get(`${base}/apps`), `${base}/apps`);
  await conforms(await get(`${base}/apps/A0F7XDUAZ`), `${base}/apps/{app}`);
  await conforms(await get(`${base}/approval-requests`), `${base}/approval-requests`);
  await conforms(await get(`${base}/history`), `${base}/history`);
  const outbox = (await conforms(await get(`${base}/notifications`), `${base}/notifications`)) as {
    notifications: unknown[];
  };
  assert.ok(outbox.notifications.length > 0, 'the revocation queued an email');
  const member = await get(`${base}/members/U404`);
  assert.is(member.status, 404);
  await conforms(member, `${base}/members/{user}`);
  const edit = await app.request(
    '/admin/v1/orgs/acme.example/apps/A0F7XDUAZ:block',
    json({ reason: 'test' }, dana),
  );
  assert.is(edit.status, 200);
  await conforms(edit, `${base}/apps/{app}:block`, 'post');
  const badEdit = await app.request(
    '/admin/v1/orgs/acme.example/tokens:set-expiration',
    json({ expiration: '7d' }, dana),
  );
  assert.is(badEdit.status, 400);
  await conforms(badEdit, `${base}/tokens:set-expiration`, 'post');
  const forbidden = await get(`${base}/decisions`, asAdmin('other_org_admin'));
  assert.is(forbidden.status, 403);
  await conforms(forbidden, `${base}/decisions`);
  const anonymous = await get(`${base}/decisions`, {});
  assert.is(anonymous.status, 401);
  await conforms(anonymous, `${base}/decisions`);
});

test.run();
