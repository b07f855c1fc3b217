// Internal shapes shared by the engine's parts: the data document given to the Wasm, the Rego input
// and the raw Rego output (docs/DESIGN.md §1-§3). Wire shapes (requests, policy files) are generated
// from schemas/ instead.

/** `enabled` | `disabled`, SPEC §3 `tokens.personal_access_tokens`. */
export type PatSetting = 'enabled' | 'disabled';

/** One org's normalized settings (DESIGN §1): lists keyed by id for O(1) lookups in Rego. */
export interface OrgData {
  name?: string;
  apps: {
    mode: 'allow_all' | 'require_approval';
    block_scope: 'all_user_orgs' | 'this_org';
    blocked: Record<string, { name?: string; reason?: string }>;
    approved: Record<string, { name?: string; note?: string }>;
    notify: string[];
  };
  automation: { external_webhook_rules: 'allow' | 'deny' };
  tokens: {
    personal_access_tokens: PatSetting;
    expiration: 'default' | '30d' | '60d' | '90d';
    /** null for `default` (only the 3,650-day cap applies). */
    expiration_days: number | null;
  };
  guests: { api_via_apps: 'allow' | 'deny'; api_via_personal_access_tokens: 'allow' | 'deny' };
  service_accounts: Record<string, { name?: string; owner: string; enabled: boolean }>;
  admins: { super_admins: Record<string, true>; admins: Record<string, true> };
}

/** The data document (`setData`, a bundle's `data.json`): `{orgs: {<org id>: OrgData}}`. */
export interface DataDocument {
  orgs: Record<string, OrgData>;
}

/** One token-settings epoch (DESIGN §2). `start` is epoch seconds UTC; null means "since ever". */
export interface SettingsEpoch {
  start: number | null;
  expiration_days: number | null;
  personal_access_tokens: PatSetting;
}

/** Facts the server adds to the input; the caller can never set them (SPEC §2). */
export interface InputFacts {
  /** Evaluation time, epoch seconds UTC. */
  now: number;
  /** Token-setting epochs of `context.org`, oldest first. */
  history: SettingsEpoch[];
  /** The registry says `resource.id` is revoked in `context.org` (token.use; the engine's in-memory set). */
  token_revoked: boolean;
}

/** The Rego input (DESIGN §2): the AuthZEN request with timestamps in epoch seconds, plus facts. */
export interface RegoInput {
  subject: { type: string; id: string; properties?: Record<string, unknown> };
  action: { name: string; properties?: Record<string, unknown> };
  resource: { type: string; id?: string; properties?: Record<string, unknown> };
  context: { org: string; [key: string]: unknown };
  facts: InputFacts;
}

/** The raw output of the `appwarden/decision` entrypoint (DESIGN §3). */
export interface RegoDecision {
  decision: boolean;
  context: {
    reason: { code: string; message: string };
    blocked_by?: string;
    approval_request?: { org: string; app: string };
    /** `expires_at` in epoch seconds UTC. */
    advice?: { expires_at: number; warning?: string };
  };
}
