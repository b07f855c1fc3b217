// Bearer-token auth: decision tokens for the decision endpoints, admin tokens (each standing for an email) for
// the admin API, and the org roles of SPEC §1. The config holds only SHA-256 digests of the tokens.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Engine } from '../engine/index.ts';
import type { AdminToken } from './config.ts';
import { HttpError } from './errors.ts';

/** `WWW-Authenticate` of a 401 without a token. */
export const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="appwarden"' };
/** `WWW-Authenticate` of a 401 for a token that is not accepted. */
export const INVALID = { 'WWW-Authenticate': 'Bearer realm="appwarden", error="invalid_token"' };

/**
 * The SHA-256 digest of the token of `Authorization: Bearer <token>` (what the config lists), or null when
 * the header is missing or malformed. Hashed once per request, then compared with {@link matchDigest}.
 */
export function presentedDigest(c: Context): Buffer | null {
  const token = bearerOf(c);
  return token === null ? null : createHash('sha256').update(token, 'utf8').digest();
}

/** The token of `Authorization: Bearer <token>`, or null when the header is missing or malformed. */
function bearerOf(c: Context): string | null {
  const m = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(c.req.header('authorization') ?? '');
  return m?.[1] ?? null;
}

/** Index of the digest equal to `presented` (a token's SHA-256), or -1; compares with every digest (no early exit). */
export function matchDigest(presented: Buffer, digests: readonly Buffer[]): number {
  let found = -1;
  digests.forEach((d, i) => {
    if (timingSafeEqual(presented, d) && found < 0) found = i;
  });
  return found;
}

/** SHA-256 hex digest of a token, the form the config lists (docs/api.md "Authentication"). */
export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Middleware that lets a request through only with `Authorization: Bearer <token>` whose SHA-256 digest is
 * one of `tokenSha256`. The presented token is hashed and compared against every digest in constant time
 * (no early exit), so neither the token nor which digest matched leaks through timing. With no digests
 * configured auth is off (the CLI allows that only on a loopback host).
 * @throws HttpError 401 `unauthorized` (with `WWW-Authenticate: Bearer`).
 */
export function bearerAuth(
  tokenSha256: readonly string[],
  adminTokens: readonly AdminToken[] = [],
): MiddlewareHandler {
  const digests = tokenSha256.map((h) => Buffer.from(h, 'hex'));
  const adminDigests = adminTokens.map((a) => Buffer.from(a.tokenSha256, 'hex'));
  return async (c, next) => {
    const token = presentedDigest(c);
    // An admin token is never a decision token, even when decision auth is off (SPEC §1: separate callers).
    if (token !== null && adminDigests.length > 0 && matchDigest(token, adminDigests) >= 0) {
      throw new HttpError(
        403,
        'forbidden',
        'an admin token cannot call the decision API; services use a decision-API token (auth.token_sha256)',
      );
    }
    if (digests.length === 0) return next();
    if (token === null) {
      throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <token>', { headers: CHALLENGE });
    }
    if (matchDigest(token, digests) < 0) {
      throw new HttpError(401, 'unauthorized', 'the bearer token is not accepted', { headers: INVALID });
    }
    return next();
  };
}

/** A caller's role in one org (SPEC §1), from the org's `admins` lists in the live data. */
export type AdminRole = 'super_admin' | 'admin';

/**
 * Middleware of the admin API: the caller must send an admin token (`auth.admin_tokens` /
 * `APPWARDEN_ADMIN_TOKENS`); its email goes into `c.var.adminEmail` for {@link requireAdminRole}.
 * With no admin tokens configured the admin API is off: 401 saying how to configure one.
 * @throws HttpError 401 `unauthorized` (no admin tokens configured, no or unknown token);
 *   403 `forbidden` (a decision-API token).
 */
export function adminAuth(
  adminTokens: readonly AdminToken[],
  tokenSha256: readonly string[],
): MiddlewareHandler<{ Variables: { adminEmail: string } }> {
  const adminDigests = adminTokens.map((a) => Buffer.from(a.tokenSha256, 'hex'));
  const digests = tokenSha256.map((h) => Buffer.from(h, 'hex'));
  return async (c, next) => {
    if (adminDigests.length === 0) {
      throw new HttpError(
        401,
        'unauthorized',
        'the admin API is off: no admin tokens are configured; start the server with ' +
          'APPWARDEN_ADMIN_TOKENS=<email>=<sha256 of the token> or auth.admin_tokens in --config (docs/api.md "Admin authentication")',
        { headers: CHALLENGE },
      );
    }
    const token = presentedDigest(c);
    if (token === null) {
      throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <admin token>', {
        headers: CHALLENGE,
      });
    }
    const i = matchDigest(token, adminDigests);
    if (i < 0) {
      if (digests.length > 0 && matchDigest(token, digests) >= 0) {
        throw new HttpError(
          403,
          'forbidden',
          'a decision-API token cannot call the admin API; use an admin token (auth.admin_tokens)',
        );
      }
      throw new HttpError(401, 'unauthorized', 'the bearer token is not an admin token', {
        headers: INVALID,
      });
    }
    c.set('adminEmail', (adminTokens[i] as AdminToken).email);
    return next();
  };
}

/**
 * The role of `email` in `org` per the live policy (SPEC §1): `super_admin`, `admin`, or null (division
 * admins, members, guests and strangers alike: they have no admin surface).
 */
export function adminRoleOf(engine: Engine, org: string, email: string): AdminRole | null {
  const admins = engine.data?.orgs[org]?.admins;
  if (!admins || !Object.hasOwn(engine.data?.orgs ?? {}, org)) return null;
  if (Object.hasOwn(admins.super_admins, email)) return 'super_admin';
  if (Object.hasOwn(admins.admins, email)) return 'admin';
  return null;
}

/**
 * Checks that the authenticated admin (`c.var.adminEmail`) may do `what` in `org` (SPEC §1): super admins
 * everything; admins read-only (`write: false`); anyone else nothing.
 * @returns the caller's email and role
 * @throws HttpError 403 `forbidden` naming the org and the role; 503 `not_ready` before a policy is live.
 */
export function requireAdminRole(
  c: Context,
  engine: Engine,
  org: string,
  access: { write: boolean; what: string },
): { email: string; role: AdminRole } {
  const email = c.get('adminEmail') as string | undefined;
  if (email === undefined)
    throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <admin token>');
  if (!engine.isReady) {
    throw new HttpError(
      503,
      'not_ready',
      'no policy is live yet, so no org has admins; try again once /ready answers 200',
      {
        headers: { 'Retry-After': '1' },
      },
    );
  }
  const role = adminRoleOf(engine, org, email);
  if (role === null) {
    const known = engine.data !== null && Object.hasOwn(engine.data.orgs, org);
    throw new HttpError(
      403,
      'forbidden',
      known
        ? `${email} is neither a super admin nor an admin of ${org}; only they have the admin surface (SPEC §1)`
        : `no live policy declares org ${org}, so ${email} has no role there`,
    );
  }
  if (access.write && role !== 'super_admin') {
    throw new HttpError(
      403,
      'forbidden',
      `${email} is an admin of ${org}, not a super admin: admins have read-only access here; ${access.what} needs a super admin`,
    );
  }
  return { email, role };
}
