// Policy edits for pull requests (SPEC §6): golden files on hand-commented YAML, the meaning of each edit,
// refusal of invalid results, idempotence, and the CLI on a copy of the example repository.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatScalar } from '../engine/edit.ts';
import {
  approveApp,
  blockApp,
  type EditResult,
  EngineError,
  editPolicyFiles,
  isEngineError,
  type PolicyEdit,
  setExpiration,
  setPersonalAccessTokens,
  unblockApp,
  unifiedDiff,
} from '../engine/index.ts';
import { loadPolicyFromFiles } from '../engine/loader.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'test', 'fixtures', 'edit');
const repoDir = join(fixtures, 'repo');
const goldenDir = join(fixtures, 'golden');
const tmp = mkdtempSync(join(tmpdir(), 'appwarden-edit-'));
const update = process.env.UPDATE_GOLDEN === '1';

/** The fixture repository in memory, `{path: text}`. */
function repoFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(join(repoDir, 'orgs')))
    files[`orgs/${name}`] = readFileSync(join(repoDir, 'orgs', name), 'utf8');
  return files;
}

/** Counts the removed and added lines of a unified diff (not its --- / +++ headers). */
function counts(diff: string): { minus: number; plus: number } {
  const lines = diff.split('\n').filter((l) => !l.startsWith('--- ') && !l.startsWith('+++ '));
  return {
    minus: lines.filter((l) => l.startsWith('-')).length,
    plus: lines.filter((l) => l.startsWith('+')).length,
  };
}

/** Compares with (or, with UPDATE_GOLDEN=1, rewrites) a golden file. */
function golden(name: string, actual: string): void {
  const path = join(goldenDir, name);
  if (update) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(path, actual);
  }
  assert.fixture(actual, readFileSync(path, 'utf8'), name);
}

// Each case: the org, the edit, the golden name and how many lines it may remove and add. The line
// counts pin "touches only the lines it must" independently of the golden files.
const cases: { name: string; org: string; edit: PolicyEdit; minus: number; plus: number }[] = [
  {
    name: 'block-new',
    org: 'hooli.example',
    edit: { kind: 'block', app_id: '0417263958821', name: 'FileSync Pro', reason: 'syncs: all # off-site' },
    minus: 0,
    plus: 4, // a blank line (the entries are spaced) and three fields
  },
  {
    name: 'block-approved',
    org: 'hooli.example',
    edit: { kind: 'block', app_id: 'A0F7XDUAZ', reason: 'chat moves to the in-house tool' },
    minus: 1,
    plus: 5,
  },
  {
    name: 'unblock-require-approval',
    org: 'hooli.example',
    edit: { kind: 'unblock', app_id: '1204567890123456789' },
    minus: 8, // its comment, its five lines, the blank after it, and the flow list line
    plus: 1,
  },
  {
    name: 'unblock-last-entry',
    org: 'bachmanity.example',
    edit: { kind: 'unblock', app_id: '0042' },
    minus: 4,
    plus: 1,
  },
  {
    name: 'approve-flow-list',
    org: 'hooli.example',
    edit: { kind: 'approve', app_id: '77', name: 'Figma', note: 'design team' },
    minus: 1,
    plus: 1,
  },
  {
    name: 'approve-new-list',
    org: 'bachmanity.example',
    edit: { kind: 'approve', app_id: 'hooli-chat', name: 'Hooli Chat' },
    minus: 0,
    plus: 3,
  },
  {
    name: 'expiration-quoted',
    org: 'hooli.example',
    edit: { kind: 'set_expiration', expiration: '30d' },
    minus: 1,
    plus: 1,
  },
  {
    name: 'expiration-new-section',
    org: 'bachmanity.example',
    edit: { kind: 'set_expiration', expiration: '60d' },
    minus: 0,
    plus: 3, // the section and a blank line: the spec's sections are spaced
  },
  {
    name: 'pats-new-key',
    org: 'hooli.example',
    edit: { kind: 'set_personal_access_tokens', personal_access_tokens: 'disabled' },
    minus: 0,
    plus: 1,
  },
  {
    name: 'block-minimal-file',
    org: 'pied-piper.example',
    edit: { kind: 'block', app_id: '123', name: 'Nucleus' },
    minus: 0,
    plus: 5,
  },
  {
    name: 'block-flow-file',
    org: 'raviga.example',
    edit: { kind: 'block', app_id: '123', name: 'Nucleus' },
    minus: 1,
    plus: 1,
  },
  {
    name: 'expiration-flow-file',
    org: 'raviga.example',
    edit: { kind: 'set_expiration', expiration: '90d' },
    minus: 1,
    plus: 1,
  },
];

for (const c of cases) {
  test(`golden: ${c.name} changes only the lines it must, and the result is valid`, () => {
    const files = repoFiles();
    const r = editPolicyFiles(files, c.org, c.edit);
    assert.ok(r.changed, r.message);
    golden(`${c.name}.diff`, r.diff);
    golden(`${c.name}.yaml`, r.after);
    assert.equal(counts(r.diff), { minus: c.minus, plus: c.plus }, r.diff);
    // Every other file is untouched, and the repository with the edit is what the server would load.
    const loaded = loadPolicyFromFiles({ ...files, [r.file]: r.after });
    assert.ok(loaded.orgs[c.org]);
  });

  test(`idempotent: ${c.name} applied twice changes nothing the second time and says so`, () => {
    const files = repoFiles();
    const first = editPolicyFiles(files, c.org, c.edit);
    const second = editPolicyFiles({ ...files, [first.file]: first.after }, c.org, c.edit);
    assert.is(second.changed, false);
    assert.is(second.after, first.after);
    assert.is(second.diff, '');
    assert.match(second.message, /^no change: /);
  });
}

test('the edits mean what SPEC §3/§4 say, read back through the loader', () => {
  const files = repoFiles();
  const load = (r: EditResult) => loadPolicyFromFiles({ ...files, [r.file]: r.after });
  const apply = (org: string, edit: PolicyEdit) => load(editPolicyFiles(files, org, edit)).orgs[org]?.policy;

  const blocked = apply('hooli.example', { kind: 'block', app_id: 'A0F7XDUAZ' });
  assert.ok(blocked?.spec?.apps?.blocked?.some((a) => a.id === 'A0F7XDUAZ' && a.name === 'Slack'));
  assert.not.ok(
    blocked?.spec?.apps?.approved?.some((a) => a.id === 'A0F7XDUAZ'),
    'blocking unapproves',
  );

  // require_approval: unblocking approves, keeping the name.
  const unblocked = apply('hooli.example', { kind: 'unblock', app_id: '1204567890123456789' });
  assert.not.ok(unblocked?.spec?.apps?.blocked?.some((a) => a.id === '1204567890123456789'));
  assert.ok(
    unblocked?.spec?.apps?.approved?.some((a) => a.id === '1204567890123456789' && a.name === 'Dropbox'),
  );

  // allow_all: unblocking only removes the block.
  const open = apply('bachmanity.example', { kind: 'unblock', app_id: '0042' });
  assert.equal(open?.spec?.apps?.blocked, []);
  assert.is(open?.spec?.apps?.approved, undefined);

  const approved = apply('hooli.example', { kind: 'approve', app_id: 'wetransfer-share', note: 'ok' });
  assert.not.ok(
    approved?.spec?.apps?.blocked?.some((a) => a.id === 'wetransfer-share'),
    'approving unblocks',
  );
  assert.ok(approved?.spec?.apps?.approved?.some((a) => a.id === 'wetransfer-share' && a.note === 'ok'));

  assert.is(
    apply('raviga.example', { kind: 'set_expiration', expiration: '90d' })?.spec?.tokens?.expiration,
    '90d',
  );
  assert.is(
    apply('raviga.example', { kind: 'set_personal_access_tokens', personal_access_tokens: 'disabled' })?.spec
      ?.tokens?.personal_access_tokens,
    'disabled',
  );
});

test('unblock in allow_all mode of an app that is not blocked changes nothing; in require_approval it approves', () => {
  const files = repoFiles();
  const none = editPolicyFiles(files, 'bachmanity.example', { kind: 'unblock', app_id: 'never-blocked' });
  assert.is(none.changed, false);
  assert.match(none.message, /not blocked/);
  const approves = editPolicyFiles(files, 'hooli.example', { kind: 'unblock', app_id: 'never-blocked' });
  assert.ok(approves.changed);
  assert.match(approves.message, /approved/);
  assert.match(approves.diff, /\{id: never-blocked\}/);
});

test('setting the default value of an absent setting changes nothing', () => {
  const files = repoFiles();
  assert.is(
    editPolicyFiles(files, 'pied-piper.example', { kind: 'set_expiration', expiration: 'default' }).changed,
    false,
  );
  const pats = { kind: 'set_personal_access_tokens', personal_access_tokens: 'enabled' } as const;
  assert.is(editPolicyFiles(files, 'pied-piper.example', pats).changed, false);
});

test('numeric-looking ids are written quoted and read back as the same string', () => {
  for (const id of ['007', '1204567890123456789', '1e5', '0x1F', '-1', '.5', '+3', '1_000', '0o17']) {
    assert.match(formatScalar(id, { isId: true }), /^"/, id);
    const r = editPolicyFiles(repoFiles(), 'pied-piper.example', { kind: 'block', app_id: id });
    assert.ok(r.after.includes(`- id: ${JSON.stringify(id)}`), r.after);
    const policy = loadPolicyFromFiles({ ...repoFiles(), [r.file]: r.after }).orgs['pied-piper.example']
      ?.policy;
    assert.is(policy?.spec?.apps?.blocked?.[0]?.id, id);
  }
  assert.is(formatScalar('A0F7XDUAZ', { isId: true }), 'A0F7XDUAZ');
  for (const value of ['true', 'null', '~', 'no', 'a: b', 'x #y', '- x', '[a]', "it's", ' pad', '']) {
    const written = formatScalar(value);
    const policy = editPolicyFiles(repoFiles(), 'pied-piper.example', {
      kind: 'block',
      app_id: 'x',
      reason: value,
    });
    const read = loadPolicyFromFiles({ ...repoFiles(), [policy.file]: policy.after }).orgs[
      'pied-piper.example'
    ];
    assert.is(read?.policy.spec?.apps?.blocked?.[0]?.reason, value, `${value} written as ${written}`);
  }
});

test('any name and reason round-trips exactly, or the edit is refused as invalid (never a silent change)', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ maxLength: 40 }),
      (reason, name) => {
        const files = repoFiles();
        let r: EditResult;
        try {
          r = editPolicyFiles(files, 'hooli.example', { kind: 'block', app_id: 'prop-app', name, reason });
        } catch (err) {
          return isEngineError(err, 'invalid_policy');
        }
        const entry = loadPolicyFromFiles({ ...files, [r.file]: r.after }).orgs[
          'hooli.example'
        ]?.policy.spec?.apps?.blocked?.find((a) => a.id === 'prop-app');
        return entry?.reason === reason && entry.name === name;
      },
    ),
    { numRuns: 150 },
  );
});

test('an edit that would make the repository invalid is refused with the issues, and nothing is written', async () => {
  const dir = join(tmp, 'refused');
  cpSync(repoDir, dir, { recursive: true });
  const before = readFileSync(join(dir, 'orgs', 'zz-commented.yaml'), 'utf8');
  try {
    await blockApp(dir, 'hooli.example', 'bad\u0007id');
    assert.unreachable('the edit was accepted');
  } catch (err) {
    assert.instance(err, EngineError);
    const e = err as EngineError;
    assert.is(e.code, 'invalid_policy');
    assert.match(e.issues[0]?.message ?? '', /refused/);
    assert.ok(
      e.issues.some((i) => i.file === 'orgs/zz-commented.yaml' && /control character/.test(i.message)),
    );
  }
  assert.is(readFileSync(join(dir, 'orgs', 'zz-commented.yaml'), 'utf8'), before);
});

test('a repository that is already invalid is reported as such, before any edit', () => {
  const files = {
    ...repoFiles(),
    'orgs/minimal.yaml': `${repoFiles()['orgs/minimal.yaml']}spec: {tokens: {expiration: 31d}}\n`,
  };
  try {
    editPolicyFiles(files, 'hooli.example', { kind: 'block', app_id: 'x' });
    assert.unreachable('accepted');
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_policy'));
    assert.match((err as EngineError).issues[0]?.message ?? '', /not valid before the edit/);
    assert.ok((err as EngineError).issues.some((i) => i.file === 'orgs/minimal.yaml' && i.line === 5));
  }
});

test('the org is found by metadata.org, not by the file name, case-insensitively; an unknown org names the known ones', async () => {
  const r = await setExpiration(repoDir, 'Hooli.Example', '60d');
  assert.is(r.file, 'orgs/zz-commented.yaml');
  assert.match(r.diff, /^--- a\/orgs\/zz-commented\.yaml\n\+\+\+ b\/orgs\/zz-commented\.yaml\n/);
  try {
    await unblockApp(repoDir, 'zz-commented', 'x');
    assert.unreachable('a file name was taken for an org');
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_input'));
    assert.match((err as EngineError).message, /no org policy declares org "zz-commented".*hooli\.example/);
  }
});

test('the directory functions read the repository and write nothing', async () => {
  const before = readFileSync(join(repoDir, 'orgs', 'bachman.yaml'), 'utf8');
  const results = [
    await blockApp(repoDir, 'bachmanity.example', 'x1', { reason: 'r' }),
    await approveApp(repoDir, 'bachmanity.example', 'x2'),
    await unblockApp(repoDir, 'bachmanity.example', '0042'),
    await setPersonalAccessTokens(repoDir, 'bachmanity.example', 'disabled'),
  ];
  for (const r of results) {
    assert.ok(r.changed);
    assert.is(r.before, before);
  }
  assert.is(readFileSync(join(repoDir, 'orgs', 'bachman.yaml'), 'utf8'), before);
});

test('CRLF line ends, a byte-order mark and a missing final line break are kept', () => {
  const lf =
    'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata:\n  org: a.example\nspec:\n  apps:\n    blocked:\n      - id: x\n';
  const crlf = lf.replaceAll('\n', '\r\n');
  const r1 = editPolicyFiles({ 'orgs/a.yaml': crlf }, 'a.example', { kind: 'block', app_id: 'y' });
  assert.is(r1.after, `${crlf}      - id: y\r\n`);
  const bom = `\uFEFF${lf}`;
  const r2 = editPolicyFiles({ 'orgs/a.yaml': bom }, 'a.example', {
    kind: 'set_expiration',
    expiration: '30d',
  });
  assert.is(r2.after, `${bom}  tokens:\n    expiration: 30d\n`);
  const r3 = editPolicyFiles({ 'orgs/a.yaml': lf.trimEnd() }, 'a.example', { kind: 'block', app_id: 'y' });
  assert.is(r3.after, `${lf}      - id: y\n`);
  assert.match(r3.diff, /\\ No newline at end of file/);
});

/** Applies a unified diff with `git apply` (outside a repository it works as `patch -p1`). */
function gitApply(before: string, diff: string): string {
  const dir = mkdtempSync(join(tmp, 'apply-'));
  mkdirSync(join(dir, 'orgs'));
  writeFileSync(join(dir, 'orgs', 'a.yaml'), before);
  writeFileSync(join(dir, 'change.patch'), diff);
  const r = spawnSync('git', ['apply', '--unidiff-zero', 'change.patch'], { cwd: dir, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return readFileSync(join(dir, 'orgs', 'a.yaml'), 'utf8');
}

test('unifiedDiff output applies with git apply and gives the edited text', () => {
  const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`);
  const before = lines.join('');
  const variants = [
    ['inserted at the top\n', ...lines].join(''),
    lines.slice(1).join(''),
    [...lines.slice(0, 10), 'changed\n', ...lines.slice(11, 20), ...lines.slice(21), 'added\n'].join(''),
    [...lines.slice(0, 29), 'line 30'].join(''),
    '',
  ];
  for (const after of variants) assert.is(gitApply(before, unifiedDiff('orgs/a.yaml', before, after)), after);
  assert.is(unifiedDiff('orgs/a.yaml', before, before), '');
  // Changes far apart get their own hunks; context is three lines.
  const two = unifiedDiff('orgs/a.yaml', before, variants[2] as string);
  assert.is(two.match(/^@@ /gm)?.length, 3, two);
  assert.match(two, /^@@ -8,7 \+8,7 @@\n line 8\n line 9\n line 10\n-line 11\n\+changed\n/m);
});

test('unifiedDiff property: for random line edits, git apply of the diff reproduces the new text', () => {
  const arb = fc.array(fc.constantFrom('a\n', 'b\n', 'c\n', 'd\n', 'e'), { maxLength: 25 });
  fc.assert(
    fc.property(arb, arb, (a, b) => {
      const before = a.filter((l, i) => l.endsWith('\n') || i === a.length - 1).join('');
      const after = b.filter((l, i) => l.endsWith('\n') || i === b.length - 1).join('');
      if (before === after) return unifiedDiff('orgs/a.yaml', before, after) === '';
      return gitApply(before, unifiedDiff('orgs/a.yaml', before, after)) === after;
    }),
    { numRuns: 40 },
  );
});

// ---------------------------------------------------------------------------------------------------------
// The CLI

const bin = join(root, 'bin', 'appwarden.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function exampleCopy(name: string): string {
  const dir = join(tmp, name);
  cpSync(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  return dir;
}

function evalRequest(dir: string, name: string, request: object) {
  const file = join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(request));
  const r = cli(['eval', '--policy', dir, '--input', file]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { decision: boolean; context: { reason: { code: string } } };
}

const connect = (org: string, app: string) => ({
  subject: { type: 'user', id: 'U1', properties: { email: `ann@${org}`, role: 'member' } },
  action: { name: 'app.connect' },
  resource: { type: 'app', id: app },
  context: { org },
});

test('cli: apps block writes the file, prints the diff and a summary; validate and eval see the new decision', () => {
  const dir = exampleCopy('cli-block');
  assert.is(evalRequest(dir, 'before', connect('acme.example', '1204777')).decision, true);
  const r = cli([
    'apps',
    'block',
    '1204777',
    '--org',
    'acme.example',
    '--policy',
    dir,
    '--name',
    'FileSync Pro',
    '--reason',
    'Copies files off-site',
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^--- a\/orgs\/acme\.yaml\n\+\+\+ b\/orgs\/acme\.yaml\n@@ /);
  assert.match(
    r.stdout,
    /\n\+ {6}- id: "1204777"\n\+ {8}name: FileSync Pro\n\+ {8}reason: Copies files off-site\n/,
  );
  assert.is(counts(r.stdout).minus, 0);
  assert.match(
    r.stderr,
    /FileSync Pro \(1204777\) is now blocked in acme\.example.*takes effect when this commit is merged/,
  );
  const written = readFileSync(join(dir, 'orgs', 'acme.yaml'), 'utf8');
  assert.ok(written.includes('reason: Copies files off-site\n'));
  assert.ok(written.includes('# quoted: a bare number this long would lose digits'), 'comments stay');

  assert.is(cli(['validate', dir]).code, 0);
  const after = evalRequest(dir, 'after', connect('acme.example', '1204777'));
  assert.is(after.decision, false);
  assert.is(after.context.reason.code, 'app_blocked');

  const again = cli(['apps', 'block', '1204777', '--org', 'acme.example', '--policy', dir]);
  assert.is(again.code, 0);
  assert.is(again.stdout, '');
  assert.match(again.stderr, /^no change: FileSync Pro \(1204777\) is already blocked/);
  assert.is(readFileSync(join(dir, 'orgs', 'acme.yaml'), 'utf8'), written);
});

test('cli: apps unblock in require_approval approves, and eval then allows the app', () => {
  const dir = exampleCopy('cli-unblock');
  assert.is(
    evalRequest(dir, 'zapier-before', connect('globex.example', 'zapier-platform')).context.reason.code,
    'app_blocked',
  );
  const r = cli(['apps', 'unblock', 'zapier-platform', '--org', 'globex.example', '--policy', dir]);
  assert.is(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /approved in globex\.example \(in require_approval mode unblocking means approving\)/,
  );
  assert.is(cli(['validate', dir]).code, 0);
  assert.is(evalRequest(dir, 'zapier-after', connect('globex.example', 'zapier-platform')).decision, true);
});

test('cli: tokens pats disable and set-expiration; eval sees PATs disabled', () => {
  const dir = exampleCopy('cli-tokens');
  const pats = cli(['tokens', 'pats', 'disable', '--org', 'acme.example', '--policy', dir]);
  assert.is(pats.code, 0, pats.stderr);
  assert.match(
    pats.stdout,
    /\n- {4}personal_access_tokens: enabled\n\+ {4}personal_access_tokens: disabled\n/,
  );
  const exp = cli(['tokens', 'set-expiration', '30d', '--org', 'acme.example', '--policy', dir]);
  assert.is(exp.code, 0, exp.stderr);
  assert.match(exp.stdout, /\n- {4}expiration: default\n\+ {4}expiration: 30d\n/);
  assert.is(cli(['validate', dir]).code, 0);
  const d = evalRequest(dir, 'pat', {
    subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
    action: { name: 'token.create' },
    resource: { type: 'token', properties: { kind: 'personal_access' } },
    context: { org: 'acme.example' },
  });
  assert.is(d.decision, false);
  assert.is(d.context.reason.code, 'pats_disabled');
});

test('cli: --dry-run prints the diff and writes nothing; the diff applies with git apply', () => {
  const dir = exampleCopy('cli-dry');
  const before = readFileSync(join(dir, 'orgs', 'globex.yaml'), 'utf8');
  const r = cli([
    'apps',
    'approve',
    '007',
    '--org',
    'globex.example',
    '--policy',
    dir,
    '--note',
    'ok',
    '--dry-run',
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /\+ {6}- id: "007"\n\+ {8}note: ok\n/);
  assert.match(r.stderr, /dry run: .* was not written/);
  assert.is(readFileSync(join(dir, 'orgs', 'globex.yaml'), 'utf8'), before);
  writeFileSync(join(tmp, 'dry.patch'), r.stdout);
  const applied = spawnSync('git', ['apply', join(tmp, 'dry.patch')], { cwd: dir, encoding: 'utf8' });
  assert.is(applied.status, 0, applied.stderr);
  assert.is(cli(['validate', dir]).code, 0);
});

test('cli: exit 1 for a refused edit (file untouched), 2 for an unknown org, a bad value or a missing directory', () => {
  const dir = exampleCopy('cli-errors');
  const before = readFileSync(join(dir, 'orgs', 'acme.yaml'), 'utf8');
  const refused = cli([
    'apps',
    'block',
    'x',
    '--org',
    'acme.example',
    '--policy',
    dir,
    '--reason',
    'bell \u0007',
  ]);
  assert.is(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /refused/);
  assert.match(
    refused.stderr,
    /orgs\/acme\.yaml:\d+:\d+: value "bell \\u0007" contains the control character/,
  );
  assert.match(refused.stderr, /nothing was written/);
  assert.is(readFileSync(join(dir, 'orgs', 'acme.yaml'), 'utf8'), before);

  const unknown = cli(['apps', 'block', 'x', '--org', 'nope.example', '--policy', dir]);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /no org policy declares org "nope\.example"/);
  assert.is(cli(['tokens', 'set-expiration', '45d', '--org', 'acme.example', '--policy', dir]).code, 2);
  assert.is(cli(['tokens', 'pats', 'off', '--org', 'acme.example', '--policy', dir]).code, 2);
  assert.is(cli(['apps', 'block', 'x', '--org', 'acme.example']).code, 2);
  assert.is(cli(['apps', 'block', 'x', '--org', 'acme.example', '--policy', join(tmp, 'missing')]).code, 2);
});

test('cli: --help on every edit command documents the options and exit codes', () => {
  for (const args of [
    ['apps', 'block'],
    ['apps', 'unblock'],
    ['apps', 'approve'],
    ['tokens', 'set-expiration'],
    ['tokens', 'pats'],
  ]) {
    const r = cli([...args, '--help']);
    assert.is(r.code, 0, args.join(' '));
    assert.match(r.stdout, /--org <org>/);
    assert.match(r.stdout, /--dry-run/);
    assert.match(r.stdout, /Exit codes: 0 changed or nothing to change, 1 refused/);
  }
});

test('the README example of "Changing settings by pull request" is real output', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Changing settings by pull request'));
  const example = /```console\n\$ appwarden (.*)\n([\s\S]*?)\n(\S[^\n]*takes effect[^\n]*)\n\$ /.exec(
    section,
  );
  assert.ok(example, 'the console example is in the README');
  const [, command = '', diff = '', summary = ''] = example;
  const args = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  const dir = exampleCopy('readme');
  const r = cli(args.map((a) => (a === '.' ? dir : a)));
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `${diff}\n`);
  assert.is(r.stderr, `${summary}\n`);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
