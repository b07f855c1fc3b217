// The Wasm boundary (engine/evaluator.ts) on small policies built here with the pinned opa: an
// undefined result is a deny, a trap is a typed evaluation_error that does not poison the next
// evaluation, and bad modules or data beyond the memory bound are typed load errors.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toWireDecision } from '../engine/engine.ts';
import { EngineError } from '../engine/errors.ts';
import { compilePolicy, loadPolicy } from '../engine/evaluator.ts';
import type { DataDocument, RegoInput } from '../engine/types.ts';

const root = join(import.meta.dirname, '..');
const opa = join(root, '.tools', 'bin', 'opa');

/** Builds `rego` (package appwarden) to Wasm with the product's capabilities and entrypoint. */
function build(rego: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-wasm-'));
  writeFileSync(join(dir, 'p.rego'), rego);
  execFileSync(opa, [
    'build',
    '-t',
    'wasm',
    '-e',
    'appwarden/decision',
    '--capabilities',
    join(root, 'policies', 'capabilities.json'),
    '-o',
    join(dir, 'b.tar.gz'),
    join(dir, 'p.rego'),
  ]);
  execFileSync('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', dir, '/policy.wasm']);
  return readFileSync(join(dir, 'policy.wasm'));
}

const data: DataDocument = { orgs: {} };
const input = (id: string): RegoInput => ({
  subject: { type: 'user', id: 'U1' },
  action: { name: 'app.use' },
  resource: { type: 'app', id },
  context: { org: 'acme.example' },
  facts: { now: 0, history: [], token_revoked: false },
});

// decision is defined only for resource "known"; for "conflict" two values clash, which the Wasm
// reports by aborting with a bare string (the SDK throws it as is).
const POLICY = `package appwarden

decision := {"decision": true, "context": {"reason": {"code": "allowed", "message": "ok"}}} if input.resource.id == "known"

clash := 1 if input.resource.id == "conflict"

clash := 2 if input.resource.id == "conflict"

decision := {"decision": true, "context": {"reason": {"code": "allowed", "message": "never"}}} if clash == 3
`;

const module = compilePolicy(build(POLICY));

test('a defined result is returned as the raw decision', () => {
  const p = loadPolicy(module, data);
  assert.equal(p.evaluate(input('known'))?.context.reason.code, 'allowed');
});

test('an undefined result is undefined, and the wire decision is a deny with evaluation_undefined', () => {
  const p = loadPolicy(module, data);
  const raw = p.evaluate(input('other'));
  assert.is(raw, undefined);
  const wire = toWireDecision(raw, 'rev', 'acme.example');
  assert.is(wire.decision, false);
  assert.is(wire.context.reason.code, 'evaluation_undefined');
});

test('a trap in the Wasm is a typed evaluation_error, and the next evaluation still works', () => {
  const p = loadPolicy(module, data);
  try {
    p.evaluate(input('conflict'));
    assert.unreachable('a conflict must throw');
  } catch (err) {
    assert.instance(err, EngineError);
    assert.is((err as EngineError).code, 'evaluation_error');
    assert.match((err as EngineError).message, /policy evaluation failed/);
  }
  assert.equal(p.evaluate(input('known'))?.decision, true);
});

test('a result that is not a decision object is treated as undefined (never an allow)', () => {
  const p = loadPolicy(compilePolicy(build('package appwarden\n\ndecision := true\n')), data);
  assert.is(p.evaluate(input('known')), undefined);
});

test('bytes that are not Wasm are a wasm_load_error', () => {
  try {
    compilePolicy(new TextEncoder().encode('not wasm'));
    assert.unreachable();
  } catch (err) {
    assert.is((err as EngineError).code, 'wasm_load_error');
  }
});

test('a module without the appwarden/decision entrypoint is a wasm_load_error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-wasm-'));
  writeFileSync(join(dir, 'p.rego'), 'package other\n\nallow := true\n');
  execFileSync(opa, [
    'build',
    '-t',
    'wasm',
    '-e',
    'other/allow',
    '-o',
    join(dir, 'b.tar.gz'),
    join(dir, 'p.rego'),
  ]);
  execFileSync('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', dir, '/policy.wasm']);
  try {
    loadPolicy(compilePolicy(readFileSync(join(dir, 'policy.wasm'))), data);
    assert.unreachable();
  } catch (err) {
    assert.is((err as EngineError).code, 'wasm_load_error');
    assert.match((err as EngineError).message, /entrypoint appwarden\/decision is missing/);
  }
});

test('data beyond the memory bound is a wasm_load_error, not a crash', () => {
  const big: DataDocument = { orgs: {} };
  for (let i = 0; i < 20_000; i++) big.orgs[`org-${i}.example`] = { name: 'x'.repeat(200) } as never;
  try {
    loadPolicy(module, big, { maximumPages: 16 });
    assert.unreachable();
  } catch (err) {
    assert.is((err as EngineError).code, 'wasm_load_error');
  }
});

test.run();
