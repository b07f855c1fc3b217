// Composes the engine: load a policy repository or bundle -> data document + revision -> loaded
// Wasm policy, swapped in atomically; decide() validates a request, adds facts, evaluates, and
// shapes the wire decision (SPEC §4). No HTTP here: any Node process can use it.
import { createHash, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { CatalogApp } from '../schemas/app-catalog.gen.ts';
import { loadBundle, writeBundle } from './bundle.ts';
import { EngineError, type Issue, isEngineError, isRejectedSource } from './errors.ts';
import {
  compilePolicy,
  DEFAULT_WASM_PATH,
  type LoadedPolicy,
  loadPolicy,
  type MemoryLimits,
  readPolicyWasm,
} from './evaluator.ts';
import {
  epochsForEvaluation,
  HistoryTimeline,
  type OrgHistory,
  type TokenSettings,
  tokenExpiry,
  tokenSettingsByOrg,
  tokenSettingsOf,
} from './history.ts';
import { loadHistoryFile } from './history-file.ts';
import { buildInput, type DecisionRequest, validateRequest } from './input.ts';
import { loadPolicyRepository } from './loader.ts';
import { canonicalJson } from './normalize.ts';
import { composeGoLive } from './notify/compose.ts';
import { effectiveTokenExpiry } from './notify/sweep.ts';
import type { GoLiveRecord, Store } from './store/store.ts';
import { formatRfc3339, nowSeconds } from './time.ts';
import type { DataDocument, RegoDecision, RegoInput } from './types.ts';

/** The wire decision (schemas/decision-response.schema.json). */
export interface Decision {
  decision: boolean;
  context: {
    decision_id: string;
    revision: string;
    reason: { code: string; message: string };
    blocked_by?: string;
    approval_request?: { org: string; app: string; href: string; method: 'POST' };
    advice?: { expires_at: string; warning?: string };
  };
}

/** Options of {@link createEngine}. Exactly one of `policyDir` and `bundlePath`. */
export interface EngineOptions {
  /** A policy repository: `orgs/*.yaml`, optional `history/*.yaml` (SPEC §3, §5). */
  policyDir?: string;
  /** An OPA bundle built by `appwarden build` (`.manifest`, `data.json`, `policy.wasm`). */
  bundlePath?: string;
  /** Extra PolicyHistory files (SPEC §5), at most one per org across these and `history/`. */
  historyFiles?: string[];
  /** The compiled policy; default `policies/policy.wasm` of this package. Ignored with a bundle. */
  wasmPath?: string;
  /** The server clock, epoch seconds UTC (tests set it). */
  clock?: () => number;
  /** Wasm memory bound. */
  memory?: MemoryLimits;
  /**
   * Where the settings history lives across restarts (SPEC §5, §6). With a store, each load that makes a
   * new revision live records it per org before the swap, histories imported with `appwarden history
   * import` join the repository's, and the first load rebuilds the timeline from what the store holds, so
   * a restart does not restart the epochs. Without one the timeline lives in memory only.
   */
  store?: Store;
}

/** What a successful {@link Engine.load} made live. */
export interface LoadResult {
  revision: string;
  /** True when the revision differs from the one that was live (false: nothing changed). */
  changed: boolean;
  orgs: string[];
  /** When it went live, epoch seconds UTC. */
  liveSince: number;
  /**
   * Problems that did not stop the load, e.g. an imported history ignored because the repository has a
   * `history/` file for the same org (that file wins, SPEC §5). Empty (or absent) when none.
   */
  warnings?: Issue[];
}

/** The outcome of the last load attempt (for /health and logs). */
export interface ReloadStatus {
  at: number;
  ok: boolean;
  revision?: string;
  issues?: Issue[];
  /** See {@link LoadResult.warnings}; only on a successful load that had some. */
  warnings?: Issue[];
}

/**
 * What one {@link Engine.load} attempt did, for listeners ({@link Engine.onReload}: metrics, logs).
 * `outcome`: `ok` a revision is live (new or unchanged); `rejected` the sources are invalid
 * (`invalid_policy` | `invalid_history` | `invalid_bundle`: every problem is in the error's issues);
 * `error` they could not be read or loaded (`io_error`, `wasm_load_error`, a store failure, anything else).
 * On `rejected` and `error` the previous revision stays live (SPEC §7).
 */
export interface ReloadEvent {
  outcome: 'ok' | 'rejected' | 'error';
  /** When the attempt started, epoch seconds UTC (the engine's clock, as `/health` shows it). */
  at: number;
  /** How long the attempt took, milliseconds. */
  ms: number;
  /** The live revision after the attempt (null: none yet), and before it. */
  revision: string | null;
  previous: string | null;
  /** The load's result (`ok` only). */
  result?: LoadResult;
  /** What the load threw (`rejected` and `error` only). */
  error?: unknown;
}

/** A decision engine: see {@link createEngine}. */
export interface Engine {
  /**
   * (Re)reads everything, validates it as a whole, builds a new loaded policy and swaps it in
   * atomically. On any error the previous revision stays live (SPEC §7).
   * @throws EngineError `invalid_policy` | `invalid_history` | `invalid_bundle` | `wasm_load_error` | `io_error`
   */
  load(): Promise<LoadResult>;
  /** The live revision; null before the first good load. */
  readonly revision: string | null;
  readonly isReady: boolean;
  readonly status: { revision: string | null; liveSince: number | null; lastReload: ReloadStatus | null };
  readonly policyDir: string | null;
  /** The live data document (null before the first good load). */
  readonly data: DataDocument | null;
  /**
   * The live app catalog (`apps/*.yaml` of the repository, by app id; empty for a bundle or before the first
   * load). What the admin surface shows about apps (SPEC §6); never part of a decision or the revision.
   */
  readonly catalog: Readonly<Record<string, CatalogApp>>;
  /**
   * Validates the AuthZEN request, adds the server's facts, evaluates, and returns the wire decision.
   * An undefined result is a deny with reason `evaluation_undefined` (fail closed).
   * @param opts.at evaluation time in epoch seconds: the CLI only (live endpoints never pass it).
   *   With `at`, live settings that differ from the history count as set at `at` (SPEC §5 for eval).
   * @throws EngineError `invalid_input` (issues[].path = the field) | `not_ready` | `evaluation_error`
   */
  decide(request: unknown, opts?: { at?: number }): Decision;
  /** The validation of {@link Engine.decide} only. @throws EngineError `invalid_input` */
  validate(request: unknown, fieldPrefix?: string): DecisionRequest;
  /** The Rego input `decide` would evaluate (DESIGN §2): for replay against `opa eval` / `opa run`. @throws as decide */
  buildInput(request: unknown, opts?: { at?: number }): RegoInput;
  /**
   * Records in memory that `id` is revoked in `org`, so the next `token.use` of it is `token_revoked`
   * (SPEC §5). Call it after the store has recorded the revocation; the engine also loads every revoked id
   * from its store at each load, so a restart or reload keeps them (and learns of other writers').
   */
  markRevoked(org: string, id: string): void;
  /**
   * Records in memory when `userId` joined `org` (epoch seconds), after the store has: a `token.use` of that
   * user that does not say `subject.properties.joined_at` is decided with it (SPEC §5 "joining an org").
   * Each load also reads every join time from the store.
   */
  markJoined(org: string, userId: string, joinedAt: number): void;
  /** The join time the engine knows for `userId` in `org`, epoch seconds, or null. */
  joinedAt(org: string, userId: string): number | null;
  /** True when the engine knows `id` is revoked in `org` (the `facts.token_revoked` of DESIGN §2). */
  isRevoked(org: string, id: string): boolean;
  /**
   * The expiry of a token of `org` created at `created` (epoch seconds) under the live settings history
   * (SPEC §5, without the join-time rule), epoch seconds UTC; null before the first load.
   */
  tokenExpiry(org: string, created: number): number | null;
  /**
   * Calls `listener` after every {@link Engine.load} attempt, whoever made it (watcher, SIGHUP, a test), once
   * the live state reflects it. A listener that throws is ignored (it never fails a load). Optional in the
   * interface so that stand-in engines (tests) need not have it; {@link createEngine}'s always does.
   * @returns a function that removes the listener
   */
  onReload?(listener: (event: ReloadEvent) => void): () => void;
  /** Releases the loaded policy. */
  close(): void;
}

interface Live {
  revision: string;
  data: DataDocument;
  policy: LoadedPolicy;
  liveSince: number;
  histories: OrgHistory[];
  catalog: Record<string, CatalogApp>;
}

/**
 * The revision of a data document, its settings histories and a compiled policy (DESIGN §5):
 * sha256 over the canonical data JSON, the canonical histories (org and revisions, sorted by org)
 * and sha256(policy.wasm); first 16 hex digits. Anything that can change a decision changes it;
 * comments, layout, key order, file names and a byte-order mark do not.
 */
export function computeRevision(
  data: DataDocument,
  wasm: Uint8Array,
  histories: readonly OrgHistory[] = [],
): string {
  const wasmHash = createHash('sha256').update(wasm).digest('hex');
  const history = canonicalJson(
    [...histories]
      .sort((a, b) => a.org.localeCompare(b.org))
      .map((h) => ({ org: h.org, revisions: h.revisions })),
  );
  return createHash('sha256')
    .update(`${canonicalJson(data)}\n${history}\n${wasmHash}`)
    .digest('hex')
    .slice(0, 16);
}

function sameSettings(a: TokenSettings, b: TokenSettings): boolean {
  return a.expiration_days === b.expiration_days && a.personal_access_tokens === b.personal_access_tokens;
}

/** The store's go-live rows reduced to the changes of each org's token settings, oldest first. */
function changesOf(rows: readonly GoLiveRecord[]): Map<string, { at: number; settings: TokenSettings }[]> {
  const out = new Map<string, { at: number; settings: TokenSettings }[]>();
  for (const r of rows) {
    const list = out.get(r.org) ?? [];
    const settings = { expiration_days: r.expiration_days, personal_access_tokens: r.personal_access_tokens };
    const last = list[list.length - 1];
    if (!last || !sameSettings(last.settings, settings)) list.push({ at: r.at, settings });
    out.set(r.org, list);
  }
  return out;
}

const MESSAGES: Record<string, string> = {
  evaluation_undefined: 'the policy gave no decision for this input; denied (fail closed)',
};

/** Turns the raw Rego output into the wire decision (DESIGN §3). */
export function toWireDecision(raw: RegoDecision | undefined, revision: string, org: string): Decision {
  const decisionId = randomUUID();
  if (!raw) {
    return {
      decision: false,
      context: {
        decision_id: decisionId,
        revision,
        reason: { code: 'evaluation_undefined', message: MESSAGES.evaluation_undefined as string },
      },
    };
  }
  const context: Decision['context'] = { decision_id: decisionId, revision, reason: raw.context.reason };
  if (raw.context.blocked_by !== undefined) context.blocked_by = raw.context.blocked_by;
  if (raw.context.approval_request !== undefined) {
    const { org: reqOrg = org, app } = raw.context.approval_request;
    context.approval_request = {
      org: reqOrg,
      app,
      href: `/v1/orgs/${encodeURIComponent(reqOrg)}/approval-requests`,
      method: 'POST',
    };
  }
  if (raw.context.advice !== undefined) {
    context.advice = { expires_at: formatRfc3339(raw.context.advice.expires_at) };
    if (raw.context.advice.warning !== undefined) context.advice.warning = raw.context.advice.warning;
  }
  // A decision is an allow only when the policy says exactly `true`.
  return { decision: raw.decision === true, context };
}

/**
 * Creates a decision engine over a policy repository (or bundle) and the committed policy.wasm.
 * Call `load()` before `decide()`.
 * @example
 * const engine = createEngine({ policyDir: 'examples/policy-repo' });
 * await engine.load();
 * const d = engine.decide({ subject: { type: 'user', id: 'U1', properties: { email: 'a@acme.example', role: 'member' } },
 *   action: { name: 'app.connect' }, resource: { type: 'app', id: '1204567890123456789' }, context: { org: 'acme.example' } });
 * // d.decision === false, d.context.reason.code === 'app_blocked'
 */
export function createEngine(opts: EngineOptions): Engine {
  if (!opts.policyDir === !opts.bundlePath) {
    throw new EngineError('invalid_config', 'give exactly one of a policy directory and a bundle');
  }
  const clock = opts.clock ?? nowSeconds;
  let live: Live | null = null;
  const reloadListeners = new Set<(event: ReloadEvent) => void>();
  function emitReload(event: ReloadEvent): void {
    for (const l of reloadListeners) {
      try {
        l(event);
      } catch {
        // A listener (metrics, logs) never fails a load.
      }
    }
  }
  /** Emits the `ok` event of a load that started at `at` (performance.now() `started`) and returns its result. */
  function loaded(at: number, started: number, previous: string | null, result: LoadResult): LoadResult {
    const ms = Math.round((performance.now() - started) * 100) / 100;
    emitReload({ outcome: 'ok', at, ms, revision: result.revision, previous, result });
    return result;
  }
  let lastReload: ReloadStatus | null = null;
  let timeline = new HistoryTimeline();
  // Per org, when its token settings went live, in order, replayed onto (possibly edited) history files.
  // Only changes are kept, so the lists grow with setting changes, not reloads. With a store they are
  // first read back from it, so they outlive the process.
  let wentLive: Map<string, { at: number; settings: TokenSettings }[]> | null = opts.store ? null : new Map();
  // Revoked token ids per org, in memory so decide() stays synchronous and free of store reads. Revocation is
  // permanent, so the sets only grow: each load adds what the store holds (a union, never a replacement,
  // so a revocation made while a load reads the store is not lost).
  const revoked = new Map<string, Set<string>>();
  function addRevoked(org: string, ids: Iterable<string>): void {
    let set = revoked.get(org);
    if (!set) {
      set = new Set();
      revoked.set(org, set);
    }
    for (const id of ids) set.add(id);
  }

  // Join times per org and user (member-joined events), in memory for the same reason; the store's value
  // replaces ours at each load (a later join replaces an earlier one there too).
  const joined = new Map<string, Map<string, number>>();
  function setJoined(org: string, userId: string, at: number): void {
    let m = joined.get(org);
    if (!m) {
      m = new Map();
      joined.set(org, m);
    }
    m.set(userId, at);
  }

  async function readSources(): Promise<{
    data: DataDocument;
    wasm: Uint8Array;
    module: WebAssembly.Module;
    histories: OrgHistory[];
    catalog: Record<string, CatalogApp>;
    warnings: Issue[];
  }> {
    const histories: OrgHistory[] = [];
    const warnings: Issue[] = [];
    let catalog: Record<string, CatalogApp> = {};
    const issues: Issue[] = [];
    let data: DataDocument;
    let wasm: Uint8Array;
    let module: WebAssembly.Module;
    if (opts.bundlePath) {
      const bundle = await loadBundle(opts.bundlePath);
      data = bundle.data;
      wasm = bundle.wasm;
      histories.push(...bundle.histories);
      module = compilePolicy(wasm);
    } else {
      const repo = await loadPolicyRepository(opts.policyDir as string);
      data = repo.data;
      catalog = repo.catalog;
      histories.push(...repo.histories);
      ({ bytes: wasm, module } = await readPolicyWasm(opts.wasmPath ?? DEFAULT_WASM_PATH));
    }
    if (opts.store) {
      // Imported histories of orgs that no policy declares yet wait for their org (a migration imports first).
      const fromFiles = new Set(histories.map((h) => h.org));
      for (const h of await opts.store.importedHistories()) {
        if (!Object.hasOwn(data.orgs, h.org)) continue;
        if (fromFiles.has(h.org)) {
          // The repository's file wins: a stale import must not take every org down (docs/api.md "History").
          warnings.push({
            message: `org "${h.org}" has a history file in the repository; the history imported into the store (from ${h.file}) is ignored; drop it with \`appwarden history remove ${h.org}\``,
          });
          continue;
        }
        histories.push({ org: h.org, revisions: h.revisions });
      }
    }
    for (const file of opts.historyFiles ?? []) {
      try {
        // Absolute, so that a caller prefixing repository-relative issue paths leaves these alone.
        histories.push(await loadHistoryFile(resolve(file)));
      } catch (err) {
        if (isEngineError(err)) issues.push(...err.issues);
        else throw err;
      }
    }
    const seen = new Map<string, string>();
    for (const h of histories) {
      const prev = seen.get(h.org);
      if (prev !== undefined) {
        issues.push({
          ...(h.file === undefined ? {} : { file: h.file }),
          message: `a second history for org "${h.org}" (the first is ${prev}); keep one file per org`,
        });
      }
      seen.set(h.org, h.file ?? '');
      if (!Object.hasOwn(data.orgs, h.org)) {
        issues.push({
          ...(h.file === undefined ? {} : { file: h.file }),
          message: `history for org "${h.org}", which no org policy declares; check metadata.org / org for a typo`,
        });
      }
    }
    if (issues.length > 0) throw new EngineError('invalid_history', issues);
    return { data, wasm, module, histories, catalog, warnings };
  }

  const engine: Engine = {
    async load() {
      const at = clock();
      const started = performance.now();
      const previous = live?.revision ?? null;
      try {
        const { data, wasm, module, histories, catalog, warnings } = await readSources();
        const warned = warnings.length > 0 ? { warnings } : {};
        if (opts.store) for (const [org, ids] of await opts.store.revokedTokenIds()) addRevoked(org, ids);
        if (opts.store) {
          for (const [org, users] of await opts.store.memberJoinTimes())
            for (const [user, t] of users) setJoined(org, user, t);
        }
        const revision = computeRevision(data, wasm, histories);
        if (live && live.revision === revision) {
          // The catalog is not in the revision (it decides nothing): an edit of it alone still goes live.
          live.catalog = catalog;
          lastReload = { at, ok: true, revision, ...warned };
          return loaded(at, started, previous, {
            revision,
            changed: false,
            orgs: Object.keys(data.orgs).sort(),
            liveSince: live.liveSince,
            warnings,
          });
        }
        // Build everything first; the swap below is one assignment.
        const policy = loadPolicy(module, data, opts.memory);
        // The timeline is rebuilt from the (possibly edited) history files, then every go-live replayed.
        const past = wentLive ?? changesOf(await (opts.store as Store).goLives());
        const settings = tokenSettingsByOrg(data);
        // SPEC §5: a revision that turns PATs off revokes every PAT of the org that the registry knows.
        const sweepPats = Object.entries(settings)
          .filter(([org, s]) => {
            const before = past.get(org);
            const last = before?.[before.length - 1];
            return (
              s.personal_access_tokens === 'disabled' && last?.settings.personal_access_tokens !== 'disabled'
            );
          })
          .map(([org]) => org);
        const next = new Map([...past].map(([org, list]) => [org, [...list]]));
        for (const [org, s] of Object.entries(settings)) {
          const list = next.get(org) ?? [];
          const last = list[list.length - 1];
          if (!last || !sameSettings(last.settings, s)) list.push({ at, settings: s });
          next.set(org, list);
        }
        // Recorded before the swap: a revision the store does not know never serves (restart-safety). The PAT
        // sweep, the approval of pending requests and their emails (SPEC §6) commit in the same transaction.
        const goLive = await opts.store?.recordGoLive(
          Object.entries(settings).map(
            ([org, s]): GoLiveRecord => ({
              org,
              revision,
              at,
              ...s,
              settings_json: canonicalJson(data.orgs[org]),
            }),
          ),
          {
            sweepPats,
            // SPEC §6: when the revision that approves an app goes live, its pending requests close.
            approvedApps: Object.fromEntries(
              Object.entries(data.orgs).map(([org, o]) => [org, Object.keys(o.apps.approved)]),
            ),
            notify: (res) =>
              composeGoLive(res, {
                revision,
                at,
                // Under the settings in force until now (the timeline before the swap), SPEC §5.
                expiredBefore: (t) =>
                  (effectiveTokenExpiry(t, {
                    tokenExpiry: (org, created) => tokenExpiry(created, timeline.epochs(org)),
                  }) ?? Number.POSITIVE_INFINITY) <= at,
              }),
          },
        );
        for (const [org, ids] of goLive?.swept ?? []) addRevoked(org, ids);
        const nextTimeline = new HistoryTimeline(histories);
        for (const [org, list] of next) for (const r of list) nextTimeline.recordOrg(org, r.settings, r.at);
        wentLive = next;
        timeline = nextTimeline;
        live = { revision, data, policy, liveSince: at, histories, catalog };
        lastReload = { at, ok: true, revision, ...warned };
        return loaded(at, started, previous, {
          revision,
          changed: true,
          orgs: Object.keys(data.orgs).sort(),
          liveSince: at,
          warnings,
        });
      } catch (err) {
        const issues = isEngineError(err) ? err.issues : [{ message: String(err) }];
        lastReload = { at, ok: false, issues };
        const rejected = isRejectedSource(err);
        emitReload({
          outcome: rejected ? 'rejected' : 'error',
          at,
          ms: Math.round((performance.now() - started) * 100) / 100,
          revision: live?.revision ?? null,
          previous,
          error: err,
        });
        throw err;
      }
    },
    get revision() {
      return live?.revision ?? null;
    },
    get isReady() {
      return live !== null;
    },
    get status() {
      return { revision: live?.revision ?? null, liveSince: live?.liveSince ?? null, lastReload };
    },
    get policyDir() {
      return opts.policyDir ?? null;
    },
    get data() {
      return live?.data ?? null;
    },
    get catalog() {
      return live?.catalog ?? {};
    },
    validate(request, fieldPrefix = '') {
      return validateRequest(request, fieldPrefix);
    },
    buildInput(request, decideOpts = {}) {
      const req = validateRequest(request);
      return inputFor(req, decideOpts.at);
    },
    decide(request, decideOpts = {}) {
      const req = validateRequest(request);
      const input = inputFor(req, decideOpts.at);
      const current = live as Live;
      return toWireDecision(current.policy.evaluate(input), current.revision, input.context.org);
    },
    markRevoked(org, id) {
      addRevoked(org.toLowerCase(), [id]);
    },
    markJoined(org, userId, joinedAt) {
      setJoined(org.toLowerCase(), userId, joinedAt);
    },
    joinedAt(org, userId) {
      return joined.get(org.toLowerCase())?.get(userId) ?? null;
    },
    isRevoked(org, id) {
      return revoked.get(org.toLowerCase())?.has(id) ?? false;
    },
    tokenExpiry(org, created) {
      if (!live) return null;
      return tokenExpiry(created, timeline.epochs(org.toLowerCase()));
    },
    onReload(listener) {
      reloadListeners.add(listener);
      return () => reloadListeners.delete(listener);
    },
    close() {
      live = null;
      reloadListeners.clear();
    },
  };

  function inputFor(req: DecisionRequest, at: number | undefined): RegoInput {
    const current = live;
    if (!current) throw new EngineError('not_ready', 'no valid policy is live yet');
    const org = req.context.org.toLowerCase();
    const orgData = Object.hasOwn(current.data.orgs, org) ? current.data.orgs[org] : undefined;
    let history = timeline.epochs(org);
    if (at !== undefined && orgData) {
      // CLI semantics (SPEC §5): history files, then the live settings as set at the evaluation time.
      history = epochsForEvaluation(
        current.histories.find((h) => h.org === org),
        tokenSettingsOf(orgData),
        at,
      );
    }
    const isRevoked =
      req.action.name === 'token.use' &&
      req.resource.id !== undefined &&
      (revoked.get(org)?.has(req.resource.id) ?? false);
    const input = buildInput(req, { now: at ?? clock(), history, token_revoked: isRevoked });
    // SPEC §5 join rule: what the caller says wins; otherwise the join the platform reported (member-joined).
    if (req.action.name === 'token.use' && req.subject.type === 'user') {
      const props = input.subject.properties as Record<string, unknown>;
      const known = joined.get(org)?.get(req.subject.id);
      if (props.joined_at === undefined && known !== undefined) props.joined_at = known;
    }
    return input;
  }

  return engine;
}

/**
 * Validates a policy repository as `appwarden validate` does and computes its revision.
 * @throws EngineError `invalid_policy` | `invalid_history` | `io_error` | `wasm_load_error`
 */
export async function loadAndValidate(
  policyDir: string,
  wasmPath = DEFAULT_WASM_PATH,
): Promise<{
  revision: string;
  orgs: string[];
  data: DataDocument;
  histories: OrgHistory[];
  catalog: Record<string, CatalogApp>;
}> {
  const repo = await loadPolicyRepository(policyDir);
  const { bytes } = await readPolicyWasm(wasmPath);
  return {
    revision: computeRevision(repo.data, bytes, repo.histories),
    orgs: Object.keys(repo.data.orgs).sort(),
    data: repo.data,
    histories: repo.histories,
    catalog: repo.catalog,
  };
}

/**
 * Builds an OPA bundle (`.manifest` with the revision, `data.json`, `policy.wasm`, and the
 * repository's settings histories in `history.json`) from a policy repository; the repository must
 * be valid (SPEC §2). Serving the bundle decides exactly as serving the directory does.
 * @throws EngineError as {@link loadAndValidate}, and `io_error` when the file cannot be written
 */
export async function buildBundle(
  policyDir: string,
  outFile: string,
  wasmPath = DEFAULT_WASM_PATH,
): Promise<{ revision: string }> {
  const { data, revision, histories } = await loadAndValidate(policyDir, wasmPath);
  const { bytes } = await readPolicyWasm(wasmPath);
  await writeBundle(outFile, { data, wasm: bytes, revision, histories });
  return { revision };
}
