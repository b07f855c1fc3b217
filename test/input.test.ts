// Decision request validation (SPEC §4 bad input) and the Rego input built from a request (DESIGN §2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../engine/errors.ts';
import { buildInput, validateRequest } from '../engine/input.ts';
import { formatRfc3339, parseRfc3339 } from '../engine/time.ts';

const connect = () => ({
  subject: {
    type: 'user',
    id: 'U1',
    properties: { email: 'Ann@Acme.example', role: 'member', orgs: ['acme.example'] },
  },
  action: { name: 'app.connect' },
  resource: {
    type: 'app',
    id: '1204567890123456789',
    properties: { name: 'FileSync Pro', scopes: ['files:read'] },
  },
  context: { org: 'acme.example' },
});

const tokenUse = () => ({
  subject: {
    type: 'user',
    id: 'U1',
    properties: { email: 'ann@acme.example', role: 'member', joined_at: '2026-01-01T01:00:00+01:00' },
  },
  action: { name: 'token.use' },
  resource: {
    type: 'token',
    id: 'tok_1',
    properties: { kind: 'personal_access', created_at: '2026-01-10T00:00:00Z', owner: 'U1' },
  },
  context: { org: 'acme.example' },
});

/** The first issue's path of the EngineError thrown by validating `body`. */
function fieldOf(body: unknown): string {
  try {
    validateRequest(body);
  } catch (err) {
    assert.instance(err, EngineError);
    assert.is((err as EngineError).code, 'invalid_input');
    return (err as EngineError).issues[0]?.path ?? '(no path)';
  }
  throw new Error('expected invalid_input, but the request was accepted');
}

function mutate(base: () => Record<string, unknown>, fn: (b: any) => void): unknown {
  const b = base();
  fn(b);
  return b;
}

test('a well-formed request is accepted as is', () => {
  const req = connect();
  assert.equal(validateRequest(req), req);
  assert.ok(validateRequest(tokenUse()));
});

const BAD: [string, unknown, string][] = [
  ['body is not an object', [1, 2], '/'],
  ['body is a string', 'hello', '/'],
  ['missing subject', mutate(connect, (b) => delete b.subject), '/subject'],
  ['missing org', mutate(connect, (b) => delete b.context.org), '/context/org'],
  ['unknown action', mutate(connect, (b) => (b.action.name = 'app.delete')), '/action/name'],
  // biome-ignore lint/correctness/noPrecisionLoss: a JSON number that loses digits is what the 400 is about
  ['number as app id', mutate(connect, (b) => (b.resource.id = 1204567890123456789)), '/resource/id'],
  ['number as subject id', mutate(connect, (b) => (b.subject.id = 42)), '/subject/id'],
  // A URL normalizes . and .. away: the registry's DELETE …/tokens/{id} could never name such a token.
  ['token id "."', mutate(tokenUse, (b) => (b.resource.id = '.')), '/resource/id'],
  ['token id ".."', mutate(tokenUse, (b) => (b.resource.id = '..')), '/resource/id'],
  [
    'token.create id ".."',
    mutate(tokenUse, (b) => {
      b.action.name = 'token.create';
      b.resource.id = '..';
    }),
    '/resource/id',
  ],
  ['number as org', mutate(connect, (b) => (b.context.org = 7)), '/context/org'],
  ['unknown top-level field', mutate(connect, (b) => (b.facts = { now: 1 })), '/facts'],
  [
    'caller-supplied evaluation time',
    mutate(connect, (b) => (b.context.time = '2026-01-01T00:00:00Z')),
    '/context/time',
  ],
  ['caller-supplied now', mutate(connect, (b) => (b.context.now = 1767225600)), '/context/now'],
  [
    'timestamp without time',
    mutate(tokenUse, (b) => (b.resource.properties.created_at = '2026-01-10')),
    '/resource/properties/created_at',
  ],
  [
    'timestamp without offset',
    mutate(tokenUse, (b) => (b.resource.properties.created_at = '2026-01-10T00:00:00')),
    '/resource/properties/created_at',
  ],
  [
    'impossible date',
    mutate(tokenUse, (b) => (b.resource.properties.created_at = '2026-02-30T00:00:00Z')),
    '/resource/properties/created_at',
  ],
  [
    'epoch number as timestamp',
    mutate(tokenUse, (b) => (b.resource.properties.created_at = 1767225600)),
    '/resource/properties/created_at',
  ],
  [
    'secret-looking key',
    mutate(tokenUse, (b) => (b.resource.properties.token = 'abc')),
    '/resource/properties/token',
  ],
  [
    'secret-looking value',
    mutate(tokenUse, (b) => (b.context.note = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789')),
    '/context/note',
  ],
  [
    'jwt in a property',
    mutate(connect, (b) => (b.subject.properties.sso = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig')),
    '/subject/properties/sso',
  ],
  [
    'wrong resource type for the action',
    mutate(connect, (b) => (b.resource.type = 'token')),
    '/resource/type',
  ],
  ['app.connect without app id', mutate(connect, (b) => delete b.resource.id), '/resource/id'],
  ['user without role', mutate(connect, (b) => delete b.subject.properties.role), '/subject/properties/role'],
  ['bad role', mutate(connect, (b) => (b.subject.properties.role = 'owner')), '/subject/properties/role'],
  [
    'bad email',
    mutate(connect, (b) => (b.subject.properties.email = 'not-an-email')),
    '/subject/properties/email',
  ],
  [
    'token.use without created_at',
    mutate(tokenUse, (b) => delete b.resource.properties.created_at),
    '/resource/properties/created_at',
  ],
  [
    'token.use without owner',
    mutate(tokenUse, (b) => delete b.resource.properties.owner),
    '/resource/properties/owner',
  ],
  [
    'service-account token without its account',
    mutate(tokenUse, (b) => {
      b.resource.properties.kind = 'service_account';
      b.subject = { type: 'service_account', id: 'sa-1' };
    }),
    '/resource/properties/service_account',
  ],
  [
    'api.use without via',
    {
      subject: { type: 'user', id: 'U1', properties: { email: 'a@b.example', role: 'guest' } },
      action: { name: 'api.use' },
      resource: { type: 'api' },
      context: { org: 'acme.example' },
    },
    '/context/via',
  ],
  [
    'rule.trigger by a user',
    {
      subject: { type: 'user', id: 'U1', properties: { email: 'a@b.example', role: 'member' } },
      action: { name: 'rule.trigger' },
      resource: { type: 'rule', id: 'r1' },
      context: { org: 'acme.example' },
    },
    '/subject/type',
  ],
  [
    'deep nesting',
    mutate(connect, (b) => {
      let deep: any = {};
      b.context.extra = deep;
      for (let i = 0; i < 40; i++) deep = deep.x = {};
    }),
    '/context/extra/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x',
  ],
];

BAD.push(
  ['lone surrogate in an id', mutate(connect, (b) => (b.resource.id = 'app\ud800')), '/resource/id'],
  [
    'NUL in an email',
    mutate(connect, (b) => (b.subject.properties.email = 'a\u0000@acme.example')),
    '/subject/properties/email',
  ],
  ['control character in a key', mutate(connect, (b) => (b.context['x\u0001'] = 1)), '/context/x\u0001'],
  [
    'service-account token used by a user',
    mutate(tokenUse, (b) => {
      b.resource.properties = {
        kind: 'service_account',
        created_at: '2026-01-10T00:00:00Z',
        service_account: 'ci-bot',
      };
    }),
    '/subject/type',
  ],
  [
    'service-account token used by another service account',
    mutate(tokenUse, (b) => {
      b.subject = { type: 'service_account', id: 'other-bot' };
      b.resource.properties = {
        kind: 'service_account',
        created_at: '2026-01-10T00:00:00Z',
        service_account: 'ci-bot',
      };
    }),
    '/subject/id',
  ],
);

test('a token id with dots that is not a dot segment is fine', () => {
  assert.ok(validateRequest(mutate(tokenUse, (b) => (b.resource.id = '...'))));
  assert.ok(validateRequest(mutate(tokenUse, (b) => (b.resource.id = 'tok.1'))));
});

for (const [name, body, field] of BAD) {
  test(`400 field: ${name}`, () => {
    assert.is(fieldOf(body), field);
  });
}

test('a batch prefix is put before the field path', () => {
  try {
    validateRequest(
      mutate(connect, (b) => delete b.context.org),
      '/evaluations/3',
    );
    assert.unreachable();
  } catch (err) {
    assert.is((err as EngineError).issues[0]?.path, '/evaluations/3/context/org');
  }
});

test('numbers in ids get a message telling to quote them', () => {
  try {
    // biome-ignore lint/correctness/noPrecisionLoss: a JSON number that loses digits is what the 400 is about
    validateRequest(mutate(connect, (b) => (b.resource.id = 1204567890123456789)));
    assert.unreachable();
  } catch (err) {
    assert.match((err as EngineError).issues[0]?.message ?? '', /ids are strings/);
  }
});

test('rfc 3339 parsing: offsets, fractions, calendar', () => {
  assert.is(parseRfc3339('2026-03-01T00:00:00Z'), 1772323200);
  assert.is(parseRfc3339('2026-03-01T01:00:00+01:00'), 1772323200);
  assert.is(parseRfc3339('2026-02-28T19:00:00-05:00'), 1772323200);
  assert.is(parseRfc3339('2026-03-01T00:00:00.999Z'), 1772323200);
  assert.is(parseRfc3339('2028-02-29T00:00:00Z'), 1835395200);
  for (const bad of [
    '2026-03-01',
    '2026-03-01T00:00:00',
    '2026-02-29T00:00:00Z',
    '2026-03-01T24:00:00Z',
    'yesterday',
    '2026-3-1T00:00:00Z',
  ]) {
    assert.is(parseRfc3339(bad), null, bad);
  }
  assert.is(formatRfc3339(1772323200), '2026-03-01T00:00:00Z');
});

test('the Rego input has epoch seconds, lower-cased email, only known fields, and the facts', () => {
  const req = validateRequest(mutate(tokenUse, (b) => (b.context.ticket = 'T-1')));
  const facts = {
    now: 1772323200,
    history: [{ start: null, expiration_days: null, personal_access_tokens: 'enabled' as const }],
    token_revoked: false,
  };
  const input = buildInput(req, facts);
  assert.equal(input, {
    subject: {
      type: 'user',
      id: 'U1',
      properties: { email: 'ann@acme.example', role: 'member', joined_at: 1767225600 },
    },
    action: { name: 'token.use' },
    resource: {
      type: 'token',
      id: 'tok_1',
      properties: { kind: 'personal_access', owner: 'U1', created_at: 1768003200 },
    },
    context: { org: 'acme.example' },
    facts,
  });
});

test('org ids are case-insensitive DNS names: lower-cased in the Rego input', () => {
  const req = validateRequest(
    mutate(connect, (b) => {
      b.context.org = 'Acme.EXAMPLE';
      b.subject.properties.orgs = ['Beta.Example'];
    }),
  );
  const input = buildInput(req, { now: 0, history: [], token_revoked: false });
  assert.is(input.context.org, 'acme.example');
  assert.equal(input.subject.properties?.orgs, ['beta.example']);
});

test('a created_at with a fraction counts from the next whole second (60.9 s ahead is more than 60 s)', () => {
  const req = validateRequest(
    mutate(tokenUse, (b) => (b.resource.properties.created_at = '2026-06-01T00:01:00.900Z')),
  );
  const input = buildInput(req, { now: 0, history: [], token_revoked: false });
  assert.is(input.resource.properties?.created_at, (parseRfc3339('2026-06-01T00:01:00Z') as number) + 1);
  const whole = buildInput(
    validateRequest(mutate(tokenUse, (b) => (b.resource.properties.created_at = '2026-06-01T00:01:00.000Z'))),
    {
      now: 0,
      history: [],
      token_revoked: false,
    },
  );
  assert.is(whole.resource.properties?.created_at, parseRfc3339('2026-06-01T00:01:00Z'));
});

test.run();
