// Policy test suites and CI output (issue 5 items 1-2): `validate --format github` annotations, suite
// loading errors at file:line:col, `appwarden test` failures, JUnit XML read back, and the example suites.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYamlText } from 'yaml';
import { isEngineError, parsePolicyTestSuite, runPolicyTests } from '../engine/index.ts';
import { escapeGithubData, escapeGithubProperty, githubAnnotation } from '../server/cli-test.ts';
import { runCli } from './support/cli.ts';

const root = join(import.meta.dirname, '..');
// Paths as a CI job gives them: relative to where the command runs.
const fixtures = relative(process.cwd(), join(root, 'test', 'fixtures', 'policy-tests'));
const broken = join(fixtures, 'broken');
const failing = join(fixtures, 'failing');
const example = relative(process.cwd(), join(root, 'examples', 'policy-repo'));
const tmp = mkdtempSync(join(tmpdir(), 'appwarden-policy-tests-'));

test.after(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(args);

/** Loads one suite from text; the issues as `line:col: message (hint)` for compact asserts. */
function issuesOf(text: string): string[] {
  const result = parsePolicyTestSuite('tests/suite.yaml', text);
  assert.ok(result.suite === undefined, 'the suite should not load');
  return result.issues.map((i) => `${i.line}:${i.column}: ${i.message}${i.hint ? ` (${i.hint})` : ''}`);
}

const HEAD = `apiVersion: appwarden/v1
kind: PolicyTestSuite
defaults: {org: acme.example, at: 2026-06-01T00:00:00Z}
fixtures:
  subjects:
    ann: {type: user, id: U1, properties: {email: ann@acme.example, role: member}}
  apps:
    dropbox: {id: "1204567890123456789"}
  tokens:
    ann_pat: {id: T1, kind: personal_access, owner: U1, created_at: 2026-01-10T00:00:00Z}
cases:
`;

test('GitHub workflow commands escape % CR LF in messages and also : , in properties', () => {
  assert.is(escapeGithubData('100%\r\nnext: a,b'), '100%25%0D%0Anext: a,b');
  assert.is(escapeGithubProperty('a:b,c%\n'), 'a%3Ab%2Cc%25%0A');
  assert.is(
    githubAnnotation('error', { file: 'dir,x/a:b.yaml', line: 3, col: 7, title: 'p' }, 'm'),
    '::error file=dir%2Cx/a%3Ab.yaml,line=3,col=7,title=p::m\n',
  );
  // No line: file= only (a column without a line means nothing to GitHub).
  assert.is(
    githubAnnotation('error', { file: 'tests/', col: 2, title: 't' }, 'm'),
    '::error file=tests/,title=t::m\n',
  );
  assert.is(githubAnnotation('notice', {}, 'done'), '::notice::done\n');
});

test('validate --format github: one ::error per problem of orgs/ and tests/, a summary line, exit 1', async () => {
  const r = await cli(['validate', broken, '--format', 'github']);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.is(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  const errors = lines.filter((l) => l.startsWith('::error '));
  assert.is(errors.length, 5, r.stdout);
  assert.ok(
    errors.includes(
      `::error file=${broken}/orgs/acme.yaml,line=7,col=5,title=spec.apps.mdoe::unknown key \`mdoe\` (did you mean "mode"?)`,
    ),
    r.stdout,
  );
  assert.ok(
    errors.includes(
      `::error file=${broken}/tests/suite.yaml,line=12,col=14,title=cases[0].subject::unknown subject fixture "anne" (did you mean "ann"?)`,
    ),
    r.stdout,
  );
  // A problem without a line (a directory) gets file= only, titled by the error code.
  assert.ok(
    errors.some((l) =>
      l.startsWith(
        `::error file=${broken}/tests/nested/,title=invalid_policy::subdirectories of tests/ are not read`,
      ),
    ),
    r.stdout,
  );
  assert.is(lines[lines.length - 1], `5 problems; ${broken} is not valid`);

  const ok = await cli(['validate', example, '--format', 'github']);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(
    ok.stdout,
    /^::notice title=appwarden validate::valid: revision [0-9a-f]{16}, 4 orgs .*; checked 4 test suites/,
  );

  const gone = await cli(['validate', join(tmp, 'nope'), '--format', 'github']);
  assert.is(gone.code, 2);
});

test('validate --format json keeps its shape and lists test-suite problems with the rest', async () => {
  const r = await cli(['validate', broken, '--format', 'json']);
  assert.is(r.code, 1);
  const body = JSON.parse(r.stdout) as {
    valid: boolean;
    code: string;
    issues: { file: string; line?: number; column?: number; path?: string; message: string }[];
  };
  assert.is(body.valid, false);
  assert.is(body.code, 'invalid_policy');
  assert.is(body.issues.length, 5);
  assert.ok(
    body.issues.some((i) => i.file === `${broken}/tests/suite.yaml` && i.path === 'cases[1].want.reason'),
  );
});

test('suite errors: an unknown fixture names file:line:col with a did-you-mean', () => {
  assert.equal(
    issuesOf(
      `${HEAD}  - name: c1\n    subject: anne\n    action: app.connect\n    resource: {app: dropbx}\n    want: {decision: false}\n  - name: c2\n    subject: ann\n    action: token.use\n    resource: {token: bob_pat}\n    want: {decision: false}\n`,
    ),
    [
      '13:14: unknown subject fixture "anne" (did you mean "ann"?)',
      '15:21: unknown app fixture "dropbx" (did you mean "dropbox"?)',
      '20:23: unknown token fixture "bob_pat" (the token fixtures of this file: ann_pat)',
    ],
  );
});

test('suite errors: a reason that does not exist, a reason that contradicts the decision, an unknown key', () => {
  const issues = issuesOf(
    `${HEAD}  - name: c1\n    subject: ann\n    action: app.connect\n    resource: {app: dropbox}\n    want: {decision: false, reason: app_blockd}\n  - name: c2\n    subject: ann\n    action: app.connect\n    resource: {app: dropbox}\n    want: {decision: true, reason: app_blocked}\n  - name: c3\n    subject: ann\n    action: app.connect\n    resource: {app: dropbox}\n    wnat: {decision: false}\n`,
  );
  assert.match(
    issues[0] ?? '',
    /^16:37: `reason` must be one of allowed, .*not the string "app_blockd" \(did you mean "app_blocked"\?\)$/,
  );
  assert.is(
    issues[1],
    '21:36: an allow always has reason allowed, not app_blocked (write decision: false, or reason: allowed)',
  );
  assert.is(issues[2], '22:5: missing required key `want`');
  assert.is(issues[3], '26:5: unknown key `wnat` (did you mean "want"?)');
  assert.is(issues.length, 4);
});

test('suite errors: inline subjects, case history, requests the decision API would refuse, repeated names', () => {
  const issues = issuesOf(
    `${HEAD}  - name: c1\n    subject: {type: user, id: U2, propertes: {}}\n    action: app.use\n    resource: {app: dropbox}\n    want: {decision: true}\n` +
      `  - name: c2\n    subject: ann\n    action: token.use\n    resource: {token: ann_pat}\n    history:\n      - {at: 2026-03-01T00:00:00Z, spec: {tokens: {expiration: 30d}}}\n      - {at: 2026-02-01T00:00:00Z, spec: {tokens: {expiration: 90d}}}\n    want: {decision: true}\n` +
      `  - name: c2\n    subject: ann\n    action: api.use\n    want: {decision: true}\n`,
  );
  assert.equal(issues, [
    '13:35: unknown key `propertes` (did you mean "properties"?)',
    '23:14: history entries must be in time order: 2026-02-01T00:00:00Z is not after 2026-03-01T00:00:00Z (the previous revision is at line 22; list history entries oldest first, one per instant)',
    '25:11: case name "c2" is used twice (the first is at line 17)',
  ]);
  // Once the names differ, the api.use case is checked as the decision API checks requests.
  assert.equal(
    issuesOf(`${HEAD}  - name: c3\n    subject: ann\n    action: api.use\n    want: {decision: true}\n`),
    [
      '12:5: the case is not a valid decision request: missing required field "via" (api.use): "app" or "personal_access_token"',
    ],
  );
});

test('appwarden test: a load error exits 2 with file:line:col; a missing directory exits 2', async () => {
  const r = await cli(['test', broken]);
  assert.is(r.code, 2);
  assert.match(r.stderr, `${broken}/orgs/acme.yaml:7:5: unknown key \`mdoe\``);
  const gone = await cli(['test', join(tmp, 'nope')]);
  assert.is(gone.code, 2);
  assert.is(gone.stdout, '');
});

test('appwarden test: a failing case prints expected vs got with its file:line and exits 1', async () => {
  const r = await cli(['test', failing, '--format', 'github']);
  assert.is(r.code, 1, r.stderr);
  const text = r.stdout;
  assert.match(text, '  ✓ Dropbox is blocked\n');
  assert.match(
    text,
    `  ✗ Dropbox, surely, is allowed: 100%\n      at ${failing}/tests/acme.yaml:21\n      expected: allow (allowed)\n      got:      deny (app_blocked: app Dropbox (1204567890123456789) is blocked in acme.example: company files stay in Google Drive)\n`,
  );
  assert.match(text, '  ✓ a January PAT outlived 30-day tokens set in March\n');
  assert.match(text, /3 cases in 1 suite: 2 passed, 1 failed \(revision [0-9a-f]{16}, /);
  // --format github adds the failure inline, its name escaped in the title.
  assert.match(
    text,
    `::error file=${failing}/tests/acme.yaml,line=21,col=5,title=policy test failed%3A Dropbox%2C surely%2C is allowed%3A 100%25::expected: allow (allowed)%0Agot:      deny (app_blocked: `,
  );
  assert.match(text, '::notice title=appwarden test::2 of 3 policy test cases passed, 1 failed\n');
});

// Review finding 4: a case name, suite description or reason with a line break must not print a line of its
// own — in a GitHub Actions log a line "::warning::…" or "::add-mask::…" is a workflow command.
test('appwarden test: names and descriptions with CR/LF stay on one line (no workflow-command injection)', async () => {
  const dir = join(tmp, 'inject');
  mkdirSync(join(dir, 'orgs'), { recursive: true });
  mkdirSync(join(dir, 'tests'), { recursive: true });
  copyFileSync(join(failing, 'orgs', 'acme.yaml'), join(dir, 'orgs', 'acme.yaml'));
  const suite = readFileSync(join(failing, 'tests', 'acme.yaml'), 'utf8')
    .replace('defaults:', 'description: "Acme\\r\\n::warning::forged description"\ndefaults:')
    .replace('name: Dropbox is blocked', 'name: "Dropbox is blocked\\n::error::forged pass"')
    .replace('name: "Dropbox, surely, is allowed: 100%"', 'name: "allowed?\\n::add-mask::secret"');
  writeFileSync(join(dir, 'tests', 'acme.yaml'), suite);
  for (const format of ['text', 'github']) {
    const r = await cli(['test', dir, '--format', format]);
    assert.is(r.code, 1, r.stderr);
    const forged = r.stdout
      .split('\n')
      .filter((l) => /^\s*::(warning|add-mask|error)::(forged|secret)/.test(l));
    assert.equal(forged, [], format);
    assert.ok(!r.stdout.includes('\r'), format);
    assert.match(r.stdout, '  ✓ Dropbox is blocked\\n::error::forged pass\n');
    assert.match(r.stdout, ' — Acme\\r\\n::warning::forged description\n');
    assert.match(r.stdout, '  ✗ allowed?\\n::add-mask::secret\n');
  }
});

test('appwarden test --filter runs only matching cases; no match is a usage error', async () => {
  const r = await cli(['test', failing, '--filter', 'dropbox IS blocked']);
  assert.is(r.code, 0, r.stdout);
  assert.match(r.stdout, '1 case in 1 suite: 1 passed, 0 failed');
  const none = await cli(['test', failing, '--filter', 'no such case']);
  assert.is(none.code, 2);
  assert.match(none.stderr, 'no policy test case name contains "no such case"');
});

test('appwarden test --junit writes JUnit XML: one testsuite per file, one testcase per case, the failure', async () => {
  const out = join(tmp, 'reports', 'policy-tests.xml');
  const r = await cli(['test', failing, '--junit', out]);
  assert.is(r.code, 1);
  const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
    readFileSync(out, 'utf8'),
  );
  const suites = xml.testsuites;
  assert.is(suites.tests, '3');
  assert.is(suites.failures, '1');
  const suite = suites.testsuite;
  assert.is(suite.name, `${failing}/tests/acme.yaml`);
  assert.is(suite.tests, '3');
  assert.is(suite.failures, '1');
  const cases = suite.testcase as {
    name: string;
    classname: string;
    time: string;
    failure?: { message: string; type: string; '#text': string };
  }[];
  assert.equal(
    cases.map((c) => c.name),
    [
      'Dropbox is blocked',
      'Dropbox, surely, is allowed: 100%',
      'a January PAT outlived 30-day tokens set in March',
    ],
  );
  assert.ok(cases.every((c) => c.classname === `${failing}/tests/acme.yaml` && Number(c.time) >= 0));
  const failed = cases.filter((c) => c.failure);
  assert.is(failed.length, 1);
  assert.is(failed[0]?.failure?.message, 'expected allow (allowed), got deny (app_blocked)');
  assert.is(failed[0]?.failure?.type, 'decision_mismatch');
  assert.match(
    failed[0]?.failure?.['#text'] ?? '',
    `at ${failing}/tests/acme.yaml:21\nexpected: allow (allowed)\ngot:      deny (app_blocked: `,
  );
});

test('a case history decides the token expiry: without it the same token is still valid', async () => {
  const withHistory = await runPolicyTests(failing, { filter: 'January PAT' });
  assert.is(withHistory.suites[0]?.cases[0]?.got.reason, 'token_expired');
  // Without a history, 30d counts as set at the evaluation time (SPEC §5 for the CLI): 30 more days.
  const dir = join(tmp, 'no-history');
  mkdirSync(join(dir, 'orgs'), { recursive: true });
  mkdirSync(join(dir, 'tests'));
  copyFileSync(join(failing, 'orgs', 'acme.yaml'), join(dir, 'orgs', 'acme.yaml'));
  writeFileSync(
    join(dir, 'tests', 'x.yaml'),
    `${HEAD}  - name: no history\n    subject: ann\n    action: token.use\n    resource: {token: ann_pat}\n    want: {decision: false, reason: token_expired}\n`,
  );
  const without = await runPolicyTests(dir);
  const got = without.suites[0]?.cases[0];
  assert.is(got?.passed, false);
  assert.is(got?.got.reason, 'allowed');
  assert.equal(got?.mismatches, [
    'decision: want deny, got allow',
    'reason: want token_expired, got allowed',
  ]);
});

test('the example repository: every suite passes through the CLI, one suite per org', async () => {
  const r = await cli(['test', example]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  for (const org of ['acme', 'globex', 'initech', 'umbrella'])
    assert.match(r.stdout, `${example}/tests/${org}.yaml`);
  const files = ['acme', 'globex', 'initech', 'umbrella'].map(
    (org) =>
      parseYamlText(readFileSync(join(root, 'examples', 'policy-repo', 'tests', `${org}.yaml`), 'utf8')) as {
        cases: unknown[];
      },
  );
  const total = files.reduce((n, f) => n + f.cases.length, 0);
  assert.match(r.stdout, `${total} cases in 4 suites: ${total} passed, 0 failed`);
  // Every reason code of SPEC §4 is asserted by some case of the example suites.
  const reasons = new Set(
    files.flatMap((f) => (f.cases as { want: { reason?: string } }[]).map((c) => c.want.reason)),
  );
  for (const code of [
    'allowed',
    'org_unknown',
    'app_blocked',
    'app_blocked_in_other_org',
    'app_not_approved',
    'guest_api_restricted',
    'pats_disabled',
    'service_account_unknown',
    'service_account_disabled',
    'token_revoked',
    'token_not_yet_valid',
    'token_expired',
    'external_automation_disabled',
  ])
    assert.ok(reasons.has(code), `no example case wants ${code}`);
});

test('runPolicyTests rejects an invalid repository before running anything', async () => {
  try {
    await runPolicyTests(broken);
    assert.unreachable('should throw');
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_policy'));
  }
});

test.run();
