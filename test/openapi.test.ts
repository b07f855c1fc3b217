// The OpenAPI 3.1 document: valid, what `npm run gen` makes, served at GET /openapi.json, documents every route
// of the app, real answers (app.request()) match its response schemas (ajv, draft 2020-12), and every request
// body's schema gives the server's verdict on valid, boundary and bad samples (so the two cannot drift).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine, openStore } from '../engine/index.ts';
import { genOpenApi, OPENAPI_PATH, REQUEST_BODY_SCHEMAS } from '../scripts/gen-openapi.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig, type ServerConfig } from '../server/config.ts';
import { ACME_PEOPLE, adminTokens, asAdmin } from './support/admins.ts';
import { engineWithTrap } from './support/fixtures.ts';

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

const PLATFORM_TOKEN = 'platform-token-0123456789';

function setup(config: Partial<ServerConfig> = {}, engine: Engine = engineWithTrap(real)) {
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

// ---------------------------------------------------------------------------------------------------------
// Request bodies: the document's schema and the server give the same verdict

type Op = { requestBody?: { required?: boolean; content: Record<string, { schema: { $ref?: string } }> } };
const operation = (path: string, method: string) =>
  (doc.paths as unknown as Record<string, Record<string, Op>>)[path]?.[method];

test('every request body is a schema file the server validates with, never one written in the generator', () => {
  const allowed = new Set(
    ['DecisionRequest', ...Object.keys(REQUEST_BODY_SCHEMAS)].map((n) => `#/components/schemas/${n}`),
  );
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const body = operation(path, method)?.requestBody;
      if (!body) continue;
      const ref = body.content['application/json']?.schema.$ref;
      assert.ok(ref && allowed.has(ref), `${method} ${path}: its body is ${JSON.stringify(ref)}`);
    }
  }
  const note = (doc.components as unknown as { schemas: Record<string, Record<string, unknown>> }).schemas
    .ApprovalRequestBody as { properties: { note: { maxLength: number } } };
  assert.is(note.properties.note.maxLength, 1000, 'the note limit the server applies');
});

/** The documented verdict on a body: valid for the operation's request body schema (no body: not required). */
function documentedVerdict(path: string, method: string, body: unknown): boolean {
  const rb = operation(path, method)?.requestBody;
  assert.ok(rb, `${method} ${path} documents no request body`);
  if (body === undefined) return rb.required !== true;
  const at = `openapi.json#/paths/${pointer(path)}/${method}/requestBody/content/application~1json/schema`;
  const validate = ajv.getSchema(at) ?? ajv.compile({ $ref: at });
  return validate(body) as boolean;
}

const decisionRequest = (id: unknown) => ({ ...blockedConnect, resource: { type: 'app', id } });
const long = (n: number, unit = 'n') => unit.repeat(n);

/** Per documented operation: the URL to call, who calls, and samples (undefined: no body at all). */
const BODY_CASES: {
  path: string;
  method: 'post' | 'delete';
  url: string;
  admin?: boolean;
  samples: [string, unknown][];
}[] = [
  {
    path: '/access/v1/evaluation',
    method: 'post',
    url: '/access/v1/evaluation',
    samples: [
      ['valid', blockedConnect],
      ['an id 256 characters long', decisionRequest(long(256))],
      ['an id 257 characters long', decisionRequest(long(257))],
      ['a numeric id', decisionRequest(12)],
      ['an unknown field', { ...blockedConnect, extra: 1 }],
      ['no context', { ...blockedConnect, context: undefined }],
    ],
  },
  {
    path: '/access/v1/evaluations',
    method: 'post',
    url: '/access/v1/evaluations',
    samples: [
      ['valid', { ...blockedConnect, evaluations: [{ resource: { type: 'app', id: 'A0F7XDUAZ' } }, {}] }],
      ['no evaluations: one request', blockedConnect],
      ['an empty list: one request', { ...blockedConnect, evaluations: [] }],
      ['items give every part', { evaluations: [blockedConnect, blockedConnect] }],
      ['a part neither gives', { evaluations: [{ ...blockedConnect, action: undefined }] }],
      ['nothing at all', {}],
      [
        'a semantic',
        { ...blockedConnect, options: { evaluations_semantic: 'deny_on_first_deny' }, evaluations: [{}] },
      ],
      [
        'an unknown semantic',
        { ...blockedConnect, options: { evaluations_semantic: 'first' }, evaluations: [{}] },
      ],
      ['options not an object', { ...blockedConnect, options: 'fast', evaluations: [{}] }],
      ['an unknown top-level field', { ...blockedConnect, evaluations: [{}], extra: 1 }],
      ['an unknown item field', { ...blockedConnect, evaluations: [{ extra: 1 }] }],
      ['evaluations not a list', { ...blockedConnect, evaluations: {} }],
      ['an item not an object', { ...blockedConnect, evaluations: [{}, 'x'] }],
      [
        'an item with a numeric id',
        { ...blockedConnect, evaluations: [{ resource: { type: 'app', id: 7 } }] },
      ],
    ],
  },
  {
    path: '/v1/data/appwarden/decision',
    method: 'post',
    url: '/v1/data/appwarden/decision',
    samples: [
      ['valid', { input: blockedConnect }],
      ['no input', {}],
      ['the request unwrapped', blockedConnect],
      ['input not an object', { input: 'x' }],
      ['an unknown field', { input: blockedConnect, extra: 1 }],
      ['a numeric id inside', { input: decisionRequest(7) }],
    ],
  },
  {
    path: '/v1/orgs/{org}/approval-requests',
    method: 'post',
    url: '/v1/orgs/globex.example/approval-requests',
    samples: (() => {
      const ask = (
        note?: unknown,
        app: Record<string, unknown> = { id: 'trello-board', name: 'Trello' },
      ) => ({
        app,
        requester: { id: 'U200', email: 'bo@globex.example' },
        ...(note === undefined ? {} : { note }),
      });
      return [
        ['valid', ask()],
        ['the longest note the server accepts (1000 characters)', ask(long(1000))],
        ['one character more', ask(long(1001))],
        ['1000 emoji (characters, not UTF-16 units)', ask(long(1000, '🙂'))],
        ['1001 emoji', ask(long(1001, '🙂'))],
        ['a blank note', ask('   ')],
        ['a null note', ask(null)],
        ['an app id of 256 characters', ask(undefined, { id: long(256) })],
        ['an app id of 257 characters', ask(undefined, { id: long(257) })],
        ['a numeric app id', ask(undefined, { id: 42 })],
        ['an unknown field', { ...ask(), extra: 1 }],
        ['an unknown app field', ask(undefined, { id: 'trello-board', vendor: 'x' })],
        ['not an email', { ...ask(), requester: { id: 'U200', email: 'nope' } }],
        ['no requester', { app: { id: 'trello-board' } }],
      ] as [string, unknown][];
    })(),
  },
  {
    path: '/v1/orgs/{org}/events/member-joined',
    method: 'post',
    url: '/v1/orgs/globex.example/events/member-joined',
    samples: (() => {
      const join = { user: 'U900', role: 'guest', joined_at: '2026-03-01T09:00:00Z' };
      return [
        ['valid', join],
        ['with apps and an email', { ...join, apps: ['trello-board'], email: 'Gus@Partner.example' }],
        ['an offset', { ...join, joined_at: '2026-03-01T09:00:00+02:00' }],
        ['1000 apps', { ...join, apps: Array.from({ length: 1000 }, (_, i) => `app-${i}`) }],
        ['1001 apps', { ...join, apps: Array.from({ length: 1001 }, (_, i) => `app-${i}`) }],
        ['a user id of 256 characters', { ...join, user: long(256) }],
        ['a user id of 257 characters', { ...join, user: long(257) }],
        ['a numeric user id', { ...join, user: 7 }],
        ['an unknown role', { ...join, role: 'owner' }],
        ['a date without a time', { ...join, joined_at: '2026-03-01' }],
        ['a day that does not exist', { ...join, joined_at: '2026-02-30T09:00:00Z' }],
        ['not an email', { ...join, email: 'gus' }],
        ['an unknown field', { ...join, extra: true }],
      ] as [string, unknown][];
    })(),
  },
  {
    path: '/admin/v1/orgs/{org}/approval-requests/{id}/deny',
    method: 'post',
    // No such request: a valid body is 404, after its check.
    url: '/admin/v1/orgs/acme.example/approval-requests/no-such-request/deny',
    admin: true,
    samples: [
      ['valid', { reason: 'not needed' }],
      ['the longest reason (1000 characters)', { reason: long(1000) }],
      ['one character more', { reason: long(1001) }],
      ['a blank reason', { reason: ' ' }],
      ['no reason', {}],
      ['no body', undefined],
      ['an unknown field', { reason: 'x', extra: 1 }],
    ],
  },
  {
    path: '/admin/v1/orgs/{org}/tokens/{id}',
    method: 'delete',
    url: '/admin/v1/orgs/acme.example/tokens/no-such-token',
    admin: true,
    samples: [
      ['no body', undefined],
      ['empty', {}],
      ['the longest reason (500 characters)', { reason: long(500) }],
      ['one character more', { reason: long(501) }],
      ['an empty reason', { reason: '' }],
      ['a numeric reason', { reason: 5 }],
      ['an unknown field', { why: 'x' }],
    ],
  },
  ...(['block', 'approve'] as const).map((verb) => ({
    path: `/admin/v1/orgs/{org}/apps/{app}:${verb}`,
    method: 'post' as const,
    url: `/admin/v1/orgs/acme.example/apps/A0F7XDUAZ:${verb}`,
    admin: true,
    samples: [
      ['no body', undefined],
      ['empty', {}],
      ['the longest name (500 characters)', { name: long(500) }],
      ['one character more', { name: long(501) }],
      [verb === 'block' ? 'a reason' : 'a note', { [verb === 'block' ? 'reason' : 'note']: 'per IT' }],
      ['an empty name', { name: '' }],
      ['the other verb’s field', { [verb === 'block' ? 'note' : 'reason']: 'x' }],
    ] as [string, unknown][],
  })),
  ...[
    ['/admin/v1/orgs/{org}/apps/{app}:unblock', '/admin/v1/orgs/acme.example/apps/A0F7XDUAZ:unblock'],
    ['/admin/v1/orgs/{org}/tokens/pats:enable', '/admin/v1/orgs/acme.example/tokens/pats:enable'],
    ['/admin/v1/orgs/{org}/tokens/pats:disable', '/admin/v1/orgs/acme.example/tokens/pats:disable'],
    ['/admin/v1/orgs/{org}/notifications/{id}:retry', '/admin/v1/orgs/acme.example/notifications/nope:retry'],
    ['/admin/v1/orgs/{org}/apps/usage:email', '/admin/v1/orgs/acme.example/apps/usage:email'],
  ].map(([path, url]) => ({
    path: path as string,
    method: 'post' as const,
    url: url as string,
    admin: true,
    samples: [
      ['no body', undefined],
      ['empty', {}],
      ['a field', { force: true }],
    ] as [string, unknown][],
  })),
  {
    path: '/admin/v1/orgs/{org}/tokens:set-expiration',
    method: 'post',
    url: '/admin/v1/orgs/acme.example/tokens:set-expiration',
    admin: true,
    samples: [
      ['valid', { expiration: '60d' }],
      ['default', { expiration: 'default' }],
      ['an unknown setting', { expiration: '45d' }],
      ['a number', { expiration: 30 }],
      ['empty', {}],
      ['no body', undefined],
      ['an unknown field', { expiration: '30d', extra: 1 }],
    ],
  },
];

test('request bodies: the document’s schema and the server agree on valid, boundary and bad samples', async () => {
  const app = setup();
  const disagreements: string[] = [];
  for (const c of BODY_CASES) {
    const verdicts = new Set<boolean>();
    for (const [what, body] of c.samples) {
      const sent = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
      const res = await app.request(c.url, {
        method: c.method.toUpperCase(),
        headers: {
          ...(c.admin ? asAdmin('super_admin') : {}),
          ...(sent === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(sent === undefined ? {} : { body: JSON.stringify(sent) }),
      });
      const answer = await res.text();
      // A required body not sent at all is refused as not JSON (415); anything else refused is 400.
      const refusals = sent === undefined ? [400, 415] : [400];
      assert.ok(
        res.status < 500 &&
          ![401, 403, 405, 413, 415].filter((s) => !refusals.includes(s)).includes(res.status),
        `${c.method} ${c.path} ${what}: ${res.status} ${answer.slice(0, 200)}`,
      );
      if (res.status === 400) assert.match(answer, '"invalid_request"', `${c.method} ${c.path} ${what}`);
      const server = !refusals.includes(res.status);
      const documented = documentedVerdict(c.path, c.method, sent);
      verdicts.add(documented);
      if (server !== documented)
        disagreements.push(
          `${c.method} ${c.path} ${what}: document ${documented ? 'accepts' : 'refuses'}, server ${res.status} ${answer.slice(0, 160)}`,
        );
    }
    assert.equal([...verdicts].sort(), [false, true], `${c.method} ${c.path}: samples of both verdicts`);
  }
  assert.equal(disagreements, [], disagreements.join('\n'));
  // Every documented request body has samples here.
  const covered = new Set(BODY_CASES.map((c) => `${c.method} ${c.path}`));
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => operation(path, m)?.requestBody)
      .map((m) => `${m} ${path}`),
  );
  assert.equal(
    documented.filter((d) => !covered.has(d)),
    [],
    'request bodies without samples in BODY_CASES',
  );
});

test.run();
