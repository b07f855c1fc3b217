// The code's own checks as tests: types (tsc strict), Biome (format, lint, import boundaries of
// STYLE.md) — so a boundary broken in a hurry fails CI, not a later reader.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(cmd: string, args: string[], input?: string) {
  return spawnSync(cmd, args, { cwd: root, encoding: 'utf8', input, env: { ...process.env, NO_COLOR: '1' } });
}

test('the TypeScript typechecks under the strict flags', () => {
  const r = run(bin('tsc'), ['--noEmit', '-p', '.']);
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
});

test('biome check is clean (format, lint, boundaries, no import cycles)', () => {
  const r = run(bin('biome'), ['check', '--error-on-warnings', '.']);
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
});

/** Lints one probe file placed at `path` in a scratch copy of the project's Biome configuration. */
function lintProbe(path: string, source: string) {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-lint-'));
  const config = JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8')) as Record<string, unknown>;
  delete config.$schema;
  writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
  mkdirSync(join(dir, dirname(path)), { recursive: true });
  writeFileSync(join(dir, path), source);
  const r = spawnSync(bin('biome'), ['lint', path], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  rmSync(dir, { recursive: true, force: true });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the boundary rule rejects server/ importing an engine internal, and allows engine/index.ts', () => {
  const probe =
    "import { loadPolicyRepository } from '../engine/loader.ts';\nexport const x = loadPolicyRepository;\n";
  const bad = lintProbe('server/probe.ts', probe);
  assert.is.not(bad.status, 0);
  assert.match(bad.out, /noRestrictedImports/);
  const ok = lintProbe('server/probe.ts', probe.replace('loader.ts', 'index.ts'));
  assert.is(ok.status, 0, ok.out);
});

test('the boundary rule rejects engine/ importing the server', () => {
  const bad = lintProbe(
    'engine/probe.ts',
    "import { createApp } from '../server/app.ts';\nexport const x = createApp;\n",
  );
  assert.is.not(bad.status, 0);
  assert.match(bad.out, /noRestrictedImports/);
});

test.run();
