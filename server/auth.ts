// Bearer-token auth for the decision endpoints: the config holds only SHA-256 digests of the tokens.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HttpError } from './errors.ts';

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
export function bearerAuth(tokenSha256: readonly string[]): MiddlewareHandler {
  const digests = tokenSha256.map((h) => Buffer.from(h, 'hex'));
  return async (c, next) => {
    if (digests.length === 0) return next();
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(header);
    const challenge = { 'WWW-Authenticate': 'Bearer realm="appwarden"' };
    if (!m?.[1]) {
      throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <token>', { headers: challenge });
    }
    const presented = createHash('sha256').update(m[1], 'utf8').digest();
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(presented, d) || ok;
    if (!ok) {
      throw new HttpError(401, 'unauthorized', 'the bearer token is not accepted', {
        headers: { 'WWW-Authenticate': 'Bearer realm="appwarden", error="invalid_token"' },
      });
    }
    return next();
  };
}
