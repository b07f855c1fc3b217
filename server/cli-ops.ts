// The operator commands of the CLI (SPEC §6 admin operations, from a shell): `apps list|show`, `tokens
// list|revoke`, `requests list|deny`, `usage export`, read from and written to the server's store file
// directly (`--store`), with `--json` for scripts. SQLite's WAL lets them run beside a live server.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type ApprovalRequest,
  type AppUserUsage,
  type ConnectedApp,
  DEFAULT_STORE_PATH,
  formatIssue,
  formatRfc3339,
  isEngineError,
  loadAndValidate,
  nowSeconds,
  openStore,
  type RequestStatus,
  type Store,
  type TokenRecord,
} from '../engine/index.ts';
import { requestToWire } from './routes/approval-requests.ts';
import { usageCsv } from './routes/apps.ts';

/** Where the commands write, and how they report their exit code to the CLI's `main`. */
export interface OperatorCommandsContext {
  io: { stdout: (s: string) => void; stderr: (s: string) => void };
  /** 0 done, 1 not found or refused, 2 usage or runtime error (the store cannot be opened). */
  exit: (code: number) => void;
}

interface StoreOptions {
  org: string;
  store: string;
  json?: boolean;
}

const iso = (x: number | null) => (x === null ? null : formatRfc3339(x));

function appToJson(a: ConnectedApp): Record<string, unknown> {
  return {
    id: a.app_id,
    name: a.name,
    scopes_granted: a.scopes,
    first_seen: iso(a.first_seen),
    last_activity: iso(a.last_activity),
    active_members: a.active_members,
  };
}

function usageToJson(u: AppUserUsage): Record<string, unknown> {
  return { user_id: u.user_id, email: u.email, uses_last_90_days: u.uses_90d, last_used: iso(u.last_used) };
}

/** Active at `now`: not revoked and not past the expiry a decision stamped (the store's knowledge). */
function tokenStatus(t: TokenRecord, now: number): 'active' | 'expired' | 'revoked' {
  if (t.revoked) return 'revoked';
  return t.expires_at !== null && now >= t.expires_at ? 'expired' : 'active';
}

function tokenToJson(t: TokenRecord, now: number): Record<string, unknown> {
  return {
    id: t.id,
    org: t.org,
    kind: t.kind,
    owner: t.owner,
    service_account: t.service_account,
    created_at: iso(t.created_at),
    last_used_at: iso(t.last_used_at),
    expires_at: iso(t.expires_at),
    status: tokenStatus(t, now),
    revoked: t.revoked
      ? { at: formatRfc3339(t.revoked.at), by: t.revoked.by, reason: t.revoked.reason }
      : null,
  };
}

/** Rows as aligned columns with a header; `-` for null. */
function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((v) => (v === null || v === undefined ? '-' : String(v))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] as string).length)));
  return `${cells
    .map((r) =>
      r
        .map((c, i) => (c as string).padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/**
 * Registers the operator commands on `program`, reusing the `apps` and `tokens` groups of the policy-edit
 * commands (server/cli-edit.ts) and adding `requests` and `usage`. Every command takes `--org` and `--store`
 * (default `var/appwarden.db`, the server's); `--json` prints JSON instead of a table.
 * Writes (`tokens revoke`, `requests deny`) go to the store at once; a running server applies a revocation
 * at its next reload (SIGHUP or a policy change), as another replica would (DESIGN §7).
 */
export function registerOperatorCommands(program: Command, ctx: OperatorCommandsContext): void {
  const { io } = ctx;
  const group = (name: string, description: string): Command =>
    program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
  const common = (cmd: Command): Command =>
    cmd
      .requiredOption('--org <org>', 'the org id, e.g. acme.example')
      .option('--store <path>', 'the SQLite store the server uses', DEFAULT_STORE_PATH)
      .option('--json', 'print JSON');

  /** Opens the store, runs `fn`, closes it; store errors are exit 2 with the message. */
  async function withStore(opts: StoreOptions, fn: (store: Store, org: string) => Promise<number>) {
    let store: Store | undefined;
    try {
      store = openStore(opts.store);
      ctx.exit(await fn(store, opts.org.trim().toLowerCase()));
    } catch (err) {
      if (!isEngineError(err)) throw err;
      for (const i of err.issues) io.stderr(`${formatIssue(i)}\n`);
      if (err.issues.length === 0) io.stderr(`${err.message}\n`);
      ctx.exit(2);
    } finally {
      await store?.close();
    }
  }
  const print = (opts: StoreOptions, json: unknown, text: string) =>
    io.stdout(opts.json ? `${JSON.stringify(json, null, 2)}\n` : text);

  const apps = group('apps', 'third-party apps of an org');
  common(
    apps.command('list').description('connected apps: last activity and active members (30 days)'),
  ).action((opts: StoreOptions) =>
    withStore(opts, async (store, org) => {
      const list = await store.listConnectedApps(org, nowSeconds());
      print(
        opts,
        { apps: list.map(appToJson) },
        table(
          ['APP', 'NAME', 'LAST ACTIVITY', 'ACTIVE MEMBERS'],
          list.map((a) => [a.app_id, a.name, iso(a.last_activity), a.active_members]),
        ),
      );
      return 0;
    }),
  );
  common(apps.command('show').description('one connected app with its per-user usage (90 days)'))
    .argument('<app-id>', 'the app id')
    .action((appId: string, opts: StoreOptions) =>
      withStore(opts, async (store, org) => {
        const now = nowSeconds();
        const a = await store.getConnectedApp(org, appId, now);
        if (!a) {
          io.stderr(`app ${appId} has no allowed app.connect or app.use in ${org}\n`);
          return 1;
        }
        const usage = await store.appUsage(org, now, appId);
        print(
          opts,
          { app: { ...appToJson(a), usage: usage.map(usageToJson) } },
          `${appId}  ${a.name ?? '-'}\nfirst seen ${iso(a.first_seen)}, last activity ${iso(a.last_activity)}, ` +
            `${a.active_members} active member(s) in 30 days\nscopes granted: ${(a.scopes ?? []).join(' ') || '-'}\n\n` +
            table(
              ['USER', 'EMAIL', 'USES (90 DAYS)', 'LAST USED'],
              usage.map((u) => [u.user_id, u.email, u.uses_90d, iso(u.last_used)]),
            ),
        );
        return 0;
      }),
    );

  const tokens = group('tokens', 'personal access tokens and token expiration of an org');
  common(tokens.command('list').description('tokens of the registry (active by default)'))
    .option('--status <status>', 'active | expired | revoked | all', 'active')
    .option('--owner <user-id>', 'only this owner')
    .option('--kind <kind>', 'personal_access | service_account')
    .addHelpText(
      'after',
      '\nExpiry here is what decisions stamped; the admin API also applies the settings history (SPEC §5).',
    )
    .action((opts: StoreOptions & { status: string; owner?: string; kind?: string }) =>
      withStore(opts, async (store, org) => {
        if (!['active', 'expired', 'revoked', 'all'].includes(opts.status)) {
          io.stderr('--status must be active, expired, revoked or all\n');
          return 2;
        }
        if (opts.kind !== undefined && opts.kind !== 'personal_access' && opts.kind !== 'service_account') {
          io.stderr('--kind must be personal_access or service_account\n');
          return 2;
        }
        const now = nowSeconds();
        const list = (
          await store.listTokens({
            org,
            ...(opts.owner === undefined ? {} : { owner: opts.owner }),
            ...(opts.kind === undefined ? {} : { kind: opts.kind as TokenRecord['kind'] }),
          })
        ).filter((t) => opts.status === 'all' || tokenStatus(t, now) === opts.status);
        print(
          opts,
          { tokens: list.map((t) => tokenToJson(t, now)) },
          table(
            ['TOKEN', 'KIND', 'OWNER', 'CREATED', 'LAST USED', 'EXPIRES', 'STATUS'],
            list.map((t) => [
              t.id,
              t.kind,
              t.owner,
              iso(t.created_at),
              iso(t.last_used_at),
              iso(t.expires_at),
              tokenStatus(t, now),
            ]),
          ),
        );
        return 0;
      }),
    );
  common(tokens.command('revoke').description('revoke a registered token (idempotent)'))
    .argument('<token-id>', 'the token id')
    .option('--reason <text>', 'why (kept with the revocation)')
    .requiredOption('--by <email>', 'who revokes (kept with the revocation)')
    .action((id: string, opts: StoreOptions & { reason?: string; by: string }) =>
      withStore(opts, async (store, org) => {
        const { token, changed } = await store.revokeToken({
          org,
          id,
          at: nowSeconds(),
          by: opts.by.toLowerCase(),
          reason: opts.reason?.trim() || null,
        });
        if (!token) {
          io.stderr(`token ${id} is not in the registry of ${org}\n`);
          return 1;
        }
        print(
          opts,
          { token: tokenToJson(token, nowSeconds()), changed },
          changed
            ? `revoked ${id} in ${org}; a running server applies it at its next reload (SIGHUP)\n`
            : `${id} was already revoked in ${org} (${iso(token.revoked?.at ?? null)} by ${token.revoked?.by})\n`,
        );
        return 0;
      }),
    );

  const requests = group('requests', 'app approval requests of an org');
  common(requests.command('list').description('approval requests, newest first'))
    .option('--status <status>', 'pending | approved | denied')
    .option('--app <app-id>', 'only this app')
    .action((opts: StoreOptions & { status?: string; app?: string }) =>
      withStore(opts, async (store, org) => {
        if (opts.status !== undefined && !['pending', 'approved', 'denied'].includes(opts.status)) {
          io.stderr('--status must be pending, approved or denied\n');
          return 2;
        }
        const list = await store.listApprovalRequests({
          org,
          ...(opts.status === undefined ? {} : { status: opts.status as RequestStatus }),
          ...(opts.app === undefined ? {} : { app: opts.app }),
        });
        print(
          opts,
          { requests: list.map(requestToWire) },
          table(
            ['REQUEST', 'APP', 'REQUESTER', 'STATUS', 'ASKS', 'CREATED'],
            list.map((r: ApprovalRequest) => [
              r.id,
              r.app_name ? `${r.app_id} (${r.app_name})` : r.app_id,
              r.requester_email,
              r.status,
              r.asks,
              iso(r.created_at),
            ]),
          ),
        );
        return 0;
      }),
    );
  common(requests.command('deny').description('deny a pending request with a reason (idempotent)'))
    .argument('<request-id>', 'the request id')
    .requiredOption('--reason <text>', 'why (the requester is told)')
    .requiredOption('--by <email>', 'who denies')
    .action((id: string, opts: StoreOptions & { reason: string; by: string }) =>
      withStore(opts, async (store, org) => {
        const { request, changed } = await store.denyApprovalRequest({
          org,
          id,
          at: nowSeconds(),
          by: opts.by.toLowerCase(),
          reason: opts.reason.trim(),
        });
        if (!request) {
          io.stderr(`no approval request ${id} in ${org}\n`);
          return 1;
        }
        if (request.status === 'approved') {
          io.stderr(`request ${id} was already approved (the app is approved in ${org})\n`);
          return 1;
        }
        print(
          opts,
          { request: requestToWire(request), changed },
          changed ? `denied ${id}\n` : `${id} was already denied\n`,
        );
        return 0;
      }),
    );

  const usage = group('usage', 'app usage of an org');
  usage
    .command('export')
    .description('per-user usage CSV (email, user, app, uses in the last 90 days, last used)')
    .requiredOption('--org <org>', 'the org id, e.g. acme.example')
    .option('--store <path>', 'the SQLite store the server uses', DEFAULT_STORE_PATH)
    .option('--policy <dir>', 'policy repository, for app names from its apps/*.yaml catalog')
    .option('-o, --output <file>', 'write the CSV here instead of stdout')
    .addHelpText(
      'after',
      "\nUTF-8 with a byte-order mark, CRLF, RFC 4180 quoting; formula-looking cells get a leading '.",
    )
    .action((opts: StoreOptions & { policy?: string; output?: string }) =>
      withStore(opts, async (store, org) => {
        const catalog = opts.policy ? (await loadAndValidate(opts.policy)).catalog : {};
        const now = nowSeconds();
        const [rows, apps] = await Promise.all([store.appUsage(org, now), store.listConnectedApps(org, now)]);
        const csv = usageCsv(catalog, rows, new Map(apps.map((a) => [a.app_id, a.name])));
        if (opts.output) {
          writeFileSync(opts.output, csv);
          io.stderr(`wrote ${rows.length} row(s) to ${opts.output}\n`);
        } else io.stdout(csv);
        return 0;
      }),
    );
}
