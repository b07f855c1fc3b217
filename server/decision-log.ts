// Wiring of the decision log into the app (SPEC §6, §7): the engine the routes see records every decision
// it makes in the request's scope; a middleware on the decision routes commits the served ones through the
// group-commit log before the answer leaves, and fails closed (500 evaluation_error) when it cannot.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MiddlewareHandler } from 'hono';
import {
  type Decision,
  type DecisionLog,
  type DecisionRecord,
  type Engine,
  EngineError,
  isEngineError,
  PAT_SWEEP,
  parseRfc3339,
  type TokenSighting,
  type UsageSighting,
} from '../engine/index.ts';
import type { AppEnv } from './app.ts';

interface Made {
  request: unknown;
  at_ms: number;
  latency_us: number;
}

/** What one request's evaluations made: decisions by id, and evaluations that failed, in order. */
interface Scope {
  made: Map<string, Made>;
  failed: Made[];
}

/** The engine for the routes plus the middleware that logs what they serve. */
export interface DecisionLogging {
  engine: Engine;
  middleware: MiddlewareHandler<AppEnv>;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The input to keep for impact replay (DESIGN §7): the request's subject, action, resource and context as
 * sent, without `subject.properties.email` (no decision depends on it; the log keeps no emails). Token
 * values never reach this point (SPEC §4 rejects secret-looking fields before evaluation).
 */
export function replayInput(request: unknown): Record<string, unknown> | null {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) return null;
  const { subject, action, resource, context } = request as Record<string, unknown>;
  // Shallow copies down to the one key removed: the request is not changed, and is serialized at commit.
  let kept = subject;
  const s = subject as { properties?: unknown } | undefined;
  if (s && typeof s === 'object' && s.properties && typeof s.properties === 'object') {
    const { email: _email, ...properties } = s.properties as Record<string, unknown>;
    kept = { ...s, properties };
  }
  return { subject: kept, action, resource, context };
}

/**
 * The record of a served decision, from the request it answered: ids, types, the subject's role, the
 * outcome, and the input for replay without the subject's email (SPEC §6: never a secret).
 */
export function decisionRecord(decision: Decision, made: Made | undefined): DecisionRecord {
  const req = (made?.request ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const subject = req.subject ?? {};
  const props = (subject.properties ?? {}) as Record<string, unknown>;
  const subjectType = str(subject.type) ?? '';
  return {
    decision_id: decision.context.decision_id,
    at_ms: made?.at_ms ?? Date.now(),
    org: (str(req.context?.org) ?? '').toLowerCase(),
    action: str(req.action?.name) ?? '',
    subject_type: subjectType,
    subject_id: str(subject.id) ?? '',
    subject_role: subjectType === 'user' ? str(props.role) : null,
    resource_type: str(req.resource?.type) ?? '',
    resource_id: str(req.resource?.id),
    decision: decision.decision,
    reason: decision.context.reason.code,
    revision: decision.context.revision,
    latency_us: made?.latency_us ?? 0,
    input: replayInput(made?.request),
  };
}

// Decisions that say nothing about a token of a known org: the org has no policy, or nothing was evaluated.
const NO_SIGHTING = new Set(['org_unknown', 'evaluation_error', 'evaluation_undefined']);

/**
 * What a served decision tells the token registry (SPEC §6), or null: an allowed `token.create` that names
 * its token (`resource.id`, optional for that action: the server mints no token, the platform tells the id
 * it will give) registers it with the expiry the decision stamped; every `token.use` of a known org registers
 * the token on first sight, and an allowed one is its last use. A use denied `pats_disabled` or
 * `token_revoked` (a PAT of an org that turned PATs off, SPEC §5) records it revoked by the policy.
 */
export function tokenSighting(decision: Decision, made: Made | undefined): TokenSighting | null {
  const req = (made?.request ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const action = str(req.action?.name);
  const id = str(req.resource?.id);
  const reason = decision.context.reason.code;
  if ((action !== 'token.create' && action !== 'token.use') || id === null || NO_SIGHTING.has(reason))
    return null;
  if (action === 'token.create' && !decision.decision) return null;
  const props = (req.resource?.properties ?? {}) as Record<string, unknown>;
  const kind = props.kind === 'service_account' ? 'service_account' : 'personal_access';
  const subject = req.subject ?? {};
  const at = Math.floor((made?.at_ms ?? Date.now()) / 1000);
  const advised = decision.context.advice?.expires_at;
  const created = str(props.created_at);
  const owner =
    str(props.owner) ?? (action === 'token.create' && subject.type === 'user' ? str(subject.id) : null);
  // Where token emails go (SPEC §6): the user's own address, when the user is the owner or creates it.
  const subjectEmail = str(((subject.properties ?? {}) as Record<string, unknown>).email);
  const ownerEmail =
    subject.type === 'user' &&
    subjectEmail !== null &&
    (action === 'token.create' || str(subject.id) === owner)
      ? subjectEmail.toLowerCase()
      : null;
  const sighting: TokenSighting = {
    org: (str(req.context?.org) ?? '').toLowerCase(),
    id,
    action,
    kind,
    owner,
    owner_email: ownerEmail,
    service_account: str(props.service_account),
    created_at: action === 'token.create' ? at : created === null ? null : parseRfc3339(created),
    at,
    used: action === 'token.use' && decision.decision,
    expires_at: advised === undefined ? null : parseRfc3339(advised),
  };
  if (
    action === 'token.use' &&
    kind === 'personal_access' &&
    (reason === 'pats_disabled' || reason === 'token_revoked')
  ) {
    sighting.revoke = { ...PAT_SWEEP };
  }
  return sighting;
}

/**
 * What a served decision tells the connected apps (SPEC §6), or null: only an **allowed** `app.connect` or
 * `app.use` of a user with an app id counts as a use (a denied one is not activity). The name comes from
 * `resource.properties.name`, the granted scopes from an `app.connect`'s `resource.properties.scopes`.
 * `token.use` names no app (its resource is the token, SPEC §4): it updates the token registry's last use only.
 */
export function usageSighting(decision: Decision, made: Made | undefined): UsageSighting | null {
  if (!decision.decision) return null;
  const req = (made?.request ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const action = str(req.action?.name);
  const appId = str(req.resource?.id);
  const subject = req.subject ?? {};
  const userId = str(subject.id);
  if ((action !== 'app.connect' && action !== 'app.use') || appId === null || userId === null) return null;
  if (subject.type !== 'user') return null;
  const props = (req.resource?.properties ?? {}) as Record<string, unknown>;
  const scopes = Array.isArray(props.scopes) && props.scopes.every((x) => typeof x === 'string');
  return {
    org: (str(req.context?.org) ?? '').toLowerCase(),
    app_id: appId,
    user_id: userId,
    email: str((subject.properties as Record<string, unknown> | undefined)?.email)?.toLowerCase() ?? null,
    app_name: str(props.name),
    scopes: action === 'app.connect' && scopes ? [...(props.scopes as string[])] : null,
    at: Math.floor((made?.at_ms ?? Date.now()) / 1000),
  };
}

/**
 * A single evaluation that failed was still answered, as a deny (500 `evaluation_error` with a
 * decision id, SPEC §4): it goes into the log like any served decision (SPEC §7). The id is the one
 * the error answer carries; a failed commit here changes nothing of an answer that is already a deny.
 */
async function logFailedEvaluation(
  res: Response,
  current: Scope,
  log: DecisionLog,
  onServed: (records: readonly DecisionRecord[]) => void,
): Promise<void> {
  const made = current.failed[0];
  if (!made || res.status !== 500) return;
  let body: {
    context?: { decision_id?: unknown; revision?: unknown };
    result?: { context?: { decision_id?: unknown; revision?: unknown } };
  };
  try {
    body = (await res.clone().json()) as typeof body;
  } catch {
    return;
  }
  const ctx = body.context ?? body.result?.context;
  if (typeof ctx?.decision_id !== 'string') return;
  const decision: Decision = {
    decision: false,
    context: {
      decision_id: ctx.decision_id,
      revision: typeof ctx.revision === 'string' ? ctx.revision : '',
      reason: { code: 'evaluation_error', message: 'the evaluation failed; denied (fail closed)' },
    },
  };
  const record = decisionRecord(decision, made);
  onServed([record]);
  await log.append([record]).catch(() => undefined);
}

/**
 * Wraps `engine` so that each `decide` inside a request is remembered (with its request, time and the
 * microseconds it took), and returns the middleware that, after the route, appends a record for every
 * decision the route served (`c.get('decisions')`) and waits for the commit. A failed commit turns the
 * answer into 500 `evaluation_error` (a deny): an answered decision is always a logged one.
 * `onServed` (metrics) gets the records of what each request answered: after their commit, or as
 * `evaluation_error` denies when the commit failed.
 */
export function createDecisionLogging(
  engine: Engine,
  log: DecisionLog,
  onServed: (records: readonly DecisionRecord[]) => void = () => {},
): DecisionLogging {
  const scope = new AsyncLocalStorage<Scope>();
  const logged = Object.create(engine) as Engine;
  logged.decide = (request, opts) => {
    const current = scope.getStore();
    const at_ms = Date.now();
    const started = performance.now();
    let d: Decision;
    try {
      d = engine.decide(request, opts);
    } catch (err) {
      // Invalid input and not-ready are refused, not decided; anything else is a failed evaluation a route
      // may still serve as a deny (a batch item).
      if (current && !isEngineError(err, 'invalid_input') && !isEngineError(err, 'not_ready')) {
        current.failed.push({ request, at_ms, latency_us: Math.round((performance.now() - started) * 1000) });
      }
      throw err;
    }
    current?.made.set(d.context.decision_id, {
      request,
      at_ms,
      latency_us: Math.round((performance.now() - started) * 1000),
    });
    return d;
  };

  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const current: Scope = { made: new Map(), failed: [] };
    await scope.run(current, next);
    const served = c.get('decisions');
    if (c.error) {
      await logFailedEvaluation(c.res, current, log, onServed);
      return;
    }
    if (!served || served.length === 0) return;
    let failedIndex = 0;
    const records: DecisionRecord[] = [];
    const tokens: TokenSighting[] = [];
    const usage: UsageSighting[] = [];
    for (const d of served) {
      const made = current.made.get(d.context.decision_id) ?? current.failed[failedIndex++];
      records.push(decisionRecord(d, made));
      const t = tokenSighting(d, made);
      if (t) tokens.push(t);
      const u = usageSighting(d, made);
      if (u) usage.push(u);
    }
    try {
      await log.append(records, tokens, usage);
      onServed(records);
    } catch (err) {
      onServed(records.map((r) => ({ ...r, decision: false, reason: 'evaluation_error' })));
      c.var.logger?.error({ err, request_id: c.var.requestId }, 'decision log commit failed; denied');
      throw new EngineError(
        'evaluation_error',
        'the decision log could not be written; denied (fail closed)',
        {
          cause: err,
        },
      );
    }
  };
  return { engine: logged, middleware };
}
