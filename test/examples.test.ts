// The example policy repository, the traffic generator and the demo replay: the repository is
// accepted by the engine, the trace is reproducible and valid, and the examples decide as documented
// in docs/examples.md.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import {
  createEngine,
  type Decision,
  type Engine,
  isEngineError,
  SPEC_REASON_CODES,
} from '../engine/index.ts';
import { startAppwarden } from '../examples/support.ts';
import { APPS, APPS_BY_ID } from '../examples/traffic/apps.ts';
import { replay } from '../examples/traffic/demo.ts';
import {
  ACTIONS,
  BASE_TIME,
  type EvaluationRequest,
  EXAMPLE_POLICY_DIR,
  generateTraffic,
} from '../examples/traffic/generate.ts';

const AT = BASE_TIME; // 2026-11-15T12:00:00Z
let engine: Engine;

test.before(async () => {
  engine = createEngine({ policyDir: EXAMPLE_POLICY_DIR });
  await engine.load();
});
test.after(() => engine.close());

test('the example repository is accepted by the engine with its four orgs and history', async () => {
  const again = createEngine({ policyDir: EXAMPLE_POLICY_DIR });
  const loaded = await again.load();
  assert.equal(loaded.orgs, ['acme.example', 'globex.example', 'initech.example', 'umbrella.example']);
  assert.match(loaded.revision, /^[0-9a-f]{16}$/);
  again.close();
});

test('every app the org policies block or approve is in the catalog, under the same name', () => {
  const dir = join(EXAMPLE_POLICY_DIR, 'orgs');
  let seen = 0;
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    assert.ok(
      text.startsWith('# yaml-language-server: $schema=../../../schemas/org-policy.schema.json'),
      file,
    );
    const doc = parse(text) as {
      spec: {
        apps?: { blocked?: { id: string; name?: string }[]; approved?: { id: string; name?: string }[] };
      };
    };
    for (const app of [...(doc.spec.apps?.blocked ?? []), ...(doc.spec.apps?.approved ?? [])]) {
      const known = APPS_BY_ID.get(app.id);
      assert.ok(known, `${file}: app ${app.id} is not in examples/traffic/apps.ts`);
      if (app.name !== undefined) assert.is(app.name, known?.name, `${file}: ${app.id}`);
      seen++;
    }
    // Only reserved example domains: the examples must never name a real organization's mailbox.
    for (const email of text.match(/[\w.+-]+@[\w.-]+/g) ?? [])
      assert.match(email, /@[\w.-]+\.example$/, file);
  }
  assert.ok(seen >= 15, `only ${seen} app entries`);
  assert.ok(APPS.length >= 30);
  assert.is(new Set(APPS.map((a) => a.id)).size, APPS.length, 'app ids are unique');
});

test('the generator gives the same trace for the same seed and another for another seed', () => {
  const a = generateTraffic({ seed: 7, count: 500 });
  const b = generateTraffic({ seed: 7, count: 500 });
  const c = generateTraffic({ seed: 8, count: 500 });
  assert.equal(a, b);
  assert.not.equal(a, c);
  // Ages count back from `now`: the same seed at another time is the same traffic, shifted.
  const later = generateTraffic({ seed: 7, count: 500, now: AT + 86_400 });
  const created = (t: EvaluationRequest[]) =>
    t.map((r) => r.resource.properties?.created_at).filter((x): x is string => typeof x === 'string');
  const shifted = created(later).map((s) => Date.parse(s) - 86_400_000);
  assert.equal(
    shifted,
    created(a).map((s) => Date.parse(s)),
  );
});

test('the default trace has 10,000 valid requests over all six actions, mostly app.use and token.use', () => {
  const trace = generateTraffic();
  assert.is(trace.length, 10_000);
  const perAction = new Map<string, number>();
  for (const r of trace) perAction.set(r.action.name, (perAction.get(r.action.name) ?? 0) + 1);
  for (const a of ACTIONS) assert.ok((perAction.get(a) ?? 0) > 100, `${a}: ${perAction.get(a)}`);
  assert.ok((perAction.get('app.use') ?? 0) + (perAction.get('token.use') ?? 0) > 6000);
  const invalid: string[] = [];
  for (const r of trace) {
    try {
      engine.validate(r);
    } catch (err) {
      if (!isEngineError(err, 'invalid_input')) throw err;
      if (invalid.length < 3) invalid.push(`${JSON.stringify(r)}: ${err.message}`);
    }
  }
  assert.equal(invalid, [], 'every generated request passes the server validation (no 400 in the demo)');
  const subjects = new Set(trace.map((r) => r.subject.type));
  assert.equal([...subjects].sort(), ['external_service', 'service_account', 'user']);
  const roles = new Set(trace.map((r) => r.subject.properties?.role).filter(Boolean));
  assert.equal([...roles].sort(), ['guest', 'member']);
  assert.ok(trace.some((r) => ((r.subject.properties?.orgs as string[] | undefined)?.length ?? 0) >= 3));
});

test('replaying the trace through the engine decides every request, for many different reasons', () => {
  const trace = generateTraffic({ count: 4000 });
  const reasons = new Map<string, number>();
  const failures: string[] = [];
  for (const r of trace) {
    try {
      const d = engine.decide(r, { at: AT });
      reasons.set(d.context.reason.code, (reasons.get(d.context.reason.code) ?? 0) + 1);
      assert.is(d.decision, d.context.reason.code === 'allowed');
    } catch (err) {
      if (failures.length < 3) failures.push(`${JSON.stringify(r)}: ${String(err)}`);
    }
  }
  assert.equal(failures, [], 'no evaluation error');
  assert.not.ok(reasons.has('evaluation_undefined'));
  // The traffic is meant to show each of these (docs/examples.md); each is a bug or a broken example if absent.
  for (const code of SPEC_REASON_CODES) {
    assert.ok(reasons.has(code), `no ${code} in ${JSON.stringify(Object.fromEntries(reasons))}`);
  }
  assert.ok((reasons.get('allowed') ?? 0) > trace.length / 2, 'most real traffic is allowed');
});

/** A user subject; `orgs` always includes the org asked about. */
function user(id: string, email: string, role: 'member' | 'guest', orgs: string[], joinedAt?: string) {
  return {
    type: 'user' as const,
    id,
    properties: { email, role, orgs, ...(joinedAt ? { joined_at: joinedAt } : {}) },
  };
}
const ann = user('u-ann', 'ann@acme.example', 'member', ['acme.example']);
const gus = user('u-gus', 'gus@globex.example', 'member', ['globex.example', 'acme.example']);
const pat = (id: string, owner: string, createdAt: string) => ({
  type: 'token' as const,
  id,
  properties: { kind: 'personal_access', created_at: createdAt, owner },
});
const sat = (sa: string, createdAt: string) => ({
  type: 'token' as const,
  id: `sat-${sa}`,
  properties: {
    kind: 'service_account',
    created_at: createdAt,
    owner: 'it-ops@acme.example',
    service_account: sa,
  },
});

/** The walkthrough of docs/examples.md, evaluated at 2026-11-15T12:00:00Z. */
const WALKTHROUGH: {
  name: string;
  request: unknown;
  code: string;
  blockedBy?: string;
  expiresAt?: string;
  warning?: string;
}[] = [
  {
    name: 'acme blocks Dropbox',
    request: {
      subject: ann,
      action: { name: 'app.connect' },
      resource: { type: 'app', id: '1204567890123456789' },
      context: { org: 'acme.example' },
    },
    code: 'app_blocked',
    blockedBy: 'acme.example',
  },
  {
    name: "acme's block on Grammarly follows an acme member into globex",
    request: {
      subject: gus,
      action: { name: 'app.use' },
      resource: { type: 'app', id: '0417263958821' },
      context: { org: 'globex.example' },
    },
    code: 'app_blocked_in_other_org',
    blockedBy: 'acme.example',
  },
  {
    name: 'globex needs an approval for Miro',
    request: {
      subject: gus,
      action: { name: 'app.connect' },
      resource: { type: 'app', id: '3458764513820540928' },
      context: { org: 'globex.example' },
    },
    code: 'app_not_approved',
  },
  {
    name: 'globex approved Slack',
    request: {
      subject: gus,
      action: { name: 'app.use' },
      resource: { type: 'app', id: 'A0F7XDUAZ' },
      context: { org: 'globex.example' },
    },
    code: 'allowed',
  },
  {
    name: "umbrella's block on Zoom stays inside umbrella (this_org)",
    request: {
      subject: user('u-ada', 'ada@umbrella.example', 'guest', ['umbrella.example', 'acme.example']),
      action: { name: 'app.use' },
      resource: { type: 'app', id: '1048577935912' },
      context: { org: 'acme.example' },
    },
    code: 'allowed',
  },
  {
    name: 'initech denies guests the API through apps',
    request: {
      subject: user('u-gil', 'gil@contractor.example', 'guest', ['initech.example']),
      action: { name: 'api.use' },
      resource: { type: 'api' },
      context: { org: 'initech.example', via: 'app' },
    },
    code: 'guest_api_restricted',
  },
  {
    name: 'globex denies guests the API through PATs only',
    request: {
      subject: user('u-gil', 'gil@contractor.example', 'guest', ['globex.example']),
      action: { name: 'api.use' },
      resource: { type: 'api' },
      context: { org: 'globex.example', via: 'personal_access_token' },
    },
    code: 'guest_api_restricted',
  },
  {
    name: 'initech has PATs off',
    request: {
      subject: user('u-pete', 'peter@initech.example', 'member', ['initech.example']),
      action: { name: 'token.create' },
      resource: { type: 'token', properties: { kind: 'personal_access' } },
      context: { org: 'initech.example' },
    },
    code: 'pats_disabled',
  },
  {
    name: 'initech takes no rules triggered from outside',
    request: {
      subject: { type: 'external_service', id: 'pagerduty' },
      action: { name: 'rule.trigger' },
      resource: { type: 'rule', id: 'rule-initech-7' },
      context: { org: 'initech.example' },
    },
    code: 'external_automation_disabled',
  },
  {
    name: "acme's legacy-sync service account is disabled",
    request: {
      subject: { type: 'service_account', id: 'legacy-sync' },
      action: { name: 'token.use' },
      resource: sat('legacy-sync', '2026-09-01T00:00:00Z'),
      context: { org: 'acme.example' },
    },
    code: 'service_account_disabled',
  },
  {
    name: 'a 30-day initech service-account token from October has expired',
    request: {
      subject: { type: 'service_account', id: 'report-exporter' },
      action: { name: 'token.use' },
      resource: sat('report-exporter', '2026-10-01T00:00:00Z'),
      context: { org: 'initech.example' },
    },
    code: 'token_expired',
  },
  {
    name: 'a 30-day initech service-account token expiring in 4 days is allowed with a warning',
    request: {
      subject: { type: 'service_account', id: 'report-exporter' },
      action: { name: 'token.use' },
      resource: sat('report-exporter', '2026-10-20T00:00:00Z'),
      context: { org: 'initech.example' },
    },
    code: 'allowed',
    expiresAt: '2026-11-19T00:00:00Z',
    warning: 'token_expires_soon',
  },
  {
    name: 'an umbrella PAT from before the May switch-off stays revoked',
    request: {
      subject: user('u-ada', 'ada@umbrella.example', 'member', ['umbrella.example']),
      action: { name: 'token.use' },
      resource: pat('pat-ada-1', 'u-ada', '2026-04-01T00:00:00Z'),
      context: { org: 'umbrella.example' },
    },
    code: 'token_revoked',
  },
  {
    name: 'an umbrella PAT from October lives 60 days',
    request: {
      subject: user('u-ada', 'ada@umbrella.example', 'member', ['umbrella.example']),
      action: { name: 'token.use' },
      resource: pat('pat-ada-2', 'u-ada', '2026-10-01T00:00:00Z'),
      context: { org: 'umbrella.example' },
    },
    code: 'allowed',
  },
  {
    name: 'the same PAT expired for umbrella when its owner joined umbrella after creating it',
    request: {
      subject: user(
        'u-ann',
        'ann@acme.example',
        'guest',
        ['acme.example', 'umbrella.example'],
        '2026-10-10T00:00:00Z',
      ),
      action: { name: 'token.use' },
      resource: pat('pat-ann-1', 'u-ann', '2026-10-01T00:00:00Z'),
      context: { org: 'umbrella.example' },
    },
    code: 'token_expired',
  },
  {
    name: 'an acme PAT from 2024 is fine under the 10-year default',
    request: {
      subject: ann,
      action: { name: 'token.use' },
      resource: pat('pat-ann-0', 'u-ann', '2024-01-15T09:30:00Z'),
      context: { org: 'acme.example' },
    },
    code: 'allowed',
  },
  {
    name: 'a token created an hour from now is not valid yet',
    request: {
      subject: ann,
      action: { name: 'token.use' },
      resource: pat('pat-ann-9', 'u-ann', '2026-11-15T13:00:00Z'),
      context: { org: 'acme.example' },
    },
    code: 'token_not_yet_valid',
  },
  {
    name: 'an org without a policy is unknown',
    request: {
      subject: ann,
      action: { name: 'app.use' },
      resource: { type: 'app', id: 'A0F7XDUAZ' },
      context: { org: 'hooli.example' },
    },
    code: 'org_unknown',
  },
];

for (const c of WALKTHROUGH) {
  test(`walkthrough: ${c.name}`, () => {
    const d: Decision = engine.decide(c.request, { at: AT });
    assert.is(d.context.reason.code, c.code, d.context.reason.message);
    assert.is(d.decision, c.code === 'allowed');
    if (c.blockedBy) assert.is(d.context.blocked_by, c.blockedBy);
    if (c.code === 'app_not_approved') assert.is(d.context.approval_request?.app, '3458764513820540928');
    if (c.expiresAt) assert.is(d.context.advice?.expires_at, c.expiresAt);
    if (c.warning) assert.is(d.context.advice?.warning, c.warning);
  });
}

test('the demo replays traffic against a real server with no 5xx and no 4xx', async () => {
  const server = await startAppwarden(EXAMPLE_POLICY_DIR);
  try {
    const trace = generateTraffic({ count: 600, now: Date.now() / 1000 });
    const r = await replay(server.url, trace, { concurrency: 16 });
    assert.equal(r.failures, []);
    assert.equal([...r.statuses.keys()], [200]);
    assert.is(r.latenciesMs.length, 600);
    const decided = [...r.perAction.values()].reduce((n, t) => n + t.allow + t.deny, 0);
    assert.is(decided, 600);
    assert.ok(r.perReason.size >= 8, `only ${[...r.perReason.keys()].join(', ')}`);
  } finally {
    await server.stop();
  }
});

test.run();
