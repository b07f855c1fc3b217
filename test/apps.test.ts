// Connected apps and usage through HTTP (SPEC §6): allowed app.connect / app.use decisions feed the apps list,
// app details (catalog + decisions) and the usage CSV (RFC 4180, formula-safe); admins read, others 403;
// the app catalog (apps/*.yaml) is validated with the repository.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, isEngineError, openStore } from '../engine/index.ts';
import { loadPolicyFromFiles } from '../engine/loader.ts';
import { createApp } from '../server/app.ts';
import { defaultConfig } from '../server/config.ts';
import { ACME_PEOPLE, adminTokens, asAdmin } from './support/admins.ts';

const root = join(import.meta.dirname, '..');
const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PEOPLE = ACME_PEOPLE;
type Who = keyof typeof PEOPLE;
const as = (who: Who) => asAdmin(who);
const ADMIN_TOKENS = adminTokens(PEOPLE);

/** A strict RFC 4180 reader (CRLF records, quoted fields with doubled quotes), to read the export back. */
function parse(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let cell = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        cell += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          cell += '"';
          i++;
        } else break;
      }
    } else {
      const m = /[,\r]/.exec(text.slice(i));
      const end = m ? i + m.index : text.length;
      cell = text.slice(i, end);
      if (cell.includes('"') || cell.includes('\n')) throw new Error(`bare quote or LF in ${cell}`);
      i = end;
    }
    row.push(cell);
    if (text[i] === ',') i++;
    else if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else if (i < text.length) throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

async function setup(edit?: (dir: string) => void) {
  const tmp = mkdtempSync(join(tmpdir(), 'appwarden-apps-'));
  dirs.push(tmp);
  const dir = join(tmp, 'repo');
  const db = join(tmp, 'state.db');
  cpSync(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  edit?.(dir);
  const store = openStore(db);
  const engine = createEngine({ policyDir: dir, store });
  await engine.load();
  const app = createApp({ engine, config: { ...defaultConfig, adminTokens: ADMIN_TOKENS }, store });
  const decide = async (body: unknown) => {
    const res = await app.request('/access/v1/evaluation', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.is(res.status, 200);
    return (await res.json()) as { decision: boolean; context: { reason: { code: string } } };
  };
  const admin = (path: string, who: Who = 'super_admin') =>
    app.request(`/admin/v1/orgs/acme.example${path}`, { headers: as(who) });
  const close = async () => {
    engine.close();
    await store.close();
  };
  return { dir, db, store, engine, app, decide, admin, close };
}

const appCall = (
  action: 'app.connect' | 'app.use',
  user: string,
  email: string,
  app: string,
  props: Record<string, unknown> = {},
) => ({
  subject: { type: 'user', id: user, properties: { email, role: 'member' } },
  action: { name: action },
  resource: { type: 'app', id: app, properties: props },
  context: { org: 'acme.example' },
});

test('allowed app decisions make connected apps with activity, members, catalog details and usage', async () => {
  const s = await setup();
  try {
    const before = Math.floor(Date.now() / 1000);
    // Slack (A0F7XDUAZ) is in the example catalog; "Calendar Bot" is not.
    assert.ok(
      (
        await s.decide(
          appCall('app.connect', 'U1', 'Ann@Acme.example', 'A0F7XDUAZ', { scopes: ['chat:write'] }),
        )
      ).decision,
    );
    await s.decide(appCall('app.use', 'U1', 'ann@acme.example', 'A0F7XDUAZ'));
    await s.decide(appCall('app.use', 'U2', 'bob@acme.example', 'A0F7XDUAZ'));
    await s.decide(appCall('app.connect', 'U2', 'bob@acme.example', 'cal-bot', { name: 'Calendar Bot' }));
    // A denied connect (Dropbox is blocked) is no activity.
    const denied = await s.decide(appCall('app.connect', 'U3', 'eve@acme.example', '1204567890123456789'));
    assert.is(denied.context.reason.code, 'app_blocked');

    const res = await s.admin('/apps', 'admin');
    assert.is(res.status, 200);
    const body = (await res.json()) as { active_member_days: number; apps: Record<string, unknown>[] };
    assert.is(body.active_member_days, 30);
    const byId = Object.fromEntries(body.apps.map((a) => [a.id, a]));
    assert.equal(Object.keys(byId).sort(), ['A0F7XDUAZ', 'cal-bot']);
    const slack = byId.A0F7XDUAZ as Record<string, unknown>;
    assert.is(slack.name, 'Slack');
    assert.is(slack.developer, 'Slack Technologies, LLC');
    assert.is(slack.support_url, 'https://slack.com/help');
    assert.equal(slack.scopes_granted, ['chat:write']);
    assert.is(slack.active_members, 2);
    assert.is(slack.policy_status, 'allowed');
    assert.ok(Date.parse(slack.first_seen as string) / 1000 >= before - 1);
    const cal = byId['cal-bot'] as Record<string, unknown>;
    assert.is(cal.name, 'Calendar Bot');
    assert.is(cal.developer, null);
    assert.is(cal.active_members, 1);

    const one = await s.admin('/apps/A0F7XDUAZ', 'admin');
    assert.is(one.status, 200);
    const detail = (await one.json()) as { app: { usage: Record<string, unknown>[]; usage_days: number } };
    assert.is(detail.app.usage_days, 90);
    assert.equal(
      detail.app.usage.map((u) => [u.user_id, u.email, u.uses_last_90_days]),
      [
        ['U1', 'ann@acme.example', 2],
        ['U2', 'bob@acme.example', 1],
      ],
    );
    // Blocked and in the catalog but never allowed: shown from the catalog, with no activity.
    const dropbox = await s.admin('/apps/1204567890123456789');
    assert.is(dropbox.status, 200);
    const d = ((await dropbox.json()) as { app: Record<string, unknown> }).app;
    assert.equal(
      [d.name, d.policy_status, d.last_activity, d.active_members],
      ['Dropbox', 'blocked', null, 0],
    );
    const missing = await s.admin('/apps/no-such-app');
    assert.is(missing.status, 404);
  } finally {
    await s.close();
  }
});

test('usage.csv: a header, RFC 4180 quoting, UTF-8, formula-looking cells neutralized', async () => {
  const s = await setup();
  try {
    const evil = "=cmd|'/C+calc'!A0@x.example";
    await s.decide(appCall('app.use', 'U1', evil, 'A0F7XDUAZ'));
    await s.decide(appCall('app.use', 'U1', evil, 'A0F7XDUAZ'));
    await s.decide(appCall('app.use', '+U2', '-x@acme.example', 'cal-bot', { name: '@SUM(1), "zoë"' }));
    const res = await s.admin('/apps/usage.csv', 'admin');
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/);
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /attachment; filename="acme\.example-app-usage-/,
    );
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte-order mark');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.slice(3));
    assert.ok(text.endsWith('\r\n'), 'CRLF record ends');
    const rows = parse(text);
    assert.equal(rows[0], ['email', 'user_id', 'app', 'app_name', 'uses_last_90_days', 'last_used']);
    assert.equal(
      rows.slice(1).map((r) => r.slice(0, 5)),
      [
        [`'${evil.toLowerCase()}`, 'U1', 'A0F7XDUAZ', 'Slack', '2'],
        [`'-x@acme.example`, `'+U2`, 'cal-bot', `'@SUM(1), "zoë"`, '1'],
      ],
    );
    assert.match(rows[1]?.[5] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // RFC 4180: a field with a comma or a quote is quoted and its quotes doubled; others are left bare.
    assert.ok(text.includes(`,"'@SUM(1), ""zoë""",`), text);
    assert.ok(text.includes(`'${evil.toLowerCase()},U1,A0F7XDUAZ,Slack,2,`), text);
  } finally {
    await s.close();
  }
});

test('role matrix: super admins and admins read apps and usage; nobody else', async () => {
  const s = await setup();
  try {
    for (const path of ['/apps', '/apps/usage.csv', '/apps/A0F7XDUAZ']) {
      for (const who of Object.keys(PEOPLE) as Who[]) {
        const res = await s.admin(path, who);
        const ok = who === 'super_admin' || who === 'admin';
        assert.is(res.status, ok ? 200 : 403, `${who} ${path}`);
        if (!ok) assert.is(((await res.json()) as { error: { code: string } }).error.code, 'forbidden');
      }
    }
    const anon = await s.app.request('/admin/v1/orgs/acme.example/apps');
    assert.is(anon.status, 401);
  } finally {
    await s.close();
  }
});

test('usage survives a restart (same store file)', async () => {
  const s = await setup();
  await s.decide(appCall('app.use', 'U1', 'ann@acme.example', 'A0F7XDUAZ'));
  await s.close();
  const store = openStore(s.db);
  try {
    const rows = await store.appUsage('acme.example', Math.floor(Date.now() / 1000));
    assert.equal(
      rows.map((r) => [r.app_id, r.user_id, r.uses_90d]),
      [['A0F7XDUAZ', 'U1', 1]],
    );
  } finally {
    await store.close();
  }
});

const ORG = `apiVersion: appwarden/v1
kind: OrgPolicy
metadata: {org: acme.example}
spec: {}
`;

test('a bad app catalog rejects the whole repository, each problem at its line', () => {
  const bad = `apiVersion: appwarden/v1
kind: AppCatalog
apps:
  - id: 1204567890123456789
    name: Dropbox
  - id: "slack"
    name: Slack
    suport_url: https://slack.com/help
  - id: "slack"
    name: Slack again
    privacy_url: http://insecure.example/privacy
`;
  try {
    loadPolicyFromFiles({ 'orgs/acme.yaml': ORG, 'apps/catalog.yaml': bad });
    assert.unreachable('accepted');
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_policy'), String(err));
    const issues = (err as { issues: { file?: string; line?: number; message: string }[] }).issues;
    const lines = issues.map((i) => `${i.file}:${i.line} ${i.message}`).join('\n');
    assert.match(lines, /apps\/catalog\.yaml:4 .*string/);
    assert.match(lines, /apps\/catalog\.yaml:8 .*suport_url/);
    assert.match(lines, /apps\/catalog\.yaml:11 /);
  }
  // Two files describing one app: the second is the problem.
  const one = `apiVersion: appwarden/v1\nkind: AppCatalog\napps:\n  - id: "slack"\n    name: Slack\n`;
  try {
    loadPolicyFromFiles({ 'orgs/acme.yaml': ORG, 'apps/a.yaml': one, 'apps/b.yaml': one });
    assert.unreachable('accepted');
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_policy'), String(err));
    const [issue] = (err as { issues: { file?: string; line?: number; message: string }[] }).issues;
    assert.equal([issue?.file, issue?.line], ['apps/b.yaml', 4]);
    assert.match(issue?.message ?? '', /described twice/);
  }
  const ok = loadPolicyFromFiles({ 'orgs/acme.yaml': ORG, 'apps/a.yaml': one });
  assert.is(ok.catalog.slack?.name, 'Slack');
});

test('the catalog changes no revision, yet an edit of it goes live on reload', async () => {
  const s = await setup();
  try {
    const rev = s.engine.revision;
    writeFileSync(
      join(s.dir, 'apps', 'catalog.yaml'),
      'apiVersion: appwarden/v1\nkind: AppCatalog\napps:\n  - id: "cal-bot"\n    name: Calendar Bot\n    developer: Bots Inc.\n',
    );
    const r = await s.engine.load();
    assert.is(r.revision, rev);
    assert.is(s.engine.catalog['cal-bot']?.developer, 'Bots Inc.');
    assert.is(s.engine.catalog.A0F7XDUAZ, undefined);
  } finally {
    await s.close();
  }
});

test('the example catalog describes apps of the example traffic, with their names and scopes', async () => {
  const { APPS } = await import('../examples/traffic/apps.ts');
  const engine = createEngine({ policyDir: join(root, 'examples', 'policy-repo') });
  await engine.load();
  const catalog = Object.values(engine.catalog);
  assert.ok(catalog.length >= 3);
  for (const c of catalog) {
    const app = APPS.find((a) => a.id === c.id);
    assert.ok(app, `${c.id} is an app of examples/traffic/apps.ts`);
    assert.equal([c.name, c.developer, c.scopes], [app?.name, app?.developer, app?.scopes]);
  }
  engine.close();
});

test.run();
