// `appwarden diff --impact`: decisions served by the app into a SQLite store, replayed under base and head →
// exact flip counts per org and group; the admin API's export as --decisions gives the same; rows without
// input are skipped and counted; drift is not blamed on the change; --fail-on-deny-flips; tokens revoked by
// PATs off and expiries moved earlier, with dates; and the example store with PATs turned off in one org.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  blockApp,
  createEngine,
  type Engine,
  effectiveTokenExpiry,
  formatRfc3339,
  type ImpactReport,
  openStore,
  setExpiration,
  setPersonalAccessTokens,
  unblockApp,
} from '../engine/index.ts';
import { buildExampleStore, decisionsJsonl, EXAMPLE_STORE_END } from '../examples/traffic/example-store.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig } from '../server/config.ts';
import { runCli } from './support/cli.ts';

const root = join(import.meta.dirname, '..');
const exampleRepo = join(root, 'examples', 'policy-repo');
const tmp = mkdtempSync(join(tmpdir(), 'appwarden-impact-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(args);

/** A copy of the example repository with edits applied through engine/edit.ts (as `appwarden apps block` etc.). */
async function editedCopy(
  name: string,
  edits: ((dir: string) => Promise<{ file: string; after: string }>)[],
) {
  const dir = join(tmp, name);
  cpSync(exampleRepo, dir, { recursive: true });
  for (const edit of edits) {
    const r = await edit(dir);
    writeFileSync(join(dir, r.file), r.after);
  }
  return dir;
}

const DAY = 86_400;
// Relative to the real clock: the app stamps each decision with it, and replay evaluates at that time.
const NOW = Math.floor(Date.now() / 1000);
const SLACK = 'A0F7XDUAZ'; // allowed in acme.example (allow_all)
const DROPBOX = '1204567890123456789'; // blocked in acme.example
const DANA = 'dana-admin-token-0123456789';
const HANK = 'hank-admin-token-0123456789';

const user = (id: string, org: string) => ({
  type: 'user',
  id,
  properties: { email: `${id.toLowerCase()}@${org}`, role: 'member' },
});
const appUse = (u: string, app: string, action = 'app.use') => ({
  subject: user(u, 'acme.example'),
  action: { name: action },
  resource: { type: 'app', id: app },
  context: { org: 'acme.example' },
});
const patUse = (u: string, token: string, org: string, created: number) => ({
  subject: user(u, org),
  action: { name: 'token.use' },
  resource: {
    type: 'token',
    id: token,
    properties: { kind: 'personal_access', created_at: formatRfc3339(created), owner: u },
  },
  context: { org },
});
const saUse = (sa: string, token: string, owner: string, org: string, created: number) => ({
  subject: { type: 'service_account', id: sa },
  action: { name: 'token.use' },
  resource: {
    type: 'token',
    id: token,
    properties: { kind: 'service_account', created_at: formatRfc3339(created), owner, service_account: sa },
  },
  context: { org },
});

const storePath = join(tmp, 'served.db');
const exportPath = join(tmp, 'export.jsonl');
let base: Engine;

test.before(async () => {
  base = createEngine({ policyDir: exampleRepo });
  await base.load();
  const store = openStore(storePath);
  const app = createApp({
    engine: base,
    config: {
      ...defaultConfig,
      adminTokens: [
        { email: 'dana.whitfield@acme.example', tokenSha256: sha256Hex(DANA) },
        { email: 'hank.scorpio@globex.example', tokenSha256: sha256Hex(HANK) },
      ],
    },
    store,
  });
  const requests = [
    // Slack in Acme: allowed now, blocked by the head → 5 allow → deny (U1 ×3, U2 ×2).
    ...[1, 2, 3].map(() => appUse('U1', SLACK)),
    ...[1, 2].map(() => appUse('U2', SLACK)),
    // Dropbox in Acme: blocked now, unblocked by the head → 2 deny → allow (U3).
    appUse('U3', DROPBOX, 'app.connect'),
    appUse('U3', DROPBOX),
    // Globex PATs: allowed now, PATs off in the head → 3 allow → deny (owners G1 ×2, G2 ×1); deploy-bot is
    // disabled by the head → 1 allow → deny (service_account_disabled, token owner sre@globex.example).
    patUse('G1', 'pat-g1', 'globex.example', NOW - 10 * DAY),
    patUse('G1', 'pat-g1', 'globex.example', NOW - 10 * DAY),
    patUse('G2', 'pat-g2', 'globex.example', NOW - 20 * DAY),
    saUse('deploy-bot', 'sat-deploy-1', 'sre@globex.example', 'globex.example', NOW - 5 * DAY),
    // Unchanged decisions: an Acme PAT and an Acme service account (whose expiry moves earlier when Acme goes
    // from default to 30 days).
    patUse('U1', 'pat-a1', 'acme.example', NOW - 100 * DAY),
    saUse('ci-bot', 'sat-ci-1', 'platform-team@acme.example', 'acme.example', NOW - 400 * DAY),
    // A token of Acme's disabled legacy-sync: denied under both; its expiry moving is no news (not listed).
    saUse('legacy-sync', 'sat-legacy-1', 'it-ops@acme.example', 'acme.example', NOW - 400 * DAY),
  ];
  for (const body of requests) {
    const res = await app.request('/access/v1/evaluation', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.is(res.status, 200);
  }
  // The admin API's export, one page per line: what a CI job without the store file gets.
  const lines: string[] = [];
  for (const [org, token] of [
    ['acme.example', DANA],
    ['globex.example', HANK],
  ] as const) {
    const res = await app.request(`/admin/v1/orgs/${org}/decisions?limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.is(res.status, 200);
    lines.push(JSON.stringify(await res.json()));
  }
  writeFileSync(exportPath, `${lines.join('\n')}\n`);
  // Two rows the replay must not count as flips: one from before the log kept inputs, one the base decides
  // differently from the log (a revocation since, say): drift.
  const at_ms = Date.now();
  const row = {
    at_ms,
    org: 'acme.example',
    action: 'app.use',
    subject_type: 'user',
    subject_id: 'U9',
    subject_role: 'member',
    resource_type: 'app',
    resource_id: SLACK,
    revision: 'old',
    latency_us: 1,
  };
  await store.appendDecisions([
    { ...row, decision_id: 'old-row', decision: true, reason: 'allowed', input: null },
    {
      ...row,
      decision_id: 'drift-row',
      resource_id: 'zoom',
      decision: false,
      reason: 'app_blocked',
      input: appUse('U9', '1048577935912') as unknown as Record<string, unknown>,
    },
  ]);
  await store.close();
});
test.after(() => base.close());

async function headRepo(): Promise<string> {
  return editedCopy('head', [
    (d) => blockApp(d, 'acme.example', SLACK, { name: 'Slack', reason: 'use Teams' }),
    (d) => unblockApp(d, 'acme.example', DROPBOX),
    (d) => setPersonalAccessTokens(d, 'globex.example', 'disabled'),
    (d) => setExpiration(d, 'acme.example', '30d'),
    // No edit command for service accounts: the YAML by hand, as an admin would.
    async (d) => {
      const file = 'orgs/globex.yaml';
      const text = readFileSync(join(d, file), 'utf8');
      const after = text.replace(/(- id: deploy-bot\n(?:\s+\w+: .*\n)*?\s+enabled: )true/, '$1false');
      assert.is.not(after, text);
      return { file, after };
    },
  ]);
}

async function impactJson(args: string[]): Promise<{ code: number; impact: ImpactReport; stderr: string }> {
  const r = await cli([...args, '--format', 'json']);
  assert.ok(r.stdout.startsWith('{'), r.stderr);
  return {
    code: r.code,
    impact: (JSON.parse(r.stdout) as { impact: ImpactReport }).impact,
    stderr: r.stderr,
  };
}

test('flips counted exactly per org, new reason, app, user and token owner; skipped and drift apart', async () => {
  const head = await headRepo();
  const now = formatRfc3339(NOW + 60);
  const { code, impact } = await impactJson([
    'diff',
    exampleRepo,
    head,
    '--impact',
    '--store',
    storePath,
    '--now',
    now,
  ]);
  assert.is(code, 0);
  assert.equal(impact.decisions, {
    read: 16,
    replayed: 15,
    skipped_no_input: 1,
    skipped_invalid: 0,
    drift: 1,
  });
  assert.is(impact.allow_to_deny, 9);
  assert.is(impact.deny_to_allow, 2);
  const acme = impact.orgs.find((o) => o.org === 'acme.example');
  const globex = impact.orgs.find((o) => o.org === 'globex.example');
  assert.ok(acme && globex);
  assert.is(acme.allow_to_deny, 5);
  assert.is(acme.deny_to_allow, 2);
  assert.equal(acme.by_reason, [
    { key: 'app_blocked', allow_to_deny: 5, deny_to_allow: 0 },
    { key: 'allowed', allow_to_deny: 0, deny_to_allow: 2 },
  ]);
  assert.equal(acme.by_app, [
    { key: SLACK, allow_to_deny: 5, deny_to_allow: 0 },
    { key: DROPBOX, allow_to_deny: 0, deny_to_allow: 2 },
  ]);
  assert.equal(acme.by_user, [
    { key: 'U1', allow_to_deny: 3, deny_to_allow: 0 },
    { key: 'U2', allow_to_deny: 2, deny_to_allow: 0 },
    { key: 'U3', allow_to_deny: 0, deny_to_allow: 2 },
  ]);
  assert.equal(acme.by_token_owner, []);
  assert.is(globex.allow_to_deny, 4);
  assert.is(globex.deny_to_allow, 0);
  assert.equal(globex.by_reason, [
    { key: 'pats_disabled', allow_to_deny: 3, deny_to_allow: 0 },
    { key: 'service_account_disabled', allow_to_deny: 1, deny_to_allow: 0 },
  ]);
  assert.equal(globex.by_token_owner, [
    { key: 'G1', allow_to_deny: 2, deny_to_allow: 0 },
    { key: 'G2', allow_to_deny: 1, deny_to_allow: 0 },
    { key: 'sre@globex.example', allow_to_deny: 1, deny_to_allow: 0 },
  ]);
  assert.equal(globex.by_user, [
    { key: 'G1', allow_to_deny: 2, deny_to_allow: 0 },
    { key: 'G2', allow_to_deny: 1, deny_to_allow: 0 },
  ]);
  // Orgs with nothing to report are not listed.
  assert.equal(
    impact.orgs.map((o) => o.org),
    ['acme.example', 'globex.example'],
  );
});

test('token effects: PATs off lists every unrevoked PAT with owner and last use; expiry earlier with dates', async () => {
  const head = await headRepo();
  const now = NOW + 60;
  const { impact } = await impactJson([
    'diff',
    exampleRepo,
    head,
    '--impact',
    '--store',
    storePath,
    '--now',
    formatRfc3339(now),
  ]);
  const globex = impact.orgs.find((o) => o.org === 'globex.example');
  assert.equal(
    globex?.pats_revoked?.tokens.map((t) => [t.id, t.owner, t.kind]),
    [
      ['pat-g1', 'G1', 'personal_access'],
      ['pat-g2', 'G2', 'personal_access'],
    ],
  );
  assert.ok(globex?.pats_revoked?.tokens.every((t) => t.last_used_at !== null));
  assert.is(
    globex?.pats_revoked?.sentence,
    'turning PATs off revokes 2 tokens of 2 people, 2 of them used in the last day',
  );
  assert.is(globex?.expiry_earlier, null); // Globex keeps 90 days
  // deploy-bot disabled: its token stops working; it was used in the last day.
  assert.equal(
    globex?.service_account_tokens_stopped?.tokens.map((t) => [t.id, t.service_account]),
    [['sat-deploy-1', 'deploy-bot']],
  );
  assert.is(
    globex?.service_account_tokens_stopped?.sentence,
    'disabling or removing service account deploy-bot stops 1 token, 1 of them service automations used in the last day',
  );
  const acme = impact.orgs.find((o) => o.org === 'acme.example');
  assert.is(acme?.pats_revoked, null);
  // default → 30d: each token's expiry moves from creation + 3,650 days to now + 30 days (SPEC §5).
  assert.equal(
    acme?.expiry_earlier?.tokens.map((t) => [t.id, t.owner, t.old_expiry, t.new_expiry]),
    [
      [
        'sat-ci-1',
        'platform-team@acme.example',
        formatRfc3339(NOW - 400 * DAY + 3650 * DAY),
        formatRfc3339(now + 30 * DAY),
      ],
      ['pat-a1', 'U1', formatRfc3339(NOW - 100 * DAY + 3650 * DAY), formatRfc3339(now + 30 * DAY)],
    ],
  );
  assert.is(
    acme?.expiry_earlier?.sentence,
    'token expiration default → 30 days moves the expiry of 2 tokens of 2 owners earlier, 1 of them service automations used in the last day',
  );
  // Text and Markdown carry the same figures.
  const text = await cli([
    'diff',
    exampleRepo,
    head,
    '--impact',
    '--store',
    storePath,
    '--now',
    formatRfc3339(now),
  ]);
  assert.match(text.stdout, /impact: 15 decisions replayed since .*: 9 allow → deny, 2 deny → allow/);
  assert.match(text.stdout, /1 decision skipped: logged without input \(before store migration 7\)/);
  assert.match(text.stdout, /pat-g1 \(owner G1( <g1@globex\.example>)?, last used /);
  const md = await cli(['diff', exampleRepo, head, '--impact', '--store', storePath, '--format', 'markdown']);
  assert.match(md.stdout, /\*\*9 allow → deny\*\*, \*\*2 deny → allow\*\*/);
  assert.match(md.stdout, /\| pats\\_disabled \| 3 \| 0 \|/);
  assert.match(md.stdout, /\*\*turning PATs off revokes 2 tokens of 2 people/);
});

test('--decisions: the admin API export (pages as JSON lines) replays to the same flips', async () => {
  const head = await headRepo();
  const { impact } = await impactJson(['diff', exampleRepo, head, '--impact', '--decisions', exportPath]);
  assert.is(impact.allow_to_deny, 9);
  assert.is(impact.deny_to_allow, 2);
  assert.is(impact.decisions.replayed, 14); // the two rows written straight into the store are not in the export
  // The registry is rebuilt from the decisions: the same PATs are revoked.
  assert.equal(
    impact.orgs.find((o) => o.org === 'globex.example')?.pats_revoked?.tokens.map((t) => t.id),
    ['pat-g1', 'pat-g2'],
  );
  const bad = join(tmp, 'bad.jsonl');
  writeFileSync(bad, '{"decision_id":"x"}\n');
  const r = await cli(['diff', exampleRepo, head, '--impact', '--decisions', bad]);
  assert.is(r.code, 2); // an input error, not a finding about the change
  assert.match(
    r.stderr,
    /bad\.jsonl:1: a decision record needs "at_ms" \(whole epoch milliseconds\) or "time"/,
  );
});

// Review finding 6: records after --now, non-RFC 3339 times, repeated ids and records whose org is not their
// input's org must not shape the report; a malformed line is a usage/input error (exit 2).
test('--decisions: after --now left out, RFC 3339 only, a repeated decision counts once, org mismatch skipped', async () => {
  const head = await headRepo();
  const records = readFileSync(exportPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => (JSON.parse(l) as { decisions: Record<string, unknown>[] }).decisions);
  const now = formatRfc3339(NOW + 3600);
  const run = async (name: string, lines: unknown[]) => {
    const file = join(tmp, name);
    writeFileSync(file, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
    return cli([
      'diff',
      exampleRepo,
      head,
      '--impact',
      '--decisions',
      file,
      '--now',
      now,
      '--format',
      'json',
    ]);
  };
  const plain = await run('plain.jsonl', records);
  assert.is(plain.code, 0, plain.stderr);
  const before = (JSON.parse(plain.stdout) as { impact: ImpactReport }).impact;
  assert.is(before.decisions.replayed, 14);
  assert.is(before.allow_to_deny, 9);
  const flip = records.find((r) => r.org === 'acme.example' && r.resource_id === SLACK) as Record<
    string,
    unknown
  >;
  assert.ok(flip);
  const later = { ...flip, decision_id: 'after-now', time: formatRfc3339(NOW + 7200) };
  const otherOrg = { ...flip, decision_id: 'wrong-org', org: 'globex.example' };
  const twice = await run('twice.jsonl', [...records, ...records, later, otherOrg]);
  assert.is(twice.code, 0, twice.stderr);
  const after = (JSON.parse(twice.stdout) as { impact: ImpactReport }).impact;
  assert.is(after.decisions.replayed, 14); // duplicates once, the record after --now not at all
  assert.is(after.allow_to_deny, 9);
  assert.is(after.decisions.skipped_invalid, before.decisions.skipped_invalid + 1); // the org mismatch
  assert.is(after.orgs.find((o) => o.org === 'globex.example')?.allow_to_deny, 4);
  // A time Date.parse would take but RFC 3339 does not (no offset; US date): refused, exit 2.
  for (const time of ['11/15/2026', '2026-11-15T12:00:00', '2026-11-15']) {
    const r = await run('badtime.jsonl', [{ ...flip, time }]);
    assert.is(r.code, 2, time);
    assert.match(r.stderr, /badtime\.jsonl:1: a decision record needs .*RFC 3339/);
  }
  const notJson = await run('notjson.jsonl', [records[0], '{oops']);
  assert.is(notJson.code, 2);
  assert.match(notJson.stderr, /notjson\.jsonl:2: not JSON/);
});

test('--fail-on-deny-flips n: exit 1 only when allow → deny flips exceed n', async () => {
  const head = await headRepo();
  const args = ['diff', exampleRepo, head, '--impact', '--store', storePath, '--fail-on-deny-flips'];
  const over = await cli([...args, '8']);
  assert.is(over.code, 1);
  assert.match(over.stderr, /9 decisions flip allow → deny, more than --fail-on-deny-flips 8/);
  const at = await cli([...args, '9']);
  assert.is(at.code, 0, at.stderr);
  // Outside the window nothing is replayed.
  const later = await impactJson([
    'diff',
    exampleRepo,
    head,
    '--impact',
    '--store',
    storePath,
    '--since',
    formatRfc3339(NOW + 3600),
  ]);
  assert.is(later.impact.decisions.read, 0);
});

test('example store: PATs off in umbrella.example revokes exactly these tokens of these owners', async () => {
  const path = join(tmp, 'example.db');
  const store = openStore(path);
  const records = await buildExampleStore(store);
  await store.close();
  // The committed export is this store's newest 200 decisions (examples/decisions/README.md says how to regenerate).
  assert.is(
    decisionsJsonl(records.slice(-200)),
    readFileSync(join(root, 'examples', 'decisions', 'example-last-200.jsonl'), 'utf8'),
    'examples/decisions/example-last-200.jsonl is stale: npx tsx examples/traffic/example-store.ts --decisions examples/decisions/example-last-200.jsonl --last 200',
  );
  const head = await editedCopy('umbrella-pats-off', [
    (d) => setPersonalAccessTokens(d, 'umbrella.example', 'disabled'),
  ]);
  const { code, impact } = await impactJson([
    'diff',
    exampleRepo,
    head,
    '--impact',
    '--store',
    path,
    '--now',
    formatRfc3339(EXAMPLE_STORE_END),
  ]);
  assert.is(code, 0);
  assert.equal(
    impact.orgs.map((o) => o.org),
    ['umbrella.example'],
  );
  const umbrella = impact.orgs[0]!;
  assert.equal(
    umbrella.pats_revoked?.tokens.map((t) => `${t.id} ${t.owner}`),
    [
      'pat-00011-2 u-00011',
      'pat-00082-1 u-00082',
      'pat-00082-2 u-00082',
      'pat-00172-1 u-00172',
      'pat-00228-1 u-00228',
      'pat-00241-1 u-00241',
      'pat-00292-1 u-00292',
      'pat-00296-1 u-00296',
      'pat-00321-1 u-00321',
      'pat-00344-2 u-00344',
      'pat-00365-2 u-00365',
      'pat-00375-2 u-00375',
      'pat-00379-1 u-00379',
      'pat-00381-1 u-00381',
      'pat-00419-2 u-00419',
      'pat-00511-1 u-00511',
      'pat-00535-1 u-00535',
      'pat-00560-1 u-00560',
      'pat-00578-1 u-00578',
    ],
  );
  assert.is(
    umbrella.pats_revoked?.sentence,
    'turning PATs off revokes 19 tokens of 18 people, 0 of them used in the last day',
  );
  // Cross-checked with the expiry sweep's own computation: exactly the unrevoked PATs not yet expired.
  const check = openStore(path, { readonly: true });
  const engine = createEngine({ policyDir: exampleRepo });
  try {
    await engine.load();
    const alive = (
      await check.listTokens({ org: 'umbrella.example', revoked: 'unrevoked', kind: 'personal_access' })
    )
      .filter((t) => (effectiveTokenExpiry(t, engine) ?? Number.POSITIVE_INFINITY) > EXAMPLE_STORE_END)
      .map((t) => `${t.id} ${t.owner}`)
      .sort();
    assert.equal(umbrella.pats_revoked?.tokens.map((t) => `${t.id} ${t.owner}`).sort(), alive);
    assert.ok(
      alive.length < (await check.listTokens({ org: 'umbrella.example', kind: 'personal_access' })).length,
      'some PATs expired already and are not listed',
    );
  } finally {
    engine.close();
    await check.close();
  }
  // Every flip is a PAT use or creation that PATs off now denies.
  assert.equal(
    umbrella.by_reason.map((g) => g.key),
    ['pats_disabled'],
  );
  assert.is(umbrella.allow_to_deny, 77);
  assert.is(umbrella.deny_to_allow, 0);
  // The committed export alone (no store): its registry is rebuilt from the 200 decisions it holds.
  const fromFile = await impactJson([
    'diff',
    exampleRepo,
    head,
    '--impact',
    '--decisions',
    join(root, 'examples', 'decisions', 'example-last-200.jsonl'),
    '--now',
    formatRfc3339(EXAMPLE_STORE_END),
  ]);
  assert.equal(fromFile.impact.decisions, {
    read: 200,
    replayed: 200,
    skipped_no_input: 0,
    skipped_invalid: 0,
    drift: 0,
  });
  assert.is(fromFile.impact.allow_to_deny, 2);
  assert.equal(
    fromFile.impact.orgs[0]?.pats_revoked?.tokens.map((t) => `${t.id} ${t.owner}`),
    [],
    "the export's two PATs (pat-00164-2, pat-00589-1) expired before the change: nothing to revoke",
  );
});

test('an empty decisions export says the impact is unmeasured, in text and Markdown, rather than "0 flips"', async () => {
  const head = await editedCopy('empty-export', [
    (d) => setPersonalAccessTokens(d, 'umbrella.example', 'disabled'),
  ]);
  const empty = join(tmp, 'empty.jsonl');
  writeFileSync(empty, '');
  for (const format of ['text', 'markdown']) {
    const r = await cli(['diff', exampleRepo, head, '--impact', '--decisions', empty, '--format', format]);
    assert.is(r.code, 0);
    assert.match(
      r.stdout,
      /no decision was replayed, so this report cannot tell who the change affects/,
      format,
    );
  }
});

test.run();
