// The admin API's view of the notification outbox (SPEC §6 emails): an org's queued, sent and dead emails, and
// a retry of a dead one. Never an attachment's content: only its name, type and size.
import type { Hono } from 'hono';
import {
  type Engine,
  formatRfc3339,
  NOTIFICATION_PAGE,
  NOTIFICATION_STATUSES,
  type Notification,
  type NotificationQuery,
  type NotificationStatus,
  nowSeconds,
  retryRefusal,
  type Store,
} from '../../engine/index.ts';
import emptySchema from '../../schemas/empty-body.schema.json' with { type: 'json' };
import type { AppEnv } from '../app.ts';
import { requireAdminRole } from '../auth.ts';
import { readBody, throwProblems } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { type FieldProblem, HttpError, invalidRequest } from '../errors.ts';

const PARAMS = ['status', 'limit'] as const;

/**
 * The email's facts with every time (a key ending in `_at` holding epoch seconds, at any depth) as RFC 3339
 * UTC, like every other time of the API; the stored row keeps seconds for the templates.
 */
function wireTimes(v: unknown, key = ''): unknown {
  if (typeof v === 'number' && key.endsWith('_at') && Number.isInteger(v)) return formatRfc3339(v);
  if (Array.isArray(v)) return v.map((x) => wireTimes(x));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wireTimes(x, k)]));
  return v;
}

/**
 * The wire form of an outbox row (docs/api.md "Notifications"): times RFC 3339 (those in `data` too); `next_attempt_at` only while
 * it means something (pending: when due; sending: when the claim runs out); attachments without content. The
 * email's Message-ID is `<id@domain of smtp.from>`.
 */
export function notificationToWire(n: Notification): Record<string, unknown> {
  const live = n.status === 'pending' || n.status === 'sending';
  return {
    id: n.id,
    kind: n.kind,
    org: n.org,
    to: n.to,
    status: n.status,
    attempts: n.attempts,
    created_at: formatRfc3339(n.created_at),
    next_attempt_at: live ? formatRfc3339(n.next_attempt_at) : null,
    sent_at: n.sent_at === null ? null : formatRfc3339(n.sent_at),
    last_error: n.last_error,
    dedupe_key: n.dedupe_key,
    data: wireTimes(n.data) as Record<string, unknown>,
    attachments: (n.attachments ?? []).map((a) => ({
      filename: a.filename,
      content_type: a.content_type,
      size_bytes: Buffer.byteLength(a.content, 'utf8'),
    })),
  };
}

/**
 * Reads `status` and `limit` of the list query; every problem at once.
 * @throws HttpError 400 `invalid_request` naming the parameter
 */
export function readNotificationQuery(org: string, q: Record<string, string[]>): NotificationQuery {
  const problems: FieldProblem[] = [];
  const query: NotificationQuery = { org, limit: NOTIFICATION_PAGE.default };
  for (const [key, values] of Object.entries(q)) {
    if (!(PARAMS as readonly string[]).includes(key)) {
      problems.push({ field: key, message: `unknown query parameter "${key}"; use ${PARAMS.join(', ')}` });
      continue;
    }
    if (values.length > 1) problems.push({ field: key, message: `give ${key} once` });
    const v = values[0] ?? '';
    if (key === 'status') {
      if (!(NOTIFICATION_STATUSES as readonly string[]).includes(v))
        problems.push({ field: key, message: `status must be one of ${NOTIFICATION_STATUSES.join(', ')}` });
      else query.status = v as NotificationStatus;
    } else if (!/^\d{1,4}$/.test(v) || Number(v) < 1 || Number(v) > NOTIFICATION_PAGE.max) {
      problems.push({ field: key, message: `limit must be an integer from 1 to ${NOTIFICATION_PAGE.max}` });
    } else query.limit = Number(v);
  }
  if (problems.length > 0) throw invalidRequest(problems);
  return query;
}

/**
 * Registers (docs/api.md "Notifications"):
 * `GET /admin/v1/orgs/{org}/notifications?status=&limit=` (super admins and admins of the org, SPEC §1): the
 * org's emails newest first, `{notifications: [...]}`, at most `limit` (1..1000, default 100);
 * `POST /admin/v1/orgs/{org}/notifications/{id}:retry` (super admins; no body, or `{}`): a `dead` (or `pending`) email is due
 * again now, with a full set of attempts; answers `{notification}`.
 * @throws HttpError 400 `invalid_request`; 403 `forbidden`; 404 `not_found` (no such email in the org); 409
 *   `conflict` (the email was sent, or a worker is sending it now).
 */
export function registerNotificationRoutes(
  app: Hono<AppEnv>,
  store: Store,
  engine: Engine,
  config: ServerConfig,
): void {
  const list = '/admin/v1/orgs/:org/notifications';
  app.get(list, async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'reading the outbox' });
    const query = readNotificationQuery(org, c.req.queries());
    const rows = await store.listNotifications(query);
    return c.json({ notifications: rows.map((n) => notificationToWire(n)) });
  });
  app.post('/admin/v1/orgs/:org/notifications/:op{.+:retry}', async (c) => {
    const org = c.req.param('org').toLowerCase();
    const { email } = requireAdminRole(c, engine, org, { write: true, what: 'retrying an email' });
    const op = c.req.param('op');
    const id = op.slice(0, op.lastIndexOf(':'));
    // It takes no body: none, or {} (schemas/empty-body.schema.json).
    throwProblems((await readBody(c, config.maxBodyBytes, emptySchema, { optional: true })).problems);
    const row = await store.getNotification(id);
    // Another org's email is not found here: ids do not leak across orgs.
    if (!row || row.org !== org)
      throw new HttpError(404, 'not_found', `no email ${id} in the outbox of ${org}`);
    const now = nowSeconds();
    const refused = retryRefusal(row, now);
    if (refused) throw new HttpError(409, 'conflict', refused);
    const after = await store.retryNotification(id, now);
    if (!after) throw new HttpError(404, 'not_found', `no email ${id} in the outbox of ${org}`);
    c.var.logger?.info({ org, notification_id: id, kind: row.kind, by: email }, 'email retry requested');
    return c.json({ notification: notificationToWire(after) });
  });
  app.all(list, () => {
    throw new HttpError(405, 'method_not_allowed', 'use GET on /admin/v1/orgs/{org}/notifications', {
      headers: { Allow: 'GET, HEAD' },
    });
  });
}
