// X-Request-ID: echo the caller's id (sanitized, bounded) or make one, so a decision can be traced across services.
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/** Longest request id kept, in characters. */
export const MAX_REQUEST_ID_LENGTH = 128;

/**
 * Cleans a caller-supplied request id: only `A-Z a-z 0-9 - _ . : / + = @` survive (no spaces, quotes or
 * control characters that could split a log line or a header), cut to {@link MAX_REQUEST_ID_LENGTH}.
 * Returns null when nothing usable is left.
 */
export function sanitizeRequestId(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  // Node joins repeated headers with ", ": keep the first id, not a concatenation of all of them.
  const clean = (raw.split(',')[0] ?? '')
    .replace(/[^A-Za-z0-9\-_.:/+=@]/g, '')
    .slice(0, MAX_REQUEST_ID_LENGTH);
  return clean === '' ? null : clean;
}

/** Middleware: sets `c.var.requestId` and the `X-Request-ID` response header on every answer, errors included. */
export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const id = sanitizeRequestId(c.req.header('x-request-id')) ?? randomUUID();
    c.set('requestId', id);
    c.header('X-Request-ID', id);
    await next();
    // Error answers are built after this middleware set the header; make sure they carry it too.
    if (!c.res.headers.has('X-Request-ID')) c.res.headers.set('X-Request-ID', id);
  };
}
