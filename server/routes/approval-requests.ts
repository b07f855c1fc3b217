// App approval requests (SPEC §6): the platform files them (POST /v1/orgs/{org}/approval-requests, with a
// decision-API token), super admins and admins read them, super admins deny them; a revision approving the
// app closes them (engine load → store). Every status change is a request event; its emails (SPEC §6) are
// queued in the same transaction (engine/notify/compose.ts).
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import {
  type ApprovalRequest,
  composeRequestCreated,
  composeRequestDenied,
  type Engine,
  formatRfc3339,
  nowSeconds,
  type RequestEvent,
  type RequestStatus,
  type Store,
} from '../../engine/index.ts';
import type { ApprovalDenyBody } from '../../schemas/approval-deny-body.gen.ts';
import denySchema from '../../schemas/approval-deny-body.schema.json' with { type: 'json' };
import type { ApprovalRequestBody } from '../../schemas/approval-request-body.gen.ts';
import newRequestSchema from '../../schemas/approval-request-body.schema.json' with { type: 'json' };
import type { AppEnv } from '../app.ts';
import { requireAdminRole } from '../auth.ts';
import { readBody, throwProblems } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { type FieldProblem, HttpError, invalidRequest } from '../errors.ts';
import { assertReady } from './evaluation.ts';

/** Path of the platform's route (the `approval_request.href` of a denied app.connect). */
export const APPROVAL_REQUESTS_PATH = '/v1/orgs/:org/approval-requests';

const STATUSES: readonly RequestStatus[] = ['pending', 'approved', 'denied'];

const iso = (x: number | null) => (x === null ? null : formatRfc3339(x));

/** The wire form of a request: times RFC 3339 UTC. */
export function requestToWire(r: ApprovalRequest): Record<string, unknown> {
  return {
    id: r.id,
    org: r.org,
    app: { id: r.app_id, name: r.app_name },
    requester: { id: r.requester_id, email: r.requester_email },
    note: r.note,
    status: r.status,
    asks: r.asks,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    decided_at: iso(r.decided_at),
    decided_by: r.decided_by,
    reason: r.reason,
  };
}

function eventToWire(e: RequestEvent): Record<string, unknown> {
  return { at: formatRfc3339(e.at), type: e.type, by: e.by, reason: e.reason };
}

/**
 * Registers the platform's `POST /v1/orgs/{org}/approval-requests` (body `{app: {id, name?}, requester: {id,
 * email}, note?}`; 201 `{request, merged: false}` for a new request, 200 `{request, merged: true}` when the
 * requester already has one pending for the app) and the admin routes `GET /admin/v1/orgs/{org}/approval-requests`
 * (`status`, `app`), `GET …/{id}` (with its `events`) and `POST …/{id}/deny` (`{reason}`, super admins;
 * idempotent). The caller authenticates the platform route (decision-API token).
 * @throws HttpError 400 `invalid_request` naming the field; 403 `forbidden`; 404 `not_found` (an org no
 *   live policy declares, an unknown request); 409 `conflict` (the app is already approved, blocked, or
 *   the org is in `allow_all` mode; denying an approved request).
 */
export function registerApprovalRequestRoutes(
  app: Hono<AppEnv>,
  store: Store,
  engine: Engine,
  config: ServerConfig,
): void {
  app.post(APPROVAL_REQUESTS_PATH, async (c) => {
    const org = c.req.param('org').toLowerCase();
    assertReady(engine);
    // The shape (lengths, email, unknown fields) is the schema's; the text checks are body.ts's.
    const { body, problems } = await readBody<ApprovalRequestBody>(c, config.maxBodyBytes, newRequestSchema);
    throwProblems(problems);
    const n = {
      app_id: body.app.id,
      app_name: body.app.name ?? null,
      requester_id: body.requester.id,
      requester_email: body.requester.email.toLowerCase(),
      note: body.note ?? null,
    };
    const orgData = engine.data?.orgs[org];
    if (!orgData || !Object.hasOwn(engine.data?.orgs ?? {}, org)) {
      throw new HttpError(404, 'not_found', `no live policy declares org ${org}`);
    }
    if (Object.hasOwn(orgData.apps.approved, n.app_id)) {
      throw new HttpError(409, 'conflict', `app ${n.app_id} is already approved in ${org}; connect it again`);
    }
    // A request nobody could act on would wait forever (SPEC §6: approval is the require_approval flow).
    if (Object.hasOwn(orgData.apps.blocked, n.app_id)) {
      throw new HttpError(409, 'conflict', `${org} blocks ${n.app_id}; ask an admin to unblock it`);
    }
    if (orgData.apps.mode === 'allow_all') {
      throw new HttpError(
        409,
        'conflict',
        `${org} does not work by approval; the app is allowed unless blocked`,
      );
    }
    // The emails (to the recipients, the confirmation) commit with the request; a merged ask mails nobody.
    const { request, merged } = await store.createApprovalRequest(
      { id: randomUUID(), org, ...n, at: nowSeconds() },
      (res) => composeRequestCreated(res, orgData),
    );
    return c.json({ request: requestToWire(request), merged }, merged ? 200 : 201);
  });
  app.all(APPROVAL_REQUESTS_PATH, () => {
    throw new HttpError(405, 'method_not_allowed', 'use POST on /v1/orgs/{org}/approval-requests', {
      headers: { Allow: 'POST' },
    });
  });

  const list = '/admin/v1/orgs/:org/approval-requests';
  const one = `${list}/:id`;
  const notFound = (org: string, id: string) =>
    new HttpError(404, 'not_found', `no approval request ${id} in ${org}`);
  app.get(list, async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'listing approval requests' });
    const problems: FieldProblem[] = [];
    const q: { org: string; status?: RequestStatus; app?: string } = { org };
    for (const [key, values] of Object.entries(c.req.queries())) {
      const v = values[0] ?? '';
      if (values.length > 1) problems.push({ field: key, message: `give ${key} once` });
      if (key === 'status') {
        if ((STATUSES as readonly string[]).includes(v)) q.status = v as RequestStatus;
        else problems.push({ field: key, message: `status must be one of ${STATUSES.join(', ')}` });
      } else if (key === 'app') {
        if (v === '') problems.push({ field: key, message: 'app must be an app id' });
        else q.app = v;
      } else problems.push({ field: key, message: `unknown query parameter "${key}"; use status, app` });
    }
    if (problems.length > 0) throw invalidRequest(problems);
    return c.json({ requests: (await store.listApprovalRequests(q)).map(requestToWire) });
  });
  app.get(one, async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'reading an approval request' });
    const id = c.req.param('id');
    const r = await store.getApprovalRequest(org, id);
    if (!r) throw notFound(org, id);
    const events = await store.requestEvents({ org, requestId: id });
    return c.json({ request: { ...requestToWire(r), events: events.map(eventToWire) } });
  });
  app.post(`${one}/deny`, async (c) => {
    const org = c.req.param('org').toLowerCase();
    const { email } = requireAdminRole(c, engine, org, { write: true, what: 'denying a request' });
    const id = c.req.param('id');
    const { body, problems } = await readBody<ApprovalDenyBody>(c, config.maxBodyBytes, denySchema);
    throwProblems(problems);
    // The requester's email commits with the denial; a repeated deny (changed: false) mails nobody.
    const { request, changed } = await store.denyApprovalRequest(
      { org, id, at: nowSeconds(), by: email, reason: body.reason.trim() },
      composeRequestDenied,
    );
    if (!request) throw notFound(org, id);
    if (request.status === 'approved') {
      throw new HttpError(
        409,
        'conflict',
        `request ${id} was already approved (the app is approved in ${org})`,
      );
    }
    return c.json({ request: requestToWire(request), changed });
  });
}
