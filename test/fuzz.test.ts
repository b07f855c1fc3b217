// Property-based fuzzing of the request-taking API (issue 6, docs/operations.md "Soak and fuzz"): hostile
// bodies and one-field mutations of valid requests get a 4xx with the documented error shape, never a 5xx and
// never an allow; the server keeps answering. Through app.request() for speed, then raw bytes on a real socket.
// FUZZ_SEED=<n> reruns with another seed; a failure prints the seed and the shrunk counterexample.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine, openStore, type Store } from '../engine/index.ts';
import { ROOT, type RunningServer, startAppwarden } from '../examples/support.ts';
import { generateTraffic } from '../examples/traffic/generate.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig } from '../server/config.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 600);
const LIMIT = defaultConfig.maxBodyBytes;
const PLATFORM = 'platform-decision-token-fuzz-0123456789';

let store: Store;
let engine: Engine;
let app: ReturnType<typeof createApp>;

test.before(async () => {
  store = openStore(':memory:');
  engine = createEngine({ policyDir: join(ROOT, 'examples', 'policy-repo'), store });
  await engine.load();
  app = createApp({ engine, store, config: { ...defaultConfig, tokenSha256: [sha256Hex(PLATFORM)] } });
});
test.after(async () => {
  engine.close();
  await store.close();
});

/** Runs a property with the fixed seed; a failure names the seed to rerun it with. */
async function check(
  name: string,
  property: fc.IAsyncProperty<[unknown]> | fc.IAsyncPropertyWithHooks<never>,
) {
  try {
    await fc.assert(property as fc.IAsyncProperty<[unknown]>, { seed: SEED, numRuns: RUNS });
  } catch (err) {
    throw new Error(`${name}: failed with FUZZ_SEED=${SEED} (FUZZ_RUNS=${RUNS})\n${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The endpoints and valid requests for them

/** Valid decision requests of every action, from the seeded traffic generator (real clock). */
const VALID = generateTraffic({ seed: SEED, count: 60, now: Date.now() / 1000 }) as unknown as Record<
  string,
  unknown
>[];

interface Endpoint {
  name: string;
  path: string;
  /** Valid bodies before wrapping. */
  valid: Record<string, unknown>[];
  /** Puts one request into the body this endpoint takes. */
  wrap: (r: unknown) => unknown;
  /** Where the wrapped request's fields are named in `error.field`. */
  prefix: string;
  decisions: boolean;
}

const APPROVAL: Record<string, unknown>[] = [
  { app: { id: 'A0FUZZ1', name: 'Fuzz App' }, requester: { id: 'U9001', email: 'fuzz@globex.example' } },
  {
    app: { id: 'A0FUZZ2' },
    requester: { id: 'U9002', email: 'Fuzz.Two@Globex.example' },
    note: 'for the quarterly report',
  },
];
const MEMBER: Record<string, unknown>[] = [
  { user: 'U9101', role: 'member', joined_at: '2026-06-01T09:00:00Z' },
  { user: 'U9102', role: 'guest', joined_at: '2026-06-01T09:00:00+02:00', apps: ['A0FUZZ1', 'A0FUZZ2'] },
];

const ENDPOINTS_: Endpoint[] = [
  {
    name: 'evaluation',
    path: '/access/v1/evaluation',
    valid: VALID,
    wrap: (r) => r,
    prefix: '',
    decisions: true,
  },
  {
    name: 'evaluations',
    path: '/access/v1/evaluations',
    valid: VALID,
    wrap: (r) => ({ evaluations: [VALID[0], r, VALID[1]] }),
    prefix: '/evaluations/1',
    decisions: true,
  },
  {
    name: 'opa',
    path: '/v1/data/appwarden/decision',
    valid: VALID,
    wrap: (r) => ({ input: r }),
    prefix: '/input',
    decisions: true,
  },
  {
    name: 'approval-requests',
    path: '/v1/orgs/globex.example/approval-requests',
    valid: APPROVAL,
    wrap: (r) => r,
    prefix: '',
    decisions: false,
  },
  {
    name: 'member-joined',
    path: '/v1/orgs/globex.example/events/member-joined',
    valid: MEMBER,
    wrap: (r) => r,
    prefix: '',
    decisions: false,
  },
];

// A counterexample names the endpoint, not its list of valid requests.
const ENDPOINTS: Endpoint[] = ENDPOINTS_.map((e) =>
  Object.assign(e, { [fc.toStringMethod]: () => e.name, toJSON: () => e.name }),
);

// ---------------------------------------------------------------------------------------------------------
// Sending and judging answers

interface Answer {
  status: number;
  body: unknown;
  text: string;
}

async function post(path: string, body: string, contentType: string | null = 'application/json') {
  const headers: Record<string, string> = { authorization: `Bearer ${PLATFORM}` };
  if (contentType !== null) headers['content-type'] = contentType;
  const res = await app.request(path, { method: 'POST', headers, body });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // judged below: every answer must be JSON
  }
  return { status: res.status, body: parsed, text } satisfies Answer;
}

const CODES = new Set([
  'invalid_json',
  'incomplete_body',
  'invalid_request',
  'unsupported_media_type',
  'payload_too_large',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'method_not_allowed',
]);

/** docs/api.md "Errors": `{error: {code, message, field, problems?}}` and nothing else; no decision in it. */
function assertErrorShape(a: Answer, what: string): void {
  const where = `${what}: ${a.status} ${a.text.slice(0, 300)}`;
  assert.ok(a.body !== null && typeof a.body === 'object', `the error answer is a JSON object (${where})`);
  const body = a.body as Record<string, unknown>;
  assert.equal(Object.keys(body), ['error'], `only "error" (${where})`);
  const e = body.error as Record<string, unknown>;
  assert.ok(CODES.has(String(e.code)), `a documented 4xx code (${where})`);
  assert.type(e.message, 'string', where);
  assert.ok((e.message as string).length > 0, where);
  assert.ok(e.field === null || typeof e.field === 'string', `field is a pointer or null (${where})`);
  for (const k of Object.keys(e)) assert.ok(['code', 'message', 'field', 'problems'].includes(k), where);
  if (e.problems !== undefined) {
    assert.ok(Array.isArray(e.problems), where);
    for (const p of e.problems as Record<string, unknown>[]) {
      assert.type(p.message, 'string', where);
      assert.ok(p.field === null || typeof p.field === 'string', where);
    }
  }
}

/** Never an allow anywhere in the answer (evaluation, batch items, OPA result). */
function hasAllow(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const b = body as Record<string, unknown>;
  if (b.decision === true) return true;
  if (hasAllow(b.result)) return true;
  return Array.isArray(b.evaluations) && b.evaluations.some(hasAllow);
}

/** A request that is invalid: a 4xx with the documented shape, never a decision, never an allow. */
function assertRefused(a: Answer, what: string): void {
  assert.ok(a.status >= 400 && a.status < 500, `4xx for ${what}, got ${a.status}: ${a.text.slice(0, 300)}`);
  assert.not.ok(hasAllow(a.body), `no allow for ${what}`);
  assertErrorShape(a, what);
}

/** Anything at all: never a 5xx; a 2xx is a whole JSON answer, anything else the documented error. */
function assertNo5xx(a: Answer, what: string): void {
  assert.ok(a.status < 500, `never 5xx for ${what}, got ${a.status}: ${a.text.slice(0, 300)}`);
  if (a.status >= 400) assertErrorShape(a, what);
  else assert.ok(a.body !== null, `a 2xx answer is JSON (${what})`);
}

// ---------------------------------------------------------------------------------------------------------
// Generators

const endpoint = fc.constantFrom(...ENDPOINTS);
/** A JSON value of any type but `notType` ('string', 'object', ...). */
const otherThan = (notType: string) =>
  fc
    .oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 20 }),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    )
    .filter((v) => jsonType(v) !== notType);

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Strings no id, email or name may hold, and strings that are merely unusual (valid Unicode). */
const BAD_TEXT = fc.constantFrom(
  '\ud800', // lone high surrogate
  'ab\udfffcd', // lone low surrogate
  'U1\u0000', // NUL
  'x\u0007y', // BEL
  '\u001b[31mred', // terminal escape
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl', // a JWT: looks like a secret
  'ghp_0123456789abcdefghijABCDEFGHIJ012345',
);
const ODD_TEXT = fc.constantFrom(
  '\u202eevil\u202c', // RTL override
  'zero\u200bwidth\u200d', // zero-width space / joiner
  'שלום', // RTL script
  '👩‍👩‍👧‍👦', // a ZWJ emoji sequence
  'e\u0301', // combining accent
  '\ufeffbom',
  ' ',
  '',
);

/** Every JSON pointer into `v` with its value (objects and arrays included). */
function paths(v: unknown, at: string[] = []): { path: string[]; value: unknown }[] {
  const out = [{ path: at, value: v }];
  if (v !== null && typeof v === 'object') {
    for (const [k, child] of Object.entries(v as Record<string, unknown>))
      out.push(...paths(child, [...at, k]));
  }
  return out;
}

function setAt(v: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  const copy = (Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) }) as Record<string, unknown>;
  if (rest.length === 0 && value === REMOVE) delete copy[head];
  else copy[head] = setAt(copy[head], rest, value);
  return copy;
}
const REMOVE = Symbol('remove');

/**
 * Fields of a decision request whose type the schema fixes (everything else in `properties` and `context`
 * is free-form), with the JSON type they must have.
 */
const DECISION_TYPED: Record<string, string> = {
  '': 'object',
  subject: 'object',
  'subject/type': 'string',
  'subject/id': 'string',
  'subject/properties': 'object',
  'subject/properties/email': 'string',
  'subject/properties/role': 'string',
  'subject/properties/orgs': 'array',
  'subject/properties/joined_at': 'string',
  action: 'object',
  'action/name': 'string',
  'action/properties': 'object',
  resource: 'object',
  'resource/type': 'string',
  'resource/id': 'string',
  'resource/properties': 'object',
  'resource/properties/kind': 'string',
  'resource/properties/created_at': 'string',
  'resource/properties/owner': 'string',
  'resource/properties/service_account': 'string',
  'resource/properties/name': 'string',
  'resource/properties/scopes': 'array',
  context: 'object',
  'context/org': 'string',
  'context/via': 'string',
};
const APPROVAL_TYPED: Record<string, string> = {
  '': 'object',
  app: 'object',
  'app/id': 'string',
  'app/name': 'string',
  requester: 'object',
  'requester/id': 'string',
  'requester/email': 'string',
  note: 'string',
};
const MEMBER_TYPED: Record<string, string> = {
  '': 'object',
  user: 'string',
  role: 'string',
  joined_at: 'string',
  apps: 'array',
};
const typedFields = (e: Endpoint) =>
  e.decisions ? DECISION_TYPED : e.name === 'approval-requests' ? APPROVAL_TYPED : MEMBER_TYPED;
/** Required fields (absent: invalid) per endpoint; a decision request's per-action ones are handled too. */
const REQUIRED: Record<string, string[]> = {
  decision: [
    'subject',
    'action',
    'resource',
    'context',
    'subject/type',
    'subject/id',
    'action/name',
    'resource/type',
    'context/org',
  ],
  'approval-requests': ['app', 'requester', 'app/id', 'requester/id', 'requester/email'],
  'member-joined': ['user', 'role', 'joined_at'],
};

/** A request, the mutation made to it, and whether the mutation makes it invalid for sure. */
interface Mutation {
  request: unknown;
  what: string;
  invalid: boolean;
}

/** One field of one valid request changed: to another type, removed, to bad or odd text, an unknown key. */
function mutation(e: Endpoint): fc.Arbitrary<Mutation> {
  return fc
    .tuple(fc.constantFrom(...e.valid), fc.nat(), fc.nat(), otherThan('never'), BAD_TEXT, ODD_TEXT, fc.nat(5))
    .map(([valid, pick, pick2, other, bad, odd, kind]) => {
      const all = paths(valid);
      const typed = typedFields(e);
      const { path } = all[pick % all.length] as { path: string[] };
      const key = path.join('/');
      const expected = typed[key];
      const strings = all.filter((p) => typeof p.value === 'string');
      const str = strings[pick2 % strings.length] as { path: string[]; value: string };
      switch (kind) {
        case 0: {
          // Another JSON type where the schema fixes one.
          if (expected === undefined || jsonType(other) === expected) {
            return {
              request: setAt(valid, path, other),
              what: `/${key} = ${JSON.stringify(other)}`,
              invalid: false,
            };
          }
          return {
            request: setAt(valid, path, other),
            what: `/${key} = ${JSON.stringify(other)}`,
            invalid: true,
          };
        }
        case 1: {
          // A field removed.
          if (path.length === 0) return { request: {}, what: 'everything removed', invalid: true };
          const required = (REQUIRED[e.decisions ? 'decision' : e.name] ?? []).includes(key);
          return { request: setAt(valid, path, REMOVE), what: `/${key} removed`, invalid: required };
        }
        case 2:
          // A control character or a lone surrogate added to any string, or a secret-looking value replacing it.
          return {
            request: setAt(valid, str.path, /^[a-z]/.test(bad) ? bad : `${str.value}${bad}`),
            what: `/${str.path.join('/')} += ${JSON.stringify(bad)}`,
            invalid: true,
          };
        case 3:
          // Valid but unusual Unicode: may be accepted (200) or refused, never a 5xx.
          return {
            request: setAt(valid, str.path, `${odd}${str.value}`),
            what: `/${str.path.join('/')} = ${JSON.stringify(odd)}+…`,
            invalid: false,
          };
        case 4: {
          // An unknown key where the schema is closed (the top level and subject/action/resource of a decision).
          const closed = e.decisions ? ['', 'subject', 'action', 'resource'] : ['', 'app', 'requester'];
          const at = closed[pick % closed.length] as string;
          if (e.name === 'member-joined' && at !== '')
            return { request: { ...valid, shoe_size: 44 }, what: '/shoe_size', invalid: true };
          const target = at === '' ? [] : [at];
          const obj = at === '' ? valid : (valid[at] as Record<string, unknown> | undefined);
          if (!obj) return { request: valid, what: 'unchanged', invalid: false };
          return {
            request: setAt(valid, target, { ...obj, shoe_size: 44 }),
            what: `/${at}/shoe_size added`,
            invalid: true,
          };
        }
        default: {
          // An id too long for the schema (257 characters) or empty.
          const long = pick % 2 === 0 ? '' : 'x'.repeat(257);
          const idKey = e.decisions ? 'subject/id' : e.name === 'approval-requests' ? 'app/id' : 'user';
          return {
            request: setAt(valid, idKey.split('/'), long),
            what: `/${idKey} = ${long.length} chars`,
            invalid: true,
          };
        }
      }
    });
}

/** Raw body texts no JSON encoder would write: out-of-range numbers, duplicate keys, truncation, raw controls. */
function rawHostile(e: Endpoint): fc.Arbitrary<{ text: string; what: string }> {
  const base = (v: Record<string, unknown>) => JSON.stringify(e.wrap(v));
  return fc.oneof(
    // Numbers out of range where an id (a string) belongs.
    fc
      .tuple(
        fc.constantFrom(...e.valid),
        fc.constantFrom(
          '1e309',
          '-1e309',
          '-0',
          '9007199254740993',
          '1e-400',
          '123456789012345678901234567890',
        ),
      )
      .map(([v, n]) => {
        const idKey = e.decisions
          ? ['resource', 'id']
          : e.name === 'approval-requests'
            ? ['app', 'id']
            : ['user'];
        const marked = setAt(v, idKey, '__NUMBER__') as Record<string, unknown>;
        return { text: base(marked).replace('"__NUMBER__"', n), what: `id ${n}` };
      }),
    // A key repeated in one object (JSON.parse would keep the last silently).
    fc.tuple(fc.constantFrom(...e.valid), fc.nat()).map(([v, pick]) => {
      const text = base(v);
      const starts = [...text.matchAll(/\{"/g)].map((m) => m.index ?? 0);
      const at = starts[pick % starts.length] ?? 0;
      const keyEnd = text.indexOf('"', at + 2);
      const key = text.slice(at + 1, keyEnd + 1);
      return { text: `${text.slice(0, at + 1)}${key}:null,${text.slice(at + 1)}`, what: `duplicate ${key}` };
    }),
    // Truncated JSON.
    fc.tuple(fc.constantFrom(...e.valid), fc.nat()).map(([v, cut]) => {
      const text = base(v);
      return { text: text.slice(0, cut % text.length), what: `cut at ${cut % text.length}` };
    }),
    // A raw (unescaped) control character inside a string: not JSON.
    fc
      .tuple(fc.constantFrom(...e.valid), fc.constantFrom('\u0000', '\u0001', '\n', '\u001f'))
      .map(([v, c]) => {
        const text = base(v);
        const i = text.indexOf('":"') + 3;
        return {
          text: `${text.slice(0, i)}${c}${text.slice(i)}`,
          what: `raw U+${c.charCodeAt(0).toString(16)}`,
        };
      }),
    // Nesting 1000 to 20000 levels deep, as the whole body or inside a free-form field.
    fc
      .tuple(fc.integer({ min: 1000, max: 20000 }), fc.boolean(), fc.boolean())
      .map(([depth, arrays, whole]) => {
        const open = arrays ? '['.repeat(depth) : '{"a":'.repeat(depth);
        const close = arrays ? ']'.repeat(depth) : '}'.repeat(depth);
        const deep = `${open}1${close}`;
        if (whole) return { text: deep, what: `whole body ${depth} deep` };
        const v = e.valid[0] as Record<string, unknown>;
        const marked = e.decisions
          ? setAt(v, ['context', 'extra'], '__DEEP__')
          : e.name === 'approval-requests'
            ? setAt(v, ['app', 'name'], '__DEEP__')
            : setAt(v, ['apps'], '__DEEP__');
        return {
          text: base(marked as Record<string, unknown>).replace('"__DEEP__"', deep),
          what: `${depth} deep inside`,
        };
      }),
    // Strings near and over the body limit (ASCII and three-byte characters).
    fc.tuple(fc.integer({ min: -2000, max: 2000 }), fc.constantFrom('x', '€')).map(([delta, ch]) => {
      const v = e.valid[0] as Record<string, unknown>;
      const idKey = e.decisions ? ['subject', 'id'] : e.name === 'approval-requests' ? ['note'] : ['user'];
      const shell = base(setAt(v, idKey, '') as Record<string, unknown>);
      const bytes = Math.max(0, LIMIT - Buffer.byteLength(shell) + delta);
      const huge = ch.repeat(Math.floor(bytes / Buffer.byteLength(ch)));
      return {
        text: base(setAt(v, idKey, huge) as Record<string, unknown>),
        what: `${huge.length} × ${ch} (${delta} bytes around the limit)`,
      };
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Properties

test('any JSON value as the body: a 4xx with the documented error, never a 5xx or an allow', async () => {
  await check(
    'arbitrary JSON',
    fc.asyncProperty(
      fc.tuple(
        endpoint,
        fc.oneof(
          fc.jsonValue({ maxDepth: 6 }),
          // Decision-shaped objects with wrong types in every field.
          fc.record({
            subject: otherThan('object'),
            action: otherThan('object'),
            resource: otherThan('object'),
            context: otherThan('object'),
          }),
          fc.record({
            subject: fc.record({ type: otherThan('string'), id: otherThan('string') }),
            action: fc.record({ name: otherThan('string') }),
            resource: fc.record({ type: otherThan('string') }),
            context: fc.record({ org: otherThan('string') }),
          }),
          fc.record({ app: otherThan('object'), requester: otherThan('object'), note: otherThan('string') }),
          fc.record({
            user: otherThan('string'),
            role: otherThan('string'),
            joined_at: otherThan('string'),
            apps: otherThan('array'),
          }),
        ),
      ),
      async ([e, value]) => {
        const a = await post(e.path, JSON.stringify(e.decisions ? e.wrap(value) : value) ?? 'null');
        assertRefused(a, `${e.name} ${JSON.stringify(value).slice(0, 200)}`);
      },
    ),
  );
});

test('one field of a valid request changed: an invalid change is refused (4xx, field named), never an allow', async () => {
  await check(
    'mutations',
    fc.asyncProperty(
      endpoint.chain((e) => fc.tuple(fc.constant(e), mutation(e))),
      async ([e, m]) => {
        const a = await post(e.path, JSON.stringify(e.wrap(m.request)));
        const what = `${e.name}: ${m.what}`;
        if (m.invalid) {
          assertRefused(a, what);
          const field = (a.body as { error: { field: string | null } }).error.field;
          if (e.prefix !== '' && a.status === 400) {
            assert.ok(
              field === null || field.startsWith(e.prefix),
              `${what}: field ${field} is under ${e.prefix}`,
            );
          }
        } else assertNo5xx(a, what);
      },
    ),
  );
});

test('raw hostile text: big numbers, duplicate keys, truncation, raw controls, deep nesting, huge strings', async () => {
  await check(
    'raw text',
    fc.asyncProperty(
      endpoint.chain((e) => fc.tuple(fc.constant(e), rawHostile(e))),
      async ([e, { text, what }]) => {
        const a = await post(e.path, text);
        const label = `${e.name}: ${what}`;
        // A huge string just under the limit in a free-text field may be fine size-wise; nothing is a 5xx.
        if (what.includes('around the limit') && Buffer.byteLength(text) <= LIMIT) assertNo5xx(a, label);
        else assertRefused(a, label);
        if (Buffer.byteLength(text) > LIMIT) assert.is(a.status, 413, `${label}: over the limit is 413`);
      },
    ),
  );
});

test('wrong media types are 415 before the body is read', async () => {
  await check(
    'media types',
    fc.asyncProperty(
      fc.tuple(
        endpoint,
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
          'application/jsonx',
          'application/xml',
          'application/json, text/plain',
          '',
          null,
        ),
      ),
      async ([e, type]) => {
        const a = await post(e.path, JSON.stringify(e.wrap(e.valid[0])), type);
        assertRefused(a, `${e.name} with ${JSON.stringify(type)}`);
        assert.is(a.status, 415, `${e.name} with ${JSON.stringify(type)}`);
      },
    ),
  );
});

test('a lone surrogate escape in any string or key of any body is 400 invalid_json naming it (I-JSON)', async () => {
  for (const e of ENDPOINTS) {
    const text = JSON.stringify(e.wrap(e.valid[0]));
    const i = text.indexOf('":"') + 3;
    const a = await post(e.path, `${text.slice(0, i)}\\ud800${text.slice(i)}`);
    assertRefused(a, e.name);
    const error = (a.body as { error: { code: string; field: string; message: string } }).error;
    assert.is(error.code, 'invalid_json', e.name);
    assert.match(error.message, 'lone UTF-16 surrogate');
    assert.ok(error.field.length > 1, `${e.name}: names the field, got ${error.field}`);
    const key = await post(e.path, `{"\\udc00":1,${text.slice(1)}`);
    assert.is((key.body as { error: { code: string } }).error.code, 'invalid_json', `${e.name} key`);
  }
});

test('after all that the server still answers valid requests', async () => {
  for (const e of ENDPOINTS) {
    const a = await post(e.path, JSON.stringify(e.wrap(e.valid[0])));
    assert.ok(a.status === 200 || a.status === 201, `${e.name}: ${a.status} ${a.text.slice(0, 200)}`);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Raw bytes on a real socket (what app.request() cannot send)

let child: RunningServer | undefined;
// The child's outbox worker writes .eml files when no SMTP is configured: here, never in the repository's var/.
const outboxDir = mkdtempSync(join(tmpdir(), 'appwarden-fuzz-outbox-'));
test.after(async () => {
  await child?.stop();
  rmSync(outboxDir, { recursive: true, force: true });
});

/** Writes `bytes` on a new connection and reads until the server closes it or `ms` pass. */
function raw(url: string, bytes: Buffer, ms = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let got = '';
    const s = connect(Number(port), hostname, () => s.end(bytes));
    s.on('data', (b: Buffer) => {
      got += b.toString('latin1');
    });
    s.on('error', () => {});
    const timer = setTimeout(() => s.destroy(), ms);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

const head = (path: string, length: number, extra = '') =>
  Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`,
  );

function statuses(answer: string): number[] {
  return [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
}

test('real socket: invalid UTF-8 and a body longer than its Content-Length get 4xx, and the server lives on', async () => {
  child = await startAppwarden(join(ROOT, 'examples', 'policy-repo'), [], {
    env: { APPWARDEN_LOG_LEVEL: 'warn', APPWARDEN_NOTIFICATIONS_OUTBOX_DIR: outboxDir },
  });
  const valid = JSON.stringify(VALID[0]);
  await check(
    'raw bytes',
    fc.asyncProperty(
      fc.tuple(
        fc.constantFrom(...ENDPOINTS),
        fc.constantFrom(
          [0xff],
          [0xc3, 0x28], // a broken two-byte sequence
          [0xc0, 0xaf], // overlong '/'
          [0xed, 0xa0, 0x80], // an encoded surrogate
          [0xf8, 0x88, 0x80, 0x80, 0x80], // five-byte form
          [0xe2, 0x82], // truncated three-byte sequence
        ),
        fc.nat(),
      ),
      async ([e, bad, at]) => {
        const text = Buffer.from(JSON.stringify(e.wrap(e.valid[0])));
        const i = text.indexOf('":"') + 3 + (at % 3);
        const body = Buffer.concat([text.subarray(0, i), Buffer.from(bad), text.subarray(i)]);
        const answer = await raw(
          child?.url ?? '',
          Buffer.concat([
            head(e.path, body.length, `Authorization: Bearer x\r\nConnection: close\r\n`),
            body,
          ]),
        );
        assert.equal(statuses(answer), [400], `${e.name} with bytes ${bad}: ${answer.slice(0, 300)}`);
        assert.match(answer, '"code":"invalid_json"');
      },
    ),
  );
  // A body longer than its Content-Length: the declared bytes are the request; the rest is read as the next
  // request on the connection, which is not HTTP, so Node answers 400 and closes. No 5xx, no hang.
  for (const extra of ['{"more":1}', 'GARBAGE\r\n\r\n', '\u0000\u0001\u0002', '"}}}}}}}}}']) {
    const answer = await raw(
      child.url,
      Buffer.concat([head('/access/v1/evaluation', Buffer.byteLength(valid)), Buffer.from(valid + extra)]),
    );
    const codes = statuses(answer);
    // Node's parser meets the extra bytes while the declared request is still being decided; it answers 400
    // and closes at once (its clientError default), so the 200 may never be written. Either is fine; a 5xx is not.
    assert.ok(codes.length > 0, `an answer, not a silent close: ${JSON.stringify(answer)}`);
    assert.ok(
      codes.every((c) => c === 200 || c === 400),
      `200 or 400, never 5xx: ${codes}`,
    );
  }
  // Declared longer than sent, then the client closes: nothing to answer, and the server keeps going.
  await raw(
    child.url,
    Buffer.concat([head('/access/v1/evaluation', 500), Buffer.from(valid.slice(0, 40))]),
    500,
  );
  const after = await fetch(`${child.url}/access/v1/evaluation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: valid,
  });
  assert.is(after.status, 200);
  assert.type(((await after.json()) as { decision: unknown }).decision, 'boolean');
});

test.run();
