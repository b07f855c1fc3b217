// Loading, validating and normalizing policy repositories: the data document, every error class
// with its exact file:line:col message (golden file), YAML 1.2 core reading, BOM, symlinks, history.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type EngineError, formatIssue, isEngineError } from '../engine/errors.ts';
import { parseHistory } from '../engine/history-file.ts';
import { loadPolicyFromFiles, loadPolicyRepository } from '../engine/loader.ts';
import { canonicalJson, normalizeSpec } from '../engine/normalize.ts';
import { parseYaml } from '../engine/yaml.ts';
import orgPolicySchema from '../schemas/org-policy.schema.json' with { type: 'json' };
import { genTypes } from '../scripts/gen-types.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'loader');
const validDir = join(fixtures, 'valid');

/** Error cases kept inline because no formatter may touch them (files that are not YAML at all). */
const INLINE_CASES: Record<string, Record<string, string>> = {
  'undefined-alias': {
    'orgs/acme.yaml':
      'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata:\n  org: acme.example\n  name: *acme\n',
  },
  syntax: {
    'orgs/acme.yaml':
      'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata:\n  org: acme.example\nspec:\n  apps:\n    blocked: [{id: A1}, {id: A2}\n  tokens:\n    expiration: "30d\n',
  },
};

async function readRepo(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const sub of ['orgs', 'history']) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    for (const name of names) out[`${sub}/${name}`] = await readFile(join(dir, sub, name), 'utf8');
  }
  return out;
}

async function loadError(fn: () => Promise<unknown> | unknown): Promise<EngineError> {
  try {
    await fn();
  } catch (err) {
    if (isEngineError(err)) return err;
    throw err;
  }
  throw new Error('expected an EngineError, the load succeeded');
}

test('a valid repository normalizes to the data document of DESIGN §1', async () => {
  const repo = await loadPolicyRepository(validDir);
  const expected = JSON.parse(await readFile(join(validDir, 'expected-data.json'), 'utf8'));
  assert.equal(repo.data, expected);
  assert.equal(Object.keys(repo.orgs).sort(), ['acme.example', 'beta.example']);
  assert.is(repo.orgs['acme.example']?.file, 'orgs/acme.yaml');
  assert.is(repo.orgs['beta.example']?.file, 'orgs/beta.yml');
  // README.md and the dotfile are not read; every file read is listed with the hash of its bytes.
  assert.equal(
    repo.files.map((f) => f.path),
    ['history/acme.yaml', 'orgs/acme.yaml', 'orgs/beta.yml'],
  );
  for (const f of repo.files) assert.match(f.sha256, /^[0-9a-f]{64}$/);
});

test('the in-memory loader gives the same data as the disk loader', async () => {
  const fromDisk = await loadPolicyRepository(validDir);
  const fromMemory = loadPolicyFromFiles(await readRepo(validDir));
  assert.is(canonicalJson(fromMemory.data), canonicalJson(fromDisk.data));
  assert.equal(fromMemory.files, fromDisk.files);
});

test('history files become epoch seconds UTC, offsets applied and fractions floored', async () => {
  const repo = await loadPolicyRepository(validDir);
  assert.is(repo.histories.length, 1);
  const h = repo.histories[0];
  assert.is(h?.org, 'acme.example');
  assert.is(h?.file, 'history/acme.yaml');
  assert.equal(
    h?.revisions.map((r) => r.at),
    [Date.UTC(2026, 2, 1) / 1000, Date.UTC(2026, 2, 10, 0, 0, 0) / 1000],
  );
  assert.equal(h?.revisions[1]?.spec, { tokens: { expiration: '30d', personal_access_tokens: 'disabled' } });
});

test('a history file on its own: invalid_history with every issue', () => {
  const err = (() => {
    try {
      parseHistory(
        'h.yaml',
        'apiVersion: appwarden/v1\nkind: PolicyHistory\norg: a.example\nrevisions:\n  - at: 2026-03-01\n    spec: {}\n',
      );
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(isEngineError(err, 'invalid_history'));
  assert.equal(err.issues.map(formatIssue), [
    'h.yaml:5:9: timestamp must be RFC 3339 with a time and an offset, not the string "2026-03-01" (at revisions[0].at; e.g. 2026-03-01T00:00:00Z)',
  ]);
});

test('every error class: exact file:line:col messages (golden expected.txt; UPDATE_GOLDEN=1 rewrites)', async () => {
  const cases = (await readdir(join(fixtures, 'errors'))).concat(Object.keys(INLINE_CASES)).sort();
  let out = '';
  for (const name of cases) {
    const inline = INLINE_CASES[name];
    const err = await loadError(() =>
      inline ? loadPolicyFromFiles(inline) : loadPolicyRepository(join(fixtures, 'errors', name)),
    );
    assert.is(err.code, 'invalid_policy', name);
    out += `## ${name}\n${err.issues.map(formatIssue).join('\n')}\n\n`;
  }
  const golden = join(fixtures, 'expected.txt');
  if (process.env.UPDATE_GOLDEN === '1') await writeFile(golden, out);
  assert.fixture(out, await readFile(golden, 'utf8'));
});

test('a repository is rejected as a whole: one bad file fails the load, with issues of every file', async () => {
  const files = await readRepo(validDir);
  files['orgs/zeta.yaml'] =
    'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata: {org: zeta.example}\nspec: {tokens: {expiration: 45d}}\n';
  files['orgs/acme.yaml'] = (files['orgs/acme.yaml'] ?? '').replace(
    'mode: require_approval',
    'mode: approval',
  );
  const err = await loadError(() => loadPolicyFromFiles(files));
  assert.equal(
    err.issues.map((i) => `${i.file}:${i.line}`),
    ['orgs/acme.yaml:9', 'orgs/zeta.yaml:4'],
  );
});

test('a byte-order mark changes nothing: same data, same canonical JSON, same columns', async () => {
  const files = await readRepo(validDir);
  const withBom = Object.fromEntries(Object.entries(files).map(([p, t]) => [p, `\uFEFF${t}`]));
  assert.is(canonicalJson(loadPolicyFromFiles(withBom).data), canonicalJson(loadPolicyFromFiles(files).data));
  const bad = 'kind: OrgPolicy\napiVersion: appwarden/v1\nmetadata: {org: 7}\n';
  const plain = await loadError(() => loadPolicyFromFiles({ 'orgs/a.yaml': bad }));
  const bom = await loadError(() => loadPolicyFromFiles({ 'orgs/a.yaml': `\uFEFF${bad}` }));
  assert.equal(bom.issues, plain.issues);
  const firstLine = await loadError(() => loadPolicyFromFiles({ 'orgs/a.yaml': '\uFEFFkindd: OrgPolicy\n' }));
  assert.ok(
    firstLine.issues.some((i) => i.line === 1 && i.column === 1 && i.message === 'unknown key `kindd`'),
  );
});

test('off, no, yes and dates stay strings (YAML 1.2 core); numbers stay numbers', () => {
  const { parsed } = parseYaml(
    'x.yaml',
    'a: off\nb: no\nc: yes\nd: 2026-03-01\ne: 0x1F\nf: 12\ng: ~\nh: true\ni: On\n',
  );
  assert.equal(parsed?.value, {
    a: 'off',
    b: 'no',
    c: 'yes',
    d: '2026-03-01',
    e: 31,
    f: 12,
    g: null,
    h: true,
    i: 'On',
  });
});

test('numeric ids: the hint quotes the digits as written, not the number YAML read', async () => {
  const text =
    'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata: {org: a.example}\nspec:\n  apps:\n    blocked:\n      - id: 12345678901234567890123\n      - id: 000123\n';
  const err = await loadError(() => loadPolicyFromFiles({ 'orgs/a.yaml': text }));
  assert.equal(
    err.issues.map((i) => i.hint),
    ['quote it ("12345678901234567890123")', 'quote it ("000123")'],
  );
});

test('ConfigMap-style symlinks are followed and each file is read once', async () => {
  const root = await mkdtemp(join(tmpdir(), 'appwarden-loader-'));
  try {
    const data = join(root, 'orgs', '..2026_11_29');
    await mkdir(data, { recursive: true });
    const files = await readRepo(validDir);
    await writeFile(join(data, 'acme.yaml'), files['orgs/acme.yaml'] ?? '');
    await symlink('..2026_11_29', join(root, 'orgs', '..data'));
    await symlink(join('..data', 'acme.yaml'), join(root, 'orgs', 'acme.yaml'));
    await symlink(join('..data', 'missing.yaml'), join(root, 'orgs', 'broken.yaml'));
    const repo = await loadPolicyRepository(root);
    assert.equal(
      repo.files.map((f) => f.path),
      ['orgs/acme.yaml'],
    );
    assert.equal(Object.keys(repo.data.orgs), ['acme.example']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the schema defaults and the normalizer defaults agree', () => {
  // Reads each `default` out of the schema, so a default changed in one place only fails here.
  const defs = orgPolicySchema.$defs as Record<
    string,
    { properties?: Record<string, { default?: unknown }> }
  >;
  const d = (def: string, key: string): unknown => defs[def]?.properties?.[key]?.default;
  const empty = normalizeSpec({});
  assert.is(empty.apps.mode, d('apps', 'mode'));
  assert.is(empty.apps.block_scope, d('apps', 'block_scope'));
  assert.equal(empty.apps.notify, d('appRequests', 'notify'));
  assert.equal(Object.keys(empty.apps.blocked), d('apps', 'blocked'));
  assert.is(empty.automation.external_webhook_rules, d('automation', 'external_webhook_rules'));
  assert.is(empty.tokens.personal_access_tokens, d('tokens', 'personal_access_tokens'));
  assert.is(empty.tokens.expiration, d('tokens', 'expiration'));
  assert.is(empty.guests.api_via_apps, d('guests', 'api_via_apps'));
  assert.is(empty.guests.api_via_personal_access_tokens, d('guests', 'api_via_personal_access_tokens'));
  const sa = normalizeSpec({ service_accounts: [{ id: 's', owner: 'o@a.example' }] }).service_accounts.s;
  assert.is(sa?.enabled, d('serviceAccount', 'enabled'));
});

test('canonical JSON ignores key order and layout, and sees every value', () => {
  const a = loadPolicyFromFiles({
    'orgs/a.yaml':
      'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata: {org: a.example}\nspec: {tokens: {expiration: 30d}, apps: {mode: allow_all}}\n',
  });
  const b = loadPolicyFromFiles({
    'orgs/a.yaml':
      '# reordered\nkind: OrgPolicy\nspec:\n  apps:\n    mode: allow_all\n  tokens:\n    expiration: "30d"\nmetadata:\n  org: a.example\napiVersion: appwarden/v1\n',
  });
  const c = loadPolicyFromFiles({
    'orgs/a.yaml':
      'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata: {org: a.example}\nspec: {tokens: {expiration: 60d}}\n',
  });
  assert.is(canonicalJson(a.data), canonicalJson(b.data));
  assert.is.not(canonicalJson(a.data), canonicalJson(c.data));
  assert.is(canonicalJson({ b: 1, a: [2, { d: 1, c: undefined }] }), '{"a":[2,{"d":1}],"b":1}');
});

test('an app id like __proto__ is data, not a prototype', () => {
  const repo = loadPolicyFromFiles({
    'orgs/a.yaml':
      'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata: {org: a.example}\nspec: {apps: {blocked: [{id: __proto__, name: odd}]}}\n',
  });
  assert.ok(Object.hasOwn(repo.data.orgs['a.example']?.apps.blocked ?? {}, '__proto__'));
  assert.is(canonicalJson(repo.data.orgs['a.example']?.apps.blocked), '{"__proto__":{"name":"odd"}}');
});

test('every error example in docs/policy-reference.md is real output of the golden cases', async () => {
  const doc = await readFile(join(fixtures, '..', '..', '..', 'docs', 'policy-reference.md'), 'utf8');
  const golden = new Set((await readFile(join(fixtures, 'expected.txt'), 'utf8')).split('\n'));
  const examples = doc.split('\n').filter((l) => /^(orgs|history)\/\S*:( |\d)/.test(l));
  assert.ok(examples.length >= 20, `only ${examples.length} examples found`);
  assert.equal(
    examples.filter((l) => !golden.has(l)),
    [],
  );
});

test('generated types are not stale (scripts/gen-types.ts --check)', async () => {
  const stale = await genTypes({
    check: true,
    only: ['org-policy.schema.json', 'policy-history.schema.json'],
  });
  assert.equal(stale, []);
});

test.run();
