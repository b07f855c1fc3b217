// Generates docs/openapi.json (OpenAPI 3.1): every request body is a JSON Schema the server validates with
// (schemas/*.schema.json, embedded as components), and so is the decision; the other answers' shapes are
// described here once. `npm run gen` writes it, --check finds it stale.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMAILS } from '../engine/notify/templates.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the document is committed (and what `GET /openapi.json` serves). */
export const OPENAPI_PATH = join(root, 'docs', 'openapi.json');

type Schema = Record<string, unknown>;

/**
 * A schema file as a component: its `$id` and `$schema` dropped (the document is one 2020-12 resource, OpenAPI
 * 3.1's dialect), its internal `#/$defs/…` references re-pointed at the component and its references into
 * decision-request.schema.json at the DecisionRequest component, so every tool resolves them from the document
 * root.
 */
async function component(file: string, name: string): Promise<Schema> {
  const schema = JSON.parse(await readFile(join(root, 'schemas', file), 'utf8')) as Schema;
  const { $id: _id, $schema: _s, ...rest } = schema;
  const text = JSON.stringify(rest)
    .replaceAll('"#/$defs/', `"#/components/schemas/${name}/$defs/`)
    .replaceAll('"decision-request.schema.json#/$defs/', '"#/components/schemas/DecisionRequest/$defs/')
    .replaceAll('"decision-request.schema.json"', '"#/components/schemas/DecisionRequest"');
  if (text.includes('.schema.json')) throw new Error(`schemas/${file}: a $ref gen-openapi cannot re-point`);
  return JSON.parse(text) as Schema;
}

/**
 * The request bodies, by component name: each the schema file its route compiles with ajv (server/body.ts
 * readBody), so the document and the server's checks of a body's shape are one source.
 */
export const REQUEST_BODY_SCHEMAS = {
  ApprovalRequestBody: 'approval-request-body.schema.json',
  ApprovalDenyBody: 'approval-deny-body.schema.json',
  MemberJoinedBody: 'member-joined-body.schema.json',
  TokenRevokeBody: 'token-revoke-body.schema.json',
  BlockAppBody: 'block-app-body.schema.json',
  ApproveAppBody: 'approve-app-body.schema.json',
  SetExpirationBody: 'set-expiration-body.schema.json',
  EmptyBody: 'empty-body.schema.json',
  EvaluationsRequest: 'evaluations-request.schema.json',
  OpaDataRequest: 'opa-data-request.schema.json',
} as const;
type BodyName = keyof typeof REQUEST_BODY_SCHEMAS;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A request body that is one of {@link REQUEST_BODY_SCHEMAS}. */
const bodyRef = (name: BodyName): Schema => ref(name);
const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const time = (description?: string): Schema => ({
  type: 'string',
  format: 'date-time',
  ...(description ? { description } : {}),
});
const obj = (
  properties: Record<string, Schema>,
  required = Object.keys(properties),
  extra?: Schema,
): Schema => ({
  type: 'object',
  required,
  properties,
  ...extra,
});
const json = (schema: Schema, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** The error answers every route may give, by status (docs/api.md "Errors"). */
const ERRORS: Record<string, string> = {
  '400': 'Bad input (`invalid_json`, `incomplete_body`, `invalid_request` with `field`); never evaluated.',
  '401':
    '`unauthorized`: tokens are configured and the bearer token is missing or wrong (`WWW-Authenticate: Bearer`).',
  '403': '`forbidden`: a valid token, but not for this route, org or role.',
  '404': '`not_found`: no such endpoint, or no such resource (token, request, app, member, org).',
  '405': '`method_not_allowed`: a known path with another method (`Allow` lists the methods).',
  '409': '`conflict`: the change cannot be made in the current state.',
  '413': '`payload_too_large`: the body is over `limits.max_body_bytes` (64 KiB by default).',
  '415': '`unsupported_media_type`: the body is not `application/json`.',
  '500': '`internal_error`: the server failed; the message says nothing more.',
  '503': '`not_ready`: no valid policy is live yet (`Retry-After: 1`).',
};

function errors(...statuses: string[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: `#/components/responses/${s}` }]));
}

const orgParam = {
  name: 'org',
  in: 'path',
  required: true,
  description: 'The org id (its domain), compared lower-cased.',
  schema: { type: 'string' },
};
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const queryParam = (name: string, description: string, schema: Schema = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

const DECISION_SECURITY = [{ decisionToken: [] }, {}];
const ADMIN_SECURITY = [{ adminToken: [] }];

/** An admin API operation: admin token, the org parameter, the admin errors. */
function admin(op: {
  summary: string;
  description: string;
  tag?: string;
  params?: unknown[];
  body?: BodyName;
  bodyRequired?: boolean;
  ok: Record<string, unknown>;
  errs?: string[];
}): Record<string, unknown> {
  return {
    tags: [op.tag ?? 'admin'],
    summary: op.summary,
    description: op.description,
    security: ADMIN_SECURITY,
    parameters: [orgParam, ...(op.params ?? [])],
    ...(op.body
      ? {
          requestBody: {
            required: op.bodyRequired ?? false,
            content: { 'application/json': { schema: bodyRef(op.body) } },
          },
        }
      : {}),
    responses: { ...op.ok, ...errors(...(op.errs ?? ['400', '401', '403', '404', '503'])) },
  };
}

const EDIT_ERRORS = ['400', '401', '403', '409', '413', '415', '503'];

/**
 * Builds the OpenAPI 3.1 document of every route of the decision server (docs/api.md): decision API, platform
 * routes, admin API, metadata, health, metrics and this document. Every request body and the decision are
 * the schema files the server validates with (schemas/decision-request.schema.json, decision-response.schema.json
 * and {@link REQUEST_BODY_SCHEMAS}), embedded as components; the other answers are described here, once.
 * @returns the document as a plain object
 */
export async function buildOpenApi(): Promise<Schema> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const schemas: Record<string, Schema> = {
    DecisionRequest: await component('decision-request.schema.json', 'DecisionRequest'),
    DecisionResponse: await component('decision-response.schema.json', 'DecisionResponse'),
    ...Object.fromEntries(
      await Promise.all(
        Object.entries(REQUEST_BODY_SCHEMAS).map(async ([name, file]) => [name, await component(file, name)]),
      ),
    ),
    Error: obj(
      {
        error: obj(
          {
            code: {
              type: 'string',
              enum: [
                'invalid_json',
                'incomplete_body',
                'invalid_request',
                'unsupported_media_type',
                'payload_too_large',
                'unauthorized',
                'forbidden',
                'conflict',
                'not_ready',
                'not_found',
                'method_not_allowed',
                'evaluation_error',
                'internal_error',
              ],
              description: 'Stable, machine-readable.',
            },
            message: str('A human sentence; not stable.'),
            field: {
              type: ['string', 'null'],
              description:
                'JSON pointer into the body (or the query parameter) at fault; null when not one field.',
            },
            problems: {
              type: 'array',
              description: 'Every problem, when there are several.',
              items: obj({ field: { type: ['string', 'null'] }, message: str() }),
            },
          },
          ['code', 'message', 'field'],
        ),
      },
      ['error'],
      { description: 'Every error answer (SPEC §4): `{error: {code, message, field}}`.' },
    ),
    EvaluationFailure: {
      description:
        'A deny answered when the evaluation itself failed (fail closed): 500 `evaluation_error`, still with a decision id and the revision.',
      type: 'object',
      required: ['decision', 'context', 'error'],
      properties: {
        decision: { const: false },
        context: obj({
          decision_id: str(),
          revision: { type: ['string', 'null'] },
          reason: obj({ code: { const: 'evaluation_error' }, message: str() }),
        }),
        error: { $ref: '#/components/schemas/Error/properties/error' },
      },
    },
    EvaluationItemFailure: {
      description:
        'A batch item whose evaluation failed: a deny with context.error (AuthZEN per-item error).',
      type: 'object',
      required: ['decision', 'context'],
      properties: {
        decision: { const: false },
        context: obj(
          {
            decision_id: str(),
            revision: { type: ['string', 'null'] },
            reason: obj({ code: str(), message: str() }),
            error: obj({ status: { const: 500 }, message: str() }),
          },
          ['decision_id', 'reason', 'error'],
        ),
      },
    },
    EvaluationsResponse: obj({
      evaluations: {
        type: 'array',
        description: 'One decision per evaluated item, in order (fewer when a semantic stopped early).',
        items: { anyOf: [ref('DecisionResponse'), ref('EvaluationItemFailure')] },
      },
    }),
    OpaDataResponse: obj({
      result: ref('DecisionResponse'),
      decision_id: str('Equals result.context.decision_id.'),
    }),
    OpaDataFailure: obj({
      result: {
        type: 'object',
        required: ['decision', 'context'],
        properties: {
          decision: { const: false },
          context: { $ref: '#/components/schemas/EvaluationFailure/properties/context' },
        },
      },
      decision_id: str(),
      error: { $ref: '#/components/schemas/Error/properties/error' },
    }),
    Issue: obj(
      {
        file: str(),
        line: { type: 'integer' },
        column: { type: 'integer' },
        path: str(),
        message: str(),
        hint: str(),
      },
      ['message'],
    ),
    Health: obj(
      {
        status: { enum: ['ok', 'not_ready'] },
        revision: { type: ['string', 'null'] },
        live_since: nullable(time()),
        last_reload: nullable(
          obj(
            {
              at: time(),
              ok: { type: 'boolean' },
              revision: str(),
              issues: { type: 'array', items: ref('Issue') },
              warnings: { type: 'array', items: ref('Issue') },
            },
            ['at', 'ok'],
          ),
        ),
      },
      ['status', 'revision', 'live_since', 'last_reload'],
    ),
    Ready: obj({ ready: { type: 'boolean' }, revision: { type: ['string', 'null'] } }),
    AuthzenConfiguration: obj({
      policy_decision_point: str(),
      access_evaluation_endpoint: str(),
      access_evaluations_endpoint: str(),
    }),
    DecisionLogEntry: obj(
      {
        decision_id: str(),
        time: time('When it was decided, RFC 3339 UTC with milliseconds.'),
        org: str(),
        action: str(),
        subject_type: str(),
        subject_id: str(),
        subject_role: { type: ['string', 'null'] },
        resource_type: str(),
        resource_id: { type: ['string', 'null'] },
        decision: { type: 'boolean' },
        reason: str(),
        revision: str(),
        latency_us: { type: 'number' },
      },
      [
        'decision_id',
        'time',
        'org',
        'action',
        'subject_type',
        'subject_id',
        'resource_type',
        'decision',
        'reason',
        'revision',
      ],
    ),
    Token: obj({
      id: str(),
      org: str(),
      kind: { enum: ['personal_access', 'service_account'] },
      owner: { type: ['string', 'null'] },
      service_account: { type: ['string', 'null'] },
      created_at: nullable(time()),
      first_seen: nullable(time()),
      registered_by: { type: ['string', 'null'] },
      last_used_at: nullable(time()),
      expires_at: nullable(time()),
      status: { enum: ['active', 'expired', 'revoked'] },
      revoked: nullable(obj({ at: time(), by: str(), reason: { type: ['string', 'null'] } })),
    }),
    App: obj(
      {
        id: str(),
        name: { type: ['string', 'null'] },
        developer: { type: ['string', 'null'] },
        description: { type: ['string', 'null'] },
        support_url: { type: ['string', 'null'] },
        privacy_url: { type: ['string', 'null'] },
        scopes_granted: nullable({ type: 'array', items: str() }),
        scopes_requested: nullable({ type: 'array', items: str() }),
        policy_status: { enum: ['blocked', 'approved', 'not_approved', 'allowed', null] },
        first_seen: nullable(time()),
        last_activity: nullable(time()),
        active_members: { type: 'integer' },
      },
      ['id', 'name', 'policy_status', 'first_seen', 'last_activity', 'active_members'],
    ),
    ApprovalRequest: obj(
      {
        id: str(),
        org: str(),
        app: obj({ id: str(), name: { type: ['string', 'null'] } }),
        requester: obj({ id: str(), email: str() }),
        note: { type: ['string', 'null'] },
        status: { enum: ['pending', 'approved', 'denied'] },
        asks: { type: 'integer' },
        created_at: time(),
        updated_at: time(),
        decided_at: nullable(time()),
        decided_by: { type: ['string', 'null'] },
        reason: { type: ['string', 'null'] },
        events: {
          type: 'array',
          description: 'Every status change (only on GET of one request).',
          items: obj({
            at: time(),
            type: str(),
            by: { type: ['string', 'null'] },
            reason: { type: ['string', 'null'] },
          }),
        },
      },
      ['id', 'org', 'app', 'requester', 'status', 'created_at'],
    ),
    Member: obj({
      member: nullable(
        obj({
          org: str(),
          user: str(),
          role: { enum: ['member', 'guest'] },
          joined_at: time(),
          recorded_at: time(),
        }),
      ),
      blocked_apps: { type: 'array', items: obj({ app: str(), at: time() }) },
    }),
    Notification: obj(
      {
        id: str(),
        kind: {
          enum: EMAILS.map((e) => e.kind),
          description: 'Which email of SPEC §6 (the README "Emails" table lists who gets each and when).',
        },
        org: str(),
        to: { type: 'array', items: str() },
        status: { enum: ['pending', 'sending', 'sent', 'dead'] },
        attempts: { type: 'integer' },
        created_at: time(),
        next_attempt_at: nullable(time()),
        sent_at: nullable(time()),
        last_error: { type: ['string', 'null'] },
        dedupe_key: str(),
        data: { type: 'object' },
        attachments: {
          type: 'array',
          description: 'Name, type and size only; never the content.',
          items: obj({ filename: str(), content_type: str(), size_bytes: { type: 'integer' } }),
        },
      },
      ['id', 'kind', 'org', 'to', 'status', 'attempts', 'created_at', 'sent_at', 'last_error'],
    ),
    PolicyEdit: obj(
      {
        org: str(),
        file: str('The org policy file, relative to the repository.'),
        changed: { type: 'boolean' },
        message: str(),
        diff: str('A unified diff for a pull request; empty when nothing changes. Nothing is written.'),
      },
      ['org', 'changed', 'message', 'diff'],
    ),
  };

  const decisionErrors = errors('400', '401', '403', '413', '415', '503');
  const paths: Record<string, Record<string, unknown>> = {
    '/access/v1/evaluation': {
      post: {
        tags: ['decisions'],
        summary: 'One decision (AuthZEN 1.0 access evaluation)',
        description:
          'A deny is 200 with `decision: false` and a stable reason code. The server sets the evaluation time.',
        security: DECISION_SECURITY,
        requestBody: { required: true, content: { 'application/json': { schema: ref('DecisionRequest') } } },
        responses: {
          '200': json(ref('DecisionResponse'), 'The decision (allow or deny).'),
          ...decisionErrors,
          '500': json(
            ref('EvaluationFailure'),
            '`evaluation_error`: the evaluation failed; a deny (fail closed).',
          ),
        },
      },
    },
    '/access/v1/evaluations': {
      post: {
        tags: ['decisions'],
        summary: 'Several decisions in one call (AuthZEN 1.0 evaluations)',
        description:
          'Every item is validated before any is evaluated. Without `evaluations` (or with an empty list) it answers like a single evaluation.',
        security: DECISION_SECURITY,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: bodyRef('EvaluationsRequest') } },
        },
        responses: {
          '200': json(
            { anyOf: [ref('EvaluationsResponse'), ref('DecisionResponse')] },
            'The decisions in item order, or one decision without `evaluations`.',
          ),
          ...decisionErrors,
          '500': json(ref('EvaluationFailure'), '`evaluation_error` of a single evaluation.'),
        },
      },
    },
    '/v1/data/appwarden/decision': {
      post: {
        tags: ['decisions'],
        summary: 'One decision in the OPA Data API shape',
        description:
          '`{input: <AuthZEN request>}` → `{result: <decision>, decision_id}`; fields are named under `/input`.',
        security: DECISION_SECURITY,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: bodyRef('OpaDataRequest') } },
        },
        responses: {
          '200': json(ref('OpaDataResponse'), 'The decision, wrapped as OPA answers.'),
          ...decisionErrors,
          '500': json(ref('OpaDataFailure'), '`evaluation_error`: a deny, wrapped as OPA answers.'),
        },
      },
    },
    '/.well-known/authzen-configuration': {
      get: {
        tags: ['metadata'],
        summary: 'AuthZEN PDP metadata',
        description: 'Absolute endpoint URLs built from the request’s scheme and Host. No token.',
        security: [],
        responses: { '200': json(ref('AuthzenConfiguration'), 'The metadata.') },
      },
    },
    '/health': {
      get: {
        tags: ['operations'],
        summary: 'Liveness: the live revision and the last reload',
        description: 'A failed reload shows its issues while the previous revision keeps serving. No token.',
        security: [],
        responses: {
          '200': json(ref('Health'), 'A revision is live.'),
          '503': json(ref('Health'), 'No policy is live yet (`status: not_ready`).'),
        },
      },
    },
    '/ready': {
      get: {
        tags: ['operations'],
        summary: 'Readiness for load balancers',
        security: [],
        responses: {
          '200': json(ref('Ready'), 'A policy is live.'),
          '503': json(ref('Ready'), 'No policy is live yet.'),
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition)',
        description:
          'Open like the decision API when no decision-API token is configured (loopback only); otherwise a decision-API or an admin token. docs/operations.md "Metrics".',
        security: [{ decisionToken: [] }, { adminToken: [] }, {}],
        responses: {
          '200': {
            description: 'The metrics.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errors('401'),
        },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['metadata'],
        summary: 'This document (OpenAPI 3.1)',
        security: [],
        responses: { '200': json({ type: 'object' }, 'The OpenAPI document.') },
      },
    },
    '/v1/orgs/{org}/approval-requests': {
      post: {
        tags: ['platform'],
        summary: 'File a user’s request for an app (the href of a denied app.connect)',
        description:
          'A second ask by the same user for the same app merges into the pending request (200, `merged: true`).',
        security: DECISION_SECURITY,
        parameters: [orgParam],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: bodyRef('ApprovalRequestBody') } },
        },
        responses: {
          '201': json(obj({ request: ref('ApprovalRequest'), merged: { const: false } }), 'Filed.'),
          '200': json(
            obj({ request: ref('ApprovalRequest'), merged: { const: true } }),
            'Merged into the pending one.',
          ),
          ...errors('400', '401', '403', '404', '409', '413', '415', '503'),
        },
      },
    },
    '/v1/orgs/{org}/events/member-joined': {
      post: {
        tags: ['platform'],
        summary: 'Report a user joining the org (SPEC §5 join rule)',
        security: DECISION_SECURITY,
        parameters: [orgParam],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: bodyRef('MemberJoinedBody') } },
        },
        responses: {
          '200': json(ref('Member'), 'The recorded join and the apps blocked for the user.'),
          ...errors('400', '401', '403', '404', '413', '415', '503'),
        },
      },
    },
    '/admin/v1/orgs/{org}/decisions': {
      get: admin({
        summary: 'The org’s decision log, newest first',
        description:
          'Filters combine; `next_cursor` pages on (null on the last page). Super admins and admins.',
        params: [
          queryParam('since', 'RFC 3339 (encode + as %2B).', time()),
          queryParam('until', 'RFC 3339, exclusive.', time()),
          queryParam('action', 'An action name, e.g. app.connect.'),
          queryParam('reason', 'A reason code.'),
          queryParam('subject', 'A subject id.'),
          queryParam('limit', 'Page size, 1-1000 (default 100).', {
            type: 'integer',
            minimum: 1,
            maximum: 1000,
          }),
          queryParam('cursor', 'The next_cursor of the previous page.'),
        ],
        ok: {
          '200': json(
            obj({
              decisions: { type: 'array', items: ref('DecisionLogEntry') },
              next_cursor: { type: ['string', 'null'] },
            }),
            'One page.',
          ),
        },
      }),
    },
    '/admin/v1/orgs/{org}/tokens': {
      get: admin({
        summary: 'The org’s token registry',
        description: 'Active tokens by default. Super admins and admins.',
        params: [
          queryParam('status', 'Default active.', { enum: ['active', 'expired', 'revoked', 'all'] }),
          queryParam('owner', 'The owner’s user id.'),
          queryParam('kind', 'Token kind.', { enum: ['personal_access', 'service_account'] }),
        ],
        ok: { '200': json(obj({ tokens: { type: 'array', items: ref('Token') } }), 'The tokens.') },
      }),
    },
    '/admin/v1/orgs/{org}/tokens/{id}': {
      get: admin({
        summary: 'One registered token',
        description: 'Super admins and admins.',
        params: [pathParam('id', 'The token id.')],
        ok: { '200': json(obj({ token: ref('Token') }), 'The token.') },
      }),
      delete: admin({
        summary: 'Revoke a token (super admins)',
        description: 'Idempotent (`changed: false` the second time); the next use is `token_revoked`.',
        params: [pathParam('id', 'The token id.')],
        body: 'TokenRevokeBody',
        ok: { '200': json(obj({ token: ref('Token'), changed: { type: 'boolean' } }), 'The revoked token.') },
        errs: ['400', '401', '403', '404', '413', '415', '503'],
      }),
    },
    '/admin/v1/orgs/{org}/apps': {
      get: admin({
        summary: 'Connected apps with activity and active members',
        description: 'Super admins and admins.',
        ok: {
          '200': json(
            obj({ active_member_days: { type: 'integer' }, apps: { type: 'array', items: ref('App') } }),
            'The apps.',
          ),
        },
      }),
    },
    '/admin/v1/orgs/{org}/apps/usage.csv': {
      get: admin({
        summary: 'Per-user usage as CSV',
        description: 'UTF-8 with BOM, CRLF, RFC 4180, formula-safe cells. Super admins and admins.',
        ok: {
          '200': {
            description: 'The CSV (email, user_id, app, app_name, uses_last_90_days, last_used).',
            content: { 'text/csv': { schema: { type: 'string' } } },
          },
        },
      }),
    },
    '/admin/v1/orgs/{org}/apps/usage:email': {
      post: admin({
        summary: 'Email the usage CSV to the super admin who asks',
        description: 'Queued in the notification outbox; the worker sends it.',
        body: 'EmptyBody',
        ok: {
          '202': json(
            obj({
              notification: obj({
                id: str(),
                kind: str(),
                status: { enum: ['pending', 'sending', 'sent', 'dead'] },
                to: { type: 'array', items: str() },
              }),
            }),
            'Queued.',
          ),
        },
        errs: ['400', '401', '403', '404', '413', '415', '503'],
      }),
    },
    '/admin/v1/orgs/{org}/apps/{app}': {
      get: admin({
        summary: 'One app with its per-user usage',
        description: 'Super admins and admins.',
        params: [pathParam('app', 'The app id.')],
        ok: {
          '200': json(
            obj({
              app: {
                allOf: [ref('App')],
                type: 'object',
                required: ['usage_days', 'usage'],
                properties: {
                  usage_days: { type: 'integer' },
                  usage: {
                    type: 'array',
                    items: obj({
                      user_id: str(),
                      email: { type: ['string', 'null'] },
                      uses_last_90_days: { type: 'integer' },
                      last_used: time(),
                    }),
                  },
                },
              },
            }),
            'The app.',
          ),
        },
      }),
    },
    '/admin/v1/orgs/{org}/members/{user}': {
      get: admin({
        summary: 'A reported join and the apps blocked for the member',
        description: 'Super admins and admins.',
        params: [pathParam('user', 'The user id.')],
        ok: { '200': json(ref('Member'), 'The member.') },
      }),
    },
    '/admin/v1/orgs/{org}/approval-requests': {
      get: admin({
        summary: 'Approval requests, newest first',
        description: 'Super admins and admins.',
        params: [
          queryParam('status', 'Filter by status.', { enum: ['pending', 'approved', 'denied'] }),
          queryParam('app', 'Filter by app id.'),
        ],
        ok: {
          '200': json(obj({ requests: { type: 'array', items: ref('ApprovalRequest') } }), 'The requests.'),
        },
      }),
    },
    '/admin/v1/orgs/{org}/approval-requests/{id}': {
      get: admin({
        summary: 'One request with its status changes',
        description: 'Super admins and admins.',
        params: [pathParam('id', 'The request id.')],
        ok: { '200': json(obj({ request: ref('ApprovalRequest') }), 'The request with `events`.') },
      }),
    },
    '/admin/v1/orgs/{org}/approval-requests/{id}/deny': {
      post: admin({
        summary: 'Deny a request with a reason (super admins)',
        description: 'Idempotent; denying an approved request is 409.',
        params: [pathParam('id', 'The request id.')],
        body: 'ApprovalDenyBody',
        bodyRequired: true,
        ok: {
          '200': json(obj({ request: ref('ApprovalRequest'), changed: { type: 'boolean' } }), 'The request.'),
        },
        errs: ['400', '401', '403', '404', '409', '413', '415', '503'],
      }),
    },
    '/admin/v1/orgs/{org}/notifications': {
      get: admin({
        summary: 'The org’s emails in the notification outbox, newest first',
        description:
          'Queued, sent and dead emails; attachments by name, type and size only. Super admins and admins.',
        params: [
          queryParam('status', 'Filter by status.', { enum: ['pending', 'sending', 'sent', 'dead'] }),
          queryParam('limit', 'At most this many, 1-1000 (default 100).', {
            type: 'integer',
            minimum: 1,
            maximum: 1000,
          }),
        ],
        ok: {
          '200': json(obj({ notifications: { type: 'array', items: ref('Notification') } }), 'The emails.'),
        },
      }),
    },
    '/admin/v1/orgs/{org}/notifications/{id}:retry': {
      post: admin({
        summary: 'Send a dead (or pending) email again now (super admins)',
        description: 'With a full set of attempts; 409 for an email that was sent or is being sent.',
        params: [pathParam('id', 'The email’s id.')],
        body: 'EmptyBody',
        ok: { '200': json(obj({ notification: ref('Notification') }), 'The email, due now.') },
        errs: ['400', '401', '403', '404', '409', '413', '415', '503'],
      }),
    },
    '/admin/v1/orgs/{org}/history': {
      get: admin({
        summary: 'When each revision went live, with its token settings',
        description: 'Oldest first, and the imported PolicyHistory if any. Super admins and admins.',
        ok: {
          '200': json(
            obj({
              history: {
                type: 'array',
                items: obj({
                  revision: str(),
                  at: time(),
                  expiration: { enum: ['default', '30d', '60d', '90d'] },
                  personal_access_tokens: { enum: ['enabled', 'disabled'] },
                }),
              },
              imported: nullable(
                obj({
                  file: { type: ['string', 'null'] },
                  imported_at: time(),
                  revisions: { type: 'array', items: obj({ at: time(), spec: { type: 'object' } }) },
                }),
              ),
            }),
            'The history.',
          ),
        },
      }),
    },
  };
  const edit = (summary: string, params: unknown[], body: BodyName, bodyRequired = false) =>
    admin({
      tag: 'policy edits',
      summary,
      description:
        'Super admins. Answers the YAML patch of the org’s policy file for a pull request; writes nothing. 409 when the repository is invalid (or would be) or a bundle is served.',
      params,
      body,
      bodyRequired,
      ok: { '200': json(ref('PolicyEdit'), 'The patch.') },
      errs: EDIT_ERRORS,
    });
  const appParam = pathParam('app', 'The app id.');
  paths['/admin/v1/orgs/{org}/apps/{app}:block'] = { post: edit('Block an app', [appParam], 'BlockAppBody') };
  paths['/admin/v1/orgs/{org}/apps/{app}:unblock'] = {
    post: edit('Unblock an app (approves it in require_approval mode)', [appParam], 'EmptyBody'),
  };
  paths['/admin/v1/orgs/{org}/apps/{app}:approve'] = {
    post: edit('Approve an app', [appParam], 'ApproveAppBody'),
  };
  paths['/admin/v1/orgs/{org}/tokens:set-expiration'] = {
    post: edit('Set the token expiration', [], 'SetExpirationBody', true),
  };
  paths['/admin/v1/orgs/{org}/tokens/pats:enable'] = {
    post: edit('Turn personal access tokens on', [], 'EmptyBody'),
  };
  paths['/admin/v1/orgs/{org}/tokens/pats:disable'] = {
    post: edit('Turn personal access tokens off', [], 'EmptyBody'),
  };

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'appwarden decision server',
      version: pkg.version,
      summary: 'AuthZEN decisions, OPA Data API, platform events and the admin API of appwarden.',
      description:
        'Generated by `npm run gen` (scripts/gen-openapi.ts); served at GET /openapi.json. Every request body, and the decision, is a JSON Schema the server compiles with ajv to check it (schemas/*.schema.json, embedded under components.schemas); the server adds only checks a schema cannot express (control characters and secret-looking text, the batch size limit, the per-action rules of a decision request), each answered as 400 `invalid_request` naming the field. Prose and curl examples: docs/api.md.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'decisions', description: 'The decision API (SPEC §4).' },
      { name: 'platform', description: 'Events the platform reports, with the decision-API token.' },
      {
        name: 'admin',
        description: 'The admin API (SPEC §1, §6): admin tokens; the org’s spec.admins give the role.',
      },
      { name: 'policy edits', description: 'Proposed policy changes as YAML patches (super admins).' },
      { name: 'metadata', description: 'Discovery documents.' },
      { name: 'operations', description: 'Health and readiness.' },
    ],
    paths,
    components: {
      securitySchemes: {
        decisionToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Decision-API token; required when auth.token_sha256 lists digests (then also on the platform routes), otherwise off (loopback only).',
        },
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Admin token, standing for an email (auth.admin_tokens); never a decision token. None configured: 401.',
        },
      },
      responses: Object.fromEntries(
        Object.entries(ERRORS).map(([status, description]) => [status, json(ref('Error'), description)]),
      ),
      schemas,
    },
  };
}

/**
 * Writes docs/openapi.json, or with `check` reports it when it differs from what would be generated.
 * @returns the repository-relative path when stale (check) or written (generate), else nothing
 */
export async function genOpenApi({ check }: { check: boolean }): Promise<string[]> {
  const text = `${JSON.stringify(await buildOpenApi(), null, 2)}\n`;
  const current = await readFile(OPENAPI_PATH, 'utf8').catch(() => undefined);
  if (current === text) return [];
  if (!check) await writeFile(OPENAPI_PATH, text);
  return [relative(root, OPENAPI_PATH)];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const files = await genOpenApi({ check });
  if (check && files.length > 0) {
    console.error('docs/openapi.json is stale: run npm run gen');
    process.exit(1);
  }
  console.log(
    files.length ? `${check ? 'stale' : 'wrote'} ${files.join(', ')}` : 'docs/openapi.json is up to date',
  );
}
