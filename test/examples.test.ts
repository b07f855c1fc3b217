// The example policy repository, the traffic generator and the demo replay: the repository is
// accepted by the engine, the trace is reproducible and valid, and the examples decide as documented
// in docs/examples.md.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { createEngine, type Engine, isEngineError, SPEC_REASON_CODES } from '../engine/index.ts';
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
const root = join(import.meta.dirname, '..');
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

// The walkthrough of docs/examples.md is a decision-case file
// (policies/testdata/cases/examples-walkthrough.yaml): it runs through the Wasm, `opa eval` and `opa test`.
test('every walkthrough row of docs/examples.md is a decision case', () => {
  const doc = readFileSync(join(root, 'docs', 'examples.md'), 'utf8');
  const section = doc.slice(
    doc.indexOf('### Walkthrough'),
    doc.indexOf('\n## ', doc.indexOf('### Walkthrough')),
  );
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| request') && !l.startsWith('| ---'));
  const cases = (
    parse(readFileSync(join(root, 'policies', 'testdata', 'cases', 'examples-walkthrough.yaml'), 'utf8')) as {
      cases: unknown[];
    }
  ).cases;
  assert.ok(rows.length > 10, 'the walkthrough table was found');
  assert.is(cases.length, rows.length, 'one case per walkthrough row');
});

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
    // Issue 6: after the demo trace, /metrics shows every metric (docs/operations.md "Metrics").
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'decisions_total',
      'decision_duration_seconds_bucket',
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'reloads_total',
      'policy_info',
      'last_reload_timestamp_seconds',
      'last_successful_reload_timestamp_seconds',
      'decision_log_queue_depth',
      'decision_log_commits_total',
      'decision_log_commit_records_bucket',
      'decision_log_commit_duration_seconds_bucket',
      'outbox_messages',
    ]) {
      assert.match(metrics, new RegExp(`^appwarden_${name}(\\{| )`, 'm'), name);
    }
    assert.match(metrics, /^process_resident_memory_bytes /m, 'Node process metrics');
    const allowed = [...metrics.matchAll(/^appwarden_decisions_total\{[^}]*decision="allow"[^}]*\} (\d+)/gm)]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    const allows = [...r.perAction.values()].reduce((n, t) => n + t.allow, 0);
    assert.is(allowed, allows, 'the allow counters add up to the allows the demo saw');
  } finally {
    await server.stop();
  }
});

test.run();
