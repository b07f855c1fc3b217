// The one place that lists every email (SPEC §6) and renders it: subject, plain text and HTML from a queued
// notification's facts. Rows keep facts, not text, so a template fix reaches every email still queued.
import { EngineError, type Issue } from '../errors.ts';
import { formatRfc3339 } from '../time.ts';
import type { Notification, NotificationKind } from './types.ts';

/** What rendering needs besides the row. */
export interface RenderContext {
  /** Base URL for links (config `public_url`), no trailing slash. */
  publicUrl: string;
  /** The org's display name (`metadata.name`), or the org id when the org has no live policy. */
  orgName: (org: string) => string;
}

/** A rendered email. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** One row of {@link EMAILS}: an email kind, who receives it and when it is sent. */
export interface EmailSpec {
  kind: NotificationKind;
  /** Who receives it (Markdown). */
  to: string;
  /** When it is queued (Markdown). */
  when: string;
}

/**
 * Every email the product sends (SPEC §6), in the order the README lists them; the README's "Emails" table
 * is {@link emailsMarkdownTable} of this list (a test keeps them equal).
 */
export const EMAILS: readonly EmailSpec[] = [
  {
    kind: 'approval_request',
    to: "the org's `spec.apps.requests.notify` recipients: `super_admins` (every super admin) and/or the addresses listed",
    when: 'a user asks for an app in a `require_approval` org (`POST /v1/orgs/{org}/approval-requests`); not again when the same user asks again while the request is pending',
  },
  {
    kind: 'request_confirmation',
    to: 'the requester',
    when: 'with the approval request: it was filed and who was told; not again for a repeated ask',
  },
  {
    kind: 'request_decision',
    to: 'the requester',
    when: 'the revision that approves the app goes live (approved), or a super admin denies the request (denied, with the reason); once per request',
  },
  {
    kind: 'token_revoked',
    to: "the token's owner (a PAT: the owner's address a decision told; a service-account token: that address, else the service account's `owner`)",
    when: 'a super admin revokes the token (`DELETE /admin/v1/orgs/{org}/tokens/{id}`, `appwarden tokens revoke`); not for a repeated revocation',
  },
  {
    kind: 'pats_revoked',
    to: 'each owner of a revoked PAT, one email listing all of their tokens',
    when: 'a revision that turns `tokens.personal_access_tokens` off goes live and revokes every PAT of the org',
  },
  {
    kind: 'token_expiring',
    to: "the token's owner (as for `token_revoked`)",
    when: 'the expiry sweep (at start and every 10 minutes) finds an unrevoked token expiring within 7 days; once per token and expiry date',
  },
  {
    kind: 'token_expired',
    to: "the token's owner (as for `token_revoked`)",
    when: 'the expiry sweep finds an unrevoked token that expired in the last 30 days; once per token and expiry date',
  },
  {
    kind: 'guest_apps_blocked',
    to: 'the guest (the `email` of the member-joined event)',
    when: 'a guest joins a `require_approval` org (`POST /v1/orgs/{org}/events/member-joined`) and some of their apps are not approved there',
  },
  {
    kind: 'usage_export',
    to: 'the super admin who asked, with the usage CSV attached',
    when: '`POST /admin/v1/orgs/{org}/apps/usage:email` or `appwarden usage export --email`',
  },
];

/**
 * The README's "Emails" table: one row per {@link EMAILS} entry, columns email, to, when.
 * @returns Markdown, ending with a newline
 */
export function emailsMarkdownTable(): string {
  const rows = EMAILS.map((e) => `| \`${e.kind}\` | ${e.to} | ${e.when} |`);
  return `| email | to | when |\n| --- | --- | --- |\n${rows.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// The facts of each kind (the `data` of its rows; compose.ts builds them). Times are epoch seconds UTC.

/** An approval request as the emails about it tell it. */
export interface RequestFacts {
  request_id: string;
  app_id: string;
  app_name: string | null;
  requester_id: string;
  requester_email: string;
  note: string | null;
  /** When it was filed. */
  created_at: number;
}

/** `approval_request`: the request, to the recipients. */
export type ApprovalRequestData = RequestFacts;

/** `request_confirmation`: the request, to the requester, with how many addresses were told. */
export interface RequestConfirmationData extends RequestFacts {
  notified: number;
}

/** `request_decision`: approved (by the revision that went live) or denied (by whom, why). */
export interface RequestDecisionData extends RequestFacts {
  status: 'approved' | 'denied';
  decided_at: number;
  /** The denying admin's email; `policy` for an approval. */
  decided_by: string;
  /** The denial's reason; null for an approval. */
  reason: string | null;
  /** The revision that approved it; null for a denial. */
  revision: string | null;
}

/** A token as its emails tell it: never its value (the registry holds none), only its id. */
export interface TokenFacts {
  token_id: string;
  kind: 'personal_access' | 'service_account';
  service_account: string | null;
  created_at: number | null;
}

/** `token_revoked`. */
export interface TokenRevokedData extends TokenFacts {
  revoked_at: number;
  revoked_by: string;
  reason: string | null;
}

/** `pats_revoked`: every PAT of one owner revoked when PATs were turned off. */
export interface PatsRevokedData {
  revoked_at: number;
  /** The revision that turned PATs off. */
  revision: string;
  tokens: { token_id: string; created_at: number | null; last_used_at: number | null }[];
}

/** `token_expiring` / `token_expired`. */
export interface TokenExpiryData extends TokenFacts {
  expires_at: number;
}

/** `guest_apps_blocked`. */
export interface GuestAppsBlockedData {
  user_id: string;
  joined_at: number;
  apps: { id: string; name: string | null }[];
  /** Who decides on requests in the org (the expanded `requests.notify`); may be empty. */
  contacts: string[];
}

/** `usage_export`; the CSV is the row's attachment. */
export interface UsageExportData {
  requested_by: string;
  requested_at: number;
  /** Data rows of the CSV (users × apps). */
  rows: number;
  filename: string;
}

// ---------------------------------------------------------------------------------------------------------
// Reading a row's facts: a row from an older or newer version must fail loudly, not render "undefined".

type FieldType = 'string' | 'string?' | 'number' | 'number?';

function checkFields(
  n: Notification,
  data: Record<string, unknown>,
  fields: Record<string, FieldType>,
  at = 'data',
  issues: Issue[] = [],
): Issue[] {
  for (const [name, type] of Object.entries(fields)) {
    const v = data[name];
    const optional = type.endsWith('?');
    if (optional && v === null) continue;
    const want = optional ? type.slice(0, -1) : type;
    const ok = want === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === 'string';
    if (!ok) {
      issues.push({
        path: `${at}.${name}`,
        message: `notification ${n.id} (${n.kind}) needs ${at}.${name} as a ${want}${optional ? ' or null' : ''}`,
      });
    }
  }
  return issues;
}

function fail(issues: Issue[]): never {
  throw new EngineError('invalid_input', issues);
}

const REQUEST_FIELDS: Record<string, FieldType> = {
  request_id: 'string',
  app_id: 'string',
  app_name: 'string?',
  requester_id: 'string',
  requester_email: 'string',
  note: 'string?',
  created_at: 'number',
};
const TOKEN_FIELDS: Record<string, FieldType> = {
  token_id: 'string',
  kind: 'string',
  service_account: 'string?',
  created_at: 'number?',
};

function read<T>(n: Notification, fields: Record<string, FieldType>): T {
  const issues = checkFields(n, n.data, fields);
  if (issues.length > 0) fail(issues);
  return n.data as T;
}

function readList<T>(
  n: Notification,
  name: string,
  fields: Record<string, FieldType> | 'string',
  nonEmpty: boolean,
): T[] {
  const v = n.data[name];
  if (!Array.isArray(v) || (nonEmpty && v.length === 0)) {
    fail([
      {
        path: `data.${name}`,
        message: `notification ${n.id} (${n.kind}) needs data.${name} as a${nonEmpty ? ' non-empty' : 'n'} list`,
      },
    ]);
  }
  const issues: Issue[] = [];
  v.forEach((item, i) => {
    if (fields === 'string') {
      if (typeof item !== 'string')
        issues.push({
          path: `data.${name}[${i}]`,
          message: `notification ${n.id} (${n.kind}) needs data.${name}[${i}] as a string`,
        });
    } else if (item === null || typeof item !== 'object') {
      issues.push({
        path: `data.${name}[${i}]`,
        message: `notification ${n.id} (${n.kind}) needs data.${name}[${i}] as an object`,
      });
    } else checkFields(n, item as Record<string, unknown>, fields, `data.${name}[${i}]`, issues);
  });
  if (issues.length > 0) fail(issues);
  return v as T[];
}

// ---------------------------------------------------------------------------------------------------------
// A tiny document model rendered twice (text and HTML), so both always carry the same facts.

type Block =
  | { p: string }
  | { facts: [label: string, value: string][] }
  | { list: string[] }
  | { link: string; url: string };

interface Draft {
  subject: string;
  blocks: Block[];
  /** Why the reader gets this email (the footer). */
  why: string;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A time for people: `2026-06-08 14:30 UTC` (minutes, floored; always UTC whatever the server's zone). */
export function formatUtc(seconds: number): string {
  const iso = formatRfc3339(seconds);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A date for subjects: `2026-06-08` (UTC). */
const day = (seconds: number) => formatRfc3339(seconds).slice(0, 10);

// No control character (a header break) in a subject, whatever a platform sent as an app name: C0 and C1
// controls, and the Unicode line and paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();

function renderText(d: Draft, footer: string): string {
  const parts = d.blocks.map((b) => {
    if ('p' in b) return b.p;
    if ('facts' in b) return b.facts.map(([k, v]) => `${k}: ${v}`).join('\n');
    if ('list' in b) return b.list.map((x) => `  - ${x}`).join('\n');
    return `${b.link}:\n${b.url}`;
  });
  return `${[...parts, `--\n${d.why}\n${footer}`].join('\n\n')}\n`;
}

function renderHtml(d: Draft, footer: string, orgName: string): string {
  const e = escapeHtml;
  const body = d.blocks
    .map((b) => {
      if ('p' in b) return `<p>${e(b.p)}</p>`;
      if ('facts' in b) {
        const rows = b.facts
          .map(
            ([k, v]) =>
              `<tr><th align="left" valign="top" style="padding:2px 12px 2px 0">${e(k)}</th><td style="padding:2px 0">${e(v)}</td></tr>`,
          )
          .join('');
        return `<table role="presentation" cellspacing="0" cellpadding="0">${rows}</table>`;
      }
      if ('list' in b) return `<ul>${b.list.map((x) => `<li>${e(x)}</li>`).join('')}</ul>`;
      return `<p><a href="${e(b.url)}">${e(b.link)}</a></p>`;
    })
    .join('\n');
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${e(d.subject)}</title></head>\n` +
    `<body style="font-family:sans-serif;font-size:14px;line-height:1.5;color:#222">\n` +
    `<p style="color:#666">${e(orgName)}</p>\n${body}\n` +
    `<hr><p style="color:#666;font-size:12px">${e(d.why)}<br>${e(footer)}</p>\n</body></html>\n`
  );
}

const appLabel = (id: string, name: string | null | undefined) => (name ? `${name} (${id})` : id);

/**
 * A value as one shell word, for the commands an email suggests: an admin pastes them into a shell, and an
 * app name or id comes from a requester (`'; rm -rf ~'` must stay text).
 */
function shq(v: string): string {
  return /^[A-Za-z0-9._@:/=+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

const tokenLabel = (t: TokenFacts) =>
  t.kind === 'service_account' && t.service_account
    ? `${t.token_id} (service account ${t.service_account})`
    : t.token_id;

function requestFacts(r: RequestFacts, withRequester: boolean): [string, string][] {
  const facts: [string, string][] = [['App', appLabel(r.app_id, r.app_name)]];
  if (withRequester) facts.push(['Requested by', `${r.requester_email} (user ${r.requester_id})`]);
  facts.push(['Asked at', formatUtc(r.created_at)]);
  if (r.note) facts.push(['Note', r.note]);
  facts.push(['Request id', r.request_id]);
  return facts;
}

function tokenFacts(t: TokenFacts): [string, string][] {
  const facts: [string, string][] = [
    ['Token id', t.token_id],
    ['Kind', t.kind === 'service_account' ? 'service-account token' : 'personal access token'],
  ];
  if (t.service_account) facts.push(['Service account', t.service_account]);
  if (t.created_at !== null) facts.push(['Created', formatUtc(t.created_at)]);
  return facts;
}

/** Builds the draft of one row (the kind's template). */
function draftOf(n: Notification, ctx: RenderContext, org: string): Draft {
  const base = ctx.publicUrl.replace(/\/+$/, '');
  const seg = encodeURIComponent;
  const orgUrl = `${base}/admin/v1/orgs/${seg(n.org)}`;
  switch (n.kind) {
    case 'approval_request': {
      const r = read<ApprovalRequestData>(n, REQUEST_FIELDS);
      const app = appLabel(r.app_id, r.app_name);
      return {
        subject: `${r.requester_email} asks to use ${app}`,
        blocks: [
          { p: `${r.requester_email} asks for ${app} in ${org}, which works by approval.` },
          { facts: requestFacts(r, true) },
          { link: 'The request', url: `${orgUrl}/approval-requests/${seg(r.request_id)}` },
          {
            p:
              `To approve it, add the app to spec.apps.approved in the org's policy file by a pull request ` +
              `(in a checkout of the policy repository, appwarden apps approve ${shq(r.app_id)} ` +
              `${r.app_name ? `--name ${shq(r.app_name)} ` : ''}--org ${shq(n.org)} --policy . writes the change); ` +
              `the request closes and ${r.requester_email} is told when that revision goes live. ` +
              `To deny it, give a reason: appwarden requests deny ${shq(r.request_id)} --org ${shq(n.org)} ` +
              `--reason '...' --by <your email> (or POST the reason to the request's :deny).`,
          },
        ],
        why: `You receive this as an approval-request recipient of ${org} (spec.apps.requests.notify).`,
      };
    }
    case 'request_confirmation': {
      const r = read<RequestConfirmationData>(n, { ...REQUEST_FIELDS, notified: 'number' });
      const app = appLabel(r.app_id, r.app_name);
      return {
        subject: `Your request for ${app} was sent`,
        blocks: [
          {
            p:
              r.notified > 0
                ? `Your request to use ${app} in ${org} was sent to the org's admins (${r.notified} recipient${r.notified === 1 ? '' : 's'}).`
                : `Your request to use ${app} in ${org} was filed; the org has no approval-request recipients configured, so ask its admins directly.`,
          },
          { facts: requestFacts(r, false) },
          {
            p: `You will get another email when it is decided. Asking again while it is pending does not send it again.`,
          },
        ],
        why: `You receive this because you asked for an app in ${org} (${r.requester_email}).`,
      };
    }
    case 'request_decision': {
      const r = read<RequestDecisionData>(n, {
        ...REQUEST_FIELDS,
        status: 'string',
        decided_at: 'number',
        decided_by: 'string',
        reason: 'string?',
        revision: 'string?',
      });
      const app = appLabel(r.app_id, r.app_name);
      if (r.status === 'approved') {
        return {
          subject: `${app} was approved`,
          blocks: [
            { p: `Your request to use ${app} in ${org} was approved. You can connect the app now.` },
            {
              facts: [
                ...requestFacts(r, false),
                ['Approved at', formatUtc(r.decided_at)],
                ...(r.revision ? ([['Policy revision', r.revision]] as [string, string][]) : []),
              ],
            },
          ],
          why: `You receive this because you asked for this app in ${org} (${r.requester_email}).`,
        };
      }
      if (r.status !== 'denied') {
        fail([{ path: 'data.status', message: `notification ${n.id}: status must be approved or denied` }]);
      }
      return {
        subject: `Your request for ${app} was denied`,
        blocks: [
          { p: `Your request to use ${app} in ${org} was denied.` },
          {
            facts: [
              ['Reason', r.reason ?? '(none given)'],
              ['Denied by', r.decided_by],
              ['Denied at', formatUtc(r.decided_at)],
              ...requestFacts(r, false),
            ],
          },
          { p: `If you still need it, write to ${r.decided_by} with what you need it for.` },
        ],
        why: `You receive this because you asked for this app in ${org} (${r.requester_email}).`,
      };
    }
    case 'token_revoked': {
      const t = read<TokenRevokedData>(n, {
        ...TOKEN_FIELDS,
        revoked_at: 'number',
        revoked_by: 'string',
        reason: 'string?',
      });
      return {
        subject: `Your token ${t.token_id} was revoked`,
        blocks: [
          {
            p: `An admin of ${org} revoked your token ${tokenLabel(t)}. Every request made with it in ${org} is refused from now on.`,
          },
          {
            facts: [
              ...tokenFacts(t),
              ['Revoked at', formatUtc(t.revoked_at)],
              ['Revoked by', t.revoked_by],
              ['Reason', t.reason ?? '(none given)'],
            ],
          },
          {
            p: `If you still need access, create a new token and replace this one wherever it is used, or ask ${t.revoked_by} why it was revoked.`,
          },
        ],
        why: `You receive this as the owner of the token in ${org}.`,
      };
    }
    case 'pats_revoked': {
      const d = read<PatsRevokedData>(n, { revoked_at: 'number', revision: 'string' });
      const tokens = readList<PatsRevokedData['tokens'][number]>(
        n,
        'tokens',
        { token_id: 'string', created_at: 'number?', last_used_at: 'number?' },
        true,
      );
      const count = tokens.length === 1 ? '1 of your tokens was' : `${tokens.length} of your tokens were`;
      return {
        subject: `Personal access tokens are turned off: ${count} revoked`,
        blocks: [
          {
            p: `${org} turned personal access tokens off, so every personal access token in the org was revoked for good, yours included. They stay revoked if tokens are turned on again: create new ones then.`,
          },
          {
            list: tokens.map(
              (t) =>
                `${t.token_id} (created ${t.created_at === null ? 'unknown' : formatUtc(t.created_at)}, ${t.last_used_at === null ? 'never used' : `last used ${formatUtc(t.last_used_at)}`})`,
            ),
          },
          {
            facts: [
              ['Revoked at', formatUtc(d.revoked_at)],
              ['Policy revision', d.revision],
            ],
          },
        ],
        why: `You receive this as the owner of these tokens in ${org}.`,
      };
    }
    case 'token_expiring':
    case 'token_expired': {
      const t = read<TokenExpiryData>(n, { ...TOKEN_FIELDS, expires_at: 'number' });
      if (n.kind === 'token_expiring') {
        return {
          subject: `Your token ${t.token_id} expires on ${day(t.expires_at)}`,
          blocks: [
            {
              p: `Your token ${tokenLabel(t)} expires at ${formatUtc(t.expires_at)}. From then on every request made with it in ${org} is refused.`,
            },
            { facts: [...tokenFacts(t), ['Expires', formatUtc(t.expires_at)]] },
            {
              p: `Create a new token and replace this one wherever it is used before then. ${org}'s token expiration policy sets the date.`,
            },
          ],
          why: `You receive this as the owner of the token in ${org}, once, when it is 7 days or less from expiring.`,
        };
      }
      return {
        subject: `Your token ${t.token_id} expired on ${day(t.expires_at)}`,
        blocks: [
          {
            p: `Your token ${tokenLabel(t)} expired at ${formatUtc(t.expires_at)}. Every request made with it in ${org} is refused.`,
          },
          { facts: [...tokenFacts(t), ['Expired', formatUtc(t.expires_at)]] },
          { p: `Create a new token if you still need access.` },
        ],
        why: `You receive this as the owner of the token in ${org}.`,
      };
    }
    case 'guest_apps_blocked': {
      const d = read<GuestAppsBlockedData>(n, { user_id: 'string', joined_at: 'number' });
      const apps = readList<{ id: string; name: string | null }>(
        n,
        'apps',
        { id: 'string', name: 'string?' },
        true,
      );
      const contacts = readList<string>(n, 'contacts', 'string', false);
      return {
        subject: `${apps.length === 1 ? '1 of your apps needs' : `${apps.length} of your apps need`} approval in ${org}`,
        blocks: [
          {
            p: `Welcome to ${org}. ${org} lets its members use only the apps its admins approved, so these apps of yours stopped working there when you joined:`,
          },
          { list: apps.map((a) => appLabel(a.id, a.name)) },
          {
            p:
              `How to ask for one: connect the app again in ${org}; you are offered to send an approval request to ` +
              `the org's admins, and you get an email when they decide.` +
              (contacts.length > 0 ? ` You can also write to ${contacts.join(', ')}.` : ''),
          },
          { facts: [['Joined', formatUtc(d.joined_at)]] },
        ],
        why: `You receive this because you joined ${org} as a guest.`,
      };
    }
    case 'usage_export': {
      const d = read<UsageExportData>(n, {
        requested_by: 'string',
        requested_at: 'number',
        rows: 'number',
        filename: 'string',
      });
      return {
        subject: `App usage export (${day(d.requested_at)})`,
        blocks: [
          {
            p: `The per-user app usage of ${org} you asked for is attached (${d.filename}): one row per user and app with a use in the last 90 days, with the uses and the last use.`,
          },
          {
            facts: [
              ['Rows', String(d.rows)],
              ['As of', formatUtc(d.requested_at)],
              ['Requested by', d.requested_by],
            ],
          },
          { link: 'A fresh copy at any time (admin API)', url: `${orgUrl}/apps/usage.csv` },
        ],
        why: `You receive this because you exported the usage of ${org}.`,
      };
    }
    default:
      return fail([
        {
          path: 'kind',
          message: `notification ${n.id} has kind "${String(n.kind)}", which this version does not send`,
        },
      ]);
  }
}

/**
 * Renders a queued notification (SPEC §6): the subject prefixed with the org's display name, a plain-text and
 * an HTML body with the same facts (every value HTML-escaped), times in UTC, links from `ctx.publicUrl`.
 * Rows carry no secret (ids, names, emails, times, reasons), so no message can.
 * @throws EngineError `invalid_input` when the row's kind or data is not one this version renders (issues name
 *   the field)
 */
export function renderNotification(n: Notification, ctx: RenderContext): RenderedEmail {
  const org = ctx.orgName(n.org);
  const draft = draftOf(n, ctx, org);
  const subject = oneLine(`[${org}] ${draft.subject}`);
  const footer = `appwarden for ${org}`;
  return {
    subject,
    text: renderText(draft, footer),
    html: renderHtml({ ...draft, subject }, footer, org),
  };
}
