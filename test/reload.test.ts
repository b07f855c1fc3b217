// Hot reload with real temp directories and real chokidar watchers: edits, invalid changes, half-written
// files, rename-over, delete + re-add, Kubernetes `..data` symlink swaps, and serialized reloads.
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildBundle, createEngine, type Engine, loadAndValidate } from '../engine/index.ts';
import { createWatcher, type PolicyWatcher, type ReloadOutcome } from '../engine/watcher.ts';

const DEBOUNCE = 50;

function orgYaml(org: string, blocked: string[]): string {
  const list = blocked.length ? blocked.map((id) => `\n      - id: ${id}`).join('') : ' []';
  return `apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata:\n  org: ${org}\nspec:\n  apps:\n    blocked:${list}\n`;
}

function connect(engine: Engine, appId: string, org = 'acme.example'): string {
  const d = engine.decide({
    subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
    action: { name: 'app.connect' },
    resource: { type: 'app', id: appId },
    context: { org },
  });
  return d.context.reason.code;
}

async function waitFor(what: string, pred: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Fixture {
  dir: string;
  engine: Engine;
  watcher: PolicyWatcher;
  outcomes: ReloadOutcome[];
  logs: { level: string; obj: Record<string, unknown>; msg?: string | undefined }[];
  done(): Promise<void>;
}

async function fixture(setup: (dir: string) => string): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-reload-'));
  const policyDir = setup(dir);
  const engine = createEngine({ policyDir });
  await engine.load();
  const outcomes: ReloadOutcome[] = [];
  const logs: Fixture['logs'] = [];
  const log = (level: string) => (obj: object, msg?: string) =>
    logs.push({ level, obj: obj as Record<string, unknown>, msg });
  const watcher = createWatcher({
    engine,
    path: policyDir,
    debounceMs: DEBOUNCE,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    onReload: (o) => outcomes.push(o),
  });
  await watcher.ready;
  return {
    dir,
    engine,
    watcher,
    outcomes,
    logs,
    async done() {
      await watcher.close();
      engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function plainRepo(dir: string): string {
  mkdirSync(join(dir, 'orgs'));
  writeFileSync(join(dir, 'orgs', 'acme.yaml'), orgYaml('acme.example', ['app-a']));
  writeFileSync(join(dir, 'orgs', 'beta.yaml'), orgYaml('beta.example', []));
  return dir;
}

test('an edit in place goes live after the debounce', async () => {
  const f = await fixture(plainRepo);
  try {
    const before = f.engine.revision;
    assert.is(connect(f.engine, 'app-b'), 'allowed');
    writeFileSync(join(f.dir, 'orgs', 'acme.yaml'), orgYaml('acme.example', ['app-a', 'app-b']));
    await waitFor('the new revision', () => f.engine.revision !== before);
    assert.is(connect(f.engine, 'app-b'), 'app_blocked');
    assert.ok(f.logs.some((l) => l.level === 'info' && l.obj.revision === f.engine.revision));
  } finally {
    await f.done();
  }
});

test('an invalid change keeps the last good revision live, logs every error; the fix goes live', async () => {
  const f = await fixture(plainRepo);
  try {
    const good = f.engine.revision;
    writeFileSync(
      join(f.dir, 'orgs', 'acme.yaml'),
      `${orgYaml('acme.example', ['app-b'])}    mdoe: require_approval\n  tokens:\n    expiration: 45d\n`,
    );
    await waitFor('a rejected reload', () => f.outcomes.some((o) => !o.ok));
    assert.is(f.engine.revision, good);
    assert.is(connect(f.engine, 'app-a'), 'app_blocked', 'the old settings still decide');
    assert.is(connect(f.engine, 'app-b'), 'allowed');
    assert.is(f.engine.status.lastReload?.ok, false);
    const err = f.logs.find((l) => l.level === 'error');
    const errors = (err?.obj.errors ?? []) as string[];
    assert.ok(errors.length >= 2, `every problem is logged: ${JSON.stringify(errors)}`);
    assert.ok(errors.some((e) => e.includes('mdoe')));
    assert.ok(errors.some((e) => e.includes('orgs/acme.yaml:')));
    writeFileSync(join(f.dir, 'orgs', 'acme.yaml'), orgYaml('acme.example', ['app-b']));
    await waitFor('the fixed revision', () => f.engine.revision !== good);
    assert.is(connect(f.engine, 'app-b'), 'app_blocked');
    assert.is(f.engine.status.lastReload?.ok, true);
  } finally {
    await f.done();
  }
});

test('a half-written file fails once, and the rest of the write loads the final state', async () => {
  const f = await fixture(plainRepo);
  try {
    const text = orgYaml('acme.example', ['app-a', 'app-half']);
    const cut = text.indexOf('blocked:') + 3; // ends inside a key: invalid YAML for this schema
    const fd = openSync(join(f.dir, 'orgs', 'acme.yaml'), 'w');
    writeSync(fd, text.slice(0, cut));
    await waitFor('a reload of the half-written file', () => f.outcomes.some((o) => !o.ok));
    await sleep(DEBOUNCE);
    writeSync(fd, text.slice(cut));
    closeSync(fd);
    const expected = (await loadAndValidate(f.dir)).revision;
    await waitFor('the final state', () => f.engine.revision === expected);
    assert.is(connect(f.engine, 'app-half'), 'app_blocked');
  } finally {
    await f.done();
  }
});

test('rename-over (an editor writes a temp file and renames it onto the policy) goes live', async () => {
  const f = await fixture(plainRepo);
  try {
    const before = f.engine.revision;
    const tmp = join(f.dir, 'orgs', '.acme.yaml.swp');
    writeFileSync(tmp, orgYaml('acme.example', ['app-renamed']));
    renameSync(tmp, join(f.dir, 'orgs', 'acme.yaml'));
    await waitFor('the renamed revision', () => f.engine.revision !== before);
    assert.is(connect(f.engine, 'app-renamed'), 'app_blocked');
    assert.is(connect(f.engine, 'app-a'), 'allowed');
  } finally {
    await f.done();
  }
});

test('delete + re-add of an org file: the org goes away, then comes back with the same revision', async () => {
  const f = await fixture(plainRepo);
  try {
    const original = f.engine.revision;
    assert.is(connect(f.engine, 'x', 'beta.example'), 'allowed');
    unlinkSync(join(f.dir, 'orgs', 'beta.yaml'));
    await waitFor('the revision without beta', () => f.engine.revision !== original);
    assert.is(connect(f.engine, 'x', 'beta.example'), 'org_unknown');
    writeFileSync(join(f.dir, 'orgs', 'beta.yaml'), orgYaml('beta.example', []));
    await waitFor('beta back', () => f.engine.revision === original);
    assert.is(connect(f.engine, 'x', 'beta.example'), 'allowed');
  } finally {
    await f.done();
  }
});

// A Kubernetes ConfigMap volume: real files under a timestamped `..<ts>` directory, `..data` pointing at it,
// and `orgs` pointing through `..data`. An update writes a new `..<ts>`, points `..data_tmp` at it, renames
// `..data_tmp` over `..data` (atomic), and deletes the old directory.
function configMapRepo(dir: string): string {
  const ts = join(dir, '..2026_01_01_00_00_00.000000001');
  mkdirSync(join(ts, 'orgs'), { recursive: true });
  writeFileSync(join(ts, 'orgs', 'acme.yaml'), orgYaml('acme.example', ['app-a']));
  symlinkSync('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
  symlinkSync('..data/orgs', join(dir, 'orgs'));
  return dir;
}

function swapConfigMap(dir: string, name: string, blocked: string[], old: string): void {
  mkdirSync(join(dir, name, 'orgs'), { recursive: true });
  writeFileSync(join(dir, name, 'orgs', 'acme.yaml'), orgYaml('acme.example', blocked));
  symlinkSync(name, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, old), { recursive: true, force: true });
}

test('a ConfigMap ..data symlink swap goes live, and so does the next one', async () => {
  const f = await fixture(configMapRepo);
  try {
    assert.is(connect(f.engine, 'app-a'), 'app_blocked');
    const first = f.engine.revision;
    swapConfigMap(f.dir, '..2026_01_02_00_00_00.000000002', ['app-b'], '..2026_01_01_00_00_00.000000001');
    await waitFor('the first swap', () => f.engine.revision !== first);
    assert.is(connect(f.engine, 'app-b'), 'app_blocked');
    assert.is(connect(f.engine, 'app-a'), 'allowed');
    const second = f.engine.revision;
    swapConfigMap(f.dir, '..2026_01_03_00_00_00.000000003', ['app-c'], '..2026_01_02_00_00_00.000000002');
    await waitFor('the second swap', () => f.engine.revision !== second);
    assert.is(connect(f.engine, 'app-c'), 'app_blocked');
  } finally {
    await f.done();
  }
});

test('a served bundle is reloaded when it is rebuilt; other files beside it are ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-bundle-'));
  try {
    mkdirSync(join(dir, 'src'));
    const src = plainRepo(join(dir, 'src'));
    const bundle = join(dir, 'out', 'policy.tar.gz');
    mkdirSync(join(dir, 'out'));
    await buildBundle(src, bundle);
    const engine = createEngine({ bundlePath: bundle });
    await engine.load();
    const outcomes: ReloadOutcome[] = [];
    const watcher = createWatcher({
      engine,
      path: bundle,
      debounceMs: DEBOUNCE,
      onReload: (o) => outcomes.push(o),
    });
    try {
      await watcher.ready;
      writeFileSync(join(dir, 'out', 'notes.txt'), 'unrelated');
      await sleep(DEBOUNCE * 4);
      assert.is(outcomes.length, 0, 'an unrelated file does not reload');
      const before = engine.revision;
      writeFileSync(join(src, 'orgs', 'acme.yaml'), orgYaml('acme.example', ['app-bundled']));
      await buildBundle(src, bundle);
      await waitFor('the rebuilt bundle', () => engine.revision !== before);
      assert.is(connect(engine, 'app-bundled'), 'app_blocked');
    } finally {
      await watcher.close();
      engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reloads never overlap; requests during a load are coalesced into one more load', async () => {
  let active = 0;
  let maxActive = 0;
  let loads = 0;
  const fake = {
    revision: 'r0' as string | null,
    async load() {
      active += 1;
      loads += 1;
      maxActive = Math.max(maxActive, active);
      await sleep(30);
      this.revision = `r${loads}`;
      active -= 1;
    },
  };
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-serial-'));
  const watcher = createWatcher({ engine: fake, path: dir, debounceMs: DEBOUNCE });
  try {
    await watcher.ready;
    const waits = Array.from({ length: 10 }, (_, i) => watcher.reload(`r${i}`));
    await Promise.all(waits);
    assert.is(maxActive, 1);
    assert.is(loads, 2, 'the first load, then one for the nine that came during it');
    // A burst of file events is one load after the debounce.
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `f${i}.yaml`), 'x');
    await waitFor('the debounced load', () => loads === 3);
    await sleep(DEBOUNCE * 4);
    assert.is(loads, 3);
  } finally {
    await watcher.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
