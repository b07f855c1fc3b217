// GET /metrics: the Prometheus text exposition of this app's metrics, behind the decision API's token rule.
import type { Hono } from 'hono';
import type { AppEnv } from '../app.ts';
import { CHALLENGE, INVALID, matchDigest, presentedDigest } from '../auth.ts';
import type { ServerConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import type { AppMetrics } from '../metrics.ts';

/** The path of the metrics endpoint. */
export const METRICS_PATH = '/metrics';

/**
 * Registers `GET /metrics` (docs/operations.md "Metrics"). Who may scrape: with no decision-API token
 * configured the server binds a loopback host only (config.ts), and `/metrics` is open like the decision
 * API; with decision-API tokens configured a scraper sends `Authorization: Bearer <token>` with a
 * decision-API token or an admin token (a dedicated scrape token is a decision-API token given to
 * Prometheus only). The exposition holds no secret and no id from a request (route patterns, reason codes
 * and the revision only). Scraping is not a decision: nothing is written to the decision log.
 * @throws HttpError 401 `unauthorized` (no or unknown token when tokens are configured); 405 for other methods.
 */
export function registerMetricsRoute(app: Hono<AppEnv>, metrics: AppMetrics, config: ServerConfig): void {
  const digests = [...config.tokenSha256, ...config.adminTokens.map((a) => a.tokenSha256)].map((h) =>
    Buffer.from(h, 'hex'),
  );
  const open = config.tokenSha256.length === 0;
  app.get(METRICS_PATH, async (c) => {
    if (!open) {
      const presented = presentedDigest(c);
      if (presented === null) {
        throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <decision-API or admin token>', {
          headers: CHALLENGE,
        });
      }
      if (matchDigest(presented, digests) < 0) {
        throw new HttpError(
          401,
          'unauthorized',
          'the bearer token is neither a decision-API token nor an admin token',
          { headers: INVALID },
        );
      }
    }
    const body = await metrics.scrape();
    return c.body(body, 200, {
      'Content-Type': metrics.registry.contentType,
      'Cache-Control': 'no-store',
    });
  });
  app.all(METRICS_PATH, () => {
    throw new HttpError(405, 'method_not_allowed', `use GET on ${METRICS_PATH}`, {
      headers: { Allow: 'GET, HEAD' },
    });
  });
}
