// Process side of the decision server: listen, hot reload, SIGHUP, graceful shutdown. The app itself is app.ts.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import {
  createWatcher,
  type Engine,
  EngineError,
  EXPIRY_SWEEP_INTERVAL_MS,
  type NotificationWorker,
  nowSeconds,
  openStore,
  type PolicyWatcher,
  type Store,
  sweepTokenExpiry,
} from '../engine/index.ts';
import { createApp } from './app.ts';
import { DEFAULT_GRACE_MS, isLoopbackHost, type ServerConfig } from './config.ts';

/** A listening decision server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8181`. */
  url: string;
  port: number;
  /** The hot-reload watcher, or null when watching is off. */
  watcher: PolicyWatcher | null;
  /**
   * Graceful shutdown (docs/operations.md "Shutdown"): stops accepting connections, stops the watcher,
   * answers open requests (with `Connection: close`) until the grace deadline, then closes what is left,
   * and resolves once every request handler has returned, so every answered decision is committed. Each step
   * is logged at info. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/** Options of {@link startServer}. */
export interface StartOptions {
  engine: Engine;
  config: ServerConfig;
  logger: Logger;
  /** Policy directory or bundle file to watch for hot reload; none: no watcher. */
  watchPath?: string;
  /**
   * The store of the decision log (SPEC §6), opened by the caller, who closes it after {@link
   * RunningServer.close}. None: a private in-memory store, closed by `close()`.
   */
  store?: Store;
  /**
   * Longest `close()` waits for busy connections, ms (default 10,000; env `APPWARDEN_SHUTDOWN_GRACE_MS` in
   * `appwarden serve`). Until then every answer says `Connection: close` and idle connections are closed as
   * they appear; at the deadline every connection still open is closed.
   */
  shutdownGraceMs?: number;
  /**
   * The notification outbox worker (SPEC §6 emails), built by the caller on the same store: started once the
   * server listens, stopped by `close()` after the last request handler returned (its batch in flight done).
   * With a worker the server also runs the token expiry sweep (SPEC §5 warnings, engine/notify/sweep.ts) at
   * start and every 10 minutes.
   */
  worker?: NotificationWorker;
}

/**
 * Refuses a configuration that would serve decisions unauthenticated beyond this machine: with no token
 * digests the host must be loopback (docs/api.md "Authentication").
 * @throws EngineError `invalid_config`
 */
export function assertSafeBinding(config: ServerConfig): void {
  if (config.tokenSha256.length === 0 && !isLoopbackHost(config.host)) {
    throw new EngineError('invalid_config', [
      {
        path: 'auth.token_sha256',
        message: `refusing to listen on ${config.host} without authentication: no token digests are configured`,
        hint: 'set APPWARDEN_TOKEN_SHA256 or auth.token_sha256 in --config, or bind 127.0.0.1',
      },
    ]);
  }
}

/**
 * Starts the decision server on `config.host:config.port` (port 0 picks a free port) and, with `watchPath`,
 * the hot-reload watcher (engine/watcher.ts). The engine may not be loaded yet: decisions answer 503 until
 * a revision is live.
 * @throws EngineError `invalid_config` (see {@link assertSafeBinding}); the listen error (e.g. EADDRINUSE).
 */
export async function startServer({
  engine,
  config,
  logger,
  watchPath,
  store,
  shutdownGraceMs = DEFAULT_GRACE_MS,
  worker,
}: StartOptions): Promise<RunningServer> {
  assertSafeBinding(config);
  const ownStore = store ? null : openStore(':memory:');
  const app = createApp({ engine, config, logger, store: store ?? (ownStore as Store) });
  // Requests whose handler has not returned yet. A handler returns only after its decisions are committed
  // (server/decision-log.ts), so once this set is empty the decision log has nothing pending.
  const handling = new Set<Promise<unknown>>();
  const fetch = (req: Request, env: unknown): Promise<unknown> => {
    const answer = Promise.resolve(app.fetch(req, env as never));
    handling.add(answer);
    const done = () => handling.delete(answer);
    answer.then(done, done);
    return answer;
  };
  const server = await new Promise<ReturnType<typeof serve>>((resolvePromise, reject) => {
    const s = serve(
      {
        fetch,
        hostname: config.host,
        port: config.port,
        // A decision request is small and fast; a client that trickles its headers or body is holding a
        // socket. Node enforces these timeouts only when it checks, every 30 s by default: check each second.
        serverOptions: { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 },
      },
      () => resolvePromise(s),
    );
    s.once('error', (err) => {
      void ownStore?.close();
      reject(err);
    });
  });
  const http = server as import('node:http').Server;
  let closing = false;
  // Before Hono's listener: once shutdown starts, each answer tells a keep-alive client to go, and Node
  // closes the socket after it, so clients that keep sending cannot hold the process open.
  http.prependListener('request', (_req, res) => {
    if (closing) res.setHeader('Connection', 'close');
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  let watcher: PolicyWatcher | null = null;
  let closed: Promise<void> | undefined;
  if (watchPath !== undefined) {
    watcher = createWatcher({ engine, path: watchPath, debounceMs: config.reloadDebounceMs, logger });
    await watcher.ready;
  }
  logger.info(
    {
      url,
      auth: config.tokenSha256.length > 0 ? `${config.tokenSha256.length} token(s)` : 'off (loopback only)',
      admin_api:
        config.adminTokens.length > 0
          ? `${config.adminTokens.length} admin token(s)`
          : 'off (no admin tokens: set APPWARDEN_ADMIN_TOKENS)',
      revision: engine.revision,
      store: store ? store.location : ':memory: (not durable)',
    },
    'decision server listening',
  );
  worker?.start();
  // SPEC §5 "owners are told 7 days before a token expires and when it expires": at start, after each new
  // revision (a stricter expiration moves expiries earlier) and every 10 minutes. Idempotent (the outbox's
  // dedupe keys), so running it at every start and on every replica mails each owner once.
  let sweeping: Promise<void> | null = null;
  let sweepAgain = false;
  let sweepStopped = false;
  const sweep = (): void => {
    if (sweepStopped) return;
    if (sweeping) {
      sweepAgain = true;
      return;
    }
    sweeping = sweepTokenExpiry({ store: store ?? (ownStore as Store), engine, now: nowSeconds() })
      .then(
        (r) => {
          if (r.queued > 0) logger.info({ due: r.due, queued: r.queued }, 'token expiry sweep queued emails');
        },
        (err) => logger.error({ err }, 'token expiry sweep failed; it runs again in 10 minutes'),
      )
      .finally(() => {
        sweeping = null;
        if (sweepAgain) {
          sweepAgain = false;
          sweep();
        }
      });
  };
  const sweepTimer = worker ? setInterval(sweep, EXPIRY_SWEEP_INTERVAL_MS).unref() : null;
  const stopSweepOnReload = worker
    ? engine.onReload?.((e) => {
        if (e.outcome === 'ok' && e.result?.changed) sweep();
      })
    : undefined;
  if (worker) sweep();
  return {
    url,
    port,
    watcher,
    close() {
      closed ??= shutdown();
      return closed;
    },
  };

  // The order (docs/operations.md "Shutdown"): stop accepting, stop the watcher, let open requests finish
  // within the grace period, wait for their handlers (so for their decision-log commits), close our store.
  async function shutdown(): Promise<void> {
    closing = true;
    const started = Date.now();
    let cut = false;
    const drained = new Promise<void>((res) => {
      // A busy keep-alive connection becomes idle between requests: close those as they appear.
      const idle = setInterval(() => http.closeIdleConnections(), 50);
      // At the deadline whatever is still open goes (a request that slow is cut off).
      const deadline = setTimeout(() => {
        cut = true;
        logger.warn(
          { grace_ms: shutdownGraceMs, requests: handling.size },
          'shutdown: grace period over; closing the connections still open',
        );
        http.closeAllConnections();
      }, shutdownGraceMs);
      server.close(() => {
        clearInterval(idle);
        clearTimeout(deadline);
        res();
      });
      http.closeIdleConnections();
    });
    logger.info(
      { grace_ms: shutdownGraceMs, requests: handling.size },
      'shutdown: no longer accepting connections; finishing open requests',
    );
    await watcher?.close();
    if (watcher) logger.info('shutdown: policy watcher stopped');
    await drained;
    logger.info({ ms: Date.now() - started, cut }, 'shutdown: every connection is closed');
    // Handlers cut off at the deadline end at once (their body read fails); one still awaiting its commit
    // ends with the next group commit. Bounded anyway, so a stuck handler cannot hold the process.
    if (handling.size > 0) {
      await Promise.race([
        Promise.allSettled([...handling]),
        new Promise((r) => setTimeout(r, 1_000).unref()),
      ]);
    }
    logger.info({ unfinished: handling.size }, 'shutdown: decision log flushed (every handler has returned)');
    sweepStopped = true;
    if (sweepTimer) clearInterval(sweepTimer);
    stopSweepOnReload?.();
    while (sweeping) await sweeping;
    if (worker) {
      // After the handlers: an event answered during the grace period may have queued an email. Bounded
      // like the handlers: a send stuck on a slow SMTP server is cut, and its row, still `sending`, is
      // sent again once its lease runs out (the same Message-ID; at least once, never lost).
      let stopped = false;
      await Promise.race([
        worker.stop().then(() => {
          stopped = true;
        }),
        new Promise((r) => setTimeout(r, shutdownGraceMs).unref()),
      ]);
      logger.info({ finished: stopped }, 'shutdown: notification worker stopped');
    }
    await ownStore?.close();
  }
}
