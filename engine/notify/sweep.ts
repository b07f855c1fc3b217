// The token expiry sweep (SPEC §5 "Owners are told 7 days before a token expires and when it expires"): reads
// the registry, queues `token_expiring` / `token_expired`; the outbox's dedupe keys make it idempotent, so it
// can run as often as wanted, on any replica, across restarts.
import type { Engine } from '../engine.ts';
import type { Store, TokenRecord } from '../store/store.ts';
import { composeTokenExpiry } from './compose.ts';
import type { NewNotification } from './types.ts';

/** How often the server runs {@link sweepTokenExpiry}, milliseconds (10 minutes). */
export const EXPIRY_SWEEP_INTERVAL_MS = 10 * 60 * 1000;

/**
 * A registry token's effective expiry, epoch seconds UTC: the earlier of what a decision advised
 * (`expires_at`) and the engine's SPEC §5 computation from `created_at` and the org's live settings history
 * (the token list's `expires_at`, docs/api.md "Token registry"); null when neither is known. The one formula
 * of the admin list, the sweep and the go-live's pats_revoked email (which passes the settings in force until
 * then as `engine`).
 */
export function effectiveTokenExpiry(t: TokenRecord, engine: Pick<Engine, 'tokenExpiry'>): number | null {
  const computed = t.created_at === null ? null : engine.tokenExpiry(t.org, t.created_at);
  const candidates = [t.expires_at, computed].filter((x): x is number => x !== null);
  return candidates.length > 0 ? Math.min(...candidates) : null;
}

/** What one sweep did. */
export interface SweepResult {
  /** Rows it offered to the outbox (each token due an email). */
  due: number;
  /** Rows the outbox took (the others were queued by an earlier sweep: same dedupe key). */
  queued: number;
}

/**
 * One expiry sweep over every org of the live policy: each unrevoked registry token with an owner address
 * (a PAT's `owner_email`; a service-account token's, else its service account's `owner`) whose effective
 * expiry ({@link effectiveTokenExpiry}) is within 7 days queues `token_expiring`, one that expired in the last
 * 30 days `token_expired` (engine/notify/compose.ts `composeTokenExpiry`). Running it again queues nothing new
 * (dedupe key `<kind>:<org>:<token id>:<expires_at>`), also after a restart; a token whose expiry moves
 * earlier is warned again. Before the first load it does nothing.
 * @param now epoch seconds UTC
 * @throws EngineError `io_error` when the store fails (nothing is half-queued: one enqueue per sweep)
 */
export async function sweepTokenExpiry({
  store,
  engine,
  now,
}: {
  store: Store;
  engine: Engine;
  now: number;
}): Promise<SweepResult> {
  const data = engine.data;
  if (!data) return { due: 0, queued: 0 };
  const rows: NewNotification[] = [];
  for (const org of Object.keys(data.orgs).sort()) {
    const orgData = data.orgs[org];
    for (const t of await store.listTokens({ org, revoked: 'unrevoked' })) {
      const expiry = effectiveTokenExpiry(t, engine);
      if (expiry === null) continue;
      const n = composeTokenExpiry(t, expiry, now, orgData);
      if (n) rows.push(n);
    }
  }
  if (rows.length === 0) return { due: 0, queued: 0 };
  return { due: rows.length, queued: await store.enqueueNotifications(rows, now) };
}
