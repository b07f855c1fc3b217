// Connected apps and usage (SPEC §6): the apps an org's users connect and use, with their activity, active
// members and catalog details, and the per-user usage export as CSV, downloaded or emailed to the super admin
// who asks. Super admins and admins read (SPEC §1).
import { randomUUID } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import type { Hono } from 'hono';
import {
  ACTIVE_MEMBER_DAYS,
  type AppUserUsage,
  type CatalogApp,
  type ConnectedApp,
  composeUsageExport,
  type Engine,
  formatRfc3339,
  nowSeconds,
  type Store,
  USAGE_DAYS,
} from '../../engine/index.ts';
import emptySchema from '../../schemas/empty-body.schema.json' with { type: 'json' };
import type { AppEnv } from '../app.ts';
import { requireAdminRole } from '../auth.ts';
import { readBody, throwProblems } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { HttpError } from '../errors.ts';

const iso = (x: number | null) => (x === null ? null : formatRfc3339(x));

/**
 * What the org's live policy says of an app: `blocked`, `approved`, `not_approved` (require_approval and
 * not approved) or `allowed` (SPEC §3 `spec.apps`).
 */
export function policyStatus(engine: Engine, org: string, appId: string): string | null {
  const apps = engine.data?.orgs[org]?.apps;
  if (!apps) return null;
  if (Object.hasOwn(apps.blocked, appId)) return 'blocked';
  if (Object.hasOwn(apps.approved, appId)) return 'approved';
  return apps.mode === 'require_approval' ? 'not_approved' : 'allowed';
}

/**
 * The wire form of an app (docs/api.md "Connected apps"): the repository's catalog (`apps/*.yaml`) first,
 * then what decisions told (name, granted scopes); activity times RFC 3339; null where nothing is known.
 */
export function appToWire(
  engine: Engine,
  org: string,
  appId: string,
  a: ConnectedApp | null,
): Record<string, unknown> {
  const c = Object.hasOwn(engine.catalog, appId) ? engine.catalog[appId] : undefined;
  return {
    id: appId,
    name: c?.name ?? a?.name ?? null,
    developer: c?.developer ?? null,
    description: c?.description ?? null,
    support_url: c?.support_url ?? null,
    privacy_url: c?.privacy_url ?? null,
    scopes_granted: a?.scopes ?? null,
    scopes_requested: c?.scopes ?? null,
    policy_status: policyStatus(engine, org, appId),
    first_seen: iso(a?.first_seen ?? null),
    last_activity: iso(a?.last_activity ?? null),
    active_members: a?.active_members ?? 0,
  };
}

function usageToWire(u: AppUserUsage): Record<string, unknown> {
  return {
    user_id: u.user_id,
    email: u.email,
    uses_last_90_days: u.uses_90d,
    last_used: formatRfc3339(u.last_used),
  };
}

/**
 * Neutralizes a CSV cell a spreadsheet would run as a formula (OWASP "CSV injection"): a cell starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe.
 */
export function safeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** The header row of the usage export. */
export const USAGE_CSV_HEADER = [
  'email',
  'user_id',
  'app',
  'app_name',
  'uses_last_90_days',
  'last_used',
] as const;

/**
 * The usage export (SPEC §6): UTF-8 with a byte-order mark (spreadsheets then read it as UTF-8), a header row,
 * CRLF line ends and RFC 4180 quoting (csv-stringify), every text cell formula-safe ({@link safeCell}).
 */
export function usageCsv(
  catalog: Readonly<Record<string, CatalogApp>>,
  rows: readonly AppUserUsage[],
  apps: ReadonlyMap<string, string | null>,
): string {
  const records = rows.map((u) => {
    const c = Object.hasOwn(catalog, u.app_id) ? catalog[u.app_id] : undefined;
    return [
      safeCell(u.email ?? ''),
      safeCell(u.user_id),
      safeCell(u.app_id),
      safeCell(c?.name ?? apps.get(u.app_id) ?? ''),
      String(u.uses_90d),
      formatRfc3339(u.last_used),
    ];
  });
  return stringify([[...USAGE_CSV_HEADER], ...records], {
    bom: true,
    record_delimiter: 'windows',
    quoted_match: /^\s|\s$/,
  });
}

/** The usage export of `org` at `now` (epoch seconds): the CSV, its file name and its number of data rows. */
async function usageExport(
  store: Store,
  engine: Engine,
  org: string,
  now: number,
): Promise<{ csv: string; filename: string; rows: number }> {
  const [rows, apps] = await Promise.all([store.appUsage(org, now), store.listConnectedApps(org, now)]);
  const names = new Map(apps.map((a) => [a.app_id, a.name]));
  const day = formatRfc3339(now).slice(0, 10);
  return {
    csv: usageCsv(engine.catalog, rows, names),
    filename: `${org}-app-usage-${day}.csv`,
    rows: rows.length,
  };
}

/**
 * Registers the connected-apps routes (SPEC §6, docs/api.md "Connected apps"), read by super admins and admins:
 * `GET /admin/v1/orgs/{org}/apps` (connected apps, most recent activity first: activity, active members over
 * the last 30 days, catalog details, what the policy says of it), `GET …/apps/usage.csv` (per user and app:
 * uses over the last 90 days and last use), `POST …/apps/usage:email` (super admins: the same CSV queued as an
 * email to the caller, SPEC §6; 202 `{notification: {id, kind, status, to}}`, the outbox row) and
 * `GET …/apps/{app}` (one app with its per-user usage).
 * @throws HttpError 403 `forbidden`; 404 `not_found` for an app neither connected in the org nor in the catalog.
 */
export function registerAppRoutes(
  app: Hono<AppEnv>,
  store: Store,
  engine: Engine,
  config: Pick<ServerConfig, 'maxBodyBytes'>,
): void {
  app.get('/admin/v1/orgs/:org/apps', async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'listing connected apps' });
    const apps = await store.listConnectedApps(org, nowSeconds());
    return c.json({
      active_member_days: ACTIVE_MEMBER_DAYS,
      apps: apps.map((a) => appToWire(engine, org, a.app_id, a)),
    });
  });
  app.get('/admin/v1/orgs/:org/apps/usage.csv', async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'exporting usage' });
    const { csv, filename } = await usageExport(store, engine, org, nowSeconds());
    return c.body(csv, 200, {
      'content-type': 'text/csv; charset=utf-8; header=present',
      'content-disposition': `attachment; filename="${filename}"`,
    });
  });
  // SPEC §6 "export per-user usage as CSV and email it to the admin who asked": the worker sends it.
  app.post('/admin/v1/orgs/:org/apps/:op{usage:email}', async (c) => {
    const org = c.req.param('org').toLowerCase();
    const { email } = requireAdminRole(c, engine, org, { write: true, what: 'emailing the usage export' });
    // It takes no body: none, or {} (schemas/empty-body.schema.json).
    throwProblems((await readBody(c, config.maxBodyBytes, emptySchema, { optional: true })).problems);
    const now = nowSeconds();
    const e = await usageExport(store, engine, org, now);
    const n = composeUsageExport({ org, exportId: randomUUID(), requestedBy: email, at: now, ...e });
    await store.enqueueNotifications([n], now);
    // The store names the row; its dedupe key is unique.
    const row = await store.getNotificationByKey(n.dedupe_key);
    if (!row)
      throw new HttpError(500, 'internal_error', 'the usage export was queued but cannot be read back');
    return c.json({ notification: { id: row.id, kind: row.kind, status: row.status, to: row.to } }, 202);
  });
  app.get('/admin/v1/orgs/:org/apps/:app', async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'reading an app' });
    const appId = c.req.param('app');
    const now = nowSeconds();
    const a = await store.getConnectedApp(org, appId, now);
    if (!a && !Object.hasOwn(engine.catalog, appId)) {
      throw new HttpError(
        404,
        'not_found',
        `app ${appId} has no allowed app.connect or app.use in ${org} and is not in the catalog (apps/*.yaml)`,
      );
    }
    const usage = a ? await store.appUsage(org, now, appId) : [];
    return c.json({
      app: { ...appToWire(engine, org, appId, a), usage_days: USAGE_DAYS, usage: usage.map(usageToWire) },
    });
  });
}
