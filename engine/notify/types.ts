// The notification outbox's shared shapes (SPEC §6 emails): what an event enqueues, and what the store keeps.
// Rows hold facts, not rendered text: templates.ts renders them at send time, so one place owns every email.

/**
 * Every email the product sends (SPEC §6), one kind each:
 * - `approval_request`: a user asked for an app → the org's `requests.notify` recipients (`super_admins`
 *   expanded to the org's super admins); the requester's address in the body; a link to the request.
 * - `request_confirmation`: → the requester, when the request is filed.
 * - `request_decision`: → the requester, approved (the approving revision went live) or denied (with reason).
 * - `token_revoked`: an admin revoked a token → its owner.
 * - `pats_revoked`: a revision turned PATs off → each owner, one email listing their revoked tokens.
 * - `token_expiring`: a token expires within 7 days → its owner (once per token and expiry).
 * - `token_expired`: a token expired → its owner (once per token and expiry).
 * - `guest_apps_blocked`: a guest joined an org in `require_approval` mode → the guest: which apps stopped
 *   working and how to ask for them.
 * - `usage_export`: the per-user usage CSV (attached) → the admin who exported it.
 */
export type NotificationKind =
  | 'approval_request'
  | 'request_confirmation'
  | 'request_decision'
  | 'token_revoked'
  | 'pats_revoked'
  | 'token_expiring'
  | 'token_expired'
  | 'guest_apps_blocked'
  | 'usage_export';

/** A file attached to an email (the usage CSV). `content` is the file's text (UTF-8). */
export interface NotificationAttachment {
  filename: string;
  content_type: string;
  content: string;
}

/**
 * One email to queue, written in the same store transaction as the event that causes it. Never a secret in
 * `data` (no token values, no passwords): only ids, names, emails, times (epoch seconds UTC) and reasons.
 */
export interface NewNotification {
  kind: NotificationKind;
  /** The org it is about (lower-case org id). */
  org: string;
  /** Recipient addresses, lower-cased, de-duplicated, at least one. */
  to: string[];
  /**
   * Unique across the outbox: a second enqueue with the same key is ignored, so an event that is seen twice
   * (a sweep that runs again, a restart) queues one email. E.g. `token_expiring:<org>:<token id>:<expires_at>`.
   */
  dedupe_key: string;
  /** The facts the template renders (kind-specific; see templates.ts). JSON-serializable. */
  data: Record<string, unknown>;
  attachments?: NotificationAttachment[];
}

/**
 * `pending` (due at `next_attempt_at`) → `sending` (claimed by a worker until `next_attempt_at`, its lease) →
 * `sent` | back to `pending` (a failed attempt, retried later) | `dead` (the last attempt failed; an admin may
 * retry it). A `sending` row whose lease ran out (its worker crashed) is claimed again.
 */
export type NotificationStatus = 'pending' | 'sending' | 'sent' | 'dead';

/** Every {@link NotificationStatus}, in lifecycle order (for validation and counts). */
export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = ['pending', 'sending', 'sent', 'dead'];

/** A queued email as the store keeps it. Times epoch seconds UTC. */
export interface Notification extends NewNotification {
  /** Stable id; the email's `Message-ID` is derived from it, so a re-send carries the same Message-ID. */
  id: string;
  status: NotificationStatus;
  /** Send attempts made so far. */
  attempts: number;
  created_at: number;
  /** When it is due (pending) or may be re-claimed (sending: the lease's end). */
  next_attempt_at: number;
  sent_at: number | null;
  /** The last failed attempt's error (SMTP reply or connection error; kept after a later success), never a password. */
  last_error: string | null;
}
