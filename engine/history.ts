// Settings history for the token rules of SPEC §5: turns PolicyHistory revisions and the revisions
// that went live into per-org token-setting epochs (DESIGN §2), the `facts.history` of the input.
import type { DataDocument, OrgData, PatSetting, SettingsEpoch } from './types.ts';

/** The token settings that SPEC §5's rules depend on. */
export interface TokenSettings {
  expiration_days: number | null;
  personal_access_tokens: PatSetting;
}

/** One revision of a PolicyHistory file: `at` in epoch seconds UTC, `spec` only what changed then. */
export interface HistoryRevision {
  at: number;
  spec: { tokens?: { expiration?: string; personal_access_tokens?: string }; [key: string]: unknown };
}

/** A parsed PolicyHistory (SPEC §5): oldest revision first. */
export interface OrgHistory {
  org: string;
  /** The file it came from (for error messages), if any. */
  file?: string;
  revisions: HistoryRevision[];
}

/** Every setting's default: before the first revision of a history (SPEC §5). */
export const DEFAULT_TOKEN_SETTINGS: TokenSettings = {
  expiration_days: null,
  personal_access_tokens: 'enabled',
};

/** `30d` -> 30, `default` -> null (only the 3,650-day cap). */
export function expirationDays(expiration: string): number | null {
  const m = /^(\d+)d$/.exec(expiration);
  return m ? Number(m[1]) : null;
}

/** The token settings of one org's normalized data. */
export function tokenSettingsOf(org: OrgData): TokenSettings {
  return {
    expiration_days: org.tokens.expiration_days,
    personal_access_tokens: org.tokens.personal_access_tokens,
  };
}

/** The token settings of every org of a data document. */
export function tokenSettingsByOrg(data: DataDocument): Record<string, TokenSettings> {
  return Object.fromEntries(Object.entries(data.orgs).map(([org, d]) => [org, tokenSettingsOf(d)]));
}

function same(a: TokenSettings, b: TokenSettings): boolean {
  return a.expiration_days === b.expiration_days && a.personal_access_tokens === b.personal_access_tokens;
}

/**
 * Epochs of a PolicyHistory: the first is all defaults since ever (`start: null`); each revision
 * that changes a token setting opens a new epoch at its `at`. Revisions must be oldest first.
 */
export function epochsFromHistory(history: OrgHistory | undefined): SettingsEpoch[] {
  const epochs: SettingsEpoch[] = [{ start: null, ...DEFAULT_TOKEN_SETTINGS }];
  for (const rev of history?.revisions ?? []) {
    const last = epochs[epochs.length - 1] as SettingsEpoch;
    const tokens = rev.spec.tokens ?? {};
    const next: TokenSettings = {
      expiration_days:
        tokens.expiration === undefined ? last.expiration_days : expirationDays(tokens.expiration),
      personal_access_tokens:
        tokens.personal_access_tokens === undefined
          ? last.personal_access_tokens
          : (tokens.personal_access_tokens as PatSetting),
    };
    if (!same(last, next)) epochs.push({ start: rev.at, ...next });
  }
  return epochs;
}

/**
 * Appends the live settings when they differ from where the epochs end: SPEC §5 says the live
 * values then count as set when that revision went live (`liveSince`, epoch seconds; for the CLI,
 * the evaluation time). Never starts an epoch before the last one (time only moves forward).
 */
export function withLive(epochs: SettingsEpoch[], live: TokenSettings, liveSince: number): SettingsEpoch[] {
  const last = epochs[epochs.length - 1] as SettingsEpoch;
  if (same(last, live)) return epochs;
  const start = last.start === null ? liveSince : Math.max(liveSince, last.start);
  return [...epochs, { start, ...live }];
}

/**
 * Epochs for an evaluation at `at` outside the server (CLI `eval`, policy tests): SPEC §5 — when the
 * live settings differ from the state the history ends in, they count as set at the evaluation
 * time; history entries from after `at` then never happened as far as this evaluation knows.
 * When they agree, the history is used as it is (Rego ignores epochs that begin after `at`).
 */
export function epochsForEvaluation(
  history: OrgHistory | undefined,
  live: TokenSettings,
  at: number,
): SettingsEpoch[] {
  const full = epochsFromHistory(history);
  if (same(full[full.length - 1] as SettingsEpoch, live)) return full;
  return withLive(
    full.filter((e) => e.start === null || e.start < at),
    live,
    at,
  );
}

/**
 * The history source of a running engine: the epochs per org, seeded from PolicyHistory files and
 * extended each time a revision goes live; the engine rebuilds it from its store (when it has one) so it
 * survives restarts. Not used by the CLI, which computes epochs per evaluation.
 */
export class HistoryTimeline {
  readonly #epochs = new Map<string, SettingsEpoch[]>();

  /** @param histories imported PolicyHistory files, at most one per org. */
  constructor(histories: readonly OrgHistory[] = []) {
    for (const h of histories) this.#epochs.set(h.org, epochsFromHistory(h));
  }

  /** Records that `data` went live at `at` (epoch seconds): orgs whose token settings changed get a new epoch. */
  recordLive(data: DataDocument, at: number): void {
    this.recordSettings(tokenSettingsByOrg(data), at);
  }

  /** As {@link recordLive}, from the token settings per org alone. */
  recordSettings(settings: Readonly<Record<string, TokenSettings>>, at: number): void {
    for (const [org, live] of Object.entries(settings)) {
      const current = this.#epochs.get(org) ?? epochsFromHistory(undefined);
      this.#epochs.set(org, withLive(current, live, at));
    }
  }

  /** As {@link recordSettings} for one org: its settings `live` went live at `at` (epoch seconds UTC). */
  recordOrg(org: string, live: TokenSettings, at: number): void {
    this.#epochs.set(org, withLive(this.#epochs.get(org) ?? epochsFromHistory(undefined), live, at));
  }

  /** The epochs of `org`, oldest first (defaults since ever when nothing is known). */
  epochs(org: string): SettingsEpoch[] {
    return this.#epochs.get(org) ?? epochsFromHistory(undefined);
  }
}

/**
 * A token's expiry from its org's settings epochs (SPEC §5): `min(C + 3650 days, min over epochs e with N_e
 * set and C < end_e of max(C, start_e) + N_e days)`, in epoch seconds UTC. The same formula the Rego policy
 * applies (`expiry_of` in tokens.rego), without the join-time rule (the owner's join time is in the
 * request, not here): for listing the registry, where a decision is not at hand.
 * @param created the token's `created_at`, epoch seconds UTC
 * @param epochs oldest first (DESIGN §2)
 */
export function tokenExpiry(created: number, epochs: readonly SettingsEpoch[]): number {
  let expiry = created + 3650 * 86_400;
  epochs.forEach((e, i) => {
    if (e.expiration_days === null) return;
    const end = epochs[i + 1]?.start ?? null;
    if (end !== null && created >= end) return;
    expiry = Math.min(expiry, Math.max(created, e.start ?? created) + e.expiration_days * 86_400);
  });
  return expiry;
}
