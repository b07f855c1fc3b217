// Turns accepted org policies into the data document given to the Wasm (DESIGN §1): defaults
// filled, lists keyed by id, emails lower-cased; plus the canonical JSON that revisions hash.
import type { OrgPolicy, OrgPolicySpec } from '../schemas/org-policy.gen.ts';
import type { DataDocument, OrgData } from './types.ts';

/** Days of each `tokens.expiration` setting; `default` is null (only the 3,650-day cap, SPEC §5). */
export const EXPIRATION_DAYS: Readonly<Record<'default' | '30d' | '60d' | '90d', number | null>> = {
  default: null,
  '30d': 30,
  '60d': 60,
  '90d': 90,
};

/** `super_admins` in `apps.requests.notify` stands for every super admin; emails are lower-cased. */
function normalizeRecipient(entry: string): string {
  return entry === 'super_admins' ? entry : entry.toLowerCase();
}

/**
 * Normalizes one org's spec (SPEC §3 defaults) into its data (DESIGN §1). Optional fields the
 * YAML leaves out (`name`, `reason`, `note`) are left out, never null.
 *
 * @param spec an OrgPolicy spec that passed validation (ids unique, emails valid)
 * @param name the display name (`metadata.name`), if any
 */
export function normalizeSpec(spec: OrgPolicySpec = {}, name?: string): OrgData {
  const apps = spec.apps ?? {};
  const tokens = spec.tokens ?? {};
  const expiration = tokens.expiration ?? 'default';
  const blocked: OrgData['apps']['blocked'] = {};
  for (const app of apps.blocked ?? []) {
    setOwn(blocked, app.id, {
      ...(app.name !== undefined ? { name: app.name } : {}),
      ...(app.reason !== undefined ? { reason: app.reason } : {}),
    });
  }
  const approved: OrgData['apps']['approved'] = {};
  for (const app of apps.approved ?? []) {
    setOwn(approved, app.id, {
      ...(app.name !== undefined ? { name: app.name } : {}),
      ...(app.note !== undefined ? { note: app.note } : {}),
    });
  }
  const serviceAccounts: OrgData['service_accounts'] = {};
  for (const sa of spec.service_accounts ?? []) {
    setOwn(serviceAccounts, sa.id, {
      ...(sa.name !== undefined ? { name: sa.name } : {}),
      owner: sa.owner.toLowerCase(),
      enabled: sa.enabled ?? true,
    });
  }
  const emailSet = (list: readonly string[] | undefined): Record<string, true> =>
    Object.fromEntries((list ?? []).map((e) => [e.toLowerCase(), true as const]));
  // Repeats in notify are harmless but would mail twice: keep the first of each.
  const notify = [...new Set((apps.requests?.notify ?? ['super_admins']).map(normalizeRecipient))];

  return {
    ...(name !== undefined ? { name } : {}),
    apps: {
      mode: apps.mode ?? 'allow_all',
      block_scope: apps.block_scope ?? 'all_user_orgs',
      blocked,
      approved,
      notify,
    },
    automation: { external_webhook_rules: spec.automation?.external_webhook_rules ?? 'allow' },
    tokens: {
      personal_access_tokens: tokens.personal_access_tokens ?? 'enabled',
      expiration,
      expiration_days: EXPIRATION_DAYS[expiration],
    },
    guests: {
      api_via_apps: spec.guests?.api_via_apps ?? 'allow',
      api_via_personal_access_tokens: spec.guests?.api_via_personal_access_tokens ?? 'allow',
    },
    service_accounts: serviceAccounts,
    admins: {
      super_admins: emailSet(spec.admins?.super_admins),
      admins: emailSet(spec.admins?.admins),
    },
  };
}

/**
 * Builds the data document (DESIGN §1) from accepted org policies, keyed by `metadata.org`.
 *
 * @param policies policies that passed validation (org ids unique across them)
 */
export function normalize(policies: readonly OrgPolicy[]): DataDocument {
  const orgs: DataDocument['orgs'] = {};
  for (const policy of [...policies].sort((a, b) => a.metadata.org.localeCompare(b.metadata.org))) {
    setOwn(orgs, policy.metadata.org, normalizeSpec(policy.spec, policy.metadata.name));
  }
  return { orgs };
}

/**
 * Canonical JSON (DESIGN §5): object keys sorted by code unit, no whitespace, `undefined` members
 * left out, arrays in order. Two values with equal content give byte-equal output, whatever the
 * key order or layout of the YAML they came from.
 *
 * @throws TypeError for values JSON cannot represent (bigint, functions, cycles)
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, new Set()));
}

function sortKeys(value: unknown, seen: Set<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) throw new TypeError('canonicalJson: cyclic value');
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((v) => (v === undefined ? null : sortKeys(v, seen)));
  } else if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    out = (value as { toJSON: () => unknown }).toJSON();
  } else {
    const obj: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined && typeof v !== 'function') setOwn(obj, key, sortKeys(v, seen));
    }
    out = obj;
  }
  seen.delete(value);
  return out;
}

/** Sets an own property even for keys like `__proto__` (ids are user data, never prototypes). */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
