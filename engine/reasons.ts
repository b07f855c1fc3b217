// The stable reason codes of a decision (SPEC §4), in SPEC's order of precedence, and the codes the
// engine itself adds when it cannot decide (always a deny).

/** The reason codes of SPEC §4's table: what a policy decision can say. */
export const SPEC_REASON_CODES = [
  'allowed',
  'org_unknown',
  'app_blocked',
  'app_blocked_in_other_org',
  'app_not_approved',
  'guest_api_restricted',
  'pats_disabled',
  'service_account_unknown',
  'service_account_disabled',
  'token_revoked',
  'token_not_yet_valid',
  'token_expired',
  'external_automation_disabled',
] as const;

/** Codes for a deny the engine gives when the policy could not decide (fail closed). */
export const ENGINE_REASON_CODES = ['evaluation_error', 'evaluation_undefined', 'invalid_input'] as const;

/** Every reason code a decision can carry (schemas/decision-response.schema.json lists the same). */
export type ReasonCode = (typeof SPEC_REASON_CODES)[number] | (typeof ENGINE_REASON_CODES)[number];
