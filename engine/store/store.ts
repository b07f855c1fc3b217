// The store's interface (SPEC §6 runtime state): policy history and the decision log, behind one small
// async surface so SQLite (default), memory (tests) and a later PostgreSQL backend are interchangeable.
import { EngineError } from '../errors.ts';
import type { HistoryRevision } from '../history.ts';
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
  /** Records a revision going live for each org given, in one transaction. */
  recordGoLive(records: readonly GoLiveRecord[]): Promise<void>;
  /** Every go-live row, oldest first (by `at`, then insertion); only `org`'s when given. */
  goLives(org?: string): Promise<GoLiveRecord[]>;
  /** Saves an imported PolicyHistory, replacing an earlier import for the same org. */
  importHistory(history: ImportedHistory): Promise<void>;
  /** Every imported PolicyHistory, sorted by org. */
  importedHistories(): Promise<ImportedHistory[]>;
  /** Appends decisions in one transaction: all are durable when it resolves, or none on rejection. */
  appendDecisions(records: readonly DecisionRecord[]): Promise<void>;
  /** One page of an org's decisions, newest first, filtered. @throws EngineError `invalid_input` on a bad cursor */
  queryDecisions(query: DecisionQuery): Promise<DecisionPage>;
  /** The decision with this id, or null. */
  getDecision(decisionId: string): Promise<DecisionRecord | null>;
  /** Closes the store; later calls reject. Idempotent. */
  close(): Promise<void>;
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
 * @throws EngineError `invalid_input` (path `/cursor`) when it is not a cursor this server made.
 */
export function decodeCursor(cursor: string): number {
  const m = /^d1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) {
    throw new EngineError('invalid_input', [
      { path: '/cursor', message: 'cursor is not one this server gave; pass next_cursor as it came' },
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
