// The admin API over the store (SPEC §6): the decision-log query with filters and cursor paging, and the
// token registry (list, show, revoke). Every route checks the caller's role in the org (SPEC §1).
import type { Context, Hono } from 'hono';
import {
  ACTIONS,
  composeTokenRevoked,
  type DecisionQuery,
  type DecisionRecord,
  ENGINE_REASON_CODES,
  type Engine,
  effectiveTokenExpiry,
  formatRfc3339,
  MAX_DECISION_PAGE,
  nowSeconds,
  parseRfc3339,
  SPEC_REASON_CODES,
  type Store,
  type TokenQuery,
  type TokenRecord,
} from '../../engine/index.ts';
import type { TokenRevokeBody } from '../../schemas/token-revoke-body.gen.ts';
import revokeSchema from '../../schemas/token-revoke-body.schema.json' with { type: 'json' };
import type { AppEnv } from '../app.ts';
import { requireAdminRole } from '../auth.ts';
import { readBody, throwProblems } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { type FieldProblem, HttpError, invalidRequest } from '../errors.ts';

/** Page size when `limit` is not given. */
export const DEFAULT_DECISION_PAGE = 100;

const PARAMS = ['since', 'until', 'action', 'reason', 'subject', 'limit', 'cursor'] as const;
const REASONS: readonly string[] = [...SPEC_REASON_CODES, ...ENGINE_REASON_CODES];

/** An RFC 3339 timestamp as epoch milliseconds (fractions beyond the millisecond dropped), or null. */
function toMs(text: string): number | null {
  const seconds = parseRfc3339(text);
  if (seconds === null) return null;
  const fraction = /\.(\d+)/.exec(text.slice(19, 30))?.[1] ?? '';
  return seconds * 1000 + Number(fraction.slice(0, 3).padEnd(3, '0'));
}

/** The wire form of a decision-log record: the record with `time` (RFC 3339, milliseconds) for `at_ms`. */
function toWire(r: DecisionRecord): Record<string, unknown> {
  const { decision_id, at_ms, ...rest } = r;
  return { decision_id, time: new Date(at_ms).toISOString(), ...rest };
}

/** Reads the query string into a store query; every problem at once (SPEC §4 style: name the field). */
function readQuery(org: string, q: Record<string, string[]>): DecisionQuery {
  const problems: FieldProblem[] = [];
  const query: DecisionQuery = { org: org.toLowerCase(), limit: DEFAULT_DECISION_PAGE };
  for (const [key, values] of Object.entries(q)) {
    if (!(PARAMS as readonly string[]).includes(key)) {
      problems.push({ field: key, message: `unknown query parameter "${key}"; use ${PARAMS.join(', ')}` });
      continue;
    }
    if (values.length > 1) problems.push({ field: key, message: `give ${key} once` });
    const v = values[0] ?? '';
    switch (key) {
      case 'since':
      case 'until': {
        const ms = toMs(v);
        if (ms === null)
          problems.push({
            field: key,
            message: `${key} must be an RFC 3339 timestamp with a time and an offset, e.g. 2026-06-01T00:00:00Z${
              // An unencoded + in a query string is a space: 2026-06-01T00:00:00+01:00 arrives as "… 01:00".
              v.includes(' ') ? '; encode + as %2B in the URL' : ' (encode + as %2B)'
            }`,
          });
        else if (key === 'since') query.since_ms = ms;
        else query.until_ms = ms;
        break;
      }
      case 'action':
        if (!(ACTIONS as readonly string[]).includes(v))
          problems.push({ field: key, message: `action must be one of ${ACTIONS.join(', ')}` });
        else query.action = v;
        break;
      case 'reason':
        if (!REASONS.includes(v))
          problems.push({ field: key, message: `reason must be a reason code (docs/api.md)` });
        else query.reason = v;
        break;
      case 'subject':
        if (v === '') problems.push({ field: key, message: 'subject must be a subject id' });
        else query.subject = v;
        break;
      case 'limit':
        if (!/^\d{1,4}$/.test(v) || Number(v) < 1 || Number(v) > MAX_DECISION_PAGE)
          problems.push({ field: key, message: `limit must be an integer from 1 to ${MAX_DECISION_PAGE}` });
        else query.limit = Number(v);
        break;
      case 'cursor':
        query.cursor = v;
        break;
    }
  }
  if (query.since_ms !== undefined && query.until_ms !== undefined && query.since_ms >= query.until_ms)
    problems.push({ field: 'until', message: 'until must be later than since' });
  if (problems.length > 0) throw invalidRequest(problems);
  return query;
}

/**
 * Registers `GET /admin/v1/orgs/{org}/decisions` (docs/api.md "Decision log"): an org's decisions, newest
 * first, `{decisions: [...], next_cursor}`; filters `since` (inclusive) and `until` (exclusive) as RFC 3339,
 * `action`, `reason`, `subject` (a subject id); `limit` 1..1000 (default 100); `cursor` = the previous
 * page's `next_cursor` with the same filters. Other methods on the path answer 405. Super admins and admins
 * of the org may read it (SPEC §1).
 * @throws HttpError 400 `invalid_request` naming the query parameter (`field`), e.g. a bad cursor.
 */
export function registerAdminRoutes(
  app: Hono<AppEnv>,
  store: Store,
  engine: Engine,
  config: Pick<ServerConfig, 'maxBodyBytes'>,
): void {
  const path = '/admin/v1/orgs/:org/decisions';
  app.get(path, async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'reading the decision log' });
    const query = readQuery(org, c.req.queries());
    const page = await store.queryDecisions(query);
    return c.json({ decisions: page.decisions.map(toWire), next_cursor: page.next_cursor });
  });
  app.all(path, () => {
    throw new HttpError(405, 'method_not_allowed', `use GET on ${path.replace(':org', '{org}')}`, {
      headers: { Allow: 'GET, HEAD' },
    });
  });
  registerTokenRoutes(app, store, engine, config);
}

/** Token statuses of the registry listing: `active` is neither revoked nor expired. */
export const TOKEN_STATUSES = ['active', 'expired', 'revoked', 'all'] as const;
type TokenStatus = (typeof TOKEN_STATUSES)[number];

/**
 * The wire form of a registry row (docs/api.md "Token registry"): times RFC 3339; `expires_at` the earlier
 * of what a decision advised and the engine's SPEC §5 computation from `created_at` and the org's settings
 * history; `status` active | expired | revoked at `now`.
 */
export function tokenToWire(t: TokenRecord, engine: Engine, now: number): Record<string, unknown> {
  // The same computation as the expiry emails' sweep (engine/notify/sweep.ts), so the list and the mail agree.
  const expiry = effectiveTokenExpiry(t, engine);
  const iso = (x: number | null) => (x === null ? null : formatRfc3339(x));
  return {
    id: t.id,
    org: t.org,
    kind: t.kind,
    owner: t.owner,
    service_account: t.service_account,
    created_at: iso(t.created_at),
    first_seen: iso(t.first_seen),
    registered_by: t.registered_by,
    last_used_at: iso(t.last_used_at),
    expires_at: iso(expiry),
    status: t.revoked ? 'revoked' : expiry !== null && now >= expiry ? 'expired' : 'active',
    revoked: t.revoked
      ? { at: formatRfc3339(t.revoked.at), by: t.revoked.by, reason: t.revoked.reason }
      : null,
  };
}

function readTokenQuery(
  org: string,
  q: Record<string, string[]>,
): { query: TokenQuery; status: TokenStatus } {
  const problems: FieldProblem[] = [];
  const query: TokenQuery = { org };
  let status: TokenStatus = 'active';
  for (const [key, values] of Object.entries(q)) {
    const v = values[0] ?? '';
    if (values.length > 1) problems.push({ field: key, message: `give ${key} once` });
    if (key === 'status') {
      if ((TOKEN_STATUSES as readonly string[]).includes(v)) status = v as TokenStatus;
      else problems.push({ field: key, message: `status must be one of ${TOKEN_STATUSES.join(', ')}` });
    } else if (key === 'kind') {
      if (v === 'personal_access' || v === 'service_account') query.kind = v;
      else problems.push({ field: key, message: 'kind must be personal_access or service_account' });
    } else if (key === 'owner') {
      if (v === '') problems.push({ field: key, message: 'owner must be a user id' });
      else query.owner = v;
    } else {
      problems.push({ field: key, message: `unknown query parameter "${key}"; use status, owner, kind` });
    }
  }
  if (problems.length > 0) throw invalidRequest(problems);
  query.revoked = status === 'revoked' ? 'revoked' : status === 'all' ? 'all' : 'unrevoked';
  return { query, status };
}

/**
 * The optional body of a revocation, `{reason?}` (schemas/token-revoke-body.schema.json); no body at all is
 * fine. The reason is mailed to the owner: body.ts's text checks apply. A blank reason is no reason.
 */
async function readRevokeReason(c: Context<AppEnv>, maxBytes: number): Promise<string | null> {
  const { body, problems } = await readBody<TokenRevokeBody>(c, maxBytes, revokeSchema, { optional: true });
  throwProblems(problems);
  const reason = body.reason?.trim();
  return reason ? reason : null;
}

/**
 * Registers the token registry routes (SPEC §6, docs/api.md "Token registry"):
 * `GET /admin/v1/orgs/{org}/tokens` (`status` active (default) | expired | revoked | all, `owner`, `kind`)
 * and `GET …/tokens/{id}` for super admins and admins; `DELETE …/tokens/{id}` (body `{reason}` optional)
 * revokes for super admins only, idempotently (a second call answers the first revocation, `changed: false`);
 * the engine learns of it at once, so the token's next use is `token_revoked`.
 * @throws HttpError 400 `invalid_request` (a query parameter or body field), 403 `forbidden`, 404 `not_found`
 *   (a token the org's registry does not know).
 */
export function registerTokenRoutes(
  app: Hono<AppEnv>,
  store: Store,
  engine: Engine,
  config: Pick<ServerConfig, 'maxBodyBytes'>,
): void {
  const list = '/admin/v1/orgs/:org/tokens';
  const one = '/admin/v1/orgs/:org/tokens/:id';
  const notFound = (org: string, id: string) =>
    new HttpError(
      404,
      'not_found',
      `token ${id} is not in the registry of ${org}: tokens are registered by an allowed token.create that names them (resource.id) or by their first token.use`,
    );
  app.get(list, async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'listing tokens' });
    const { query, status } = readTokenQuery(org, c.req.queries());
    const now = nowSeconds();
    const tokens = (await store.listTokens(query))
      .map((t) => tokenToWire(t, engine, now))
      .filter((t) => status === 'all' || status === 'revoked' || t.status === status);
    return c.json({ tokens });
  });
  app.get(one, async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'reading a token' });
    const id = c.req.param('id');
    const t = await store.getToken(org, id);
    if (!t) throw notFound(org, id);
    return c.json({ token: tokenToWire(t, engine, nowSeconds()) });
  });
  app.delete(one, async (c) => {
    const org = c.req.param('org').toLowerCase();
    const { email } = requireAdminRole(c, engine, org, { write: true, what: 'revoking a token' });
    const id = c.req.param('id');
    const reason = await readRevokeReason(c, config.maxBodyBytes);
    // The owner's email (SPEC §6) commits with the revocation; a repeated revoke (changed: false) mails nobody.
    const orgData = Object.hasOwn(engine.data?.orgs ?? {}, org) ? engine.data?.orgs[org] : undefined;
    const { token, changed } = await store.revokeToken(
      { org, id, at: nowSeconds(), by: email, reason },
      (res) => composeTokenRevoked(res, orgData),
    );
    if (!token) throw notFound(org, id);
    // After the store: an answered revocation is durable, and from here on every use is token_revoked.
    engine.markRevoked(org, id);
    c.var.logger?.info(
      { org, token_id: id, by: email, changed },
      changed ? 'token revoked' : 'token was revoked already',
    );
    return c.json({ token: tokenToWire(token, engine, nowSeconds()), changed });
  });
  app.all(list, () => {
    throw new HttpError(405, 'method_not_allowed', 'use GET on /admin/v1/orgs/{org}/tokens', {
      headers: { Allow: 'GET, HEAD' },
    });
  });
  app.all(one, () => {
    throw new HttpError(405, 'method_not_allowed', 'use GET or DELETE on /admin/v1/orgs/{org}/tokens/{id}', {
      headers: { Allow: 'GET, HEAD, DELETE' },
    });
  });
}
