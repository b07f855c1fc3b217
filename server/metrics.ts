// Prometheus metrics of one app instance (prom-client, its own Registry, never the global one): decisions,
// decision latency, HTTP requests, reloads, the live revision, the decision log's group commit, the outbox.
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes, routePath } from 'hono/route';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import {
  ACTIONS,
  type DecisionRecord,
  ENGINE_REASON_CODES,
  type Engine,
  type ReloadEvent,
  SPEC_REASON_CODES,
  type Store,
} from '../engine/index.ts';

/** Prefix of every appwarden metric (Node's process metrics keep their standard names). */
export const METRIC_PREFIX = 'appwarden_';

/**
 * Buckets of `appwarden_decision_duration_seconds`, seconds: 50 µs to 1 s. A decision is evaluated in memory
 * (tens of µs typically), so the low end has the resolution; the top catches pathological inputs.
 */
export const DECISION_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Buckets of `appwarden_http_request_duration_seconds`, seconds: 0.5 ms to 10 s (a request waits for its commit). */
export const HTTP_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Buckets of `appwarden_decision_log_commit_records` (decisions per group commit). */
export const BATCH_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Buckets of `appwarden_decision_log_commit_duration_seconds`, seconds (one transaction, fsync included). */
export const COMMIT_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

const KNOWN_ACTIONS = new Set<string>(ACTIONS);
const KNOWN_REASONS = new Set<string>([...SPEC_REASON_CODES, ...ENGINE_REASON_CODES]);
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** What a served decision contributes to the metrics: the decision log's record fields. */
export type ServedDecision = Pick<DecisionRecord, 'action' | 'decision' | 'reason' | 'latency_us'>;

/** The metrics of one app: see {@link createMetrics}. */
export interface AppMetrics {
  /** This app's registry: `/metrics` answers `registry.metrics()`. */
  readonly registry: Registry;
  /** Counts decisions the decision API served (after their decision-log commit) and observes their latency. */
  observeDecisions(decisions: readonly ServedDecision[]): void;
  /** Observes one group commit of the decision log (pass as `createDecisionLog`'s `onCommit`). */
  observeCommit(records: number, ok: boolean, seconds: number): void;
  /** Middleware counting every HTTP request by route pattern, method and status, with its duration. */
  readonly middleware: MiddlewareHandler;
  /** The Prometheus text exposition (starts Node's process metrics at the first call). */
  scrape(): Promise<string>;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** The engine whose reloads and live revision are reported (its `onReload`, when it has one). */
  engine: Engine;
  /** The store: its outbox is reported when it offers `notificationCounts()`. */
  store?: Store;
  /** The decision log's queue depth (records appended, not committed yet). */
  decisionLogDepth?: () => number;
}

/**
 * The route pattern that answered a request, for a bounded `route` label: `/admin/v1/orgs/:org/tokens/:id`,
 * never the raw path. A request stopped by a middleware (401 of the admin auth) gets the pattern of the route
 * it was going to; a path no route knows is `unmatched`. Call after `await next()`.
 */
export function routeLabel(c: Context): string {
  const current = routePath(c);
  if (current && !current.endsWith('*')) return readable(current, c.req.path);
  const named = matchedRoutes(c)
    .map((r) => r.path)
    .filter((p) => !p.endsWith('*'));
  const last = named[named.length - 1];
  return last ? readable(last, c.req.path) : 'unmatched';
}

/**
 * Hono's pattern with its regex parameters written as operators do: `:op{.+:(?:block|unblock|approve)}` of
 * `/apps/123:block` becomes `:id:block` (one series per verb, never the id), and a parameter whose regex is
 * literal alternatives (`{tokens:set-expiration}`, `{pats:(?:enable|disable)}`) shows the segment itself.
 * The values come from the regex's own alternatives, so the label set stays bounded.
 */
function readable(pattern: string, path: string): string {
  if (!pattern.includes('{')) return pattern;
  const segments = compiledPattern(pattern);
  const actual = path.split('/');
  return segments
    .map((m, i) => {
      if (typeof m === 'string') return m;
      const seg = actual[i] ?? '';
      if (!m.re.test(seg)) return `:${m.name}`;
      if (m.literal) return seg;
      const verb = seg.slice(seg.lastIndexOf(':') + 1);
      return seg.includes(':') && /^[a-z-]{1,32}$/.test(verb) ? `:id:${verb}` : `:${m.name}`;
    })
    .join('/');
}

type Segment = string | { name: string; re: RegExp; literal: boolean };
// Route patterns are a fixed set: each is parsed once, not per request.
const compiled = new Map<string, Segment[]>();

function compiledPattern(pattern: string): Segment[] {
  let segments = compiled.get(pattern);
  if (!segments) {
    segments = pattern.split('/').map((segment): Segment => {
      const m = /^:(\w+)\{(.*)\}$/.exec(segment);
      if (!m) return segment;
      const source = m[2] as string;
      return {
        name: m[1] as string,
        re: new RegExp(`^(?:${source})$`),
        literal: !/[.*+?\\[\]^$]/.test(source.replace(/\(\?:|\)|\|/g, '')),
      };
    });
    compiled.set(pattern, segments);
  }
  return segments;
}

/**
 * Creates the metrics of one app instance in a new Registry (two apps in one process, and tests, never
 * share counters). Every name and label is listed in docs/operations.md "Metrics". Reloads are counted
 * through `engine.onReload` whoever triggers them; the revision, the reload times, the queue depth and the
 * outbox are read when scraped. Node's default metrics (`process_*`, `nodejs_*`) start at the first scrape,
 * so apps that are never scraped (tests, embedding) pay nothing for them.
 */
export function createMetrics({ engine, store, decisionLogDepth }: MetricsOptions): AppMetrics {
  const registry = new Registry();
  const registers = [registry];
  const p = METRIC_PREFIX;

  const decisions = new Counter({
    name: `${p}decisions_total`,
    help: 'Decisions served by the decision API (each one committed to the decision log), by action, decision (allow|deny) and reason code.',
    labelNames: ['action', 'decision', 'reason'] as const,
    registers,
  });
  const decisionSeconds = new Histogram({
    name: `${p}decision_duration_seconds`,
    help: 'Time to evaluate one decision (validation, facts, Wasm evaluation), seconds, by action.',
    labelNames: ['action'] as const,
    buckets: [...DECISION_BUCKETS],
    registers,
  });
  const requests = new Counter({
    name: `${p}http_requests_total`,
    help: 'HTTP requests answered, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const requestSeconds = new Histogram({
    name: `${p}http_request_duration_seconds`,
    help: 'Time from a request reaching the app to its answer (decision-log commit included), seconds, by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: [...HTTP_BUCKETS],
    registers,
  });
  const reloads = new Counter({
    name: `${p}reloads_total`,
    help: 'Policy load attempts by outcome: ok (a revision is live), rejected (invalid policy, history or bundle; the previous revision stays), error (could not be read or loaded).',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const outcome of ['ok', 'rejected', 'error']) reloads.inc({ outcome }, 0);
  let lastReloadAt = engine.status.lastReload?.at ?? 0;
  let lastOkAt = engine.status.lastReload?.ok ? engine.status.lastReload.at : (engine.status.liveSince ?? 0);
  engine.onReload?.((e: ReloadEvent) => {
    reloads.inc({ outcome: e.outcome });
    lastReloadAt = e.at;
    if (e.outcome === 'ok') lastOkAt = e.at;
  });
  new Gauge({
    name: `${p}policy_info`,
    help: 'The live policy revision (value 1; no sample before a policy is live).',
    labelNames: ['revision'] as const,
    registers,
    collect() {
      this.reset();
      if (engine.revision !== null) this.set({ revision: engine.revision }, 1);
    },
  });
  new Gauge({
    name: `${p}last_reload_timestamp_seconds`,
    help: 'When the last policy load attempt started, whatever its outcome, epoch seconds (0: none yet).',
    registers,
    collect() {
      this.set(lastReloadAt);
    },
  });
  new Gauge({
    name: `${p}last_successful_reload_timestamp_seconds`,
    help: 'When the last successful policy load started, epoch seconds (0: none yet).',
    registers,
    collect() {
      this.set(lastOkAt);
    },
  });
  if (decisionLogDepth) {
    new Gauge({
      name: `${p}decision_log_queue_depth`,
      help: 'Decisions appended to the decision log and not committed yet (their answers are waiting).',
      registers,
      collect() {
        this.set(decisionLogDepth());
      },
    });
  }
  const commits = new Counter({
    name: `${p}decision_log_commits_total`,
    help: 'Group commits of the decision log by outcome (ok|error; an error fails its requests closed).',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const outcome of ['ok', 'error']) commits.inc({ outcome }, 0);
  const commitRecords = new Histogram({
    name: `${p}decision_log_commit_records`,
    help: 'Decisions per group commit of the decision log.',
    buckets: [...BATCH_BUCKETS],
    registers,
  });
  const commitSeconds = new Histogram({
    name: `${p}decision_log_commit_duration_seconds`,
    help: 'Duration of one decision-log commit (one store transaction and its sync), seconds.',
    buckets: [...COMMIT_BUCKETS],
    registers,
  });
  if (typeof store?.notificationCounts === 'function') {
    new Gauge({
      name: `${p}outbox_messages`,
      help: 'Emails in the notification outbox by status (pending, sending, sent, dead), read from the store when scraped.',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        try {
          const counts = await store.notificationCounts();
          this.reset();
          for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
        } catch {
          // A closed or failing store: no sample this scrape rather than a failed scrape.
          this.reset();
        }
      },
    });
  }

  let processMetrics = false;
  const middleware: MiddlewareHandler = async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = routeLabel(c);
      const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : 'other';
      requests.inc({ route, method, status: String(c.res.status) });
      requestSeconds.observe({ route, method }, (performance.now() - started) / 1000);
    }
  };

  return {
    registry,
    observeDecisions(served) {
      for (const d of served) {
        const action = KNOWN_ACTIONS.has(d.action) ? d.action : 'other';
        const reason = KNOWN_REASONS.has(d.reason) ? d.reason : 'other';
        decisions.inc({ action, decision: d.decision ? 'allow' : 'deny', reason });
        decisionSeconds.observe({ action }, d.latency_us / 1e6);
      }
    },
    observeCommit(records, ok, seconds) {
      commits.inc({ outcome: ok ? 'ok' : 'error' });
      if (ok) {
        commitRecords.observe(records);
        commitSeconds.observe(seconds);
      }
    },
    middleware,
    async scrape() {
      if (!processMetrics) {
        processMetrics = true;
        collectDefaultMetrics({ register: registry });
      }
      return registry.metrics();
    },
  };
}
