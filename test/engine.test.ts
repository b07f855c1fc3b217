// createEngine end to end without HTTP: revisions (what changes them and what does not), a bad
// reload keeping the last good revision, the server's settings timeline for token expiry
// (SPEC §5: live values count as set when their revision went live), and bundles.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildBundle, createEngine, type Decision, EngineError, parseRfc3339 } from '../engine/index.ts';

const t = (s: string) => parseRfc3339(s) as number;

function org(tokens: string, extra = ''): string {
  return `# acme's settings
apiVersion: appwarden/v1
kind: OrgPolicy
metadata:
  org: acme.example
spec:
  apps:
    blocked:
      - id: "1204567890123456789"
        name: FileSync Pro
${tokens}${extra}`;
}

async function repo(text: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-engine-'));
  await mkdir(join(dir, 'orgs'));
  writeFileSync(join(dir, 'orgs', 'acme.yaml'), text);
  return dir;
}

const connect = {
  subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
  action: { name: 'app.connect' },
  resource: { type: 'app', id: '1204567890123456789' },
  context: { org: 'acme.example' },
};

const patUse = (created: string) => ({
  subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
  action: { name: 'token.use' },
  resource: {
    type: 'token',
    id: 'tok_1',
    properties: { kind: 'personal_access', created_at: created, owner: 'U1' },
  },
  context: { org: 'acme.example' },
});

test('decisions before the first load are not_ready', async () => {
  const engine = createEngine({ policyDir: await repo(org('')) });
  try {
    engine.decide(connect);
    assert.unreachable();
  } catch (err) {
    assert.is((err as EngineError).code, 'not_ready');
  }
  assert.is(engine.isReady, false);
});

test('comments, layout and a byte-order mark keep the revision; a setting change makes a new one', async () => {
  const dir = await repo(org(''));
  const engine = createEngine({ policyDir: dir });
  const first = await engine.load();
  assert.is(first.changed, true);
  writeFileSync(
    join(dir, 'orgs', 'acme.yaml'),
    `\uFEFF${org('').replace("# acme's settings", '# edited comment\n\n')}`,
  );
  const same = await engine.load();
  assert.is(same.revision, first.revision);
  assert.is(same.changed, false);
  writeFileSync(join(dir, 'orgs', 'acme.yaml'), org('  tokens:\n    expiration: 30d\n'));
  const next = await engine.load();
  assert.is.not(next.revision, first.revision);
  assert.is(engine.revision, next.revision);
});

test('an invalid change is rejected as a whole: the last good revision keeps deciding', async () => {
  const dir = await repo(org(''));
  const engine = createEngine({ policyDir: dir });
  const good = await engine.load();
  writeFileSync(join(dir, 'orgs', 'acme.yaml'), org('  tokens:\n    expiraton: 30d\n'));
  writeFileSync(
    join(dir, 'orgs', 'beta.yaml'),
    'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata: {org: beta.example}\nspec: {apps: {mode: allow_al}}\n',
  );
  try {
    await engine.load();
    assert.unreachable();
  } catch (err) {
    assert.is((err as EngineError).code, 'invalid_policy');
    const files = new Set((err as EngineError).issues.map((i) => i.file));
    assert.ok(files.has('orgs/acme.yaml') && files.has('orgs/beta.yaml'), 'issues of every file');
  }
  assert.is(engine.revision, good.revision);
  assert.is(engine.status.lastReload?.ok, false);
  const d = engine.decide(connect);
  assert.is(d.context.revision, good.revision);
  assert.is(d.context.reason.code, 'app_blocked');
});

test('server timeline (SPEC §5): live settings count from when they went live; stricter settings are not pushed out', async () => {
  let now = t('2026-03-01T00:00:00Z');
  const dir = await repo(org('  tokens:\n    expiration: 30d\n'));
  const engine = createEngine({ policyDir: dir, clock: () => now });
  await engine.load(); // 30d goes live on 2026-03-01
  // A token from 2026-01-10 expires 30 days after the setting went live: 2026-03-31.
  now = t('2026-03-25T00:00:00Z');
  let d: Decision = engine.decide(patUse('2026-01-10T00:00:00Z'));
  assert.is(d.decision, true);
  assert.equal(d.context.advice, { expires_at: '2026-03-31T00:00:00Z', warning: 'token_expires_soon' });
  // Relaxing to 90d on 2026-03-26 does not push the date out.
  now = t('2026-03-26T00:00:00Z');
  writeFileSync(join(dir, 'orgs', 'acme.yaml'), org('  tokens:\n    expiration: 90d\n'));
  await engine.load();
  now = t('2026-03-31T00:00:00Z');
  d = engine.decide(patUse('2026-01-10T00:00:00Z'));
  assert.is(d.context.reason.code, 'token_expired');
  // A token created under 90d only lives 90 days.
  d = engine.decide(patUse('2026-03-27T00:00:00Z'));
  assert.is(d.decision, true);
  now = t('2026-06-25T00:00:00Z');
  assert.is(engine.decide(patUse('2026-03-27T00:00:00Z')).context.reason.code, 'token_expired');
});

test('server timeline: turning PATs off and on again revokes the PATs that existed', async () => {
  let now = t('2026-04-01T00:00:00Z');
  const dir = await repo(org(''));
  const engine = createEngine({ policyDir: dir, clock: () => now });
  await engine.load();
  writeFileSync(join(dir, 'orgs', 'acme.yaml'), org('  tokens:\n    personal_access_tokens: disabled\n'));
  now = t('2026-04-02T00:00:00Z');
  await engine.load();
  assert.is(engine.decide(patUse('2026-03-01T00:00:00Z')).context.reason.code, 'pats_disabled');
  writeFileSync(join(dir, 'orgs', 'acme.yaml'), org('  tokens:\n    personal_access_tokens: enabled\n'));
  now = t('2026-04-03T00:00:00Z');
  await engine.load();
  assert.is(engine.decide(patUse('2026-03-01T00:00:00Z')).context.reason.code, 'token_revoked');
  assert.is(engine.decide(patUse('2026-04-03T00:00:00Z')).context.reason.code, 'allowed');
});

test('a bundle carries the same revision and decides the same; building it twice gives the same bytes', async () => {
  const dir = await repo(org('  tokens:\n    expiration: 60d\n'));
  const out = join(dir, 'bundle.tar.gz');
  const built = await buildBundle(dir, out);
  const bytes = readFileSync(out);
  await buildBundle(dir, out);
  assert.ok(bytes.equals(readFileSync(out)), 'reproducible bundle bytes');
  const fromDir = createEngine({ policyDir: dir });
  const fromBundle = createEngine({ bundlePath: out });
  assert.is((await fromDir.load()).revision, built.revision);
  assert.is((await fromBundle.load()).revision, built.revision);
  const a = fromDir.decide(connect);
  const b = fromBundle.decide(connect);
  assert.equal({ ...a.context, decision_id: '' }, { ...b.context, decision_id: '' });
});

test('history is part of the revision and of the bundle: a bundle decides as the directory does', async () => {
  const dir = await repo(org(''));
  await mkdir(join(dir, 'history'));
  const history = (to: string) =>
    `apiVersion: appwarden/v1\nkind: PolicyHistory\norg: acme.example\nrevisions:\n  - at: 2026-03-01T00:00:00Z\n    spec: {tokens: {personal_access_tokens: disabled}}\n  - at: ${to}\n    spec: {tokens: {personal_access_tokens: enabled}}\n`;
  writeFileSync(join(dir, 'history', 'acme.yaml'), history('2026-03-10T00:00:00Z'));
  const now = t('2026-06-01T00:00:00Z');
  const fromDir = createEngine({ policyDir: dir, clock: () => now });
  const first = await fromDir.load();
  // A PAT from 2026-03-05 was created while PATs were off: revoked for good (SPEC §5).
  assert.is(fromDir.decide(patUse('2026-03-05T00:00:00Z')).context.reason.code, 'token_revoked');
  const out = join(dir, 'bundle.tar.gz');
  assert.is((await buildBundle(dir, out)).revision, first.revision);
  const fromBundle = createEngine({ bundlePath: out, clock: () => now });
  assert.is((await fromBundle.load()).revision, first.revision);
  assert.is(fromBundle.decide(patUse('2026-03-05T00:00:00Z')).context.reason.code, 'token_revoked');
  // Editing the history changes the revision (and the decision).
  writeFileSync(join(dir, 'history', 'acme.yaml'), history('2026-03-02T00:00:00Z'));
  const edited = await fromDir.load();
  assert.is.not(edited.revision, first.revision);
  assert.is(fromDir.decide(patUse('2026-03-05T00:00:00Z')).context.reason.code, 'allowed');
});

test('a --history file for an org no policy declares is rejected', async () => {
  const dir = await repo(org(''));
  const file = join(dir, 'typo.yaml');
  writeFileSync(file, 'apiVersion: appwarden/v1\nkind: PolicyHistory\norg: acme.exmaple\nrevisions: []\n');
  try {
    await createEngine({ policyDir: dir, historyFiles: [file] }).load();
    assert.unreachable();
  } catch (err) {
    assert.is((err as EngineError).code, 'invalid_history');
    assert.match((err as EngineError).message, /no org policy declares/);
  }
});

test('a corrupt bundle is rejected with a typed error', async () => {
  const dir = await repo(org(''));
  const out = join(dir, 'bad.tar.gz');
  writeFileSync(out, 'not a tarball');
  try {
    await createEngine({ bundlePath: out }).load();
    assert.unreachable();
  } catch (err) {
    assert.instance(err, EngineError);
    assert.ok(['io_error', 'invalid_bundle'].includes((err as EngineError).code));
  }
});

test.run();
