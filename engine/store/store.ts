// The store's interface (SPEC §6 runtime state): policy history, the decision log and the token registry, behind one small
// async surface so SQLite (default), memory (tests) and a later PostgreSQL backend are interchangeable.
import { EngineError } from '../errors.ts';
import type { HistoryRevision } from '../history.ts';
import type { NewNotification, Notification, NotificationStatus } from '../notify/types.ts';
import { DAY } from '../time.ts';
import type { PatSetting } from '../types.ts';

/**
 * One org's row of a revision going live (SPEC §5, §6 "policy history: per org, each revision made live
 * and when"). The engine writes one per org each time a new revision goes live.
 */
export interface GoLiveRecord {
  org: string;
  /** The revision that went live (DESIGN §5). */
  revision: string;
  /** When it went live, epoch seconds UTC. */
  at: number;
  /** The org's `tokens.expiration` in days then; null for `default`. */
  expiration_days: number | null;
  /** The org's `tokens.personal_access_tokens` then. */
  personal_access_tokens: PatSetting;
  /** The org's canonical settings JSON (its data document entry), when the engine has it. */
  settings_json?: string;
}

/** A PolicyHistory imported with `appwarden history import` (SPEC §5): one per org, replaced on re-import. */
export interface ImportedHistory {
  org: string;
  /** The file it was imported from, as given to the CLI (for messages). */
  file: string;
  /** Oldest first; `at` in epoch seconds UTC. */
  revisions: HistoryRevision[];
  /** When it was imported, epoch seconds UTC. */
  imported_at: number;
}

/**
 * One decision served (SPEC §6 decision log; OPA's decision-log event fields, flattened). Never a token
 * secret: only ids, types, the role and the outcome are kept.
 */
export interface DecisionRecord {
  decision_id: string;
  /** When it was decided, epoch **milliseconds** UTC (a log needs sub-second order for humans). */
  at_ms: number;
  /** `context.org`, lower-cased. */
  org: string;
  /** `action.name`. */
  action: string;
  subject_type: string;
  subject_id: string;
  /** `subject.properties.role` for users; null otherwise. */
  subject_role: string | null;
  resource_type: string;
  /** Null for resources without an id (`token.create`, `api.use`). */
  resource_id: string | null;
  decision: boolean;
  /** `context.reason.code`. */
  reason: string;
  revision: string;
  /** Time spent deciding (validation, input, Wasm evaluation), microseconds. */
  latency_us: number;
  /**
   * The decision's input as the caller sent it, minus `subject.properties.email` (DESIGN §7): what impact
   * replay re-evaluates under another revision. Secret-looking values never get this far (SPEC §4 rejects
   * them). Null on rows logged before the store's migration 7.
   */
  input: Record<string, unknown> | null;
}

/** A page request of {@link Store.queryDecisions}; newest first. */
export interface DecisionQuery {
  org: string;
  /** Inclusive lower bound, epoch milliseconds UTC. */
  since_ms?: number;
  /** Exclusive upper bound, epoch milliseconds UTC. */
  until_ms?: number;
  action?: string;
  reason?: string;
  /** A subject id. */
  subject?: string;
  /** Page size, 1..1000. */
  limit: number;
  /** `next_cursor` of the previous page (same filters). */
  cursor?: string;
}

/** One page of decisions, newest first; `next_cursor` is null on the last page. */
export interface DecisionPage {
  decisions: DecisionRecord[];
  next_cursor: string | null;
}

/** `personal_access` | `service_account` (SPEC §4 `resource.properties.kind`). */
export type TokenKind = 'personal_access' | 'service_account';

/**
 * One token as an org's registry knows it (SPEC §6 "token registry"). Keyed by (org, id): the registry of an
 * org holds the tokens decided for that org, with their last use there; a revocation is per org (its super
 * admins revoke it there). The server mints no token: rows come from decisions (see {@link TokenSighting}).
 * Times are epoch seconds UTC.
 */
export interface TokenRecord {
  org: string;
  id: string;
  kind: TokenKind;
  /** The owner's user id (`resource.properties.owner`, or the creating user); null when not told. */
  owner: string | null;
  /**
   * The owner's email, lower-cased (the `subject.properties.email` of a decision whose subject is the owner,
   * or of the creating user): where token emails go (SPEC §6). The first one told is kept; null when none was.
   */
  owner_email: string | null;
  service_account: string | null;
  /** When the token was created (token.create: the decision time; token.use: `created_at`), if known. */
  created_at: number | null;
  /** When the registry first saw it. */
  first_seen: number;
  /** `token.create` or `token.use`: the decision that registered it. */
  registered_by: 'token.create' | 'token.use';
  /** The last allowed use in this org. */
  last_used_at: number | null;
  /** The earliest expiry a decision told (its `advice.expires_at`); null when none did. */
  expires_at: number | null;
  /** Null while not revoked. */
  revoked: { at: number; by: string; reason: string | null } | null;
}

/**
 * What one decision tells the registry about a token: written in the decision log's group commit
 * (never slowing the answer beyond that commit). Merged into the row by {@link mergeSighting}.
 */
export interface TokenSighting {
  org: string;
  id: string;
  action: 'token.create' | 'token.use';
  kind: TokenKind;
  owner: string | null;
  /** The subject's email, lower-cased, when the subject is a user and the owner (or creating it); else null. */
  owner_email: string | null;
  service_account: string | null;
  created_at: number | null;
  /** The decision time, epoch seconds UTC. */
  at: number;
  /** True for an allowed token.use (updates `last_used_at`). */
  used: boolean;
  /** The decision's `advice.expires_at`, epoch seconds. */
  expires_at: number | null;
  /** The decision found the token revoked by the policy itself (PATs turned off, SPEC §5): record it. */
  revoke?: { by: string; reason: string };
}

/** Filters of {@link Store.listTokens}. */
export interface TokenQuery {
  org: string;
  /** `revoked`: only revoked; `unrevoked`: only not revoked; `all` (default). */
  revoked?: 'revoked' | 'unrevoked' | 'all';
  owner?: string;
  kind?: TokenKind;
}

/** A revocation (SPEC §6 "revoke a token"). */
export interface TokenRevocation {
  org: string;
  id: string;
  /** Epoch seconds UTC. */
  at: number;
  /** The admin's email, or `policy`. */
  by: string;
  reason: string | null;
}

/** `pending` → `approved` (a revision approving the app went live) | `denied` (a super admin said no). */
export type RequestStatus = 'pending' | 'approved' | 'denied';

/**
 * An app approval request (SPEC §6): a user of `org` asks for `app_id`. One pending request per (org, app,
 * requester): asking again merges into it (`asks` counts). Times epoch seconds UTC.
 */
export interface ApprovalRequest {
  id: string;
  org: string;
  app_id: string;
  app_name: string | null;
  requester_id: string;
  requester_email: string;
  /** The latest note the requester gave. */
  note: string | null;
  status: RequestStatus;
  /** How many times the requester asked while it was pending (1 + merges). */
  asks: number;
  created_at: number;
  updated_at: number;
  /** When and by whom it left `pending` (`policy` for an approval by a revision going live), and why. */
  decided_at: number | null;
  decided_by: string | null;
  reason: string | null;
}

/** What a platform call asks for ({@link Store.createApprovalRequest}). */
export interface NewApprovalRequest {
  /** The id to give a new request (unused when merged). */
  id: string;
  org: string;
  app_id: string;
  app_name: string | null;
  requester_id: string;
  requester_email: string;
  note: string | null;
  at: number;
}

/**
 * One status change of a request, kept for the notification outbox (SPEC §6 emails: request to the
 * recipients, confirmation and decision to the requester). `seq` orders them across the store.
 */
export interface RequestEvent {
  seq: number;
  request_id: string;
  org: string;
  at: number;
  type: 'created' | 'merged' | 'approved' | 'denied';
  by: string | null;
  reason: string | null;
}

/** Days a user counts as an app's active member after their last use (SPEC §6 "active members"). */
export const ACTIVE_MEMBER_DAYS = 30;
/** Days of per-user usage kept and counted (SPEC §6 "uses in the last 90 days"). */
export const USAGE_DAYS = 90;
/** Seconds in a UTC day (time.ts `DAY`): usage is counted per UTC day (`day = floor(at / 86400)`). */
export const DAY_SECONDS = DAY;

/**
 * What one allowed `app.connect` / `app.use` decision tells the connected-apps tables (SPEC §6): written in
 * the decision log's group commit, like {@link TokenSighting}. Times epoch seconds UTC.
 */
export interface UsageSighting {
  org: string;
  app_id: string;
  user_id: string;
  /** `subject.properties.email`, lower-cased; null when not told. */
  email: string | null;
  /** `resource.properties.name`, when the decision input carried one (the latest wins). */
  app_name: string | null;
  /** `resource.properties.scopes` of an `app.connect` (granted scopes; the latest connect wins). */
  scopes: string[] | null;
  at: number;
}

/** One connected app of an org (SPEC §6), with `active_members` counted at the query's `now`. */
export interface ConnectedApp {
  org: string;
  app_id: string;
  /** The latest name a decision told, or null. */
  name: string | null;
  /** The scopes of the latest allowed app.connect that named them, or null. */
  scopes: string[] | null;
  first_seen: number;
  last_activity: number;
  /** Distinct users with a use in the last {@link ACTIVE_MEMBER_DAYS} days (UTC days, today included). */
  active_members: number;
}

/** One user's usage of one app in one org (SPEC §6): uses in the last {@link USAGE_DAYS} days and last use. */
export interface AppUserUsage {
  org: string;
  app_id: string;
  user_id: string;
  email: string | null;
  /** Uses on the last {@link USAGE_DAYS} UTC days, today included. */
  uses_90d: number;
  last_used: number;
}

/** The first UTC day counted in a window of `days` days ending with the day of `now` (inclusive). */
export function windowStartDay(now: number, days: number): number {
  return Math.floor(now / DAY_SECONDS) - days + 1;
}

/** A member's join in an org (item 7 of the durable-state issue; SPEC §5 "joining an org"). */
export interface MemberJoin {
  org: string;
  user_id: string;
  role: 'member' | 'guest';
  /** Epoch seconds UTC. */
  joined_at: number;
  /** When the event was recorded. */
  recorded_at: number;
}

/** An app blocked for one user because they joined an org in `require_approval` mode where it is not approved. */
export interface MemberBlockedApp {
  org: string;
  user_id: string;
  app_id: string;
  /** Epoch seconds UTC. */
  at: number;
}

/** What {@link Store.recordGoLive} changed besides the history. */
export interface GoLiveResult {
  /** PAT ids revoked by the sweep, per org. */
  swept: Map<string, string[]>;
  /** The registry rows revoked by the sweep, per org, after their revocation (same order as `swept`). */
  sweptTokens: Map<string, TokenRecord[]>;
  /** Pending requests that the revision approved. */
  approved: ApprovalRequest[];
}

/** Who revokes the PATs swept when PATs are turned off (SPEC §5), and why. */
export const PAT_SWEEP = { by: 'policy', reason: 'personal access tokens turned off' } as const;

/**
 * Merges what a decision told about a token into its registry row (both backends use this, so they agree):
 * the first values of kind, owner, service account and creation are kept; `last_used_at` only moves forward;
 * `expires_at` only moves earlier (the strictest expiry told wins, SPEC §5); a revocation is never undone
 * nor overwritten.
 */
export function mergeSighting(row: TokenRecord | null, s: TokenSighting): TokenRecord {
  const revoked = row?.revoked ?? (s.revoke ? { at: s.at, by: s.revoke.by, reason: s.revoke.reason } : null);
  if (!row) {
    return {
      org: s.org,
      id: s.id,
      kind: s.kind,
      owner: s.owner,
      owner_email: s.owner_email,
      service_account: s.service_account,
      created_at: s.created_at,
      first_seen: s.at,
      registered_by: s.action,
      last_used_at: s.used ? s.at : null,
      expires_at: s.expires_at,
      revoked,
    };
  }
  return {
    ...row,
    owner: row.owner ?? s.owner,
    owner_email: row.owner_email ?? s.owner_email,
    service_account: row.service_account ?? s.service_account,
    created_at: row.created_at ?? s.created_at,
    last_used_at: s.used && (row.last_used_at === null || s.at > row.last_used_at) ? s.at : row.last_used_at,
    expires_at:
      s.expires_at !== null && (row.expires_at === null || s.expires_at < row.expires_at)
        ? s.expires_at
        : row.expires_at,
    revoked,
  };
}

/** True when `r` passes the filters of `q` (both backends filter with this). */
export function matchesTokenQuery(r: TokenRecord, q: TokenQuery): boolean {
  if (r.org !== q.org) return false;
  if (q.revoked === 'revoked' && r.revoked === null) return false;
  if (q.revoked === 'unrevoked' && r.revoked !== null) return false;
  if (q.owner !== undefined && r.owner !== q.owner) return false;
  if (q.kind !== undefined && r.kind !== q.kind) return false;
  return true;
}

/**
 * The store (STYLE.md: Cerbos's `internal/storage/store.go` shape: one interface, one file per backend).
 *
 * Every method is async although SQLite is synchronous: a PostgreSQL backend (several replicas, SPEC §6)
 * can then implement the same interface unchanged, and callers already await. The hot path stays off
 * the store: `engine.decide` reads its settings timeline from memory; only a reload and the decision log
 * (batched, see `decision-log.ts`) touch it.
 *
 * Failures reject with EngineError `io_error` (the cause attached).
 */
export interface Store {
  /** `sqlite` | `memory` (| `postgres` later), for logs and /health. */
  readonly kind: string;
  /** Where it lives: a file path, or `:memory:`. */
  readonly location: string;
  /**
   * Records a revision going live for each org given, in one transaction; with `sweepPats`, in the same
   * transaction every unrevoked PAT of those orgs is marked revoked by {@link PAT_SWEEP} at its record's
   * `at` (SPEC §5: a revision that turns PATs off revokes every PAT that exists); with `approvedApps`
   * (the approved app ids per org of the revision), every pending request for one of them becomes
   * `approved` by `policy` (SPEC §6), with an `approved` event.
   */
  recordGoLive(
    records: readonly GoLiveRecord[],
    opts?: {
      sweepPats?: readonly string[];
      approvedApps?: Readonly<Record<string, readonly string[]>>;
      /** Composes the emails of what changed (see {@link Notify}). */
      notify?: Notify<GoLiveResult>;
    },
  ): Promise<GoLiveResult>;
  /**
   * Files an approval request, or merges it into the requester's pending request for the same app (note
   * replaced when given, `asks` + 1), with a `created` or `merged` event, in one transaction; with `notify`,
   * its emails in that transaction too (see {@link Notify}).
   */
  createApprovalRequest(
    r: NewApprovalRequest,
    notify?: Notify<{ request: ApprovalRequest; merged: boolean }>,
  ): Promise<{ request: ApprovalRequest; merged: boolean }>;
  /** An org's requests, newest first; filtered by status and app when given. */
  listApprovalRequests(q: { org: string; status?: RequestStatus; app?: string }): Promise<ApprovalRequest[]>;
  /** One request of `org`, or null. */
  getApprovalRequest(org: string, id: string): Promise<ApprovalRequest | null>;
  /**
   * Denies a pending request (with a `denied` event). Not pending: unchanged (`changed: false`), so a
   * repeated deny is idempotent and an approved request stays approved. With `notify`, its emails in the
   * same transaction (see {@link Notify}; called whatever `changed` is: compose nothing when it is false).
   */
  denyApprovalRequest(
    d: {
      org: string;
      id: string;
      at: number;
      by: string;
      reason: string;
    },
    notify?: Notify<{ request: ApprovalRequest | null; changed: boolean }>,
  ): Promise<{ request: ApprovalRequest | null; changed: boolean }>;
  /** Status changes, oldest first; of one request when `requestId` is given. */
  requestEvents(q: { org: string; requestId?: string }): Promise<RequestEvent[]>;
  /** Every go-live row, oldest first (by `at`, then insertion); only `org`'s when given. */
  goLives(org?: string): Promise<GoLiveRecord[]>;
  /** Saves an imported PolicyHistory, replacing an earlier import for the same org. */
  importHistory(history: ImportedHistory): Promise<void>;
  /** Every imported PolicyHistory, sorted by org. */
  importedHistories(): Promise<ImportedHistory[]>;
  /** Drops `org`'s imported PolicyHistory; resolves true when there was one. */
  removeImportedHistory(org: string): Promise<boolean>;
  /**
   * Appends decisions, and merges what they told the token registry and the connected apps, in one transaction: all are durable
   * when it resolves, or none on rejection.
   */
  appendDecisions(
    records: readonly DecisionRecord[],
    tokens?: readonly TokenSighting[],
    usage?: readonly UsageSighting[],
  ): Promise<void>;
  /**
   * An org's connected apps (apps with at least one allowed app.connect / app.use), by last activity, newest
   * first; `active_members` counted at `now` (epoch seconds).
   */
  listConnectedApps(org: string, now: number): Promise<ConnectedApp[]>;
  /** One connected app, or null. */
  getConnectedApp(org: string, appId: string, now: number): Promise<ConnectedApp | null>;
  /**
   * Per-user usage of an org's apps at `now`: every (app, user) with a use in the last {@link USAGE_DAYS}
   * days, by app then user; of one app when `appId` is given.
   */
  appUsage(org: string, now: number, appId?: string): Promise<AppUserUsage[]>;
  /**
   * Records a member joining an org (the latest join per user wins) and, in the same transaction, the apps
   * blocked for them (added to what is recorded; SPEC §6 "a guest joining ... whose unapproved apps stop working").
   */
  recordMemberJoin(join: MemberJoin, blockedApps: readonly string[], notify?: Notify<void>): Promise<void>;
  /** One member's join, or null. */
  getMemberJoin(org: string, userId: string): Promise<MemberJoin | null>;
  /** Every recorded join time: org → user id → joined_at (the engine's in-memory join map). */
  memberJoinTimes(): Promise<Map<string, Map<string, number>>>;
  /** The apps blocked for a member by their join, oldest first. */
  memberBlockedApps(org: string, userId: string): Promise<MemberBlockedApp[]>;
  /** An org's registry rows matching `query`, by first seen then id. */
  listTokens(query: TokenQuery): Promise<TokenRecord[]>;
  /** One registry row, or null. */
  getToken(org: string, id: string): Promise<TokenRecord | null>;
  /**
   * Revokes a registered token; idempotent: an already revoked token keeps its first revocation. With
   * `notify`, its emails in the same transaction (see {@link Notify}; called whatever `changed` is).
   * @returns the row after it (null when the registry does not know the token) and whether this call revoked it
   */
  revokeToken(
    r: TokenRevocation,
    notify?: Notify<{ token: TokenRecord | null; changed: boolean }>,
  ): Promise<{ token: TokenRecord | null; changed: boolean }>;
  /** Every revoked token id, per org (the engine's in-memory revocation set is loaded from this). */
  revokedTokenIds(): Promise<Map<string, string[]>>;
  /** One page of an org's decisions, newest first, filtered. @throws EngineError `invalid_input` on a bad cursor */
  queryDecisions(query: DecisionQuery): Promise<DecisionPage>;
  /** The decision with this id, or null. */
  getDecision(decisionId: string): Promise<DecisionRecord | null>;
  /**
   * Queues emails (the notification outbox, SPEC §6) outside an event, e.g. a sweep or an export. A row whose
   * `dedupe_key` is already queued (in any status, also from before a restart) is ignored.
   * @param at when they are queued and first due, epoch seconds UTC
   * @returns how many rows were inserted
   * @throws EngineError `invalid_input` when a row has no recipient or no dedupe key (nothing is queued)
   */
  enqueueNotifications(rows: readonly NewNotification[], at: number): Promise<number>;
  /**
   * Claims up to `limit` due rows for one worker, oldest first, atomically (two workers never claim the same
   * row): `pending` rows with `next_attempt_at <= now`, and `sending` rows whose lease ran out (a crashed
   * worker's). Each becomes `sending` with `next_attempt_at = now + leaseSeconds` and `attempts + 1`.
   * SPEC §6 "retried until delivered"; `now` epoch seconds UTC, `leaseSeconds` seconds.
   * @throws EngineError `io_error` when the store cannot be written
   */
  claimNotifications(now: number, limit: number, leaseSeconds: number): Promise<Notification[]>;
  /**
   * Marks a row `sent` at `at` (epoch seconds UTC), whatever worker claimed it last: the email was accepted.
   * @throws EngineError `io_error`
   */
  markNotificationSent(id: string, at: number): Promise<void>;
  /**
   * Records a failed attempt of a `sending` row at `at`: `pending` again, due at `retryAt`, or `dead` when
   * `retryAt` is null (both epoch seconds UTC). `error` is kept as `last_error` (the caller keeps secrets out
   * of it). A row no longer `sending` (sent meanwhile by a worker that re-claimed it) is left as it is.
   * @throws EngineError `io_error`
   */
  markNotificationFailed(id: string, at: number, error: string, retryAt: number | null): Promise<void>;
  /** Queued emails, newest first (by `created_at`, then insertion); filtered by org and status; `limit` (default 100). */
  listNotifications(q: NotificationQuery): Promise<Notification[]>;
  /** One queued email, or null. */
  getNotification(id: string): Promise<Notification | null>;
  /** The queued email with this dedupe key (unique), or null: how a caller finds the row it just queued. */
  getNotificationByKey(dedupeKey: string): Promise<Notification | null>;
  /**
   * Makes a `dead` or `pending` row, or a `sending` row whose claim ran out (`next_attempt_at <= at`: its
   * worker died), due now (`pending`, `next_attempt_at = at`, epoch seconds UTC). A `dead` row starts over
   * with `attempts = 0` (a full set of attempts again; `last_error` kept until the next attempt); a row a
   * live worker holds and a `sent` row are unchanged (a sent email is never re-sent by a retry).
   * @returns the row after it, or null when there is no such row
   */
  retryNotification(id: string, at: number): Promise<Notification | null>;
  /** How many rows are in each status (every status present, 0 when none): the outbox gauge. */
  notificationCounts(): Promise<Record<NotificationStatus, number>>;
  /** Closes the store; later calls reject. Idempotent. */
  close(): Promise<void>;
}

/**
 * Composes the emails of an event from its result, inside the event's transaction: the rows it returns are
 * queued in that same transaction ({@link Store.enqueueNotifications} rules: a known `dedupe_key` is ignored),
 * so an event and its emails are durable together or not at all. It must be synchronous and must not call
 * the store; a throw rolls the event back and the method rejects (with the thrown error when it is an
 * EngineError, else `io_error`).
 */
export type Notify<R> = (res: R) => readonly NewNotification[];

/** Filters of {@link Store.listNotifications}. */
export interface NotificationQuery {
  org?: string;
  status?: NotificationStatus;
  /** 1..1000; default 100. */
  limit?: number;
}

/** The default and largest page of {@link Store.listNotifications}. */
export const NOTIFICATION_PAGE = { default: 100, max: 1000 } as const;

/**
 * Checks rows about to be queued (both backends use this, before writing anything).
 * @throws EngineError `invalid_input` naming the row and field
 */
export function checkNotifications(rows: readonly NewNotification[]): void {
  const issues: { path: string; message: string }[] = [];
  rows.forEach((r, i) => {
    if (!Array.isArray(r.to) || r.to.length === 0 || r.to.some((t) => typeof t !== 'string' || t === '')) {
      issues.push({
        path: `notifications[${i}].to`,
        message: `${r.kind} email needs at least one recipient`,
      });
    }
    if (typeof r.dedupe_key !== 'string' || r.dedupe_key === '') {
      issues.push({ path: `notifications[${i}].dedupe_key`, message: `${r.kind} email needs a dedupe key` });
    }
  });
  if (issues.length > 0) throw new EngineError('invalid_input', issues);
}

/** The largest page {@link Store.queryDecisions} serves. */
export const MAX_DECISION_PAGE = 1000;

/**
 * Encodes a position in the decision log (the backend's insertion sequence) as an opaque cursor. Callers
 * must not parse it: its form may change with the backend.
 */
export function encodeCursor(seq: number): string {
  return Buffer.from(`d1:${seq}`, 'utf8').toString('base64url');
}

/**
 * Decodes {@link encodeCursor}.
 * @throws EngineError `invalid_input` (path `cursor`) when it is not a cursor this server made.
 */
export function decodeCursor(cursor: string): number {
  const m = /^d1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) {
    throw new EngineError('invalid_input', [
      { path: 'cursor', message: 'cursor is not one this server gave; pass next_cursor as it came' },
    ]);
  }
  return Number(m[1]);
}

/** Wraps what a backend library throws into the engine's error (STYLE.md: wrap at the boundary). */
export function storeError(what: string, location: string, err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  return new EngineError('io_error', `store ${location}: cannot ${what}: ${(err as Error)?.message ?? err}`, {
    cause: err,
  });
}
