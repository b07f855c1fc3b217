// Which emails an event queues (SPEC §6), as pure functions from the event's result and the org's live
// settings to outbox rows: the store runs them inside the event's transaction, so an event and its emails
// commit together. Each row's dedupe key names its event, so an event seen twice queues its emails once.
import type { ApprovalRequest, GoLiveResult, MemberJoin, TokenRecord } from '../store/store.ts';
import { DAY } from '../time.ts';
import type { OrgData } from '../types.ts';
import type {
  ApprovalRequestData,
  GuestAppsBlockedData,
  PatsRevokedData,
  RequestConfirmationData,
  RequestDecisionData,
  RequestFacts,
  TokenExpiryData,
  TokenFacts,
  TokenRevokedData,
  UsageExportData,
} from './templates.ts';
import type { NewNotification, NotificationAttachment } from './types.ts';

/** Days before its expiry a token's owner is warned (SPEC §5 "told 7 days before a token expires"). */
export const EXPIRY_WARNING_DAYS = 7;

/**
 * How long after an expiry the `token_expired` email is still sent: a sweep that first runs (an upgrade, a
 * long outage) must not mail owners about tokens that died long ago.
 */
export const EXPIRED_NOTICE_DAYS = 30;

/** Lower-cased, trimmed, first occurrence kept. */
function addresses(list: Iterable<string>): string[] {
  const out: string[] = [];
  for (const a of list) {
    const v = a.trim().toLowerCase();
    if (v !== '' && !out.includes(v)) out.push(v);
  }
  return out;
}

/**
 * The approval-request recipients of an org (SPEC §3 `spec.apps.requests.notify`): the word `super_admins`
 * expands to the org's super admins (in their policy order), other entries are addresses; lower-cased and
 * de-duplicated. Empty when the org has none (no policy, or a list that expands to nobody).
 */
export function requestRecipients(org: OrgData | undefined): string[] {
  if (!org) return [];
  return addresses(
    org.apps.notify.flatMap((entry) =>
      entry === 'super_admins' ? Object.keys(org.admins.super_admins) : [entry],
    ),
  );
}

/**
 * Where a token's emails go: the owner's address a decision told (`owner_email`); for a service-account token
 * without one, the service account's `owner` in the org's live settings. Null when neither is known (then no
 * email is sent: the registry never guesses an address from a user id).
 */
export function tokenOwnerEmail(t: TokenRecord, org: OrgData | undefined): string | null {
  if (t.owner_email) return t.owner_email.toLowerCase();
  if (t.kind === 'service_account' && t.service_account && org) {
    const sa = Object.hasOwn(org.service_accounts, t.service_account)
      ? org.service_accounts[t.service_account]
      : undefined;
    if (sa?.owner) return sa.owner.toLowerCase();
  }
  return null;
}

function requestFacts(r: ApprovalRequest): RequestFacts {
  return {
    request_id: r.id,
    app_id: r.app_id,
    app_name: r.app_name,
    requester_id: r.requester_id,
    requester_email: r.requester_email,
    note: r.note,
    created_at: r.created_at,
  };
}

function tokenFacts(t: TokenRecord): TokenFacts {
  return {
    token_id: t.id,
    kind: t.kind,
    service_account: t.service_account,
    created_at: t.created_at,
  };
}

const asData = (d: object) => d as unknown as Record<string, unknown>;

/**
 * A user asked for an app (SPEC §6): `approval_request` to the org's {@link requestRecipients} (the
 * requester's address in the body) and `request_confirmation` to the requester. A request merged into the
 * requester's pending one (`merged`, they asked again) queues nothing: the admins already have it, and a
 * second mail per click would train them to ignore it; the request's `asks` counts the repeats instead.
 * Dedupe keys `approval_request:<org>:<request id>`, `request_confirmation:<org>:<request id>`.
 * @param org the org's live settings (data document entry) when the request was filed
 */
export function composeRequestCreated(
  res: { request: ApprovalRequest; merged: boolean },
  org: OrgData | undefined,
): NewNotification[] {
  if (res.merged) return [];
  const r = res.request;
  const facts = requestFacts(r);
  const admins = requestRecipients(org);
  const out: NewNotification[] = [];
  if (admins.length > 0) {
    out.push({
      kind: 'approval_request',
      org: r.org,
      to: admins,
      dedupe_key: `approval_request:${r.org}:${r.id}`,
      data: asData(facts satisfies ApprovalRequestData),
    });
  }
  out.push({
    kind: 'request_confirmation',
    org: r.org,
    to: [r.requester_email.toLowerCase()],
    dedupe_key: `request_confirmation:${r.org}:${r.id}`,
    data: asData({ ...facts, notified: admins.length } satisfies RequestConfirmationData),
  });
  return out;
}

/** The `request_decision` of a request that left `pending`; dedupe key `request_decision:<org>:<id>`. */
function decision(r: ApprovalRequest, revision: string | null): NewNotification {
  const data: RequestDecisionData = {
    ...requestFacts(r),
    status: r.status === 'approved' ? 'approved' : 'denied',
    decided_at: r.decided_at ?? r.updated_at,
    decided_by: r.decided_by ?? (r.status === 'approved' ? 'policy' : 'an admin'),
    reason: r.reason,
    revision,
  };
  return {
    kind: 'request_decision',
    org: r.org,
    to: [r.requester_email.toLowerCase()],
    dedupe_key: `request_decision:${r.org}:${r.id}`,
    data: asData(data),
  };
}

/**
 * A super admin denied a request (SPEC §6 "decision to the requester"): `request_decision` (denied, with the
 * reason) to the requester. A repeated deny (`changed: false`) queues nothing.
 */
export function composeRequestDenied(res: {
  request: ApprovalRequest | null;
  changed: boolean;
}): NewNotification[] {
  if (!res.changed || !res.request || res.request.status !== 'denied') return [];
  return [decision(res.request, null)];
}

/**
 * A token was revoked by an admin (SPEC §6 "revoke a token (the owner is emailed)"): `token_revoked` to
 * {@link tokenOwnerEmail}. Nothing when the call changed nothing (a repeated revoke) or no owner address is
 * known. Dedupe key `token_revoked:<org>:<token id>` (a revocation is for good, so once per token).
 * @param org the org's live settings (for a service account's owner)
 */
export function composeTokenRevoked(
  res: { token: TokenRecord | null; changed: boolean },
  org: OrgData | undefined,
): NewNotification[] {
  const t = res.token;
  if (!res.changed || !t?.revoked) return [];
  const to = tokenOwnerEmail(t, org);
  if (!to) return [];
  const data: TokenRevokedData = {
    ...tokenFacts(t),
    revoked_at: t.revoked.at,
    revoked_by: t.revoked.by,
    reason: t.revoked.reason,
  };
  return [
    {
      kind: 'token_revoked',
      org: t.org,
      to: [to],
      dedupe_key: `token_revoked:${t.org}:${t.id}`,
      data: asData(data),
    },
  ];
}

/**
 * A revision went live (SPEC §5, §6): `request_decision` (approved) to each requester whose pending request it
 * approved, and, per org whose PATs it turned off, one `pats_revoked` per owner address listing their swept
 * tokens (PATs with no known owner address are skipped). Dedupe keys `request_decision:<org>:<request id>`,
 * `pats_revoked:<org>:<go-live time>:<owner email>` (PATs turned off, on and off again mail again).
 * @param ctx.revision the revision that went live; `at` when, epoch seconds UTC; `expiredBefore` true for a
 *   swept token already past its expiry at `at` (not listed: it stopped working before, `token_expired` told)
 */
export function composeGoLive(
  res: GoLiveResult,
  ctx: { revision: string; at: number; expiredBefore?: (t: TokenRecord) => boolean },
): NewNotification[] {
  const out: NewNotification[] = res.approved
    .filter((r) => r.status === 'approved')
    .map((r) => decision(r, ctx.revision));
  for (const [org, tokens] of res.sweptTokens) {
    const byOwner = new Map<string, TokenRecord[]>();
    for (const t of tokens) {
      // A token that had expired already stopped working then; its owner was told (token_expired).
      if (ctx.expiredBefore?.(t)) continue;
      const to = tokenOwnerEmail(t, undefined);
      if (!to) continue;
      byOwner.set(to, [...(byOwner.get(to) ?? []), t]);
    }
    for (const [to, list] of byOwner) {
      const data: PatsRevokedData = {
        revoked_at: list[0]?.revoked?.at ?? ctx.at,
        revision: ctx.revision,
        tokens: list.map((t) => ({ token_id: t.id, created_at: t.created_at, last_used_at: t.last_used_at })),
      };
      out.push({
        kind: 'pats_revoked',
        org,
        to: [to],
        dedupe_key: `pats_revoked:${org}:${ctx.at}:${to}`,
        data: asData(data),
      });
    }
  }
  return out;
}

/**
 * A guest joined an org in `require_approval` mode (SPEC §6): `guest_apps_blocked` to the guest, listing the
 * apps that stopped working and whom to ask ({@link requestRecipients}). Nothing for a member (not a guest),
 * without an address, or when no app was blocked. Dedupe key `guest_apps_blocked:<org>:<user>:<joined_at>`
 * (the platform re-sending the same join queues it once).
 * @param appName an app's display name, or null (the catalog, the policy)
 */
export function composeGuestJoined(
  join: MemberJoin,
  email: string | null,
  blockedApps: readonly string[],
  org: OrgData | undefined,
  appName: (id: string) => string | null,
): NewNotification[] {
  if (join.role !== 'guest' || !email || blockedApps.length === 0) return [];
  const data: GuestAppsBlockedData = {
    user_id: join.user_id,
    joined_at: join.joined_at,
    apps: blockedApps.map((id) => ({ id, name: appName(id) })),
    contacts: requestRecipients(org),
  };
  return [
    {
      kind: 'guest_apps_blocked',
      org: join.org,
      to: [email.toLowerCase()],
      dedupe_key: `guest_apps_blocked:${join.org}:${join.user_id}:${join.joined_at}`,
      data: asData(data),
    },
  ];
}

/**
 * An admin asked for the usage export by email (SPEC §6): `usage_export` to them, the CSV attached. Each ask is
 * its own event (`exportId`, e.g. a UUID): dedupe key `usage_export:<org>:<exportId>`.
 * @param e.csv the export's text (what GET …/apps/usage.csv answers); `rows` its data rows; `at` epoch seconds
 */
export function composeUsageExport(e: {
  org: string;
  exportId: string;
  requestedBy: string;
  at: number;
  csv: string;
  rows: number;
  filename: string;
}): NewNotification {
  const data: UsageExportData = {
    requested_by: e.requestedBy.toLowerCase(),
    requested_at: e.at,
    rows: e.rows,
    filename: e.filename,
  };
  const attachment: NotificationAttachment = {
    filename: e.filename,
    content_type: 'text/csv; charset=utf-8',
    content: e.csv,
  };
  return {
    kind: 'usage_export',
    org: e.org,
    to: [e.requestedBy.toLowerCase()],
    dedupe_key: `usage_export:${e.org}:${e.exportId}`,
    data: asData(data),
    attachments: [attachment],
  };
}

/**
 * The expiry email a token is due at `now` (SPEC §5 "Owners are told 7 days before a token expires and when
 * it expires"): `token_expired` when `expiresAt <= now` (and at most {@link EXPIRED_NOTICE_DAYS} ago),
 * `token_expiring` when it is within {@link EXPIRY_WARNING_DAYS} days, else null; null too for a revoked
 * token or one without an owner address. Dedupe keys `<kind>:<org>:<id>:<expires_at>`: once per token,
 * threshold and expiry, whatever the number of sweeps; an expiry moved earlier warns again.
 * @param expiresAt the token's effective expiry, epoch seconds UTC
 */
export function composeTokenExpiry(
  t: TokenRecord,
  expiresAt: number,
  now: number,
  org: OrgData | undefined,
): NewNotification | null {
  if (t.revoked) return null;
  let kind: 'token_expiring' | 'token_expired';
  if (expiresAt <= now) {
    if (now - expiresAt > EXPIRED_NOTICE_DAYS * DAY) return null;
    kind = 'token_expired';
  } else if (expiresAt - now <= EXPIRY_WARNING_DAYS * DAY) kind = 'token_expiring';
  else return null;
  const to = tokenOwnerEmail(t, org);
  if (!to) return null;
  const data: TokenExpiryData = { ...tokenFacts(t), expires_at: expiresAt };
  return {
    kind,
    org: t.org,
    to: [to],
    dedupe_key: `${kind}:${t.org}:${t.id}:${expiresAt}`,
    data: asData(data),
  };
}
