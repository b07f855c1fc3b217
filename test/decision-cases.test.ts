// Runs every shared decision case (policies/testdata/cases/*.yaml, DESIGN §4) through the Wasm
// path and through OPA's interpreter (`opa eval`, one process for all cases) on the same Rego, data
// and input: any disagreement between the two, or with the case's `want`, fails (SPEC §7).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compilePolicy, DEFAULT_WASM_PATH, loadPolicy } from '../engine/evaluator.ts';
import { canonicalJson } from '../engine/normalize.ts';
import { ENGINE_REASON_CODES, SPEC_REASON_CODES } from '../engine/reasons.ts';
import type { RegoDecision } from '../engine/types.ts';
import { CASES_GEN, type CompiledCase, type CompiledCases, genCases } from '../scripts/gen-cases.ts';

const root = join(import.meta.dirname, '..');
const opa = join(root, '.tools', 'bin', 'opa');
const compiled = JSON.parse(readFileSync(CASES_GEN, 'utf8')) as CompiledCases;

test('compiled cases are up to date with the case files (npm run gen)', async () => {
  assert.equal(
    await genCases({ check: true }),
    [],
    'policies/testdata/cases.gen.json is stale: run npm run gen',
  );
});

test('there are cases for every reason code', () => {
  const codes = new Set(compiled.cases.map((c) => c.want.code));
  for (const code of SPEC_REASON_CODES) {
    assert.ok(codes.has(code), `no case wants ${code}`);
  }
});

test('the response schema lists exactly the reason codes the engine knows', () => {
  const schema = JSON.parse(readFileSync(join(root, 'schemas', 'decision-response.schema.json'), 'utf8'));
  const listed = schema.properties.context.properties.reason.properties.code.enum as string[];
  assert.equal([...listed].sort(), [...SPEC_REASON_CODES, ...ENGINE_REASON_CODES].sort());
});

/** The Wasm path: one loaded policy per dataset, as the server does it. */
function wasmResults(): (RegoDecision | undefined)[] {
  const module = compilePolicy(readFileSync(DEFAULT_WASM_PATH));
  const policies = new Map(
    Object.entries(compiled.datasets).map(([name, data]) => [name, loadPolicy(module, data)]),
  );
  return compiled.cases.map((c) => policies.get(c.dataset)?.evaluate(c.input));
}

/** OPA's interpreter on the same Rego files (not tests), data and inputs, in one `opa eval`. */
function opaResults(): Record<string, RegoDecision> {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-cases-'));
  writeFileSync(
    join(dir, 'harness.rego'),
    [
      'package casesharness',
      '',
      'results[sprintf("%d", [i])] := r if {',
      '\tsome i, c in data.cases',
      '\tr := data.appwarden.decision with input as c.input with data.orgs as data.datasets[c.dataset].orgs',
      '}',
      '',
    ].join('\n'),
  );
  const regoFiles = readdirSync(join(root, 'policies', 'appwarden'))
    .filter((f) => f.endsWith('.rego') && !f.endsWith('_test.rego'))
    .map((f) => join(root, 'policies', 'appwarden', f));
  const args = ['eval', '--format', 'json', '-d', join(dir, 'harness.rego'), '-d', CASES_GEN];
  for (const f of regoFiles) args.push('-d', f);
  args.push('data.casesharness.results');
  const r = spawnSync(opa, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`opa eval failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as {
    result: { expressions: { value: Record<string, RegoDecision> }[] }[];
  };
  return out.result[0]?.expressions[0]?.value ?? {};
}

/** Differences between a result and the case's want; a field the want leaves out must be absent (as in cases_test.rego). */
function mismatch(c: CompiledCase, got: RegoDecision | undefined): string | null {
  if (!got) return 'undefined result';
  const w = c.want;
  const ctx = got.context;
  const diffs: string[] = [];
  const check = (what: string, have: unknown, want: unknown) => {
    if (have !== want) diffs.push(`${what} ${JSON.stringify(have)} != ${JSON.stringify(want)}`);
  };
  check('decision', got.decision, w.decision);
  check('reason', ctx.reason.code, w.code);
  check('blocked_by', ctx.blocked_by, w.blocked_by);
  check('advice.expires_at', ctx.advice?.expires_at, w.expires_at);
  check('advice.warning', ctx.advice?.warning, w.warning);
  check('approval_request', ctx.approval_request !== undefined, w.approval_request === true);
  return diffs.length > 0 ? diffs.join('; ') : null;
}

test('Wasm and opa eval agree on every case, and both give what the case wants', () => {
  const wasm = wasmResults();
  const ref = opaResults();
  const failures: string[] = [];
  compiled.cases.forEach((c, i) => {
    const w = wasm[i];
    const o = ref[String(i)];
    if (canonicalJson(w ?? null) !== canonicalJson(o ?? null)) {
      failures.push(
        `${c.file}:${c.line} ${c.name}: wasm and opa eval disagree\n    wasm: ${JSON.stringify(w)}\n    opa:  ${JSON.stringify(o)}`,
      );
      return;
    }
    const m = mismatch(c, w);
    if (m) failures.push(`${c.file}:${c.line} ${c.name}: ${m}`);
  });
  assert.ok(compiled.cases.length >= 50, `only ${compiled.cases.length} cases`);
  assert.is(failures.length, 0, `\n${failures.join('\n')}`);
});

test.run();
