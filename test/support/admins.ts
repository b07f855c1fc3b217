// Admin callers for the admin-API suites: who holds which role in examples/policy-repo, and their
// bearer tokens (configured as SHA-256 digests, as the server expects).
import { sha256Hex } from '../../server/auth.ts';

/** One person per role of SPEC §1 for acme.example (orgs/acme.yaml; the other org's admin is globex's). */
export const ACME_PEOPLE = {
  super_admin: 'dana.whitfield@acme.example',
  admin: 'helpdesk@acme.example',
  division_admin: 'division.lead@acme.example',
  member: 'ann@acme.example',
  guest: 'visitor@partner.example',
  other_org_admin: 'hank.scorpio@globex.example',
} as const;

/** The bearer token of the caller named `who` in a suite's people table. */
export const adminTokenOf = (who: string): string => `tok-${who}-0123456789`;

/** `Authorization` header of the caller named `who`. */
export const asAdmin = (who: string): { authorization: string } => ({
  authorization: `Bearer ${adminTokenOf(who)}`,
});

/** The server config's admin tokens for a people table (`{role: email}`): email and token digest. */
export function adminTokens(
  people: Readonly<Record<string, string>>,
): { email: string; tokenSha256: string }[] {
  return Object.entries(people).map(([who, email]) => ({ email, tokenSha256: sha256Hex(adminTokenOf(who)) }));
}
