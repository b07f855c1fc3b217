// Impact replay (`appwarden diff --impact`): re-evaluates logged decisions under the base and the head revision
// with the server's Wasm at each decision's own time, reports what flips (allow → deny, deny → allow) grouped by
// org, new reason, app, user and token owner, and which registry tokens a token-settings change revokes or
// expires earlier (SPEC §5).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createEngine, type Engine } from './engine.ts';
import { EngineError, isEngineError } from './errors.ts';
import { DEFAULT_WASM_PATH } from './evaluator.ts';
import {
  epochsFromHistory,
  type OrgHistory,
  type TokenSettings,
  tokenExpiry,
  tokenSettingsOf,
  withLive,
} from './history.ts';
import { mdEscape, oneLine } from './policy-diff.ts';
import type { DecisionRecord, GoLiveRecord, Store, TokenKind, TokenRecord } from './store/store.ts';
import { DAY, formatRfc3339, parseRfc3339, parseRfc3339Instant } from './time.ts';
import type { DataDocument, SettingsEpoch } from './types.ts';

/** One side of the replay: a policy repository directory and what was loaded from it. */
export interface ImpactSide {
  dir: string;
  data: DataDocument;
  histories: readonly OrgHistory[];
}

/**
 * What the replay knows of the server's runtime state: the token registry (SPEC §6) and the facts the
 * engine adds from the store (revoked ids, join times), and the go-live history (SPEC §5). From a store
 * ({@link registryFromStore}) or reconstructed from the decisions themselves ({@link registryFromDecisions}).
 */
export interface ImpactRegistry {
  tokens: TokenRecord[];
  /** Revoked token ids per org (`facts.token_revoked`). */
  revoked: Map<string, string[]>;
  /** Join times per org and user, epoch seconds (SPEC §5 join rule). */
  joins: Map<string, Map<string, number>>;
  /** Go-live rows, oldest first (the server's settings history). */
  goLives: GoLiveRecord[];
}

/** Options of {@link replayImpact}. */
export interface ImpactOptions {
  base: ImpactSide;
  head: ImpactSide;
  /** The decisions to replay (any order); rows with `input: null` are skipped and counted. */
  decisions: Iterable<DecisionRecord> | AsyncIterable<DecisionRecord>;
  /** The registry; default: reconstructed from `decisions`. */
  registry?: ImpactRegistry;
  /** "Now": when head would go live, epoch seconds UTC (token expiry and "used in the last day"). */
  now: number;
  /** The replayed window, epoch seconds UTC, for the report only. */
  since?: number | null;
  wasmPath?: string;
}

/** One decision whose outcome differs between base and head. */
export interface Flip {
  decision_id: string;
  /** When it was decided, RFC 3339. */
  time: string;
  org: string;
  action: string;
  subject_type: string;
  subject_id: string;
  /** The app id of an `app.connect` / `app.use`, else null. */
  app: string | null;
  /** The owner (user id) of the token of a `token.use`, else null. */
  token_owner: string | null;
  direction: 'allow_to_deny' | 'deny_to_allow';
  base_reason: string;
  head_reason: string;
}

/** A group's counts (by reason, app, user or token owner). */
export interface FlipGroup {
  key: string;
  allow_to_deny: number;
  deny_to_allow: number;
}

/** A registry token a token-settings change affects. Times epoch seconds UTC in memory, RFC 3339 on the wire. */
export interface AffectedToken {
  id: string;
  kind: TokenKind;
  /** The owner's user id (the registry's `owner`). */
  owner: string | null;
  /** The owner's email when the registry knows it (a store's registry does; a decisions file never has emails). */
  owner_email: string | null;
  service_account: string | null;
  created_at: string | null;
  last_used_at: string | null;
  /** Expiry before and after (expiry-earlier list only). */
  old_expiry?: string;
  new_expiry?: string;
}

/** One org's impact. */
export interface OrgImpact {
  org: string;
  allow_to_deny: number;
  deny_to_allow: number;
  /** By the head's reason (the new reason), most flips first. */
  by_reason: FlipGroup[];
  by_app: FlipGroup[];
  /** By subject id of user subjects. */
  by_user: FlipGroup[];
  by_token_owner: FlipGroup[];
  /** PATs turned off: every unrevoked PAT of the org (SPEC §5 sweep), with a sentence; null otherwise. */
  pats_revoked: {
    sentence: string;
    people: number;
    used_last_day: number;
    tokens: AffectedToken[];
  } | null;
  /**
   * Service accounts the head disables or removes: every unrevoked token of theirs in the registry stops
   * working (`service_account_disabled` / `_unknown`, SPEC §4); null when none.
   */
  service_account_tokens_stopped: {
    sentence: string;
    service_accounts: string[];
    service_automations_used_last_day: number;
    tokens: AffectedToken[];
  } | null;
  /** Tokens whose expiry moves earlier under the head's expiration applied from now; null when none. */
  expiry_earlier: {
    sentence: string;
    owners: number;
    service_automations_used_last_day: number;
    tokens: AffectedToken[];
  } | null;
}

/** The replay's result (wire shape of `--format json`'s `impact`). */
export interface ImpactReport {
  now: string;
  since: string | null;
  decisions: {
    /** Rows read in the window. */
    read: number;
    replayed: number;
    /** Rows logged before the store kept inputs (migration 7): cannot be replayed. */
    skipped_no_input: number;
    /** Rows whose input is no longer a valid request. */
    skipped_invalid: number;
    /** Replayed rows the base decides differently from the log (revocations, joins, history): not this change. */
    drift: number;
  };
  allow_to_deny: number;
  deny_to_allow: number;
  orgs: OrgImpact[];
  /** The first flips (at most 50), newest first, for a closer look. */
  sample: Flip[];
}

/** A stand-in for the email the log leaves out (SPEC §6: no emails); no decision depends on it. */
const REPLAY_EMAIL = 'replay@redacted.invalid';

function replayRequest(input: Record<string, unknown>): Record<string, unknown> {
  const req = structuredClone(input);
  const subject = req.subject as { type?: unknown; properties?: Record<string, unknown> } | undefined;
  if (subject && subject.type === 'user') {
    subject.properties = { ...(subject.properties ?? {}) };
    if (subject.properties.email === undefined) subject.properties.email = REPLAY_EMAIL;
  }
  return req;
}

async function engineFor(
  side: ImpactSide,
  registry: ImpactRegistry,
  now: number,
  wasmPath: string,
): Promise<Engine> {
  const engine = createEngine({ policyDir: side.dir, clock: () => now, wasmPath });
  await engine.load();
  for (const [org, ids] of registry.revoked) for (const id of ids) engine.markRevoked(org, id);
  for (const [org, users] of registry.joins) for (const [user, t] of users) engine.markJoined(org, user, t);
  return engine;
}

function bump(map: Map<string, FlipGroup>, key: string | null, dir: Flip['direction']): void {
  if (key === null) return;
  const g = map.get(key) ?? { key, allow_to_deny: 0, deny_to_allow: 0 };
  g[dir] += 1;
  map.set(key, g);
}

function sorted(map: Map<string, FlipGroup>): FlipGroup[] {
  return [...map.values()].sort(
    (a, b) =>
      b.allow_to_deny + b.deny_to_allow - (a.allow_to_deny + a.deny_to_allow) || a.key.localeCompare(b.key),
  );
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const iso = (t: number | null): string | null => (t === null ? null : formatRfc3339(t));

/**
 * The registry as a store holds it, read-only: every org's tokens, revoked ids, join times and go-lives.
 * @param orgs the orgs to read tokens of (both sides' orgs)
 * @throws EngineError `io_error`
 */
export async function registryFromStore(store: Store, orgs: readonly string[]): Promise<ImpactRegistry> {
  const tokens: TokenRecord[] = [];
  for (const org of orgs) tokens.push(...(await store.listTokens({ org })));
  return {
    tokens,
    revoked: await store.revokedTokenIds(),
    joins: await store.memberJoinTimes(),
    goLives: await store.goLives(),
  };
}

/**
 * The registry the server would have built from these decisions alone (`--decisions <file>`, no store): the
 * tokens of `token.use` and of allowed `token.create` with an id, their kind, owner, service account, creation
 * and last allowed use; a PAT use denied `pats_disabled` / `token_revoked` marks it revoked (as the server's
 * sighting does). No join times, no go-live history (the repository's history/ files still apply).
 */
export function registryFromDecisions(records: Iterable<DecisionRecord>): ImpactRegistry {
  const byKey = new Map<string, TokenRecord>();
  for (const r of records) {
    if (!r.input || (r.action !== 'token.use' && r.action !== 'token.create')) continue;
    if (['org_unknown', 'evaluation_error', 'evaluation_undefined'].includes(r.reason)) continue;
    if (r.action === 'token.create' && !r.decision) continue;
    const resource = (r.input.resource ?? {}) as { id?: unknown; properties?: Record<string, unknown> };
    const subject = (r.input.subject ?? {}) as { id?: unknown; type?: unknown };
    const id = str(resource.id);
    if (id === null) continue;
    const props = resource.properties ?? {};
    const at = Math.floor(r.at_ms / 1000);
    const key = `${r.org}\u0000${id}`;
    const created = r.action === 'token.create' ? at : parseRfc3339(str(props.created_at) ?? '');
    const kind: TokenKind = props.kind === 'service_account' ? 'service_account' : 'personal_access';
    // The log keeps no emails: the owner's email stays unknown (null) here.
    const row: TokenRecord =
      byKey.get(key) ??
      ({
        org: r.org,
        id,
        kind,
        owner:
          str(props.owner) ??
          (r.action === 'token.create' && subject.type === 'user' ? str(subject.id) : null),
        owner_email: null,
        service_account: str(props.service_account),
        created_at: created,
        first_seen: at,
        registered_by: r.action,
        last_used_at: null,
        expires_at: null,
        revoked: null,
      } as TokenRecord);
    row.first_seen = Math.min(row.first_seen, at);
    if (r.action === 'token.use' && r.decision && (row.last_used_at === null || at > row.last_used_at))
      row.last_used_at = at;
    if (
      r.action === 'token.use' &&
      kind === 'personal_access' &&
      (r.reason === 'pats_disabled' || r.reason === 'token_revoked') &&
      (row.revoked === null || at < row.revoked.at)
    )
      row.revoked = { at, by: 'policy', reason: 'personal access tokens turned off' };
    byKey.set(key, row);
  }
  return { tokens: [...byKey.values()], revoked: new Map(), joins: new Map(), goLives: [] };
}

/**
 * The token-setting epochs of `org` on the base side at `now` (SPEC §5): the repository's history file, then
 * the server's go-lives when known, then the base's settings as live at `now` if they differ.
 */
function baseEpochs(
  org: string,
  base: ImpactSide,
  goLives: readonly GoLiveRecord[],
  now: number,
): SettingsEpoch[] {
  let epochs = epochsFromHistory(base.histories.find((h) => h.org === org));
  for (const g of goLives) {
    if (g.org !== org || g.at > now) continue;
    epochs = withLive(
      epochs,
      { expiration_days: g.expiration_days, personal_access_tokens: g.personal_access_tokens },
      g.at,
    );
  }
  const o = base.data.orgs[org];
  return o ? withLive(epochs, tokenSettingsOf(o), now) : epochs;
}

function affected(t: TokenRecord): AffectedToken {
  return {
    id: t.id,
    kind: t.kind,
    owner: t.owner,
    owner_email: (t as { owner_email?: string | null }).owner_email ?? null,
    service_account: t.service_account,
    created_at: iso(t.created_at),
    last_used_at: iso(t.last_used_at),
  };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** Token effects of one org (SPEC §5): the PAT sweep and expiries that move earlier. */
function tokenEffects(
  org: string,
  opts: ImpactOptions,
  registry: ImpactRegistry,
): Pick<OrgImpact, 'pats_revoked' | 'service_account_tokens_stopped' | 'expiry_earlier'> {
  const b = opts.base.data.orgs[org];
  const h = opts.head.data.orgs[org];
  if (!h) return { pats_revoked: null, service_account_tokens_stopped: null, expiry_earlier: null };
  const now = opts.now;
  const lastDay = (t: TokenRecord) => t.last_used_at !== null && t.last_used_at > now - DAY;
  const before = baseEpochs(org, opts.base, registry.goLives, now);
  // What each token's expiry is without the change (SPEC §5, capped by what a decision stamped); a token
  // past it is dead already: turning PATs off or moving expiries does nothing to it, so it is not listed.
  const expiryWithout = (t: TokenRecord): number =>
    Math.min(
      t.created_at === null ? Number.POSITIVE_INFINITY : tokenExpiry(t.created_at, before),
      t.expires_at ?? Number.POSITIVE_INFINITY,
    );
  const live = registry.tokens
    .filter((t) => t.org === org && t.revoked === null && expiryWithout(t) > now)
    .sort((x, y) => (x.owner ?? '').localeCompare(y.owner ?? '') || x.id.localeCompare(y.id));
  const patsOff =
    h.tokens.personal_access_tokens === 'disabled' && b?.tokens.personal_access_tokens !== 'disabled';
  let patsRevoked: OrgImpact['pats_revoked'] = null;
  if (patsOff) {
    const pats = live.filter((t) => t.kind === 'personal_access');
    const people = new Set(pats.map((t) => t.owner ?? `(unknown owner of ${t.id})`)).size;
    const used = pats.filter(lastDay).length;
    patsRevoked = {
      sentence:
        pats.length === 0
          ? 'turning PATs off revokes no token: the registry holds no unexpired PAT of this org'
          : `turning PATs off revokes ${plural(pats.length, 'token')} of ${plural(people, 'person', 'people')}, ${used} of them used in the last day`,
      people,
      used_last_day: used,
      tokens: pats.map(affected),
    };
  }
  const stoppedAccounts = Object.entries(b?.service_accounts ?? {})
    .filter(
      ([id, sa]) => sa.enabled && !(Object.hasOwn(h.service_accounts, id) && h.service_accounts[id]?.enabled),
    )
    .map(([id]) => id)
    .sort();
  const stopped = live.filter(
    (t) =>
      t.kind === 'service_account' &&
      t.service_account !== null &&
      stoppedAccounts.includes(t.service_account),
  );
  let saStopped: OrgImpact['service_account_tokens_stopped'] = null;
  if (stoppedAccounts.length > 0) {
    const used = stopped.filter(lastDay).length;
    saStopped = {
      sentence: `disabling or removing service account${stoppedAccounts.length === 1 ? '' : 's'} ${stoppedAccounts.join(', ')} stops ${plural(stopped.length, 'token')}, ${used} of them service automations used in the last day`,
      service_accounts: stoppedAccounts,
      service_automations_used_last_day: used,
      tokens: stopped.map(affected),
    };
  }
  const headSettings: TokenSettings = tokenSettingsOf(h);
  const earlier: AffectedToken[] = [];
  const earlierRows: TokenRecord[] = [];
  for (const t of live) {
    // Tokens that stop working anyway (PATs off, their service account disabled) are listed there, not here.
    if (t.created_at === null || (patsOff && t.kind === 'personal_access') || stopped.includes(t)) continue;
    // A token of a service account the head does not declare enabled works under neither expiry: not news.
    if (
      t.kind === 'service_account' &&
      !(t.service_account && h.service_accounts[t.service_account]?.enabled)
    )
      continue;
    const after = withLive(before, headSettings, now);
    const cap = t.expires_at ?? Number.POSITIVE_INFINITY;
    const oldExpiry = expiryWithout(t);
    const newExpiry = Math.min(tokenExpiry(t.created_at, after), cap);
    if (oldExpiry <= now || newExpiry >= oldExpiry) continue;
    earlierRows.push(t);
    earlier.push({
      ...affected(t),
      old_expiry: formatRfc3339(oldExpiry),
      new_expiry: formatRfc3339(newExpiry),
    });
  }
  let expiryEarlier: OrgImpact['expiry_earlier'] = null;
  if (earlier.length > 0) {
    const owners = new Set(earlierRows.map((t) => t.owner ?? t.service_account ?? t.id)).size;
    const automations = earlierRows.filter((t) => t.kind === 'service_account' && lastDay(t)).length;
    const from = b?.tokens.expiration ?? 'default';
    const words = (e: string) => (e === 'default' ? 'default' : `${e.replace('d', '')} days`);
    expiryEarlier = {
      sentence: `token expiration ${words(from)} → ${words(h.tokens.expiration)} moves the expiry of ${plural(earlier.length, 'token')} of ${plural(owners, 'owner')} earlier, ${automations} of them service automations used in the last day`,
      owners,
      service_automations_used_last_day: automations,
      tokens: earlier,
    };
  }
  return {
    pats_revoked: patsRevoked,
    service_account_tokens_stopped: saStopped,
    expiry_earlier: expiryEarlier,
  };
}

/**
 * Replays `decisions` under the base and the head (the server's Wasm, `engine.decide(input, {at})` at each
 * decision's own time, with the registry's revoked ids and join times) and reports the decisions whose outcome
 * differs between the two — so a difference between the log and the base (drift) is never blamed on the change
 * — grouped per org; plus, per org whose token settings change, the registry tokens revoked (PATs off) or whose
 * expiry moves earlier (SPEC §5, head's settings applied from `now`). Orgs are listed when they have a flip or
 * a token effect.
 * @throws EngineError `invalid_policy` | `io_error` | `wasm_load_error` when a side cannot be loaded
 */
export async function replayImpact(opts: ImpactOptions): Promise<ImpactReport> {
  // With a registry the decisions stream through (a month of a busy log need not fit in memory); without one
  // they are read first, since the registry is rebuilt from them.
  let registry = opts.registry;
  // Decisions after "now" are not part of the period before the change goes live (a report re-run for last
  // week, an export taken later than --now): they are left out, of the registry too.
  const untilMs = opts.now * 1000 + 999;
  const inPeriod = async function* (
    records: Iterable<DecisionRecord> | AsyncIterable<DecisionRecord>,
  ): AsyncGenerator<DecisionRecord> {
    for await (const r of records) if (r.at_ms <= untilMs) yield r;
  };
  let source: AsyncIterable<DecisionRecord> = inPeriod(opts.decisions);
  if (!registry) {
    const all: DecisionRecord[] = [];
    for await (const r of source) all.push(r);
    registry = registryFromDecisions(all);
    source = all as unknown as AsyncIterable<DecisionRecord>;
  }
  const wasmPath = opts.wasmPath ?? DEFAULT_WASM_PATH;
  const base = await engineFor(opts.base, registry, opts.now, wasmPath);
  const head = await engineFor(opts.head, registry, opts.now, wasmPath);
  const counts = { read: 0, replayed: 0, skipped_no_input: 0, skipped_invalid: 0, drift: 0 };
  const flips: Flip[] = [];
  try {
    for await (const r of source) {
      counts.read += 1;
      if (r.input === null || r.input === undefined) {
        counts.skipped_no_input += 1;
        continue;
      }
      // The record's org is what the report groups by; an input asking about another org is not this
      // record's decision (a hand-edited or mixed export): replaying it would credit its flip to the wrong org.
      const ctx = r.input.context as { org?: unknown } | undefined;
      if (typeof ctx?.org !== 'string' || ctx.org.toLowerCase() !== r.org.toLowerCase()) {
        counts.skipped_invalid += 1;
        continue;
      }
      const at = Math.floor(r.at_ms / 1000);
      const req = replayRequest(r.input);
      let b: ReturnType<Engine['decide']>;
      let h: ReturnType<Engine['decide']>;
      try {
        b = base.decide(req, { at });
        h = head.decide(req, { at });
      } catch (err) {
        if (isEngineError(err, 'invalid_input')) {
          counts.skipped_invalid += 1;
          continue;
        }
        throw err;
      }
      counts.replayed += 1;
      if (b.decision !== r.decision) counts.drift += 1;
      if (b.decision === h.decision) continue;
      const resource = (r.input.resource ?? {}) as { id?: unknown; properties?: Record<string, unknown> };
      flips.push({
        decision_id: r.decision_id,
        time: new Date(r.at_ms).toISOString(),
        org: r.org,
        action: r.action,
        subject_type: r.subject_type,
        subject_id: r.subject_id,
        app: r.action === 'app.connect' || r.action === 'app.use' ? str(resource.id) : null,
        token_owner: r.action === 'token.use' ? str(resource.properties?.owner) : null,
        direction: h.decision ? 'deny_to_allow' : 'allow_to_deny',
        base_reason: b.context.reason.code,
        head_reason: h.context.reason.code,
      });
    }
  } finally {
    base.close();
    head.close();
  }
  const orgIds = [
    ...new Set([
      ...flips.map((f) => f.org),
      ...Object.keys(opts.head.data.orgs),
      ...Object.keys(opts.base.data.orgs),
    ]),
  ].sort();
  const orgs: OrgImpact[] = [];
  for (const org of orgIds) {
    const mine = flips.filter((f) => f.org === org);
    const groups = { reason: new Map(), app: new Map(), user: new Map(), owner: new Map() } as Record<
      'reason' | 'app' | 'user' | 'owner',
      Map<string, FlipGroup>
    >;
    for (const f of mine) {
      bump(groups.reason, f.head_reason, f.direction);
      bump(groups.app, f.app, f.direction);
      bump(groups.user, f.subject_type === 'user' ? f.subject_id : null, f.direction);
      bump(groups.owner, f.token_owner, f.direction);
    }
    const effects = tokenEffects(org, opts, registry as ImpactRegistry);
    if (
      mine.length === 0 &&
      !effects.pats_revoked &&
      !effects.service_account_tokens_stopped &&
      !effects.expiry_earlier
    )
      continue;
    orgs.push({
      org,
      allow_to_deny: mine.filter((f) => f.direction === 'allow_to_deny').length,
      deny_to_allow: mine.filter((f) => f.direction === 'deny_to_allow').length,
      by_reason: sorted(groups.reason),
      by_app: sorted(groups.app),
      by_user: sorted(groups.user),
      by_token_owner: sorted(groups.owner),
      ...effects,
    });
  }
  return {
    now: formatRfc3339(opts.now),
    since: opts.since === undefined || opts.since === null ? null : formatRfc3339(opts.since),
    decisions: counts,
    allow_to_deny: flips.filter((f) => f.direction === 'allow_to_deny').length,
    deny_to_allow: flips.filter((f) => f.direction === 'deny_to_allow').length,
    orgs,
    sample: flips
      .sort((x, y) => y.time.localeCompare(x.time) || x.decision_id.localeCompare(y.decision_id))
      .slice(0, 50),
  };
}

/**
 * Every decision of `orgs` in the store at or after `sinceMs`, newest first, page by page (read-only).
 * @throws EngineError `io_error`
 */
export async function* storeDecisions(
  store: Store,
  orgs: readonly string[],
  sinceMs: number | undefined,
): AsyncGenerator<DecisionRecord> {
  for (const org of orgs) {
    let cursor: string | undefined;
    do {
      const page = await store.queryDecisions({
        org,
        limit: 1000,
        ...(sinceMs === undefined ? {} : { since_ms: sinceMs }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      yield* page.decisions;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }
}

/**
 * Reads a decisions file (`--decisions`): JSON lines, each one decision record — the store's
 * {@link DecisionRecord} (`at_ms`) or the admin API's wire record (`time`, RFC 3339) — or one whole page of
 * `GET /admin/v1/orgs/{org}/decisions` (`{"decisions": [...]}`). Blank lines are ignored; records before
 * `sinceMs` or after `untilMs` are dropped; a `decision_id` seen before is dropped (it counts once). `time`
 * must be RFC 3339 with an offset.
 * @throws EngineError `invalid_input` naming the file and line of a line that is not such a record; `io_error`
 */
export async function* readDecisionsFile(
  file: string,
  sinceMs?: number,
  untilMs?: number,
): AsyncGenerator<DecisionRecord> {
  let lineNo = 0;
  // A decision exported twice (overlapping pages, an export appended to an older one) counts once.
  const seen = new Set<string>();
  let lines: ReturnType<typeof createInterface>;
  try {
    lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  } catch (err) {
    throw new EngineError('io_error', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const bad = (message: string) =>
    new EngineError('invalid_input', [
      { file, line: lineNo, message, hint: 'one decision record (or page) of JSON per line' },
    ]);
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        throw bad(`not JSON: ${(err as Error).message}`);
      }
      const items =
        parsed !== null &&
        typeof parsed === 'object' &&
        Array.isArray((parsed as { decisions?: unknown }).decisions)
          ? ((parsed as { decisions: unknown[] }).decisions as unknown[])
          : [parsed];
      for (const item of items) {
        const r = item as Record<string, unknown>;
        if (r === null || typeof r !== 'object') throw bad('a decision record must be a JSON object');
        let atMs = Number.NaN;
        if (typeof r.at_ms === 'number') atMs = Number.isSafeInteger(r.at_ms) ? r.at_ms : Number.NaN;
        else if (typeof r.time === 'string') {
          // RFC 3339 only (Date.parse takes "11/15/2026" and local times, which would shift the window).
          const t = parseRfc3339Instant(r.time);
          if (t) atMs = t.seconds * 1000 + Number(t.fraction.slice(0, 3).padEnd(3, '0'));
        }
        if (!Number.isFinite(atMs))
          throw bad(
            'a decision record needs "at_ms" (whole epoch milliseconds) or "time" (RFC 3339 with an offset, e.g. 2026-11-15T12:00:00Z)',
          );
        for (const f of ['decision_id', 'org', 'action', 'reason'] as const)
          if (typeof r[f] !== 'string') throw bad(`a decision record needs "${f}" (a string)`);
        if (typeof r.decision !== 'boolean') throw bad('a decision record needs "decision" (true or false)');
        if (sinceMs !== undefined && atMs < sinceMs) continue;
        // After "now" (--now): the report is of the period before the change would go live.
        if (untilMs !== undefined && atMs > untilMs) continue;
        if (seen.has(r.decision_id as string)) continue;
        seen.add(r.decision_id as string);
        const input = r.input;
        yield {
          decision_id: r.decision_id as string,
          at_ms: atMs,
          org: (r.org as string).toLowerCase(),
          action: r.action as string,
          subject_type: str(r.subject_type) ?? '',
          subject_id: str(r.subject_id) ?? '',
          subject_role: str(r.subject_role),
          resource_type: str(r.resource_type) ?? '',
          resource_id: str(r.resource_id),
          decision: r.decision as boolean,
          reason: r.reason as string,
          revision: str(r.revision) ?? '',
          latency_us: typeof r.latency_us === 'number' ? r.latency_us : 0,
          input:
            input !== null && typeof input === 'object' && !Array.isArray(input)
              ? (input as Record<string, unknown>)
              : null,
        };
      }
    }
  } catch (err) {
    if (isEngineError(err)) throw err;
    throw new EngineError('io_error', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

const TOP = 10;

function groupLines(title: string, groups: readonly FlipGroup[]): string[] {
  if (groups.length === 0) return [];
  const width = Math.max(...groups.slice(0, TOP).map((g) => oneLine(g.key).length), title.length);
  const out = [`    ${title.padEnd(width)}  allow→deny  deny→allow`];
  for (const g of groups.slice(0, TOP))
    out.push(
      `    ${oneLine(g.key).padEnd(width)}  ${String(g.allow_to_deny).padStart(10)}  ${String(g.deny_to_allow).padStart(10)}`,
    );
  if (groups.length > TOP) out.push(`    … and ${groups.length - TOP} more`);
  return out;
}

function tokenLine(t: AffectedToken): string {
  const owner = `${t.owner ?? '(unknown)'}${t.owner_email ? ` <${t.owner_email}>` : ''}`;
  const who = t.service_account ? `service account ${t.service_account}, owner ${owner}` : `owner ${owner}`;
  const used = t.last_used_at ? `last used ${t.last_used_at}` : 'never used';
  const dates = t.old_expiry ? `, expires ${t.old_expiry} → ${t.new_expiry}` : '';
  return oneLine(`${t.id} (${who}, ${used}${dates})`);
}

/**
 * Said loudly when no decision was replayed: "0 flips" then means "not measured", not "nobody is affected"
 * (an empty export, a store of another server, a window with no traffic).
 */
export const NOTHING_REPLAYED =
  'no decision was replayed, so this report cannot tell who the change affects: check that the decision export or store is the right one and not empty';

/** The impact for a terminal: totals, then per org a table per grouping and the token lists. */
export function renderImpactText(r: ImpactReport): string {
  const d = r.decisions;
  const lines = [
    `\nimpact: ${plural(d.replayed, 'decision')} replayed since ${r.since ?? 'the start of the log'} (now ${r.now}): ${r.allow_to_deny} allow → deny, ${r.deny_to_allow} deny → allow`,
  ];
  if (d.replayed === 0) lines.push(`  ${NOTHING_REPLAYED}`);
  if (d.skipped_no_input > 0)
    lines.push(
      `  ${plural(d.skipped_no_input, 'decision')} skipped: logged without input (before store migration 7)`,
    );
  if (d.skipped_invalid > 0)
    lines.push(`  ${plural(d.skipped_invalid, 'decision')} skipped: input no longer valid`);
  if (d.drift > 0)
    lines.push(
      `  ${plural(d.drift, 'decision')} decided differently under the base than logged (revocations, joins, history; not this change)`,
    );
  for (const o of r.orgs) {
    lines.push(`\n  ${oneLine(o.org)}: ${o.allow_to_deny} allow → deny, ${o.deny_to_allow} deny → allow`);
    lines.push(...groupLines('new reason', o.by_reason), ...groupLines('app', o.by_app));
    lines.push(...groupLines('user', o.by_user), ...groupLines('token owner', o.by_token_owner));
    for (const effect of [o.pats_revoked, o.service_account_tokens_stopped, o.expiry_earlier]) {
      if (!effect) continue;
      lines.push(`    ${oneLine(effect.sentence)}`);
      for (const t of effect.tokens.slice(0, 50)) lines.push(`      ${tokenLine(t)}`);
      if (effect.tokens.length > 50)
        lines.push(`      … and ${effect.tokens.length - 50} more (--format json lists all)`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function mdTable(title: string, groups: readonly FlipGroup[]): string[] {
  if (groups.length === 0) return [];
  const out = ['', `| ${mdCell(title)} | allow → deny | deny → allow |`, '| --- | ---: | ---: |'];
  for (const g of groups.slice(0, TOP))
    out.push(`| ${mdCell(g.key)} | ${g.allow_to_deny} | ${g.deny_to_allow} |`);
  if (groups.length > TOP) out.push(`| … ${groups.length - TOP} more | | |`);
  return out;
}

/** Markdown-safe text from the log (ids, reasons): no line breaks, no @-mentions, no markup. */
const mdCell = mdEscape;

/** The impact as Markdown for a pull-request comment: totals, per-org tables, token lists in `<details>`. */
export function renderImpactMarkdown(r: ImpactReport): string {
  const d = r.decisions;
  const lines = [
    '',
    '### Impact on the decisions of the last period',
    '',
    `${plural(d.replayed, 'decision')} replayed since ${r.since ?? 'the start of the log'}: **${r.allow_to_deny} allow → deny**, **${r.deny_to_allow} deny → allow**.`,
  ];
  if (d.replayed === 0) lines.push('', `> **Warning:** ${NOTHING_REPLAYED}`);
  const notes: string[] = [];
  if (d.skipped_no_input > 0)
    notes.push(`${plural(d.skipped_no_input, 'decision')} logged without input skipped`);
  if (d.skipped_invalid > 0)
    notes.push(`${plural(d.skipped_invalid, 'decision')} with an input no longer valid skipped`);
  if (d.drift > 0)
    notes.push(
      `${plural(d.drift, 'decision')} decided differently under the base than logged (not this change)`,
    );
  if (notes.length > 0) lines.push('', `_${notes.join('; ')}._`);
  for (const o of r.orgs) {
    lines.push('', `#### ${mdCell(o.org)}: ${o.allow_to_deny} allow → deny, ${o.deny_to_allow} deny → allow`);
    lines.push(...mdTable('new reason', o.by_reason), ...mdTable('app', o.by_app));
    lines.push(...mdTable('user', o.by_user), ...mdTable('token owner', o.by_token_owner));
    for (const effect of [o.pats_revoked, o.service_account_tokens_stopped, o.expiry_earlier]) {
      if (!effect) continue;
      lines.push('', `**${mdCell(effect.sentence)}**`);
      if (effect.tokens.length === 0) continue;
      lines.push('', '<details><summary>tokens</summary>', '');
      const withDates = effect.tokens.some((t) => t.old_expiry);
      lines.push(
        withDates
          ? '| token | owner | service account | last used | expiry now | expiry after |'
          : '| token | owner | service account | last used |',
        withDates ? '| --- | --- | --- | --- | --- | --- |' : '| --- | --- | --- | --- |',
      );
      for (const t of effect.tokens.slice(0, 200)) {
        const owner = `${t.owner ?? ''}${t.owner_email ? ` (${t.owner_email})` : ''}`;
        const cells = [t.id, owner, t.service_account ?? '', t.last_used_at ?? 'never'];
        if (withDates) cells.push(t.old_expiry ?? '', t.new_expiry ?? '');
        lines.push(`| ${cells.map(mdCell).join(' | ')} |`);
      }
      if (effect.tokens.length > 200) lines.push(`| … ${effect.tokens.length - 200} more | | | |`);
      lines.push('', '</details>');
    }
  }
  return `${lines.join('\n')}\n`;
}
