// Email delivery from the server's side: the outbox worker `appwarden serve` runs (built from the config), and
// the operator commands `appwarden notifications list|retry` on the store file (`--store`) or a running
// server's admin API (`--server`, admin token in APPWARDEN_ADMIN_TOKEN), with `--json` for scripts.
import type { Command } from 'commander';
import type { Logger } from 'pino';
import {
  createMailTransport,
  createNotificationWorker,
  type Engine,
  NOTIFICATION_STATUSES,
  type NotificationWorker,
  nowSeconds,
  renderNotification,
  retryRefusal,
  type Store,
} from '../engine/index.ts';
import {
  adminClient,
  OpError,
  type OperatorCommandsContext,
  operatorKit,
  type SourceOptions,
  table,
} from './cli-ops.ts';
import type { ServerConfig } from './config.ts';
import { notificationToWire, readNotificationQuery } from './routes/notifications.ts';

/**
 * Builds the outbox worker of `appwarden serve` (not started; `startServer` starts and stops it): SMTP from
 * `config.smtp`, or `.eml` files in `config.notifications.outboxDir` when no SMTP server is configured,
 * which it says in the log at once ("no SMTP configured: emails are written to var/outbox/").
 * @throws EngineError `invalid_config` when `smtp.url` is not an smtp:// or smtps:// URL
 */
export function createServerNotificationWorker(opts: {
  config: ServerConfig;
  store: Store;
  engine: Engine;
  logger: Logger;
}): NotificationWorker {
  const { config, store, engine, logger } = opts;
  const transport = createMailTransport(config.smtp, { outboxDir: config.notifications.outboxDir });
  if (transport.kind === 'file') {
    const dir = config.notifications.outboxDir.replace(/\/*$/, '/');
    logger.info({ outbox_dir: dir }, `no SMTP configured: emails are written to ${dir}`);
  } else {
    // The target names host and port only; the user and password never reach a log line.
    logger.info({ smtp: transport.target, from: config.smtp.from }, 'emails are sent over SMTP');
  }
  return createNotificationWorker({
    store,
    transport,
    render: renderNotification,
    from: config.smtp.from,
    publicUrl: config.publicUrl.replace(/\/+$/, ''),
    orgName: (org) => engine.data?.orgs[org]?.name ?? org,
    isReady: () => engine.isReady,
    maxAttempts: config.notifications.maxAttempts,
    retryBaseSeconds: config.notifications.retryBaseSeconds,
    pollMs: config.notifications.pollMs,
    logger,
  });
}

type Wire = Record<string, unknown>;

/** Where the commands read and write: the store file or a server's admin API, both in the API's wire shapes. */
interface Source {
  list(q: { status?: string; limit?: string }): Promise<Wire[]>;
  retry(id: string): Promise<Wire>;
  close(): Promise<void>;
}

function storeSource(store: Store, org: string): Source {
  return {
    async list(q) {
      const query = Object.fromEntries(
        Object.entries(q)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, [v as string]]),
      );
      let parsed: ReturnType<typeof readNotificationQuery>;
      try {
        parsed = readNotificationQuery(org, query);
      } catch (err) {
        const problems = (err as { problems?: { field: string | null; message: string }[] }).problems ?? [];
        throw new OpError(problems.map((p) => `--${p.field}: ${p.message}`).join('\n') || String(err), 2);
      }
      return (await store.listNotifications(parsed)).map((n) => notificationToWire(n));
    },
    async retry(id) {
      const row = await store.getNotification(id);
      if (!row || row.org !== org) throw new OpError(`no email ${id} in the outbox of ${org}`);
      const now = nowSeconds();
      const refused = retryRefusal(row, now);
      if (refused) throw new OpError(refused);
      const after = await store.retryNotification(id, now);
      if (!after) throw new OpError(`no email ${id} in the outbox of ${org}`);
      return notificationToWire(after);
    },
    close: () => store.close(),
  };
}

function serverSource(base: string, org: string, token: string): Source {
  const { json, query } = adminClient(base, org, token);
  return {
    list: async (q) => (await json('GET', `/notifications${query(q)}`)).notifications as Wire[],
    retry: async (id) =>
      (await json('POST', `/notifications/${encodeURIComponent(id)}:retry`)).notification as Wire,
    close: async () => {},
  };
}

/**
 * Registers `appwarden notifications list` (`--status pending|sending|sent|dead`, `--limit 1..1000`, newest
 * first) and `appwarden notifications retry <id>` (a dead or pending email is due now, with a full set of
 * attempts; a sent one is refused, exit 1). Both take `--org` and `--store <db>` (default the server's,
 * `var/appwarden.db`; a running server's worker sends a retried email at its next poll) or `--server <url>`
 * (admin API; the token in `APPWARDEN_ADMIN_TOKEN`, whose role applies: retry needs a super admin), and
 * `--json`. Exit 0 done, 1 not found or refused, 2 usage or runtime error.
 */
export function registerNotificationCommands(program: Command, ctx: OperatorCommandsContext): void {
  const group = program
    .command('notifications')
    .description('the email outbox of an org: queued, sent and dead emails (SPEC §6)');
  const { common, run, print } = operatorKit(ctx, { server: serverSource, store: storeSource });

  common(group.command('list').description('emails of the org, newest first'))
    .option('--status <status>', NOTIFICATION_STATUSES.join(' | '))
    .option('--limit <n>', 'at most this many (1..1000)', '100')
    .action((opts: SourceOptions & { status?: string; limit: string }) =>
      run(opts, async (src) => {
        if (
          opts.status !== undefined &&
          !(NOTIFICATION_STATUSES as readonly string[]).includes(opts.status)
        ) {
          throw new OpError(`--status must be one of ${NOTIFICATION_STATUSES.join(', ')}`, 2);
        }
        const list = await src.list({
          ...(opts.status === undefined ? {} : { status: opts.status }),
          limit: opts.limit,
        });
        print(
          opts,
          { notifications: list },
          table(
            ['ID', 'KIND', 'TO', 'STATUS', 'ATTEMPTS', 'CREATED', 'SENT', 'LAST ERROR'],
            list.map((n) => [
              n.id,
              n.kind,
              (n.to as string[]).join(','),
              n.status,
              n.attempts,
              n.created_at,
              n.sent_at,
              n.last_error,
            ]),
          ),
        );
      }),
    );
  common(group.command('retry').description('send a dead email again (a full set of attempts)'))
    .argument('<id>', 'the email id (from notifications list)')
    .action((id: string, opts: SourceOptions) =>
      run(opts, async (src) => {
        const n = await src.retry(id);
        const when =
          opts.server === undefined
            ? "at the server worker's next poll"
            : 'by the server worker at its next poll';
        print(
          opts,
          { notification: n },
          `email ${id} (${n.kind} to ${(n.to as string[]).join(', ')}) is due now; it is sent ${when}\n`,
        );
      }),
    );
}
