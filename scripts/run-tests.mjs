#!/usr/bin/env node
// npm test: rebuilds the compiled policy and fails when the committed one is stale, runs the Rego tests (opa test) and every uvu
// suite (test/*.test.ts, one process per file so sockets and watchers cannot leak between files),
// then prints the one closing line CI reads: `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
let passed = 0;
let failed = 0;

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  return r;
}

// 1. The pinned OPA toolchain (installed when missing).
const tools = run('bash', ['scripts/install-opa.sh']);
if (tools.status !== 0) {
  console.log('setup: 0 passed, 1 failed');
  process.exit(1);
}

// 2. The committed policy.wasm must be what the Rego builds to today (rebuilt, compared).
if (only.length === 0) {
  const build = run('bash', ['scripts/build-policy.sh', '--check']);
  if (build.status === 0) passed += 1;
  else {
    console.error('policy.wasm check failed (see above)');
    failed += 1;
  }
}

// 3. Rego unit tests and shared decision cases in OPA's interpreter.
if (only.length === 0) {
  const rego = run('bash', ['scripts/test-rego.sh']);
  const out = `${rego.stdout}${rego.stderr}`;
  const p = /PASS: (\d+)\/(\d+)/.exec(out);
  const f = /FAIL: (\d+)\/(\d+)/.exec(out);
  const e = /ERROR: (\d+)\/(\d+)/.exec(out);
  if (p || f || e) {
    passed += Number(p?.[1] ?? 0);
    failed += Number(f?.[1] ?? 0) + Number(e?.[1] ?? 0);
  }
  if (rego.status !== 0 && !f && !e) failed += 1;
}

// 4. uvu suites, one process per file.
const files = readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
for (const file of files) {
  const r = run(
    process.execPath,
    ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', `^${file.replace(/\./g, '\\.')}$`],
    {
      FORCE_COLOR: '0',
    },
  );
  const out = `${r.stdout}${r.stderr}`;
  const total = /Total:\s+(\d+)/.exec(out);
  const ok = /Passed:\s+(\d+)/.exec(out);
  if (total && ok) {
    passed += Number(ok[1]);
    failed += Number(total[1]) - Number(ok[1]);
  }
  if (r.status !== 0 && !(total && Number(total[1]) > Number(ok?.[1] ?? 0))) {
    console.error(`${file}: exited ${r.status ?? r.signal} without a failing test counted`);
    failed += 1;
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
