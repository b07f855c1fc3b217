// The operator commands of the CLI (SPEC §6 admin operations, from a shell): `apps list|show`, `tokens
// list|revoke`, `requests list|deny`, `usage export`, against the server's store file (`--store`; SQLite's WAL
// lets them run beside a live server) or a running server's admin API (`--server` with an admin token), with
// `--json` for scripts. Writes on the store file queue the same emails as the server's routes (SPEC §6); the
// server's outbox worker sends them.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type AppUserUsage,
  type ConnectedApp,
  composeRequestDenied,
  composeTokenRevoked,
  composeUsageExport,
  DEFAULT_STORE_PATH,
  formatIssue,
  formatRfc3339,
  isEngineError,
  loadAndValidate,
  nowSeconds,
  type OrgData,
  oneLine,
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
  /** 0 done, 1 not found or refused, 2 usage or runtime error (the store or server cannot be reached). */
  exit: (code: number) => void;
  /** The environment (the admin token of `--server` is read from it, never from an argument). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The environment variable holding the admin token for `--server`. */
export const ADMIN_TOKEN_ENV = 'APPWARDEN_ADMIN_TOKEN';

/** The options every operator command takes. */
export interface SourceOptions {
  org: string;
  store: string;
  server?: string;
  json?: boolean;
}

type Wire = Record<string, unknown>;

/** A command that cannot do what was asked (unknown id, refused); exit 1, or `code`. */
/** A command that cannot do what was asked: exit 1 (not found, refused) or `code` (2: usage, unreachable). */
export class OpError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

const iso = (x: number | null) => (x === null ? null : formatRfc3339(x));

/**
 * What the commands need, answered in the admin API's wire shapes (docs/api.md) by both sources, so the
 * tables and `--json` are the same whichever is used.
 */
interface OpsSource {
  listApps(): Promise<Wire[]>;
  showApp(appId: string): Promise<Wire>;
  listTokens(q: { status: string; owner?: string; kind?: string }): Promise<Wire[]>;
  revokeToken(
    id: string,
    reason: string | null,
    by: string | undefined,
  ): Promise<{ token: Wire; changed: boolean }>;
  listRequests(q: { status?: string; app?: string }): Promise<Wire[]>;
  denyRequest(
    id: string,
    reason: string,
    by: string | undefined,
  ): Promise<{ request: Wire; changed: boolean }>;
  usageCsv(policy: string | undefined): Promise<string>;
  /** Queues the usage CSV as an email to the admin who asks (SPEC §6); the queued row's id and recipients. */
  emailUsage(policy: string | undefined, by: string | undefined): Promise<{ id: string; to: string[] }>;
  close(): Promise<void>;
}

function appToJson(a: ConnectedApp): Wire {
  return {
    id: a.app_id,
    name: a.name,
    scopes_granted: a.scopes,
    first_seen: iso(a.first_seen),
    last_activity: iso(a.last_activity),
    active_members: a.active_members,
  };
}

function usageToJson(u: AppUserUsage): Wire {
  return { user_id: u.user_id, email: u.email, uses_last_90_days: u.uses_90d, last_used: iso(u.last_used) };
}

/** Active at `now`: not revoked and not past the expiry a decision stamped (what the store knows). */
function tokenStatus(t: TokenRecord, now: number): 'active' | 'expired' | 'revoked' {
  if (t.revoked) return 'revoked';
  return t.expires_at !== null && now >= t.expires_at ? 'expired' : 'active';
}

function tokenToJson(t: TokenRecord, now: number): Wire {
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

/**
 * The org's settings as the server last made them live (the newest go-live row's settings JSON), for the emails
 * a write queues (a service account's owner); undefined when the store has none.
 */
async function liveOrgData(store: Store, org: string): Promise<OrgData | undefined> {
  const last = (await store.goLives(org)).at(-1);
  return last?.settings_json ? (JSON.parse(last.settings_json) as OrgData) : undefined;
}

/** The store file as a source: reads and writes it directly (the operator of the machine). */
function storeSource(store: Store, org: string): OpsSource {
  // Who acts through the file must be a super admin of the org in the policy the server last made live
  // (SPEC §1: super admins revoke, deny and export), as the admin API checks for its callers.
  const requireBy = async (by: string | undefined): Promise<string> => {
    if (by === undefined || by.trim() === '')
      throw new OpError(
        '--by <email> is required on the store file (the default source): name the super admin who acts, or use --server with an admin token',
        2,
      );
    const email = by.trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
      throw new OpError(`--by must be an email address, not ${by}`, 2);
    const live = await liveOrgData(store, org);
    // The org must be in the newest revision the server made live (a removed org keeps its old rows).
    const newest = (await store.goLives()).at(-1)?.revision;
    const orgLast = (await store.goLives(org)).at(-1)?.revision;
    if (newest === undefined || orgLast !== newest) {
      throw new OpError(`${org} is not in the policy the server last made live; nobody acts for it there`);
    }
    if (!live || !Object.hasOwn(live.admins.super_admins, email)) {
      throw new OpError(
        `${email} is not a super admin of ${org} in the policy the server last made live; only super admins revoke tokens, deny requests and export usage (SPEC §1)`,
      );
    }
    return email;
  };
  return {
    async listApps() {
      return (await store.listConnectedApps(org, nowSeconds())).map(appToJson);
    },
    async showApp(appId) {
      const now = nowSeconds();
      const a = await store.getConnectedApp(org, appId, now);
      if (!a) throw new OpError(`app ${appId} has no allowed app.connect or app.use in ${org}`);
      return { ...appToJson(a), usage: (await store.appUsage(org, now, appId)).map(usageToJson) };
    },
    async listTokens(q) {
      const now = nowSeconds();
      const rows = await store.listTokens({
        org,
        ...(q.owner === undefined ? {} : { owner: q.owner }),
        ...(q.kind === undefined ? {} : { kind: q.kind as TokenRecord['kind'] }),
      });
      return rows
        .filter((t) => q.status === 'all' || tokenStatus(t, now) === q.status)
        .map((t) => tokenToJson(t, now));
    },
    async revokeToken(id, reason, by) {
      const orgData = await liveOrgData(store, org);
      const r = await store.revokeToken(
        { org, id, at: nowSeconds(), by: await requireBy(by), reason },
        (res) => composeTokenRevoked(res, orgData),
      );
      if (!r.token) throw new OpError(`token ${id} is not in the registry of ${org}`);
      return { token: tokenToJson(r.token, nowSeconds()), changed: r.changed };
    },
    async listRequests(q) {
      const rows = await store.listApprovalRequests({
        org,
        ...(q.status === undefined ? {} : { status: q.status as RequestStatus }),
        ...(q.app === undefined ? {} : { app: q.app }),
      });
      return rows.map(requestToWire);
    },
    async denyRequest(id, reason, by) {
      const r = await store.denyApprovalRequest(
        { org, id, at: nowSeconds(), by: await requireBy(by), reason },
        composeRequestDenied,
      );
      if (!r.request) throw new OpError(`no approval request ${id} in ${org}`);
      if (r.request.status === 'approved') {
        throw new OpError(`request ${id} was already approved (the app is approved in ${org})`);
      }
      return { request: requestToWire(r.request), changed: r.changed };
    },
    async usageCsv(policy) {
      const catalog = policy ? (await loadAndValidate(policy)).catalog : {};
      const now = nowSeconds();
      const [rows, apps] = await Promise.all([store.appUsage(org, now), store.listConnectedApps(org, now)]);
      return usageCsv(catalog, rows, new Map(apps.map((a) => [a.app_id, a.name])));
    },
    async emailUsage(policy, by) {
      const to = await requireBy(by);
      const at = nowSeconds();
      const catalog = policy ? (await loadAndValidate(policy)).catalog : {};
      const [rows, apps] = await Promise.all([store.appUsage(org, at), store.listConnectedApps(org, at)]);
      const csv = usageCsv(catalog, rows, new Map(apps.map((a) => [a.app_id, a.name])));
      const filename = `${org}-app-usage-${formatRfc3339(at).slice(0, 10)}.csv`;
      const n = composeUsageExport({
        org,
        exportId: randomUUID(),
        requestedBy: to,
        at,
        csv,
        rows: rows.length,
        filename,
      });
      await store.enqueueNotifications([n], at);
      const row = await store.getNotificationByKey(n.dedupe_key);
      return { id: row?.id ?? '', to: n.to };
    },
    close: () => store.close(),
  };
}

/**
 * A running server as a source: its admin API with the admin token of {@link ADMIN_TOKEN_ENV} (the caller's
 * role applies, SPEC §1). 404 and 409 answers are exit 1; anything else that is not 2xx is exit 2.
 */
/**
 * A client of one org's admin API (`<base>/admin/v1/orgs/<org>`) with an admin token: `json(method, path,
 * body?)` answers the parsed body of a 2xx, and otherwise throws an {@link OpError} with the API's error
 * message — exit 1 for 404 and 409 (not found, refused), 2 for anything else (unreachable, 401/403, 5xx).
 * `query` builds a query string from the given (defined) values.
 */
export function adminClient(base: string, org: string, token: string) {
  const root = `${base.replace(/\/+$/, '')}/admin/v1/orgs/${encodeURIComponent(org)}`;
  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${root}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new OpError(`cannot reach ${base}: ${(err as Error).message}`, 2);
    }
    if (res.ok) return res;
    let message = `${res.status} ${res.statusText}`;
    try {
      const e = (await res.json()) as { error?: { code?: string; message?: string } };
      if (e.error?.message) message = `${e.error.code}: ${e.error.message}`;
    } catch {
      // Not our JSON error shape: the status line says enough.
    }
    throw new OpError(message, res.status === 404 || res.status === 409 ? 1 : 2);
  }
  return {
    call,
    json: async (method: string, path: string, body?: unknown) =>
      (await (await call(method, path, body)).json()) as Record<string, unknown>,
    query: (q: Record<string, string | undefined>) => {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, v);
      const s = p.toString();
      return s === '' ? '' : `?${s}`;
    },
  };
}

function serverSource(base: string, org: string, token: string): OpsSource {
  const { call, json, query } = adminClient(base, org, token);
  const seg = encodeURIComponent;
  return {
    listApps: async () => (await json('GET', '/apps')).apps as Wire[],
    showApp: async (appId) => (await json('GET', `/apps/${seg(appId)}`)).app as Wire,
    listTokens: async (q) => (await json('GET', `/tokens${query(q)}`)).tokens as Wire[],
    async revokeToken(id, reason) {
      const r = await json('DELETE', `/tokens/${seg(id)}`, reason === null ? undefined : { reason });
      return { token: r.token as Wire, changed: r.changed as boolean };
    },
    listRequests: async (q) => (await json('GET', `/approval-requests${query(q)}`)).requests as Wire[],
    async denyRequest(id, reason) {
      const r = await json('POST', `/approval-requests/${seg(id)}/deny`, { reason });
      return { request: r.request as Wire, changed: r.changed as boolean };
    },
    // Bytes, not text(): text() would drop the byte-order mark the export starts with.
    usageCsv: async () =>
      Buffer.from(await (await call('GET', '/apps/usage.csv')).arrayBuffer()).toString('utf8'),
    async emailUsage() {
      const n = (await json('POST', '/apps/usage:email')).notification as { id: string; to: string[] };
      return { id: n.id, to: n.to };
    },
    close: async () => {},
  };
}

/** Rows as aligned columns with a header; `-` for null. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  // A cell is one line: stored text (an SMTP reply, a name from the platform) cannot start a forged row or
  // send terminal escapes (oneLine escapes controls and line breaks).
  const cells = [
    header,
    ...rows.map((r) => r.map((v) => (v === null || v === undefined ? '-' : oneLine(String(v))))),
  ];
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

const sub = (w: Wire, key: string, field: string): unknown => (w[key] as Wire | undefined)?.[field];

/**
 * A mistyped `--org` on the store file would list nothing and exit 0; the API answers 403 for an org the
 * caller does not administer. Here: exit 1 naming the orgs the store knows (those with a recorded go-live).
 */
async function assertKnownOrg(store: Store, org: string, path: string): Promise<void> {
  const orgs = [...new Set((await store.goLives()).map((r) => r.org))].sort();
  if (orgs.includes(org)) return;
  throw new OpError(
    orgs.length === 0
      ? `the store ${path} has no org yet (no policy was made live with it); is it the server's store?`
      : `the store ${path} knows no org ${org}; it knows ${orgs.join(', ')}`,
  );
}

/** The shared frame of operator commands: their common options, running against a source, printing. */
export interface OperatorKit<S> {
  /** Adds `--org`, `--store <path>` (default the server's), `--server <url>` and `--json` to `cmd`. */
  common(cmd: Command): Command;
  /**
   * Opens the source the options name (the store file, or the admin API with the token from
   * {@link ADMIN_TOKEN_ENV}), runs `fn`, closes it, and reports the exit code: 0 done, an {@link OpError}'s
   * code, 2 for an engine error (its issues on stderr).
   */
  run(opts: SourceOptions, fn: (src: S) => Promise<void>): Promise<void>;
  /** `json` as indented JSON with `--json`, otherwise `text`. */
  print(opts: SourceOptions, json: unknown, text: string): void;
}

/**
 * Builds the {@link OperatorKit} of a command group over its two sources (each in the admin API's wire
 * shapes, so `--store` and `--server` print the same).
 */
export function operatorKit<S extends { close(): Promise<void> }>(
  ctx: OperatorCommandsContext,
  sources: { server(base: string, org: string, token: string): S; store(store: Store, org: string): S },
): OperatorKit<S> {
  const { io } = ctx;
  const env = ctx.env ?? process.env;
  return {
    common: (cmd) =>
      cmd
        .requiredOption('--org <org>', 'the org id, e.g. acme.example')
        .option('--store <path>', 'the SQLite store the server uses', DEFAULT_STORE_PATH)
        .option('--server <url>', `a running server instead of the store (admin token in ${ADMIN_TOKEN_ENV})`)
        .option('--json', 'print JSON'),
    async run(opts, fn) {
      const org = opts.org.trim().toLowerCase();
      let src: S | undefined;
      try {
        if (opts.server !== undefined) {
          const token = env[ADMIN_TOKEN_ENV];
          if (!token) throw new OpError(`--server needs an admin token in ${ADMIN_TOKEN_ENV}`, 2);
          src = sources.server(opts.server, org, token);
        } else {
          const store = openStore(opts.store);
          src = sources.store(store, org);
          await assertKnownOrg(store, org, opts.store);
        }
        await fn(src);
        ctx.exit(0);
      } catch (err) {
        if (err instanceof OpError) {
          io.stderr(`${err.message}\n`);
          ctx.exit(err.code);
        } else if (isEngineError(err)) {
          for (const i of err.issues) io.stderr(`${formatIssue(i)}\n`);
          if (err.issues.length === 0) io.stderr(`${err.message}\n`);
          ctx.exit(2);
        } else throw err;
      } finally {
        await src?.close();
      }
    },
    print: (opts, json, text) => io.stdout(opts.json ? `${JSON.stringify(json, null, 2)}\n` : text),
  };
}

/**
 * Registers the operator commands on `program`, reusing the `apps` and `tokens` groups of the policy-edit
 * commands (server/cli-edit.ts) and adding `requests` and `usage`. Every command takes `--org` and either
 * `--store <path>` (default `var/appwarden.db`, the server's; writes need `--by <email>`) or `--server <url>`
 * (the admin API, with the admin token in `APPWARDEN_ADMIN_TOKEN`; the token's email is the actor);
 * `--json` prints JSON instead of a table. A revocation written to the store file reaches a running server
 * at its next reload (SIGHUP or a policy change); through `--server` it applies at once. Revocations, denials
 * and `usage export --email` queue the same emails either way (SPEC §6); the server's worker sends them.
 */
export function registerOperatorCommands(program: Command, ctx: OperatorCommandsContext): void {
  const { io } = ctx;
  const group = (name: string, description: string): Command =>
    program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
  const { common, run, print } = operatorKit(ctx, { server: serverSource, store: storeSource });
  const oneOf = (value: string | undefined, allowed: readonly string[], flag: string) => {
    if (value !== undefined && !allowed.includes(value))
      throw new OpError(`${flag} must be one of ${allowed.join(', ')}`, 2);
  };

  const apps = group('apps', 'third-party apps of an org');
  common(
    apps.command('list').description('connected apps: last activity and active members (30 days)'),
  ).action((opts: SourceOptions) =>
    run(opts, async (src) => {
      const list = await src.listApps();
      print(
        opts,
        { apps: list },
        table(
          ['APP', 'NAME', 'LAST ACTIVITY', 'ACTIVE MEMBERS'],
          list.map((a) => [a.id, a.name, a.last_activity, a.active_members]),
        ),
      );
    }),
  );
  common(apps.command('show').description('one connected app with its per-user usage (90 days)'))
    .argument('<app-id>', 'the app id')
    .action((appId: string, opts: SourceOptions) =>
      run(opts, async (src) => {
        const a = await src.showApp(appId);
        const usage = (a.usage ?? []) as Wire[];
        const scopes = (a.scopes_granted ?? []) as string[];
        print(
          opts,
          { app: a },
          `${appId}  ${a.name ?? '-'}\nfirst seen ${a.first_seen ?? '-'}, last activity ${a.last_activity ?? '-'}, ` +
            `${a.active_members} active member(s) in 30 days\nscopes granted: ${scopes.join(' ') || '-'}\n\n` +
            table(
              ['USER', 'EMAIL', 'USES (90 DAYS)', 'LAST USED'],
              usage.map((u) => [u.user_id, u.email, u.uses_last_90_days, u.last_used]),
            ),
        );
      }),
    );

  const tokens = group('tokens', 'personal access tokens and token expiration of an org');
  common(tokens.command('list').description('tokens of the registry (active by default)'))
    .option('--status <status>', 'active | expired | revoked | all', 'active')
    .option('--owner <user-id>', 'only this owner')
    .option('--kind <kind>', 'personal_access | service_account')
    .addHelpText(
      'after',
      '\nWith --store, expiry is what decisions stamped; the server also applies the settings history (SPEC §5).',
    )
    .action((opts: SourceOptions & { status: string; owner?: string; kind?: string }) =>
      run(opts, async (src) => {
        oneOf(opts.status, ['active', 'expired', 'revoked', 'all'], '--status');
        oneOf(opts.kind, ['personal_access', 'service_account'], '--kind');
        const list = await src.listTokens({
          status: opts.status,
          ...(opts.owner === undefined ? {} : { owner: opts.owner }),
          ...(opts.kind === undefined ? {} : { kind: opts.kind }),
        });
        print(
          opts,
          { tokens: list },
          table(
            ['TOKEN', 'KIND', 'OWNER', 'CREATED', 'LAST USED', 'EXPIRES', 'STATUS'],
            list.map((t) => [t.id, t.kind, t.owner, t.created_at, t.last_used_at, t.expires_at, t.status]),
          ),
        );
      }),
    );
  common(tokens.command('revoke').description('revoke a registered token (idempotent)'))
    .argument('<token-id>', 'the token id')
    .option('--reason <text>', 'why (kept with the revocation)')
    .option('--by <email>', 'who revokes (with --store; with --server the admin token says who)')
    .action((id: string, opts: SourceOptions & { reason?: string; by?: string }) =>
      run(opts, async (src) => {
        const { token, changed } = await src.revokeToken(id, opts.reason?.trim() || null, opts.by);
        const when =
          opts.server === undefined
            ? 'a running server applies it at its next reload (SIGHUP)'
            : 'in effect now';
        print(
          opts,
          { token, changed },
          changed
            ? `revoked ${id} in ${opts.org}; ${when}\n`
            : `${id} was already revoked in ${opts.org} (${sub(token, 'revoked', 'at')} by ${sub(token, 'revoked', 'by')})\n`,
        );
      }),
    );

  const requests = group('requests', 'app approval requests of an org');
  common(requests.command('list').description('approval requests, newest first'))
    .option('--status <status>', 'pending | approved | denied')
    .option('--app <app-id>', 'only this app')
    .action((opts: SourceOptions & { status?: string; app?: string }) =>
      run(opts, async (src) => {
        oneOf(opts.status, ['pending', 'approved', 'denied'], '--status');
        const list = await src.listRequests({
          ...(opts.status === undefined ? {} : { status: opts.status }),
          ...(opts.app === undefined ? {} : { app: opts.app }),
        });
        print(
          opts,
          { requests: list },
          table(
            ['REQUEST', 'APP', 'REQUESTER', 'STATUS', 'ASKS', 'CREATED'],
            list.map((r) => [
              r.id,
              sub(r, 'app', 'name')
                ? `${sub(r, 'app', 'id')} (${sub(r, 'app', 'name')})`
                : sub(r, 'app', 'id'),
              sub(r, 'requester', 'email'),
              r.status,
              r.asks,
              r.created_at,
            ]),
          ),
        );
      }),
    );
  common(requests.command('deny').description('deny a pending request with a reason (idempotent)'))
    .argument('<request-id>', 'the request id')
    .requiredOption('--reason <text>', 'why (the requester is told)')
    .option('--by <email>', 'who denies (with --store; with --server the admin token says who)')
    .action((id: string, opts: SourceOptions & { reason: string; by?: string }) =>
      run(opts, async (src) => {
        const { request, changed } = await src.denyRequest(id, opts.reason.trim(), opts.by);
        print(opts, { request, changed }, changed ? `denied ${id}\n` : `${id} was already denied\n`);
      }),
    );

  const usage = group('usage', 'app usage of an org');
  common(
    usage
      .command('export')
      .description('per-user usage CSV (email, user, app, uses in the last 90 days, last used)'),
  )
    .option('--policy <dir>', 'with --store: policy repository, for app names from its apps/*.yaml catalog')
    .option('-o, --output <file>', 'write the CSV here instead of stdout')
    .option('--email', 'email the CSV to the admin who asks (--by with --store) instead of printing it')
    .option('--by <email>', 'with --store --email: who asks (the recipient)')
    .addHelpText(
      'after',
      "\nUTF-8 with a byte-order mark, CRLF, RFC 4180 quoting; formula-looking cells get a leading '.\n" +
        "With --email the server's outbox worker sends it (queued in the store).",
    )
    .action((opts: SourceOptions & { policy?: string; output?: string; email?: boolean; by?: string }) =>
      run(opts, async (src) => {
        if (opts.email) {
          if (opts.output) throw new OpError('give either --email or --output', 2);
          const { id, to } = await src.emailUsage(opts.policy, opts.by);
          print(
            opts,
            { notification: { id, to } },
            `queued the usage export to ${to.join(', ')} (notification ${id})\n`,
          );
          return;
        }
        const csv = await src.usageCsv(opts.policy);
        if (opts.output) {
          writeFileSync(opts.output, csv);
          io.stderr(`wrote ${opts.output}\n`);
        } else io.stdout(csv);
      }),
    );
}
