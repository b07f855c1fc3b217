// The embedded SQLite store (better-sqlite3): WAL, synchronous=FULL, versioned migrations run at open in
// one transaction and recorded in schema_migrations. The default store of `appwarden serve`.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { EngineError } from '../errors.ts';
import type { NewNotification, Notification, NotificationKind, NotificationStatus } from '../notify/types.ts';
import { NOTIFICATION_STATUSES } from '../notify/types.ts';
import type { PatSetting } from '../types.ts';
import {
  ACTIVE_MEMBER_DAYS,
  type ApprovalRequest,
  type AppUserUsage,
  type ConnectedApp,
  checkNotifications,
  DAY_SECONDS,
  type DecisionPage,
  type DecisionQuery,
  type DecisionRecord,
  decodeCursor,
  encodeCursor,
  type GoLiveRecord,
  type GoLiveResult,
  type ImportedHistory,
  type MemberBlockedApp,
  type MemberJoin,
  mergeSighting,
  NOTIFICATION_PAGE,
  type Notify,
  PAT_SWEEP,
  type RequestEvent,
  type Store,
  storeError,
  type TokenKind,
  type TokenRecord,
  type TokenSighting,
  USAGE_DAYS,
  type UsageSighting,
  windowStartDay,
} from './store.ts';

/** One schema step. Append only: a released migration is never edited, a new one follows it. */
interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The schema, in order. `version` is the row written to schema_migrations when it ran. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'policy history and decision log',
    sql: `
      CREATE TABLE policy_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        org TEXT NOT NULL,
        revision TEXT NOT NULL,
        at INTEGER NOT NULL,                 -- epoch seconds UTC
        expiration_days INTEGER,             -- NULL: default (3,650-day cap only)
        personal_access_tokens TEXT NOT NULL CHECK (personal_access_tokens IN ('enabled', 'disabled')),
        settings_json TEXT
      );
      CREATE INDEX policy_history_org ON policy_history (org, at, seq);
      CREATE TABLE imported_history (
        org TEXT PRIMARY KEY,
        file TEXT NOT NULL,
        revisions_json TEXT NOT NULL,
        imported_at INTEGER NOT NULL         -- epoch seconds UTC
      );
      CREATE TABLE decision_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        decision_id TEXT NOT NULL UNIQUE,
        at_ms INTEGER NOT NULL,              -- epoch milliseconds UTC
        org TEXT NOT NULL,
        action TEXT NOT NULL,
        subject_type TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        subject_role TEXT,
        resource_type TEXT NOT NULL,
        resource_id TEXT,
        decision INTEGER NOT NULL CHECK (decision IN (0, 1)),
        reason TEXT NOT NULL,
        revision TEXT NOT NULL,
        latency_us INTEGER NOT NULL
      );
      CREATE INDEX decision_log_org ON decision_log (org, seq);
      CREATE INDEX decision_log_org_time ON decision_log (org, at_ms);
    `,
  },
  {
    version: 2,
    name: 'token registry',
    sql: `
      CREATE TABLE tokens (
        org TEXT NOT NULL,
        id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('personal_access', 'service_account')),
        owner TEXT,
        service_account TEXT,
        created_at INTEGER,                  -- epoch seconds UTC, as every time here
        first_seen INTEGER NOT NULL,
        registered_by TEXT NOT NULL CHECK (registered_by IN ('token.create', 'token.use')),
        last_used_at INTEGER,
        expires_at INTEGER,
        revoked_at INTEGER,
        revoked_by TEXT,
        revoke_reason TEXT,
        PRIMARY KEY (org, id)
      );
      CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'approval requests and their events',
    sql: `
      CREATE TABLE approval_requests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        org TEXT NOT NULL,
        app_id TEXT NOT NULL,
        app_name TEXT,
        requester_id TEXT NOT NULL,
        requester_email TEXT NOT NULL,
        note TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
        asks INTEGER NOT NULL,
        created_at INTEGER NOT NULL,         -- epoch seconds UTC, as every time here
        updated_at INTEGER NOT NULL,
        decided_at INTEGER,
        decided_by TEXT,
        reason TEXT
      );
      CREATE INDEX approval_requests_org ON approval_requests (org, status, app_id);
      -- At most one pending request per requester and app: asking again merges.
      CREATE UNIQUE INDEX approval_requests_pending ON approval_requests (org, app_id, requester_id)
        WHERE status = 'pending';
      CREATE TABLE request_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL REFERENCES approval_requests (id),
        org TEXT NOT NULL,
        at INTEGER NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('created', 'merged', 'approved', 'denied')),
        by TEXT,
        reason TEXT
      );
      CREATE INDEX request_events_org ON request_events (org, seq);
    `,
  },
  {
    version: 4,
    name: 'connected apps and per-user daily usage',
    sql: `
      CREATE TABLE connected_apps (
        org TEXT NOT NULL,
        app_id TEXT NOT NULL,
        name TEXT,
        scopes_json TEXT,                    -- JSON array of the latest granted scopes
        first_seen INTEGER NOT NULL,         -- epoch seconds UTC, as every time here
        last_activity INTEGER NOT NULL,
        PRIMARY KEY (org, app_id)
      );
      -- One row per user, app and UTC day (day = floor(at / 86400)), pruned past the 90-day window, so
      -- counting uses or active members reads at most 90 rows per user and app.
      CREATE TABLE app_usage_daily (
        org TEXT NOT NULL,
        app_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        uses INTEGER NOT NULL,
        PRIMARY KEY (org, app_id, user_id, day)
      );
      CREATE INDEX app_usage_daily_day ON app_usage_daily (day);
      CREATE TABLE app_users (
        org TEXT NOT NULL,
        app_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        email TEXT,
        last_used INTEGER NOT NULL,
        PRIMARY KEY (org, app_id, user_id)
      );
    `,
  },
  {
    version: 5,
    name: 'member joins and the apps blocked for them',
    sql: `
      CREATE TABLE member_joins (
        org TEXT NOT NULL,
        user_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('member', 'guest')),
        joined_at INTEGER NOT NULL,          -- epoch seconds UTC
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (org, user_id)
      );
      CREATE TABLE member_blocked_apps (
        org TEXT NOT NULL,
        user_id TEXT NOT NULL,
        app_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (org, user_id, app_id)
      );
    `,
  },
  {
    version: 6,
    name: 'decision log indexes for the admin filters',
    sql: `
      -- GET /admin/v1/orgs/{org}/decisions?subject=|reason=|action= walks one of these newest first, instead
      -- of every row of the org (a 2M-row log took 0.5 s per query on the thread that answers decisions).
      CREATE INDEX IF NOT EXISTS decision_log_subject ON decision_log (org, subject_id, seq);
      CREATE INDEX IF NOT EXISTS decision_log_reason ON decision_log (org, reason, seq);
      CREATE INDEX IF NOT EXISTS decision_log_action ON decision_log (org, action, seq);
    `,
  },
  {
    version: 7,
    name: 'decision log keeps the input for impact replay',
    sql: `
      -- The input as sent minus the subject's email (JSON); NULL on rows logged before this migration.
      ALTER TABLE decision_log ADD COLUMN input_json TEXT;
    `,
  },
  {
    version: 8,
    name: 'notification outbox and token owner emails',
    sql: `
      -- One row per email (SPEC §6), written in the transaction of the event that causes it; the worker
      -- claims due rows, sends them and marks them sent, or pending again (backoff), or dead.
      CREATE TABLE outbox (
        id TEXT PRIMARY KEY,                 -- the Message-ID's local part: stable across re-sends
        kind TEXT NOT NULL,
        org TEXT NOT NULL,
        to_json TEXT NOT NULL,               -- JSON array of recipient addresses
        dedupe_key TEXT NOT NULL UNIQUE,     -- a second enqueue with the same key is ignored
        data_json TEXT NOT NULL,
        attachments_json TEXT,               -- JSON array, NULL when none
        status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,         -- epoch seconds UTC, as every time here
        next_attempt_at INTEGER NOT NULL,    -- pending: when due; sending: the claim's lease end
        sent_at INTEGER,
        last_error TEXT
      );
      CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
      CREATE INDEX outbox_org ON outbox (org, created_at);
      -- Where token emails go (expiry warnings, revocations): the owner's email as a decision told it.
      ALTER TABLE tokens ADD COLUMN owner_email TEXT;
    `,
  },
  {
    version: 9,
    name: 'outbox claims walk the queue in order',
    sql: `
      -- The claim takes the oldest due row: without an index in created_at order over the live rows it
      -- sorted every due row per claim (32 ms each with 60k queued, on the thread that answers decisions).
      CREATE INDEX outbox_queue ON outbox (created_at) WHERE status IN ('pending', 'sending');
    `,
  },
];

/**
 * The most decision-log rows one page of {@link Store.queryDecisions} examines. Filters beyond the one the
 * index walks (a second of subject/reason/action, since/until) are checked on the rows read; a page that
 * reaches this many rows ends early, possibly short or empty, with a `next_cursor` to go on from there.
 */
export const MAX_DECISION_SCAN = 10_000;

/**
 * The SQL of one page of {@link Store.queryDecisions}: the rows of `q.org` newest first, narrowed by the
 * most selective equality filter an index serves (subject, then reason, then action), before the cursor,
 * at most `scan` of them. The other filters are the caller's to apply. Exported for the query-plan test.
 */
export function decisionScanSql(
  q: DecisionQuery,
  scan: number,
): { sql: string; params: Record<string, unknown> } {
  const where = ['org = @org'];
  const params: Record<string, unknown> = { org: q.org, scan };
  if (q.subject !== undefined) {
    where.push('subject_id = @subject');
    params.subject = q.subject;
  } else if (q.reason !== undefined) {
    where.push('reason = @reason');
    params.reason = q.reason;
  } else if (q.action !== undefined) {
    where.push('action = @action');
    params.action = q.action;
  }
  if (q.cursor !== undefined) {
    where.push('seq < @before');
    params.before = decodeCursor(q.cursor);
  }
  return {
    sql: `SELECT * FROM decision_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @scan`,
    params,
  };
}

type RequestRow = ApprovalRequest & { seq: number };
const fromRequestRow = ({ seq: _seq, ...r }: RequestRow): ApprovalRequest => r;

interface TokenRow {
  org: string;
  id: string;
  kind: TokenKind;
  owner: string | null;
  owner_email: string | null;
  service_account: string | null;
  created_at: number | null;
  first_seen: number;
  registered_by: 'token.create' | 'token.use';
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  revoke_reason: string | null;
}

function tokenFromRow(r: TokenRow): TokenRecord {
  const { revoked_at, revoked_by, revoke_reason, ...rest } = r;
  return {
    ...rest,
    revoked: revoked_at === null ? null : { at: revoked_at, by: revoked_by ?? '', reason: revoke_reason },
  };
}

function tokenToRow(t: TokenRecord): TokenRow {
  const { revoked, ...rest } = t;
  return {
    ...rest,
    revoked_at: revoked?.at ?? null,
    revoked_by: revoked?.by ?? null,
    revoke_reason: revoked?.reason ?? null,
  };
}

interface OutboxRow {
  seq: number;
  id: string;
  kind: NotificationKind;
  org: string;
  to_json: string;
  dedupe_key: string;
  data_json: string;
  attachments_json: string | null;
  status: NotificationStatus;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  sent_at: number | null;
  last_error: string | null;
}

function notificationFromRow(r: OutboxRow): Notification {
  return {
    id: r.id,
    kind: r.kind,
    org: r.org,
    to: JSON.parse(r.to_json) as string[],
    dedupe_key: r.dedupe_key,
    data: JSON.parse(r.data_json) as Record<string, unknown>,
    ...(r.attachments_json === null
      ? {}
      : { attachments: JSON.parse(r.attachments_json) as NonNullable<Notification['attachments']> }),
    status: r.status,
    attempts: r.attempts,
    created_at: r.created_at,
    next_attempt_at: r.next_attempt_at,
    sent_at: r.sent_at,
    last_error: r.last_error,
  };
}

interface AppRow {
  org: string;
  app_id: string;
  name: string | null;
  scopes_json: string | null;
  first_seen: number;
  last_activity: number;
  active_members: number;
}

function appFromRow({ scopes_json, ...r }: AppRow): ConnectedApp {
  return { ...r, scopes: scopes_json === null ? null : (JSON.parse(scopes_json) as string[]) };
}

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * `FULL` (default): each commit is fsynced, so an answered decision survives a power loss as well as a
   * process crash (SPEC §7). `NORMAL` survives a process crash only (WAL reaches the OS, not the disk).
   */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * Open an existing store for reading only (impact replay on a live server's file, reports): nothing is
   * created, migrated or probed, and every write rejects. The file's schema must be this version's.
   */
  readonly?: boolean;
}

interface DecisionRow {
  seq: number;
  decision_id: string;
  at_ms: number;
  org: string;
  action: string;
  subject_type: string;
  subject_id: string;
  subject_role: string | null;
  resource_type: string;
  resource_id: string | null;
  decision: number;
  reason: string;
  revision: string;
  latency_us: number;
  input_json: string | null;
}

function fromRow(r: DecisionRow): DecisionRecord {
  return {
    decision_id: r.decision_id,
    at_ms: r.at_ms,
    org: r.org,
    action: r.action,
    subject_type: r.subject_type,
    subject_id: r.subject_id,
    subject_role: r.subject_role,
    resource_type: r.resource_type,
    resource_id: r.resource_id,
    decision: r.decision === 1,
    reason: r.reason,
    revision: r.revision,
    latency_us: r.latency_us,
    input: r.input_json === null ? null : (JSON.parse(r.input_json) as Record<string, unknown>),
  };
}

/** Runs every migration newer than the database, in one immediate transaction. */
function migrate(db: Database.Database, location: string): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const run = db.transaction(() => {
    const applied = new Set(
      (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    const newest = Math.max(0, ...applied);
    const known = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
    if (newest > known) {
      throw new EngineError(
        'invalid_config',
        `store ${location} has schema version ${newest}, newer than this appwarden knows (${known}); upgrade appwarden`,
      );
    }
    const insert = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      db.exec(m.sql);
      insert.run(m.version, m.name, Math.floor(Date.now() / 1000));
    }
  });
  // IMMEDIATE: two processes opening the same new file do not both try to create the tables.
  run.immediate();
}

/**
 * A write in a transaction rolled back. A read-only file (or directory) opens and migrates fine when its
 * schema is current, and then every go-live fails: a server that never becomes ready. Refuse it at open.
 * @throws EngineError `io_error` naming the file
 */
function probeWritable(db: Database.Database, path: string): void {
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec('CREATE TABLE appwarden_write_probe (x INTEGER)');
    } finally {
      if (db.inTransaction) db.exec('ROLLBACK');
    }
  } catch (err) {
    db.close();
    throw new EngineError(
      'io_error',
      `store ${path} is not writable (${(err as Error)?.message ?? String(err)}): every decision and go-live is recorded there; fix the permissions of the file and its directory, or give another --store`,
    );
  }
}

/**
 * Opens (creating it and its directory when missing) a SQLite store at `path`; `:memory:` for a private
 * in-memory database. WAL journal, `synchronous=FULL` unless told otherwise, a 5 s busy timeout, and the
 * migrations of {@link MIGRATIONS} applied.
 * @throws EngineError `io_error` when the file cannot be opened, migrated or written; `invalid_config` when
 *   its schema is newer than this code.
 */
export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Store {
  let db: Database.Database;
  if (opts.readonly) return openReadonly(path);
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db, path);
  } catch (err) {
    throw storeError('open', path, err);
  }
  if (path !== ':memory:') probeWritable(db, path);
  return storeOn(db, path);
}

/** {@link SqliteStoreOptions.readonly}: the file as it is, its schema checked, no write possible. */
function openReadonly(path: string): Store {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw storeError('open', path, err);
  }
  let version = 0;
  try {
    version =
      (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  } catch {
    // No schema_migrations table: not a store (or an empty file).
  }
  const known = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  if (version !== known) {
    db.close();
    throw new EngineError(
      'invalid_config',
      version === 0
        ? `store ${path} is not an appwarden store (no schema_migrations)`
        : `store ${path} has schema version ${version}, this appwarden reads ${known}: ${version < known ? 'open it once with this version (appwarden serve) or read a copy with the same version' : 'upgrade appwarden'}`,
    );
  }
  return storeOn(db, path);
}

/** The Store over an open, current database. */
function storeOn(db: Database.Database, path: string): Store {
  const stmt = {
    insertGoLive: db.prepare(
      `INSERT INTO policy_history (org, revision, at, expiration_days, personal_access_tokens, settings_json)
       VALUES (@org, @revision, @at, @expiration_days, @personal_access_tokens, @settings_json)`,
    ),
    goLivesAll: db.prepare('SELECT * FROM policy_history ORDER BY at, seq'),
    goLivesOrg: db.prepare('SELECT * FROM policy_history WHERE org = ? ORDER BY at, seq'),
    upsertImport: db.prepare(
      `INSERT INTO imported_history (org, file, revisions_json, imported_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (org) DO UPDATE SET file = excluded.file, revisions_json = excluded.revisions_json,
       imported_at = excluded.imported_at`,
    ),
    imports: db.prepare('SELECT * FROM imported_history ORDER BY org'),
    removeImport: db.prepare('DELETE FROM imported_history WHERE org = ?'),
    insertDecision: db.prepare(
      `INSERT INTO decision_log (decision_id, at_ms, org, action, subject_type, subject_id, subject_role,
         resource_type, resource_id, decision, reason, revision, latency_us, input_json)
       VALUES (@decision_id, @at_ms, @org, @action, @subject_type, @subject_id, @subject_role,
         @resource_type, @resource_id, @decision, @reason, @revision, @latency_us, @input_json)`,
    ),
    getDecision: db.prepare('SELECT * FROM decision_log WHERE decision_id = ?'),
    getToken: db.prepare('SELECT * FROM tokens WHERE org = ? AND id = ?'),
    putToken: db.prepare(
      `INSERT OR REPLACE INTO tokens (org, id, kind, owner, owner_email, service_account, created_at, first_seen,
         registered_by, last_used_at, expires_at, revoked_at, revoked_by, revoke_reason)
       VALUES (@org, @id, @kind, @owner, @owner_email, @service_account, @created_at, @first_seen,
         @registered_by, @last_used_at, @expires_at, @revoked_at, @revoked_by, @revoke_reason)`,
    ),
    revokeToken: db.prepare(
      `UPDATE tokens SET revoked_at = @at, revoked_by = @by, revoke_reason = @reason
       WHERE org = @org AND id = @id AND revoked_at IS NULL`,
    ),
    sweepPats: db.prepare(
      `UPDATE tokens SET revoked_at = @at, revoked_by = @by, revoke_reason = @reason
       WHERE org = @org AND kind = 'personal_access' AND revoked_at IS NULL RETURNING *`,
    ),
    revokedIds: db.prepare('SELECT org, id FROM tokens WHERE revoked_at IS NOT NULL ORDER BY org, id'),
    pendingRequest: db.prepare(
      `SELECT * FROM approval_requests WHERE org = ? AND app_id = ? AND requester_id = ? AND status = 'pending'`,
    ),
    getRequest: db.prepare('SELECT * FROM approval_requests WHERE org = ? AND id = ?'),
    insertRequest: db.prepare(
      `INSERT INTO approval_requests (id, org, app_id, app_name, requester_id, requester_email, note, status, asks,
         created_at, updated_at) VALUES (@id, @org, @app_id, @app_name, @requester_id, @requester_email, @note,
         'pending', 1, @at, @at)`,
    ),
    mergeRequest: db.prepare(
      `UPDATE approval_requests SET asks = asks + 1, updated_at = @at, note = COALESCE(@note, note),
         app_name = COALESCE(@app_name, app_name), requester_email = @requester_email WHERE id = @id`,
    ),
    decideRequest: db.prepare(
      `UPDATE approval_requests SET status = @status, updated_at = @at, decided_at = @at, decided_by = @by,
         reason = @reason WHERE id = @id AND org = @org AND status = 'pending'`,
    ),
    insertEvent: db.prepare(
      'INSERT INTO request_events (request_id, org, at, type, by, reason) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    upsertApp: db.prepare(
      `INSERT INTO connected_apps (org, app_id, name, scopes_json, first_seen, last_activity)
       VALUES (@org, @app_id, @app_name, @scopes_json, @at, @at)
       ON CONFLICT (org, app_id) DO UPDATE SET name = COALESCE(excluded.name, name),
         scopes_json = COALESCE(excluded.scopes_json, scopes_json), first_seen = MIN(first_seen, excluded.first_seen),
         last_activity = MAX(last_activity, excluded.last_activity)`,
    ),
    addUse: db.prepare(
      `INSERT INTO app_usage_daily (org, app_id, user_id, day, uses) VALUES (@org, @app_id, @user_id, @day, 1)
       ON CONFLICT (org, app_id, user_id, day) DO UPDATE SET uses = uses + 1`,
    ),
    upsertAppUser: db.prepare(
      `INSERT INTO app_users (org, app_id, user_id, email, last_used) VALUES (@org, @app_id, @user_id, @email, @at)
       ON CONFLICT (org, app_id, user_id) DO UPDATE SET email = COALESCE(excluded.email, email),
         last_used = MAX(last_used, excluded.last_used)`,
    ),
    pruneUsage: db.prepare('DELETE FROM app_usage_daily WHERE day < ?'),
    listApps: db.prepare(
      `SELECT a.*, (SELECT COUNT(DISTINCT d.user_id) FROM app_usage_daily d
         WHERE d.org = a.org AND d.app_id = a.app_id AND d.day >= @from) AS active_members
       FROM connected_apps a WHERE a.org = @org AND (@app IS NULL OR a.app_id = @app)
       ORDER BY a.last_activity DESC, a.app_id`,
    ),
    usage: db.prepare(
      `SELECT d.org, d.app_id, d.user_id, u.email, SUM(d.uses) AS uses_90d, u.last_used
       FROM app_usage_daily d JOIN app_users u ON u.org = d.org AND u.app_id = d.app_id AND u.user_id = d.user_id
       WHERE d.org = @org AND d.day >= @from AND (@app IS NULL OR d.app_id = @app)
       GROUP BY d.app_id, d.user_id ORDER BY d.app_id, d.user_id`,
    ),
    putJoin: db.prepare(
      `INSERT OR REPLACE INTO member_joins (org, user_id, role, joined_at, recorded_at)
       VALUES (@org, @user_id, @role, @joined_at, @recorded_at)`,
    ),
    getJoin: db.prepare('SELECT * FROM member_joins WHERE org = ? AND user_id = ?'),
    allJoins: db.prepare('SELECT org, user_id, joined_at FROM member_joins'),
    blockForMember: db.prepare(
      'INSERT OR IGNORE INTO member_blocked_apps (org, user_id, app_id, at) VALUES (?, ?, ?, ?)',
    ),
    memberBlocked: db.prepare(
      'SELECT * FROM member_blocked_apps WHERE org = ? AND user_id = ? ORDER BY at, app_id',
    ),
    // ON CONFLICT (dedupe_key) only: any other constraint failure (a bad status) still throws.
    insertOutbox: db.prepare(
      `INSERT INTO outbox (id, kind, org, to_json, dedupe_key, data_json, attachments_json, status, attempts,
         created_at, next_attempt_at) VALUES (@id, @kind, @org, @to_json, @dedupe_key, @data_json,
         @attachments_json, 'pending', 0, @at, @at) ON CONFLICT (dedupe_key) DO NOTHING`,
    ),
    // One statement, so the claim is atomic (SQLite runs one writer at a time); RETURNING has no order.
    claimOutbox: db.prepare(
      `UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = @lease
       WHERE rowid IN (SELECT rowid FROM outbox INDEXED BY outbox_queue
         WHERE status IN ('pending', 'sending') AND next_attempt_at <= @now
         ORDER BY created_at, rowid LIMIT @limit)
       RETURNING rowid AS seq, *`,
    ),
    sentOutbox: db.prepare(
      `UPDATE outbox SET status = 'sent', sent_at = @at WHERE id = @id AND status <> 'sent'`,
    ),
    failedOutbox: db.prepare(
      `UPDATE outbox SET status = CASE WHEN @retry IS NULL THEN 'dead' ELSE 'pending' END,
         next_attempt_at = COALESCE(@retry, @at), last_error = @error WHERE id = @id AND status = 'sending'`,
    ),
    retryOutbox: db.prepare(
      `UPDATE outbox SET status = 'pending', next_attempt_at = @at,
         attempts = CASE WHEN status = 'dead' THEN 0 ELSE attempts END
       WHERE id = @id AND (status IN ('dead', 'pending') OR (status = 'sending' AND next_attempt_at <= @at))`,
    ),
    getOutbox: db.prepare('SELECT rowid AS seq, * FROM outbox WHERE id = ?'),
    getOutboxByKey: db.prepare('SELECT rowid AS seq, * FROM outbox WHERE dedupe_key = ?'),
    countOutbox: db.prepare('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status'),
  };
  /** Inserts rows in the caller's transaction; returns how many were new (dedupe_key not yet queued). */
  function enqueue(rows: readonly NewNotification[], at: number): number {
    checkNotifications(rows);
    let inserted = 0;
    for (const r of rows) {
      inserted += stmt.insertOutbox.run({
        id: randomUUID(),
        kind: r.kind,
        org: r.org,
        to_json: JSON.stringify(r.to),
        dedupe_key: r.dedupe_key,
        data_json: JSON.stringify(r.data),
        attachments_json: r.attachments === undefined ? null : JSON.stringify(r.attachments),
        at,
      }).changes;
    }
    return inserted;
  }
  const enqueueAll = db.transaction(enqueue);
  const nowSec = () => Math.floor(Date.now() / 1000);
  // Every transaction below runs IMMEDIATE (`.immediate(...)`): it takes the write lock at BEGIN, where the
  // busy timeout waits for another process's writer. A DEFERRED one that reads first and then writes cannot
  // wait (SQLite answers SQLITE_BUSY at once to avoid a deadlock), so a concurrent CLI write was a 500.
  // The oldest day kept in app_usage_daily; pruning runs when a commit's newest day moves past it.
  let prunedBefore = Number.NEGATIVE_INFINITY;
  // Each event transaction below runs its `notify` last, inside the transaction: its rows are queued with
  // the event, and a throw rolls both back.
  const recordJoin = db.transaction(
    (j: Parameters<Store['recordMemberJoin']>[0], apps: readonly string[], notify?: Notify<void>) => {
      stmt.putJoin.run(j);
      for (const app of apps) stmt.blockForMember.run(j.org, j.user_id, app, j.recorded_at);
      if (notify) enqueue(notify(), j.recorded_at);
    },
  );
  const createRequest = db.transaction(
    (
      n: Parameters<Store['createApprovalRequest']>[0],
      notify?: Notify<{ request: ApprovalRequest; merged: boolean }>,
    ): { request: ApprovalRequest; merged: boolean } => {
      const pending = stmt.pendingRequest.get(n.org, n.app_id, n.requester_id) as RequestRow | undefined;
      const id = pending?.id ?? n.id;
      if (pending) stmt.mergeRequest.run({ ...n, id });
      else stmt.insertRequest.run(n);
      stmt.insertEvent.run(id, n.org, n.at, pending ? 'merged' : 'created', null, null);
      const res = {
        request: fromRequestRow(stmt.getRequest.get(n.org, id) as RequestRow),
        merged: pending !== undefined,
      };
      if (notify) enqueue(notify(res), n.at);
      return res;
    },
  );
  const denyRequest = db.transaction(
    (
      d: Parameters<Store['denyApprovalRequest']>[0],
      notify?: Notify<{ request: ApprovalRequest | null; changed: boolean }>,
    ) => {
      const changed =
        stmt.decideRequest.run({
          id: d.id,
          org: d.org,
          status: 'denied',
          at: d.at,
          by: d.by,
          reason: d.reason,
        }).changes > 0;
      const row = stmt.getRequest.get(d.org, d.id) as RequestRow | undefined;
      if (changed) stmt.insertEvent.run(d.id, d.org, d.at, 'denied', d.by, d.reason);
      const res = row ? { request: fromRequestRow(row), changed } : { request: null, changed: false };
      if (notify) enqueue(notify(res), d.at);
      return res;
    },
  );
  const appendAll = db.transaction(
    (
      records: readonly DecisionRecord[],
      sightings: readonly TokenSighting[],
      usage: readonly UsageSighting[],
    ) => {
      for (const { input, ...r } of records) {
        stmt.insertDecision.run({
          ...r,
          decision: r.decision ? 1 : 0,
          input_json: input === undefined || input === null ? null : JSON.stringify(input),
        });
      }
      let newestDay = Number.NEGATIVE_INFINITY;
      for (const u of usage) {
        const day = Math.floor(u.at / DAY_SECONDS);
        newestDay = Math.max(newestDay, day);
        stmt.upsertApp.run({ ...u, scopes_json: u.scopes === null ? null : JSON.stringify(u.scopes) });
        stmt.addUse.run({ ...u, day });
        stmt.upsertAppUser.run(u);
      }
      const keepFrom = newestDay - USAGE_DAYS + 1;
      if (keepFrom > prunedBefore) {
        stmt.pruneUsage.run(keepFrom);
        prunedBefore = keepFrom;
      }
      // Read, merge, write: the one merge rule of store.ts, so both backends agree.
      for (const t of sightings) {
        const row = stmt.getToken.get(t.org, t.id) as TokenRow | undefined;
        stmt.putToken.run(tokenToRow(mergeSighting(row ? tokenFromRow(row) : null, t)));
      }
    },
  );
  const goLiveAll = db.transaction(
    (
      records: readonly GoLiveRecord[],
      sweepPats: readonly string[],
      approvedApps: Readonly<Record<string, readonly string[]>>,
      notify: Notify<GoLiveResult> | undefined,
    ): GoLiveResult => {
      for (const r of records) stmt.insertGoLive.run({ settings_json: null, ...r });
      const swept = new Map<string, string[]>();
      const sweptTokens = new Map<string, TokenRecord[]>();
      for (const org of sweepPats) {
        const at = records.find((r) => r.org === org)?.at ?? nowSec();
        const rows = (stmt.sweepPats.all({ org, at, ...PAT_SWEEP }) as TokenRow[])
          .map(tokenFromRow)
          .sort((a, b) => a.first_seen - b.first_seen || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        swept.set(
          org,
          rows.map((r) => r.id),
        );
        sweptTokens.set(org, rows);
      }
      const approved: ApprovalRequest[] = [];
      for (const [org, apps] of Object.entries(approvedApps)) {
        if (apps.length === 0) continue;
        const at = records.find((r) => r.org === org)?.at ?? Math.floor(Date.now() / 1000);
        const set = new Set(apps);
        const pending = db
          .prepare(`SELECT * FROM approval_requests WHERE org = ? AND status = 'pending' ORDER BY seq`)
          .all(org) as RequestRow[];
        for (const r of pending) {
          if (!set.has(r.app_id)) continue;
          stmt.decideRequest.run({ id: r.id, org, status: 'approved', at, by: 'policy', reason: null });
          stmt.insertEvent.run(r.id, org, at, 'approved', 'policy', null);
          approved.push(fromRequestRow(stmt.getRequest.get(org, r.id) as RequestRow));
        }
      }
      const res = { swept, sweptTokens, approved };
      if (notify) enqueue(notify(res), records[0]?.at ?? nowSec());
      return res;
    },
  );
  const revokeOne = db.transaction(
    (
      r: { org: string; id: string; at: number; by: string; reason: string | null },
      notify?: Notify<{ token: TokenRecord | null; changed: boolean }>,
    ) => {
      const changed = stmt.revokeToken.run(r).changes > 0;
      const row = stmt.getToken.get(r.org, r.id) as TokenRow | undefined;
      const res = { token: row ? tokenFromRow(row) : null, changed };
      if (notify) enqueue(notify(res), r.at);
      return res;
    },
  );
  let closed = false;

  // better-sqlite3 is synchronous; each method runs inside an async function so a throw is a rejection.
  function guard<T>(what: string, fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (closed) {
        reject(new EngineError('io_error', `store ${path}: cannot ${what}: the store is closed`));
        return;
      }
      try {
        resolve(fn());
      } catch (err) {
        reject(storeError(what, path, err));
      }
    });
  }

  return {
    kind: 'sqlite',
    location: path,
    recordGoLive: (records, opts = {}) =>
      guard('record the policy history', () =>
        goLiveAll.immediate(records, opts.sweepPats ?? [], opts.approvedApps ?? {}, opts.notify),
      ),
    createApprovalRequest: (n, notify) =>
      guard('file the approval request', () => createRequest.immediate(n, notify)),
    listApprovalRequests: (q) =>
      guard('read approval requests', () => {
        const where = ['org = @org'];
        if (q.status !== undefined) where.push('status = @status');
        if (q.app !== undefined) where.push('app_id = @app');
        const rows = db
          .prepare(`SELECT * FROM approval_requests WHERE ${where.join(' AND ')} ORDER BY seq DESC`)
          .all({ org: q.org, status: q.status ?? null, app: q.app ?? null }) as RequestRow[];
        return rows.map(fromRequestRow);
      }),
    getApprovalRequest: (org, id) =>
      guard('read approval requests', () => {
        const row = stmt.getRequest.get(org, id) as RequestRow | undefined;
        return row ? fromRequestRow(row) : null;
      }),
    denyApprovalRequest: (d, notify) =>
      guard('deny the approval request', () => denyRequest.immediate(d, notify)),
    requestEvents: (q) =>
      guard('read request events', () => {
        const rows = (
          q.requestId === undefined
            ? db.prepare('SELECT * FROM request_events WHERE org = ? ORDER BY seq').all(q.org)
            : db
                .prepare('SELECT * FROM request_events WHERE org = ? AND request_id = ? ORDER BY seq')
                .all(q.org, q.requestId)
        ) as RequestEvent[];
        return rows;
      }),
    goLives: (org) =>
      guard('read the policy history', () => {
        const rows = (org === undefined ? stmt.goLivesAll.all() : stmt.goLivesOrg.all(org)) as {
          org: string;
          revision: string;
          at: number;
          expiration_days: number | null;
          personal_access_tokens: PatSetting;
          settings_json: string | null;
        }[];
        return rows.map((r) => ({
          org: r.org,
          revision: r.revision,
          at: r.at,
          expiration_days: r.expiration_days,
          personal_access_tokens: r.personal_access_tokens,
          ...(r.settings_json === null ? {} : { settings_json: r.settings_json }),
        }));
      }),
    importHistory: (h) =>
      guard('import the history', () => {
        stmt.upsertImport.run(h.org, h.file, JSON.stringify(h.revisions), h.imported_at);
      }),
    importedHistories: () =>
      guard('read imported histories', () =>
        (
          stmt.imports.all() as { org: string; file: string; revisions_json: string; imported_at: number }[]
        ).map(
          (r): ImportedHistory => ({
            org: r.org,
            file: r.file,
            revisions: JSON.parse(r.revisions_json) as ImportedHistory['revisions'],
            imported_at: r.imported_at,
          }),
        ),
      ),
    removeImportedHistory: (org) =>
      guard('remove the imported history', () => stmt.removeImport.run(org).changes > 0),
    appendDecisions: (records, sightings = [], usage = []) =>
      guard('append to the decision log', () => appendAll.immediate(records, sightings, usage)),
    listConnectedApps: (org, now) =>
      guard('read connected apps', () =>
        (
          stmt.listApps.all({ org, app: null, from: windowStartDay(now, ACTIVE_MEMBER_DAYS) }) as AppRow[]
        ).map(appFromRow),
      ),
    getConnectedApp: (org, appId, now) =>
      guard('read connected apps', () => {
        const row = stmt.listApps.get({ org, app: appId, from: windowStartDay(now, ACTIVE_MEMBER_DAYS) }) as
          | AppRow
          | undefined;
        return row ? appFromRow(row) : null;
      }),
    appUsage: (org, now, appId) =>
      guard(
        'read app usage',
        () =>
          stmt.usage.all({
            org,
            app: appId ?? null,
            from: windowStartDay(now, USAGE_DAYS),
          }) as AppUserUsage[],
      ),
    recordMemberJoin: (j, apps, notify) =>
      guard('record the member join', () => recordJoin.immediate(j, apps, notify)),
    getMemberJoin: (org, userId) =>
      guard('read member joins', () => (stmt.getJoin.get(org, userId) as MemberJoin | undefined) ?? null),
    memberJoinTimes: () =>
      guard('read member joins', () => {
        const out = new Map<string, Map<string, number>>();
        for (const r of stmt.allJoins.all() as { org: string; user_id: string; joined_at: number }[]) {
          const m = out.get(r.org) ?? new Map<string, number>();
          m.set(r.user_id, r.joined_at);
          out.set(r.org, m);
        }
        return out;
      }),
    memberBlockedApps: (org, userId) =>
      guard('read member joins', () => stmt.memberBlocked.all(org, userId) as MemberBlockedApp[]),
    listTokens: (q) =>
      guard('read the token registry', () => {
        const where = ['org = @org'];
        if (q.revoked === 'revoked') where.push('revoked_at IS NOT NULL');
        if (q.revoked === 'unrevoked') where.push('revoked_at IS NULL');
        if (q.owner !== undefined) where.push('owner = @owner');
        if (q.kind !== undefined) where.push('kind = @kind');
        const rows = db
          .prepare(`SELECT * FROM tokens WHERE ${where.join(' AND ')} ORDER BY first_seen, id`)
          .all({ org: q.org, owner: q.owner ?? null, kind: q.kind ?? null }) as TokenRow[];
        return rows.map(tokenFromRow);
      }),
    getToken: (org, id) =>
      guard('read the token registry', () => {
        const row = stmt.getToken.get(org, id) as TokenRow | undefined;
        return row ? tokenFromRow(row) : null;
      }),
    revokeToken: (r, notify) => guard('revoke a token', () => revokeOne.immediate(r, notify)),
    revokedTokenIds: () =>
      guard('read the token registry', () => {
        const out = new Map<string, string[]>();
        for (const r of stmt.revokedIds.all() as { org: string; id: string }[]) {
          out.set(r.org, [...(out.get(r.org) ?? []), r.id]);
        }
        return out;
      }),
    queryDecisions: (q) =>
      guard('query the decision log', (): DecisionPage => {
        const residual = (r: DecisionRow): boolean =>
          (q.since_ms === undefined || r.at_ms >= q.since_ms) &&
          (q.until_ms === undefined || r.at_ms < q.until_ms) &&
          (q.subject === undefined || r.subject_id === q.subject) &&
          (q.reason === undefined || r.reason === q.reason) &&
          (q.action === undefined || r.action === q.action);
        const { sql, params } = decisionScanSql(q, MAX_DECISION_SCAN);
        const page: DecisionRow[] = [];
        let more = false;
        let scanned = 0;
        let lastSeq: number | null = null;
        for (const r of db.prepare(sql).iterate(params) as IterableIterator<DecisionRow>) {
          scanned += 1;
          lastSeq = r.seq;
          if (!residual(r)) continue;
          if (page.length === q.limit) {
            more = true;
            break;
          }
          page.push(r);
        }
        const last = page[page.length - 1];
        let next: string | null = null;
        if (more && last) next = encodeCursor(last.seq);
        // The scan bound was reached: go on from the last row examined (the page may be short or empty).
        else if (!more && scanned === MAX_DECISION_SCAN && lastSeq !== null) next = encodeCursor(lastSeq);
        return { decisions: page.map(fromRow), next_cursor: next };
      }),
    getDecision: (id) =>
      guard('read the decision log', () => {
        const row = stmt.getDecision.get(id) as DecisionRow | undefined;
        return row ? fromRow(row) : null;
      }),
    enqueueNotifications: (rows, at) => guard('queue emails', () => enqueueAll.immediate(rows, at)),
    claimNotifications: (now, limit, leaseSeconds) =>
      guard('claim emails to send', () =>
        db
          .transaction(() => stmt.claimOutbox.all({ now, limit, lease: now + leaseSeconds }) as OutboxRow[])
          .immediate()
          .sort((a, b) => a.created_at - b.created_at || a.seq - b.seq)
          .map(notificationFromRow),
      ),
    markNotificationSent: (id, at) =>
      guard('mark an email sent', () => {
        stmt.sentOutbox.run({ id, at });
      }),
    markNotificationFailed: (id, at, error, retryAt) =>
      guard('record a failed email', () => {
        stmt.failedOutbox.run({ id, at, error, retry: retryAt });
      }),
    listNotifications: (q) =>
      guard('read the outbox', () => {
        const where: string[] = [];
        if (q.org !== undefined) where.push('org = @org');
        if (q.status !== undefined) where.push('status = @status');
        const limit = Math.min(Math.max(1, q.limit ?? NOTIFICATION_PAGE.default), NOTIFICATION_PAGE.max);
        const rows = db
          .prepare(
            `SELECT rowid AS seq, * FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
             ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
          )
          .all({ org: q.org ?? null, status: q.status ?? null, limit }) as OutboxRow[];
        return rows.map(notificationFromRow);
      }),
    getNotification: (id) =>
      guard('read the outbox', () => {
        const row = stmt.getOutbox.get(id) as OutboxRow | undefined;
        return row ? notificationFromRow(row) : null;
      }),
    getNotificationByKey: (dedupeKey) =>
      guard('read the outbox', () => {
        const row = stmt.getOutboxByKey.get(dedupeKey) as OutboxRow | undefined;
        return row ? notificationFromRow(row) : null;
      }),
    retryNotification: (id, at) =>
      guard('retry an email', () =>
        db
          .transaction(() => {
            stmt.retryOutbox.run({ id, at });
            const row = stmt.getOutbox.get(id) as OutboxRow | undefined;
            return row ? notificationFromRow(row) : null;
          })
          .immediate(),
      ),
    notificationCounts: () =>
      guard('count the outbox', () => {
        const out = Object.fromEntries(NOTIFICATION_STATUSES.map((s) => [s, 0])) as Record<
          NotificationStatus,
          number
        >;
        for (const r of stmt.countOutbox.all() as { status: NotificationStatus; n: number }[])
          out[r.status] = r.n;
        return out;
      }),
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
