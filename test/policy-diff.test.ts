// `appwarden diff`: every sentence kind of the semantic diff, directories and git refs (a temp git repository,
// a policy repo in a subdirectory), text / Markdown / JSON output, --exit-code, an invalid head, and the
// --author role matrix of SPEC §1 (super admin, admin on guests vs other settings, member, other org's admin).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CHANGE_KINDS,
  type ChangeKind,
  oneLine,
  type PolicyDiff,
  setPersonalAccessTokens,
} from '../engine/index.ts';
import { runCli } from './support/cli.ts';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'appwarden-diff-test-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function writeRepo(dir: string, files: Record<string, string>): string {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const cli = (args: string[]) => runCli(args);

const org = (body: string, id = 'acme.example', name = 'Acme Corp') =>
  `apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata:\n  org: ${id}\n  name: ${name}\nspec:\n${body}`;

const BASE_ACME = org(`  apps:
    mode: allow_all
    block_scope: all_user_orgs
    blocked:
      - id: "111"
        name: Dropbox
        reason: files leave the company
      - id: "222"
        name: Grammarly
        reason: old reason
    approved:
      - id: slack-1
        name: Slack
    requests:
      notify: [super_admins]
  automation:
    external_webhook_rules: allow
  tokens:
    personal_access_tokens: enabled
    expiration: default
  guests:
    api_via_apps: allow
    api_via_personal_access_tokens: deny
  service_accounts:
    - id: ci-bot
      name: CI pipeline
      owner: ops@acme.example
    - id: backup
      name: Backup
      owner: it@acme.example
    - id: legacy
      owner: it@acme.example
      enabled: false
    - id: gone
      name: Gone soon
      owner: it@acme.example
  admins:
    super_admins: [dana@acme.example, raj@acme.example]
    admins: [lee@acme.example, helpdesk@acme.example]
`);

const HEAD_ACME = org(
  `  apps:
    mode: require_approval
    block_scope: this_org
    blocked:
      - id: "222"
        name: Grammarly
        reason: new reason
      - id: "1204999"
        name: FileSync Pro
        reason: Copies company files to personal storage
    approved:
      - id: zoom-1
        name: Zoom
        note: video calls
    requests:
      notify: [super_admins, it@acme.example]
  automation:
    external_webhook_rules: deny
  tokens:
    personal_access_tokens: disabled
    expiration: 30d
  guests:
    api_via_apps: deny
    api_via_personal_access_tokens: allow
  service_accounts:
    - id: ci-bot
      name: CI pipeline
      owner: platform@acme.example
      enabled: false
    - id: backup
      name: Nightly backup
      owner: it@acme.example
    - id: legacy
      owner: it@acme.example
      enabled: true
    - id: new-bot
      name: New bot
      owner: ops@acme.example
  admins:
    super_admins: [dana@acme.example, new@acme.example]
    admins: [lee@acme.example]
`,
  'acme.example',
  'Acme Corporation',
);

const GLOBEX = org('  tokens:\n    expiration: 90d\n', 'globex.example', 'Globex');
const NEWCO = org(
  '  guests:\n    api_via_personal_access_tokens: deny\n  admins:\n    super_admins: [boss@newco.example]\n',
  'newco.example',
  'NewCo',
);
const HISTORY = (expiration: string) =>
  `apiVersion: appwarden/v1\nkind: PolicyHistory\norg: acme.example\nrevisions:\n  - at: 2026-03-01T00:00:00Z\n    spec: {tokens: {expiration: ${expiration}}}\n`;

const base = writeRepo(join(tmp, 'base'), {
  'orgs/acme.yaml': BASE_ACME,
  'orgs/globex.yaml': GLOBEX,
  'history/acme.yaml': HISTORY('90d'),
});
const head = writeRepo(join(tmp, 'head'), {
  'orgs/acme.yaml': HEAD_ACME,
  'orgs/newco.yaml': NEWCO,
  'history/acme.yaml': HISTORY('60d'),
});

async function jsonDiff(b: string, h: string): Promise<PolicyDiff> {
  const r = await cli(['diff', b, h, '--format', 'json']);
  assert.is(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { diff: PolicyDiff }).diff;
}

test('every sentence kind, per org, in an admin’s words', async () => {
  const diff = await jsonDiff(base, head);
  const acme = diff.orgs.find((o) => o.org === 'acme.example');
  assert.ok(acme);
  assert.is(acme.status, 'changed');
  assert.equal(
    acme.changes.map((c) => c.message),
    [
      'display name: "Acme Corp" → "Acme Corporation"',
      'app FileSync Pro (1204999) blocked — reason: Copies company files to personal storage',
      'app Dropbox (111) unblocked',
      'app Grammarly (222) still blocked; reason "old reason" → reason "new reason"',
      'app Zoom (zoom-1) approved — note: video calls',
      'app Slack (slack-1) no longer approved',
      'mode: allow_all → require_approval',
      'block scope: all_user_orgs → this_org (blocks no longer follow members into their other orgs)',
      'approval requests notify: +it@acme.example (now: super_admins, it@acme.example)',
      'rules triggered by external webhooks: allow → deny',
      'PATs: enabled → disabled (every existing PAT is revoked for good)',
      'token expiration: default → 30 days',
      'guests may no longer use the API via apps',
      'guests may now use the API via PATs',
      'service account new-bot (New bot) added, owner ops@acme.example',
      'service account gone (Gone soon) removed: its tokens stop working',
      'service account ci-bot (CI pipeline) disabled: its tokens stop working',
      'service account legacy enabled',
      'service account ci-bot (CI pipeline) owner: ops@acme.example → platform@acme.example',
      'service account backup name: "Backup" → "Nightly backup"',
      'super admin added: new@acme.example',
      'super admin removed: raj@acme.example',
      'admin removed: helpdesk@acme.example',
      'settings history (history/ file) changed: 1 → 1 revisions (token expiry and the PAT sweep follow the new past, SPEC §5)',
    ],
  );
  const globex = diff.orgs.find((o) => o.org === 'globex.example');
  assert.equal(globex?.status, 'removed');
  assert.equal(
    globex?.changes.map((c) => c.message),
    ['org removed: every decision for it becomes org_unknown (deny)'],
  );
  // A new org: listed with the settings that differ from the defaults.
  const newco = diff.orgs.find((o) => o.org === 'newco.example');
  assert.equal(newco?.status, 'added');
  assert.equal(
    newco?.changes.map((c) => c.message),
    [
      'org added: NewCo (settings below differ from the defaults)',
      'guests may no longer use the API via PATs',
      'super admin added: boss@newco.example',
    ],
  );
  // The reverse direction gives the other sentence of each pair (and the kinds the forward diff lacks).
  const back = await jsonDiff(head, base);
  const reverse = back.orgs.find((o) => o.org === 'acme.example')?.changes.map((c) => c.message) ?? [];
  for (const line of [
    'mode: require_approval → allow_all',
    'block scope: this_org → all_user_orgs (blocks now follow members into all their orgs)',
    'approval requests notify: -it@acme.example (now: super_admins)',
    'PATs: disabled → enabled',
    'token expiration: 30 days → default',
    'guests may now use the API via apps',
    'guests may no longer use the API via PATs',
    'service account ci-bot (CI pipeline) enabled',
    'service account legacy disabled: its tokens stop working',
    'admin added: helpdesk@acme.example',
  ])
    assert.ok(reverse.includes(line), `missing: ${line}\n${reverse.join('\n')}`);
  // Every kind of the closed set was produced by one of the two directions (the approved apps' name / note
  // and the catch-all: the next test).
  const seen = new Set<ChangeKind>([...diff.orgs, ...back.orgs].flatMap((o) => o.changes.map((c) => c.kind)));
  assert.equal(
    CHANGE_KINDS.filter((k) => !seen.has(k)),
    ['app_approval_changed', 'other_change'],
  );
  // Every change names the policy field it touches (what --author reads).
  assert.ok(
    acme.changes.every(
      (c) => c.field.startsWith('spec.') || c.field === 'metadata.name' || c.field === 'history',
    ),
  );
});

// Review finding 3: an approved app's name / note, a blocked app's name, and any difference no sentence covers
// (here a reordered notify list) are changes, and --author lets only super admins make them.
test("approved apps' name and note, blocked apps' name, and a catch-all other_change; --author guards them", async () => {
  const b = writeRepo(join(tmp, 'names-base'), {
    'orgs/acme.yaml': BASE_ACME.replace('notify: [super_admins]', 'notify: [super_admins, it@acme.example]'),
  });
  const h = writeRepo(join(tmp, 'names-head'), {
    'orgs/acme.yaml': BASE_ACME.replace('notify: [super_admins]', 'notify: [it@acme.example, super_admins]')
      .replace('        name: Dropbox\n', '        name: Dropbox Basic\n')
      .replace(
        '      - id: slack-1\n        name: Slack\n',
        '      - id: slack-1\n        name: Slack Enterprise\n        note: chat\n',
      ),
  });
  const diff = await jsonDiff(b, h);
  const changes = diff.orgs.find((o) => o.org === 'acme.example')?.changes ?? [];
  assert.equal(
    changes.map((c) => [c.kind, c.message]),
    [
      ['app_block_changed', 'app Dropbox Basic (111) still blocked; name "Dropbox" → name "Dropbox Basic"'],
      [
        'app_approval_changed',
        'app Slack Enterprise (slack-1) still approved; name "Slack", note (none) → name "Slack Enterprise", note "chat"',
      ],
      [
        'other_change',
        'other settings change: apps.notify (no sentence covers it; only super admins may make it)',
      ],
    ],
  );
  assert.equal(changes[2]?.paths, ['apps.notify']);
  const admin = await cli(['diff', b, h, '--author', 'lee@acme.example']);
  assert.is(admin.code, 1);
  assert.match(admin.stderr, /3 changes that lee@acme\.example may not make/);
  assert.is((await cli(['diff', b, h, '--author', 'dana@acme.example'])).code, 0);
});

// Review finding 4: names, reasons and notes from the repository never start a line of their own (a forged
// diff line, a GitHub workflow command) and never @-mention anyone in the PR comment.
test('line breaks and @-mentions in names and reasons are escaped in text, Markdown and author messages', async () => {
  const b = writeRepo(join(tmp, 'inject-base'), { 'orgs/acme.yaml': BASE_ACME });
  const h = writeRepo(join(tmp, 'inject-head'), {
    'orgs/acme.yaml': BASE_ACME.replace(
      '        reason: files leave the company\n',
      '        reason: "ok\\r\\n::error::forged\\n- app Evil unblocked @acme/security-team"\n',
    ),
  });
  for (const format of ['text', 'markdown']) {
    const r = await cli(['diff', b, h, '--format', format, '--author', 'ann@acme.example']);
    assert.is(r.code, 1);
    for (const out of [r.stdout, r.stderr]) {
      assert.ok(!out.includes('\r'), format);
      assert.ok(!out.split('\n').some((l) => /^\s*(::error::|- app Evil)/.test(l)), `${format}:\n${out}`);
    }
    assert.match(
      r.stdout,
      format === 'text' ? 'ok\\r\\n::error::forged\\n- app Evil' : 'ok\\\\r\\\\n::error::forged',
    );
    assert.match(r.stderr, 'ok\\r\\n::error::forged\\n- app Evil unblocked @acme/security-team');
  }
  const md = await cli(['diff', b, h, '--format', 'markdown', '--author', 'ann@acme.example']);
  assert.ok(!/(^|[^A-Za-z0-9])@acme\/security-team/.test(md.stdout), md.stdout);
  assert.match(md.stdout, '@\u200bacme/security-team');
  assert.match(
    md.stdout,
    /### Author check\n\n- :x: acme\.example: ann@acme\.example may not make this change: .*ok\\\\r\\\\n/,
  );
});

test('no change: comments, layout and key order are not changes; exit 0, --exit-code still 0', async () => {
  const same = writeRepo(join(tmp, 'same'), {
    'orgs/a.yaml': `# reordered and commented\n${GLOBEX.replace('  name: Globex\n', '  name: Globex # display\n')}`,
  });
  const only = writeRepo(join(tmp, 'only-globex'), { 'orgs/globex.yaml': GLOBEX });
  const r = await cli(['diff', only, same, '--exit-code']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /no setting changes/);
});

test('text and markdown output; --exit-code makes changes exit 1 (like git diff)', async () => {
  const text = await cli(['diff', base, head]);
  assert.is(text.code, 0);
  assert.match(text.stdout, /\nacme\.example \(Acme Corporation\): 24 changes\n {2}• display name/);
  assert.match(text.stdout, /\nnewco\.example \(NewCo\): added\n/);
  const md = await cli(['diff', base, head, '--format', 'markdown']);
  assert.is(md.code, 0);
  assert.match(md.stdout, /^### Policy changes\n/);
  assert.match(md.stdout, /\n#### acme\.example — Acme Corporation\n\n- display name/);
  assert.match(md.stdout, /\n#### globex\.example — Globex \(removed\)\n/);
  // Markdown-significant characters in names are escaped (a PR comment must not be reshaped by a policy).
  assert.match(md.stdout, /- app FileSync Pro \(1204999\) blocked/);
  assert.match(md.stdout, /- approval requests notify: \+it@acme.example/);
  const exit = await cli(['diff', base, head, '--exit-code']);
  assert.is(exit.code, 1);
});

test('an invalid head is reported like validate (file:line:col) and exits 1', async () => {
  const bad = writeRepo(join(tmp, 'bad'), {
    'orgs/acme.yaml': HEAD_ACME.replace('    mode: require_approval', '    mdoe: require_approval'),
  });
  const r = await cli(['diff', base, bad]);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, new RegExp(`${bad}/orgs/acme\\.yaml:\\d+:\\d+: .*mdoe`));
  assert.match(r.stderr, /1 problem; the head .* is not valid/);
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=ci@example.test', '-c', 'user.name=CI', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

test('git refs: each side read from the git objects of --repo, the policy repo under --path; work tree untouched', async () => {
  const repo = join(tmp, 'gitrepo');
  writeRepo(repo, { 'README.md': 'policy repo\n', 'policy/orgs/acme.yaml': BASE_ACME });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  writeFileSync(
    join(repo, 'policy/orgs/acme.yaml'),
    BASE_ACME.replace('expiration: default', 'expiration: 60d'),
  );
  git(repo, 'commit', '-q', '-am', 'expire tokens after 60 days');
  // An uncommitted edit in the work tree: a ref means the commit, not the work tree.
  writeFileSync(
    join(repo, 'policy/orgs/acme.yaml'),
    BASE_ACME.replace('expiration: default', 'expiration: 90d'),
  );
  const r = await cli(['diff', 'HEAD~1', 'HEAD', '--repo', repo, '--path', 'policy', '--format', 'json']);
  assert.is(r.code, 0, r.stderr);
  const diff = (JSON.parse(r.stdout) as { diff: PolicyDiff }).diff;
  assert.equal(
    diff.orgs.map((o) => [o.org, o.changes.map((c) => c.message)]),
    [['acme.example', ['token expiration: default → 60 days']]],
  );
  assert.match(diff.base.label, /^HEAD~1 \([0-9a-f]{12}\)$/);
  // A ref against the work tree directory (the usual CI shape: base branch vs the checked-out head).
  const wt = await cli(['diff', 'main', join(repo, 'policy'), '--repo', repo, '--path', 'policy']);
  assert.is(wt.code, 0, wt.stderr);
  assert.match(wt.stdout, /token expiration: 60 days → 90 days/);
  // The work tree and the index are as they were.
  assert.match(git(repo, 'status', '--porcelain'), /^ M policy\/orgs\/acme\.yaml\n$/);
  // An invalid head commit: reported at the file's path in the repository, exit 1.
  writeFileSync(
    join(repo, 'policy/orgs/acme.yaml'),
    BASE_ACME.replace('    mode: allow_all', '    mdoe: allow_all'),
  );
  git(repo, 'commit', '-q', '-am', 'typo');
  const invalid = await cli(['diff', 'HEAD~1', 'HEAD', '--repo', repo, '--path', 'policy']);
  assert.is(invalid.code, 1);
  assert.match(invalid.stderr, /^policy\/orgs\/acme\.yaml:\d+:\d+: .*mdoe/m);
  assert.match(invalid.stderr, /the head HEAD \([0-9a-f]{12}\) is not valid/);
  const unknown = await cli(['diff', 'no-such-ref', 'HEAD', '--repo', repo, '--path', 'policy']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /no-such-ref is neither a directory nor a commit of the git repository/);
  // A --path the commit does not have: git's reason, exit 2, no stack, no temporary tree left behind.
  const before = readdirSync(tmpdir()).filter((f) => f.startsWith('appwarden-diff-')).length;
  const nopath = await cli(['diff', 'HEAD~1', 'HEAD', '--repo', repo, '--path', 'nope']);
  assert.is(nopath.code, 2);
  assert.match(nopath.stderr, /cannot read nope of HEAD~1 .*pathspec 'nope' did not match/);
  assert.is(readdirSync(tmpdir()).filter((f) => f.startsWith('appwarden-diff-')).length, before);
});

// SPEC §1: super admins anything of their org; admins only spec.guests; nobody else anything; new orgs: no one.
test('--author: the role matrix, judged on the base revision', async () => {
  const guestsOnly = writeRepo(join(tmp, 'guests-only'), {
    'orgs/acme.yaml': BASE_ACME.replace('api_via_apps: allow', 'api_via_apps: deny'),
    'orgs/globex.yaml': GLOBEX,
  });
  const patsOff = writeRepo(join(tmp, 'pats-off'), {
    'orgs/acme.yaml': BASE_ACME.replace(
      'personal_access_tokens: enabled',
      'personal_access_tokens: disabled',
    ),
    'orgs/globex.yaml': GLOBEX,
  });
  const baseOnly = writeRepo(join(tmp, 'base-only'), {
    'orgs/acme.yaml': BASE_ACME,
    'orgs/globex.yaml': GLOBEX,
  });
  const run = (h: string, author: string, ...more: string[]) =>
    cli(['diff', baseOnly, h, '--author', author, ...more]);

  // Super admin: anything of the org.
  assert.is((await run(patsOff, 'dana@acme.example')).code, 0);
  assert.is((await run(guestsOnly, 'DANA@acme.example')).code, 0);
  // Admin: guests yes, PATs no.
  const adminGuests = await run(guestsOnly, 'lee@acme.example');
  assert.is(adminGuests.code, 0, adminGuests.stderr);
  assert.match(adminGuests.stdout, /author lee@acme.example may make every change/);
  const adminPats = await run(patsOff, 'lee@acme.example');
  assert.is(adminPats.code, 1);
  assert.match(
    adminPats.stderr,
    /acme\.example: lee@acme\.example may not make this change: PATs: enabled → disabled .*— lee@acme\.example is an admin \(not super admin\) of acme\.example in the base revision; admins may change only the guest API settings \(spec\.guests\)\n/,
  );
  // A member (listed nowhere) and another org's admin: nothing.
  for (const who of ['ann@acme.example', 'frank@globex.example']) {
    const r = await run(guestsOnly, who);
    assert.is(r.code, 1, who);
    assert.match(r.stderr, new RegExp(`${who.replace('.', '\\.')} is not an admin of acme\\.example`));
  }
  // A super admin added by the change itself is still judged by the base: new@ may not.
  const selfPromoted = writeRepo(join(tmp, 'self'), {
    'orgs/acme.yaml': BASE_ACME.replace(
      'super_admins: [dana@acme.example, raj@acme.example]',
      'super_admins: [dana@acme.example, raj@acme.example, new@acme.example]',
    ).replace('personal_access_tokens: enabled', 'personal_access_tokens: disabled'),
    'orgs/globex.yaml': GLOBEX,
  });
  const self = await run(selfPromoted, 'new@acme.example');
  assert.is(self.code, 1);
  assert.match(self.stderr, /2 changes that new@acme\.example may not make/);
  // One message per offending change; in JSON, the problems with kind and field.
  const multi = await cli(['diff', baseOnly, head, '--author', 'lee@acme.example', '--format', 'json']);
  assert.is(multi.code, 1);
  const out = JSON.parse(multi.stdout) as {
    author: { ok: boolean; problems: { org: string; field: string }[] };
  };
  assert.is(out.author.ok, false);
  const acmeProblems = out.author.problems.filter((p) => p.org === 'acme.example');
  assert.is(acmeProblems.length, 22); // 24 changes minus the two guest settings
  assert.ok(acmeProblems.every((p) => !p.field.startsWith('spec.guests.')));
  // A new org: nobody in the base can authorize it, unless a repository owner said so (--allow-new-orgs).
  const withNew = writeRepo(join(tmp, 'with-new'), {
    'orgs/acme.yaml': BASE_ACME,
    'orgs/globex.yaml': GLOBEX,
    'orgs/newco.yaml': NEWCO,
  });
  const newOrg = await run(withNew, 'boss@newco.example');
  assert.is(newOrg.code, 1);
  assert.match(
    newOrg.stderr,
    /boss@newco\.example may not add org newco\.example: a new org has no admins in the base revision/,
  );
  assert.is((await run(withNew, 'boss@newco.example', '--allow-new-orgs')).code, 0);
  // Markdown carries the author check for the PR comment.
  const md = await run(patsOff, 'lee@acme.example', '--format', 'markdown');
  assert.match(
    md.stdout,
    /### Author check\n\n- :x: acme\.example: lee@acme\.example may not make this change: PATs/,
  );
});

// Review finding 1: a pull request can commit a directory named HEAD or origin/main; it must not replace the ref.
test('a directory named like a ref is ambiguous (exit 2); --refs reads refs only; ./HEAD is the directory', async () => {
  const repo = join(tmp, 'shadow');
  writeRepo(repo, { 'orgs/acme.yaml': BASE_ACME });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  writeFileSync(
    join(repo, 'orgs/acme.yaml'),
    BASE_ACME.replace('personal_access_tokens: enabled', 'personal_access_tokens: disabled'),
  );
  // The attacker's trees: HEAD/ is a copy of the base (so the diff would look empty), main/ likewise.
  for (const d of ['HEAD', 'main']) writeRepo(join(repo, d), { 'orgs/acme.yaml': BASE_ACME });
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'PATs off, and two decoy directories');
  const cwd = process.cwd();
  process.chdir(repo);
  try {
    const plain = await cli(['diff', 'main~0', 'HEAD', '--author', 'lee@acme.example']);
    assert.is(plain.code, 2);
    assert.match(
      plain.stderr,
      /^ambiguous: HEAD is both a directory and a commit of the git repository \.; write \.\/HEAD for the directory or pass --refs/,
    );
    const refs = await cli(['diff', 'HEAD~1', 'HEAD', '--refs', '--author', 'lee@acme.example']);
    assert.is(refs.code, 1, refs.stderr);
    assert.match(refs.stderr, /may not make this change: PATs: enabled → disabled/);
    assert.is((await cli(['diff', 'main', 'HEAD~1', '--refs'])).code, 0);
    const dir = await cli(['diff', './main', './HEAD', '--exit-code']);
    assert.is(dir.code, 0, dir.stderr);
    assert.match(dir.stdout, /no setting changes/);
  } finally {
    process.chdir(cwd);
  }
});

// Review finding 2: git archive honours export-ignore, so a pull request could hide a new org or a history file
// from the diff while build publishes it; --path is kept exact and may not leave the repository.
// Review finding: a hand-built tree with a symlink `zz` and a directory `zz/` wrote zz/pwned.txt through the link.
test('a ref whose tree puts a file under a symlink of the same name is refused, and nothing is written outside', async () => {
  const repo = join(tmp, 'evil-tree');
  writeRepo(repo, { 'orgs/acme.yaml': BASE_ACME });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  const outside = join(tmp, 'evil-escape');
  mkdirSync(outside, { recursive: true });
  const hashed = (args: string[], input: Buffer | string) =>
    execFileSync('git', ['hash-object', '-w', ...args, '--stdin'], { cwd: repo, input })
      .toString()
      .trim();
  const link = hashed([], outside);
  const pwned = hashed([], 'pwned');
  const inner = execFileSync('git', ['mktree'], { cwd: repo, input: `100644 blob ${pwned}\tpwned.txt\n` })
    .toString()
    .trim();
  const orgs = git(repo, 'rev-parse', 'HEAD:orgs').trim();
  const entry = (mode: string, name: string, oid: string) =>
    Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex')]);
  const root = hashed(
    ['-t', 'tree', '--literally'],
    Buffer.concat([entry('40000', 'orgs', orgs), entry('120000', 'zz', link), entry('40000', 'zz', inner)]),
  );
  const commit = git(repo, 'commit-tree', root, '-p', 'HEAD', '-m', 'evil').trim();
  git(repo, 'branch', 'evil', commit);
  const r = await cli(['diff', '--refs', 'main', 'evil', '--repo', repo]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /twice|under the symlink/);
  assert.equal(readdirSync(outside), [], 'nothing written through the symlink');
});

test('refs are read without .gitattributes (export-ignore hides nothing); --path exact, no absolute or ..', async () => {
  const repo = join(tmp, 'attrs');
  writeRepo(repo, { '.policy/orgs/acme.yaml': BASE_ACME });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  writeRepo(join(repo, 'x'), {});
  writeFileSync(
    join(repo, '.gitattributes'),
    '.policy/orgs/newco.yaml export-ignore\n.policy/history/** export-ignore\n',
  );
  mkdirSync(join(repo, '.policy/history'), { recursive: true });
  writeFileSync(join(repo, '.policy/orgs/newco.yaml'), NEWCO);
  writeFileSync(join(repo, '.policy/history/acme.yaml'), HISTORY('30d'));
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'a hidden org and a hidden history');
  const r = await cli([
    'diff',
    'HEAD~1',
    'HEAD',
    '--refs',
    '--repo',
    repo,
    '--path',
    '.policy',
    '--format',
    'json',
  ]);
  assert.is(r.code, 0, r.stderr);
  const diff = (JSON.parse(r.stdout) as { diff: PolicyDiff }).diff;
  assert.equal(
    diff.orgs.map((o) => [o.org, o.status, o.changes.at(-1)?.kind]),
    [
      ['acme.example', 'changed', 'settings_history'],
      ['newco.example', 'added', 'super_admin_added'],
    ],
  );
  for (const path of ['./.policy', '.policy/', '././.policy']) {
    const same = await cli(['diff', 'HEAD~1', 'HEAD', '--refs', '--repo', repo, '--path', path]);
    assert.is(same.code, 0, `${path}: ${same.stderr}`);
  }
  for (const path of ['/etc', '../attrs/.policy', '.policy/../.policy', 'policy']) {
    const bad = await cli(['diff', 'HEAD~1', 'HEAD', '--refs', '--repo', repo, '--path', path]);
    assert.is(bad.code, 2, path);
    assert.match(
      bad.stderr,
      path === 'policy'
        ? /cannot read policy of HEAD~1 .*pathspec 'policy' did not match/
        : /must be a relative path inside the repository, without "\.\."/,
    );
  }
});

test('usage errors exit 2', async () => {
  // An empty --author (an unset variable in a CI script) checks nobody: an error, not a skipped check.
  const empty = await cli(['diff', base, head, '--author', '']);
  assert.is(empty.code, 2);
  assert.match(empty.stderr, /--author needs an email; it is empty/);
  assert.is((await cli(['diff', base, head, '--author', '  '])).code, 2);
  assert.is((await cli(['diff', base, head, '--impact'])).code, 2);
  assert.is((await cli(['diff', base, head, '--store', 'x.db'])).code, 2);
  assert.is(
    (await cli(['diff', base, head, '--since', 'yesterday', '--impact', '--decisions', 'x'])).code,
    2,
  );
});

test('the README example of "Policy repository in CI" is real output', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Policy repository in CI'));
  const block = /```console\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the console example is in the README section');
  // The change the section makes first (`appwarden tokens pats disable … --policy /tmp/policy`), on a copy.
  const copy = join(tmp, 'readme-policy');
  cpSync(join(root, 'examples', 'policy-repo'), copy, { recursive: true });
  const edit = await setPersonalAccessTokens(copy, 'umbrella.example', 'disabled');
  writeFileSync(join(copy, edit.file), edit.after);
  process.chdir(root);
  const parts = block.split(/^\$ /m).filter((p) => p.trim() !== '');
  assert.is(parts.length, 2);
  for (const part of parts) {
    const lines = part.split('\n');
    let command = lines.shift() as string;
    while (command.endsWith('\\')) command = `${command.slice(0, -1)} ${(lines.shift() as string).trim()}`;
    const words = command.split(/\s+/).filter(Boolean);
    const quiet = words.includes('>');
    const args = words
      .slice(1, quiet ? words.indexOf('>') : undefined)
      .map((w) => (w === '/tmp/policy' ? copy : w));
    const r = await cli(args);
    const got = (quiet ? r.stderr : r.stdout)
      .replace(/\([0-9a-f]{16}\)/g, '(…)')
      .replaceAll(copy, '/tmp/policy');
    assert.fixture(got, lines.join('\n'), command);
  }
});

test('oneLine escapes line breaks, controls and bidirectional overrides, and leaves other text alone', () => {
  assert.is(
    oneLine('a\nb\rc\u2028d\u202eE\u2066f\u001b[31m'),
    'a\\nb\\rc\\u2028d\\u202eE\\u2066f\\u001b[31m',
  );
  assert.is(oneLine('Acme Corp — ünïcode 🙂\tok'), 'Acme Corp — ünïcode 🙂\tok');
});

test('refs read the whole tree whichever directory of the repository --repo names', async () => {
  const repo = join(tmp, 'whole-tree');
  rmSync(repo, { recursive: true, force: true });
  cpSync(join(root, 'examples', 'policy-repo'), repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  const revisions = async (at: string) => {
    const r = await cli(['diff', 'main', 'main', '--refs', '--repo', at, '--format', 'json']);
    assert.is(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as { diff: { base: { revision: string } } };
    return d.diff.base.revision;
  };
  // From orgs/, ls-tree alone would list only orgs/: no history/, so another revision.
  assert.is(await revisions(join(repo, 'orgs')), await revisions(repo));
});

test.run();
