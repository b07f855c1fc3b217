// Opens the store a path names: `:memory:` (a private in-memory SQLite database) or a SQLite file.
import { EngineError } from '../errors.ts';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite.ts';
import type { Store } from './store.ts';

export { createDecisionLog, type DecisionLog } from './decision-log.ts';
export { importHistoryFile } from './history-import.ts';
export { createMemoryStore } from './memory.ts';
export {
  decisionScanSql,
  MAX_DECISION_SCAN,
  MIGRATIONS,
  openSqliteStore,
  type SqliteStoreOptions,
} from './sqlite.ts';
export {
  ACTIVE_MEMBER_DAYS,
  type ApprovalRequest,
  type AppUserUsage,
  type ConnectedApp,
  DAY_SECONDS,
  type DecisionPage,
  type DecisionQuery,
  type DecisionRecord,
  type GoLiveRecord,
  type GoLiveResult,
  type ImportedHistory,
  MAX_DECISION_PAGE,
  type MemberBlockedApp,
  type MemberJoin,
  type NewApprovalRequest,
  NOTIFICATION_PAGE,
  type NotificationQuery,
  type Notify,
  PAT_SWEEP,
  type RequestEvent,
  type RequestStatus,
  type Store,
  type TokenKind,
  type TokenQuery,
  type TokenRecord,
  type TokenRevocation,
  type TokenSighting,
  USAGE_DAYS,
  type UsageSighting,
  windowStartDay,
} from './store.ts';

/** The store `appwarden serve` opens when no `--store` is given (relative to the working directory). */
export const DEFAULT_STORE_PATH = 'var/appwarden.db';

/**
 * Opens the store at `path`: `:memory:` is an in-memory SQLite database (nothing survives the process);
 * anything else a SQLite file, created with its directory when missing. A `postgres://` URL is reserved
 * for the PostgreSQL backend (SPEC §6) behind the same interface.
 * @throws EngineError `io_error` when it cannot be opened or migrated; `invalid_config` for a
 *   `postgres://` URL (not built yet) or a schema newer than this code.
 */
export function openStore(path: string, opts: SqliteStoreOptions = {}): Store {
  if (/^postgres(ql)?:\/\//i.test(path)) {
    throw new EngineError('invalid_config', [
      {
        path: '--store',
        message: 'the PostgreSQL store is not built yet; use a SQLite file path or :memory:',
      },
    ]);
  }
  return openSqliteStore(path, opts);
}
