// The decision log's group commit (SPEC §6, §7): callers await append(); everything queued during one
// turn of the event loop is committed in one store transaction, and every waiter resolves after it.
import type { DecisionRecord, Store, TokenSighting, UsageSighting } from './store.ts';

/** A batching writer over {@link Store.appendDecisions}: see {@link createDecisionLog}. */
export interface DecisionLog {
  /**
   * Queues `records` and resolves once they are committed (with whatever else was queued in the same
   * tick), so a caller that answers only after this resolves never answers a decision the log lacks.
   * `tokens` (what the decisions told the token registry) commit in the same transaction, so registering a
   * token costs no extra commit; so do `usage` (what allowed app decisions told the connected apps).
   * @throws EngineError `io_error` when the commit fails: none of that batch is logged (fail closed).
   */
  append(
    records: readonly DecisionRecord[],
    tokens?: readonly TokenSighting[],
    usage?: readonly UsageSighting[],
  ): Promise<void>;
  /** Commits what is queued and waits for commits in flight. */
  flush(): Promise<void>;
  /** Counters since creation: commits (transactions) and records written. */
  readonly stats: { commits: number; records: number; failures: number };
  /** Records appended and not committed yet (queued plus the commit in flight): the queue depth gauge. */
  readonly depth: number;
}

/** Options of {@link createDecisionLog}. */
export interface DecisionLogOptions {
  /** Called after each commit with its number of records, whether it succeeded and its duration in seconds (metrics). */
  onCommit?: (records: number, ok: boolean, seconds: number) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Creates the group-commit writer. Why batch: one transaction per decision would cost one fsync per
 * request (synchronous=FULL); one per event-loop turn costs one fsync per batch of concurrent requests,
 * so throughput grows with concurrency while each request still waits only for the next commit. One
 * commit at a time: records queued while a commit runs go into the next one.
 */
export function createDecisionLog(store: Store, opts: DecisionLogOptions = {}): DecisionLog {
  let queue: DecisionRecord[] = [];
  let sightings: TokenSighting[] = [];
  let uses: UsageSighting[] = [];
  let waiters: Waiter[] = [];
  let scheduled = false;
  let inFlight: Promise<void> | null = null;
  const stats = { commits: 0, records: 0, failures: 0 };
  let committing = 0;

  function schedule(): void {
    if (scheduled || inFlight) return;
    scheduled = true;
    // setImmediate: after the I/O callbacks of this turn, so the requests that arrived together commit together.
    setImmediate(commit);
  }

  function commit(): void {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    const batchTokens = sightings;
    const batchUses = uses;
    const batchWaiters = waiters;
    queue = [];
    sightings = [];
    uses = [];
    waiters = [];
    committing = batch.length;
    const started = performance.now();
    const done = (ok: boolean) => {
      try {
        opts.onCommit?.(batch.length, ok, (performance.now() - started) / 1000);
      } catch {
        // Metrics never fail a commit.
      }
    };
    inFlight = store.appendDecisions(batch, batchTokens, batchUses).then(
      () => {
        stats.commits++;
        stats.records += batch.length;
        done(true);
        for (const w of batchWaiters) w.resolve();
      },
      (err: unknown) => {
        stats.failures++;
        done(false);
        for (const w of batchWaiters) w.reject(err);
      },
    );
    void inFlight.finally(() => {
      inFlight = null;
      committing = 0;
      if (queue.length > 0) schedule();
    });
  }

  return {
    append(records, tokens = [], usage = []) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push(...records);
        sightings.push(...tokens);
        uses.push(...usage);
        waiters.push({ resolve, reject });
        schedule();
      });
    },
    async flush() {
      while (queue.length > 0 || inFlight || scheduled) {
        if (inFlight) await inFlight.catch(() => {});
        else if (queue.length > 0) {
          const pending = new Promise<void>((resolve) => waiters.push({ resolve, reject: () => resolve() }));
          if (!scheduled) schedule();
          await pending;
        } else await new Promise((r) => setImmediate(r));
      }
    },
    get stats() {
      return { ...stats };
    },
    get depth() {
      return queue.length + committing;
    },
  };
}
