// Member events (SPEC §5 "joining an org", SPEC §6): the platform reports a user joining an org; the join
// time feeds the join rule of token.use decisions that do not carry one, and in require_approval mode the
// user's unapproved apps are recorded as blocked for them, and a guest with an address is told which stopped
// (SPEC §6 email, queued in the join's transaction). Admins read a member.
import type { Context, Hono } from 'hono';
import {
  composeGuestJoined,
  type Engine,
  formatRfc3339,
  nowSeconds,
  parseRfc3339,
  type Store,
} from '../../engine/index.ts';
import type { MemberJoinedBody } from '../../schemas/member-joined-body.gen.ts';
import memberJoinedSchema from '../../schemas/member-joined-body.schema.json' with { type: 'json' };
import type { AppEnv } from '../app.ts';
import { requireAdminRole } from '../auth.ts';
import { addProblem, readBody, throwProblems } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import { assertReady } from './evaluation.ts';

/** Path of the platform's route (decision-API token, like approval requests). */
export const MEMBER_JOINED_PATH = '/v1/orgs/:org/events/member-joined';

interface MemberJoined {
  user: string;
  role: 'member' | 'guest';
  joined_at: number;
  apps: string[];
  /** The user's address, lower-cased (where a guest's email goes); null when not told. */
  email: string | null;
}

/**
 * Reads `{user, role, joined_at, apps?, email?}` (schemas/member-joined-body.schema.json), naming every bad field:
 * the shape is the schema's, the text checks body.ts's (ids and the address are stored and shown to admins),
 * and the timestamp must be one parseRfc3339 reads (a real date and time with an offset).
 */
async function readMemberJoined(c: Context<AppEnv>, config: ServerConfig): Promise<MemberJoined> {
  const { body, problems } = await readBody<MemberJoinedBody>(c, config.maxBodyBytes, memberJoinedSchema);
  const joinedAt = typeof body.joined_at === 'string' ? parseRfc3339(body.joined_at) : null;
  if (joinedAt === null) {
    addProblem(
      problems,
      '/joined_at',
      'joined_at must be an RFC 3339 timestamp with a time and an offset, e.g. 2026-03-01T09:00:00Z',
    );
  }
  throwProblems(problems);
  return {
    user: body.user,
    role: body.role,
    joined_at: joinedAt as number,
    apps: [...new Set(body.apps ?? [])],
    email: body.email === undefined ? null : body.email.toLowerCase(),
  };
}

/**
 * Registers `POST /v1/orgs/{org}/events/member-joined` (the platform, decision-API token; body `{user, role,
 * joined_at, apps?, email?}`; 200 `{member, blocked_apps}`) and `GET /admin/v1/orgs/{org}/members/{user}` (super
 * admins and admins; `{member, blocked_apps}`). The join is committed before the engine learns it, so from
 * the answer on a `token.use` of the user without `subject.properties.joined_at` uses it (SPEC §5). In
 * `require_approval` mode every app of `apps` the live policy does not approve is recorded as blocked for
 * the user (SPEC §6: their unapproved apps stop working), and a guest with an `email` is mailed the list
 * (`guest_apps_blocked`, queued in the same transaction, once per join).
 * @throws HttpError 400 `invalid_request` naming the field; 403 `forbidden`; 404 `not_found` (an org no live
 *   policy declares, a user with no recorded join); 503 `not_ready`.
 */
export function registerMemberRoutes(
  app: Hono<AppEnv>,
  store: Store,
  engine: Engine,
  config: ServerConfig,
): void {
  app.post(MEMBER_JOINED_PATH, async (c) => {
    const org = c.req.param('org').toLowerCase();
    assertReady(engine);
    const m = await readMemberJoined(c, config);
    const orgData = Object.hasOwn(engine.data?.orgs ?? {}, org) ? engine.data?.orgs[org] : undefined;
    if (!orgData) throw new HttpError(404, 'not_found', `no live policy declares org ${org}`);
    const blocked =
      orgData.apps.mode === 'require_approval'
        ? m.apps.filter((a) => !Object.hasOwn(orgData.apps.approved, a))
        : [];
    const at = nowSeconds();
    const join = { org, user_id: m.user, role: m.role, joined_at: m.joined_at, recorded_at: at };
    // App names for the guest's email: the repository's catalog first, then the policy's own lists.
    const appName = (id: string): string | null =>
      (Object.hasOwn(engine.catalog, id) ? engine.catalog[id]?.name : undefined) ??
      (Object.hasOwn(orgData.apps.blocked, id) ? orgData.apps.blocked[id]?.name : undefined) ??
      null;
    await store.recordMemberJoin(join, blocked, () =>
      composeGuestJoined(join, m.email, blocked, orgData, appName),
    );
    engine.markJoined(org, m.user, m.joined_at);
    return c.json(await memberToWire(store, org, m.user));
  });
  app.all(MEMBER_JOINED_PATH, () => {
    throw new HttpError(405, 'method_not_allowed', 'use POST on /v1/orgs/{org}/events/member-joined', {
      headers: { Allow: 'POST' },
    });
  });
  app.get('/admin/v1/orgs/:org/members/:user', async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'reading a member' });
    const user = c.req.param('user');
    const wire = await memberToWire(store, org, user);
    if (!wire.member)
      throw new HttpError(404, 'not_found', `no member-joined event for user ${user} in ${org}`);
    return c.json(wire);
  });
}

async function memberToWire(store: Store, org: string, user: string) {
  const [j, blocked] = await Promise.all([
    store.getMemberJoin(org, user),
    store.memberBlockedApps(org, user),
  ]);
  return {
    member: j
      ? {
          org: j.org,
          user: j.user_id,
          role: j.role,
          joined_at: formatRfc3339(j.joined_at),
          recorded_at: formatRfc3339(j.recorded_at),
        }
      : null,
    blocked_apps: blocked.map((b) => ({ app: b.app_id, at: formatRfc3339(b.at) })),
  };
}
