// The admin API over the store (SPEC §6): GET /admin/v1/orgs/{org}/decisions, the decision-log query with
// filters and cursor paging. More admin routes (apps, tokens, requests, history) join this group.
import type { Hono } from 'hono';
import {
  ACTIONS,
  type DecisionQuery,
  type DecisionRecord,
  ENGINE_REASON_CODES,
  type Engine,
  MAX_DECISION_PAGE,
  parseRfc3339,
  SPEC_REASON_CODES,
  type Store,
} from '../../engine/index.ts';
import type { AppEnv } from '../app.ts';
import { requireAdminRole } from '../auth.ts';
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
            message: `${key} must be an RFC 3339 timestamp with a time and an offset, e.g. 2026-06-01T00:00:00Z`,
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
export function registerAdminRoutes(app: Hono<AppEnv>, store: Store, engine: Engine): void {
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
}
