// GET /health and GET /ready: liveness with the live revision and the last reload, readiness for load balancers.
import type { Hono } from 'hono';
import { type Engine, formatRfc3339 } from '../../engine/index.ts';
import type { AppEnv } from '../app.ts';

/**
 * Registers `/health` (200 `{status: "ok", revision, live_since, last_reload}` while a revision is live, even
 * when the last reload failed — its `issues` are shown, the old revision still serves; `warnings` of a load that went live anyway, e.g. an ignored imported history; 503 with
 * `status: "not_ready"` before any policy is live, SPEC §4) and `/ready` (200 / 503 `{ready, revision}`).
 * Neither needs a token.
 */
export function registerHealthRoutes(app: Hono<AppEnv>, engine: Engine): void {
  app.get('/health', (c) => {
    const s = engine.status;
    const last = s.lastReload;
    const body = {
      status: s.revision ? 'ok' : 'not_ready',
      revision: s.revision,
      live_since: s.liveSince === null ? null : formatRfc3339(s.liveSince),
      last_reload: last
        ? {
            at: formatRfc3339(last.at),
            ok: last.ok,
            ...(last.revision !== undefined ? { revision: last.revision } : {}),
            ...(last.issues !== undefined && last.issues.length > 0 ? { issues: last.issues } : {}),
            ...(last.warnings !== undefined && last.warnings.length > 0 ? { warnings: last.warnings } : {}),
          }
        : null,
    };
    return c.json(body, s.revision ? 200 : 503);
  });
  app.get('/ready', (c) => {
    const ready = engine.isReady;
    return c.json({ ready, revision: engine.revision }, ready ? 200 : 503);
  });
}
