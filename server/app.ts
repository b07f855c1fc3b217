// The Hono app of the decision server, built without listening (tests call app.request(); main.ts serves it).
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { createDecisionLog, type Decision, type Engine, openStore, type Store } from '../engine/index.ts';
import { adminAuth, bearerAuth } from './auth.ts';
import type { ServerConfig } from './config.ts';
import { createDecisionLogging } from './decision-log.ts';
import { errorResponse, HttpError, toHttpError } from './errors.ts';
import { createMetrics, routeLabel } from './metrics.ts';
import { requestId } from './request-id.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { APPROVAL_REQUESTS_PATH, registerApprovalRequestRoutes } from './routes/approval-requests.ts';
import { registerAppRoutes } from './routes/apps.ts';
import { registerEvaluationRoutes } from './routes/evaluation.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { MEMBER_JOINED_PATH, registerMemberRoutes } from './routes/members.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerNotificationRoutes } from './routes/notifications.ts';
import { registerOpaRoutes } from './routes/opa.ts';
import { registerOpenApiRoute } from './routes/openapi.ts';
import { registerPolicyEditRoutes } from './routes/policy-edits.ts';
import { registerWellKnownRoutes } from './routes/well-known.ts';

/** Hono environment of the app: per-request variables set by middleware and routes. */
export type AppEnv = {
  Variables: {
    /** The sanitized `X-Request-ID` (or a generated UUID). */
    requestId: string;
    /** The decisions this request produced, for the access log line. */
    decisions: Decision[];
    /** The app's logger, if any. */
    logger: Logger | undefined;
    /** The admin API caller's email (set by the admin auth middleware; SPEC §1). */
    adminEmail: string;
  };
};

/** What {@link createApp} needs. */
export interface AppOptions {
  engine: Engine;
  config: ServerConfig;
  /**
   * The logger (server/logger.ts `createLogger`): one line per request at debug, errors; headers
   * (Authorization) are never logged.
   */
  logger?: Logger;
  /**
   * The store of the decision log and the admin routes (SPEC §6). Default: a private in-memory SQLite
   * database (nothing survives; for tests and embedding). The caller owns it and closes it.
   */
  store?: Store;
}

const ROUTES: Record<string, string[]> = {
  '/access/v1/evaluation': ['POST'],
  '/access/v1/evaluations': ['POST'],
  '/v1/data/appwarden/decision': ['POST'],
  '/.well-known/authzen-configuration': ['GET', 'HEAD'],
  '/health': ['GET', 'HEAD'],
  '/ready': ['GET', 'HEAD'],
};

/**
 * Builds the decision server (docs/api.md): AuthZEN evaluation(s), the OPA Data API route, PDP metadata,
 * `/health`, `/ready`, and the admin decision-log query. Every decision a route serves is committed to the
 * decision log before it is answered (server/decision-log.ts). Decision routes need a decision-API bearer
 * token when `config.tokenSha256` is not empty; admin routes always need an admin token
 * (`config.adminTokens`, SPEC §1 roles), and answer 401 when none is configured. Every error leaves through server/errors.ts as `{error: {code, message, field}}` (SPEC §4).
 */
export function createApp({ engine: bare, config, logger, store }: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const theStore = store ?? openStore(':memory:');
  // The routes decide through the logging engine; the middleware commits what they serve before answering.
  // Metrics of this app only (its own registry; GET /metrics, docs/operations.md "Metrics").
  const metrics = createMetrics({ engine: bare, store: theStore, decisionLogDepth: () => decisionLog.depth });
  const decisionLog = createDecisionLog(theStore, { onCommit: metrics.observeCommit });
  const { engine, middleware: logDecisions } = createDecisionLogging(
    bare,
    decisionLog,
    metrics.observeDecisions,
  );

  app.use('*', metrics.middleware);
  app.use('*', requestId());
  app.use('*', async (c, next) => {
    c.set('logger', logger);
    const started = performance.now();
    await next();
    if (!logger?.isLevelEnabled('debug')) return;
    const decisions = c.get('decisions');
    const line: Record<string, unknown> = {
      request_id: c.var.requestId,
      method: c.req.method,
      route: routeLabel(c),
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 100) / 100,
    };
    if (decisions?.length === 1 && decisions[0]) {
      const d = decisions[0];
      Object.assign(line, {
        decision_id: d.context.decision_id,
        decision: d.decision,
        reason: d.context.reason.code,
        revision: d.context.revision,
      });
    } else if (decisions) line.decisions = decisions.length;
    logger.debug(line, 'request');
  });

  const auth = bearerAuth(config.tokenSha256, config.adminTokens);
  for (const [path, methods] of Object.entries(ROUTES)) {
    if (methods.includes('POST')) app.use(path, auth, logDecisions);
  }
  // The platform files approval requests with its decision-API token (SPEC §6).
  app.use(APPROVAL_REQUESTS_PATH, auth);
  app.use(MEMBER_JOINED_PATH, auth);
  // Admin tokens stand for an email; the org's admins lists give the role per route (SPEC §1).
  app.use('/admin/v1/*', adminAuth(config.adminTokens, config.tokenSha256));

  registerEvaluationRoutes(app, engine, config);
  registerOpaRoutes(app, engine, config);
  registerWellKnownRoutes(app);
  registerHealthRoutes(app, engine);
  registerMetricsRoute(app, metrics, config);
  registerOpenApiRoute(app);
  // Before the token routes: their tokens/{id} catch-all answers 405 to any other method.
  registerPolicyEditRoutes(app, theStore, engine, config);
  registerAdminRoutes(app, theStore, engine, config);
  registerAppRoutes(app, theStore, engine, config);
  registerMemberRoutes(app, theStore, engine, config);
  registerApprovalRequestRoutes(app, theStore, engine, config);
  registerNotificationRoutes(app, theStore, engine, config);

  // Registered after the real handlers, so only other methods on a known path get here.
  for (const [path, methods] of Object.entries(ROUTES)) {
    app.all(path, () => {
      throw new HttpError(
        405,
        'method_not_allowed',
        `use ${methods.filter((m) => m !== 'HEAD').join(' or ')} on ${path}`,
        {
          headers: { Allow: methods.join(', ') },
        },
      );
    });
  }

  app.notFound((c) =>
    errorResponse(
      c,
      new HttpError(404, 'not_found', `no endpoint at ${c.req.path}; see docs/api.md`),
      engine.revision,
    ),
  );
  app.onError((err, c) => {
    const e = toHttpError(err);
    const where = { request_id: c.var.requestId, path: c.req.path, status: e.status, code: e.code };
    // An answer the API means to give (a 4xx; 503 not_ready before a policy is live) is not a server fault:
    // no stack, and not at error level, or the logs of a starting server are full of false alarms.
    if (e.status >= 500 && e.status !== 503) logger?.error({ err: e.cause ?? err, ...where }, e.message);
    else if (e.status === 503) logger?.info(where, e.message);
    else logger?.debug(where, e.message);
    return errorResponse(c, e, engine.revision);
  });
  return app;
}
