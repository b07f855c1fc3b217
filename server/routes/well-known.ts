// GET /.well-known/authzen-configuration: AuthZEN 1.0 PDP metadata, so clients can discover the endpoints.
import type { Hono } from 'hono';
import type { AppEnv } from '../app.ts';

/**
 * Registers the AuthZEN PDP metadata document: `policy_decision_point` (this server's origin),
 * `access_evaluation_endpoint` and `access_evaluations_endpoint`, as absolute URLs built from the request's
 * own scheme and Host, so they are right for whatever name the caller reached the server by. No token needed.
 */
export function registerWellKnownRoutes(app: Hono<AppEnv>): void {
  app.get('/.well-known/authzen-configuration', (c) => {
    const origin = new URL(c.req.url).origin;
    return c.json({
      policy_decision_point: origin,
      access_evaluation_endpoint: `${origin}/access/v1/evaluation`,
      access_evaluations_endpoint: `${origin}/access/v1/evaluations`,
    });
  });
}
