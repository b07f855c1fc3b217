// The admin API's side of settings changes (SPEC §6): the org's policy history as it went live, and the
// policy edits of a pull request — block / unblock / approve an app, token expiration, PATs on or off —
// answered as a patch of the org's YAML (engine/edit.ts) without writing anything. Live state changes
// only when the reviewed change is merged and its revision goes live.
import type { Context, Hono } from 'hono';
import {
  type EditResult,
  type Engine,
  editPolicy,
  formatRfc3339,
  type IdentifiedSchema,
  isEngineError,
  type PolicyEdit,
  type Store,
} from '../../engine/index.ts';
import type { ApproveAppBody } from '../../schemas/approve-app-body.gen.ts';
import approveSchema from '../../schemas/approve-app-body.schema.json' with { type: 'json' };
import type { BlockAppBody } from '../../schemas/block-app-body.gen.ts';
import blockSchema from '../../schemas/block-app-body.schema.json' with { type: 'json' };
import emptySchema from '../../schemas/empty-body.schema.json' with { type: 'json' };
import type { SetExpirationBody } from '../../schemas/set-expiration-body.gen.ts';
import expirationSchema from '../../schemas/set-expiration-body.schema.json' with { type: 'json' };
import type { AppEnv } from '../app.ts';
import { requireAdminRole } from '../auth.ts';
import { readBody, throwProblems } from '../body.ts';
import type { ServerConfig } from '../config.ts';
import { HttpError, issuesToProblems } from '../errors.ts';

/**
 * The optional JSON body of an edit, checked against its schema (schemas/*-body.schema.json: lengths, unknown
 * fields; EmptyBody for the edits that take none) and body.ts's text checks (the values are written into the
 * patch); `{}` when none was sent. Strings come back trimmed.
 */
async function readEditBody<T extends object>(
  c: Context<AppEnv>,
  config: ServerConfig,
  schema: IdentifiedSchema,
): Promise<T> {
  const { body, problems } = await readBody<Record<string, unknown>>(c, config.maxBodyBytes, schema, {
    optional: true,
  });
  throwProblems(problems);
  return Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v.trim() : v]),
  ) as T;
}

/** Runs an edit against the live repository on disk and answers the patch (nothing is written). */
async function proposeEdit(engine: Engine, org: string, edit: PolicyEdit): Promise<Record<string, unknown>> {
  const dir = engine.policyDir;
  if (dir === null) {
    throw new HttpError(
      409,
      'conflict',
      'this server serves a bundle, not a policy repository: run appwarden apps|tokens … against the repository instead',
    );
  }
  let r: EditResult;
  try {
    r = await editPolicy(dir, org, edit);
  } catch (err) {
    if (isEngineError(err, 'invalid_policy')) {
      // The repository on disk is not valid now, or would not be after the edit: there is no patch to review.
      throw new HttpError(409, 'conflict', err.issues[0]?.message ?? 'the policy repository is not valid', {
        problems: issuesToProblems(err.issues),
        cause: err,
      });
    }
    throw err;
  }
  return { org, file: r.file, changed: r.changed, message: r.message, diff: r.diff };
}

/**
 * Registers (docs/api.md "Policy history" and "Policy edits"):
 * `GET /admin/v1/orgs/{org}/history` (super admins and admins): every go-live of the org, oldest first, and
 * an imported PolicyHistory if any; and, for **super admins only** (SPEC §1), `POST …/apps/{app}:block`
 * (`{name?, reason?}`), `…:unblock`, `…:approve` (`{name?, note?}`), `POST …/tokens:set-expiration`
 * (`{expiration}`), `POST …/tokens/pats:enable|:disable`, each answering `{org, file, changed, message, diff}`
 * (a unified diff of the org's YAML for a pull request; comments and layout kept) and writing nothing.
 * Register before the token routes: their `tokens/{id}` catch-all would answer 405 first.
 * @throws HttpError 400 `invalid_request`; 403 `forbidden`; 409 `conflict` (the repository is invalid now or
 *   would be after the edit; the server serves a bundle).
 */
export function registerPolicyEditRoutes(
  app: Hono<AppEnv>,
  store: Store,
  engine: Engine,
  config: ServerConfig,
): void {
  app.get('/admin/v1/orgs/:org/history', async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: false, what: 'reading the policy history' });
    const [rows, imported] = await Promise.all([store.goLives(org), store.importedHistories()]);
    const imp = imported.find((h) => h.org === org);
    return c.json({
      history: rows.map((r) => ({
        revision: r.revision,
        at: formatRfc3339(r.at),
        expiration: r.expiration_days === null ? 'default' : `${r.expiration_days}d`,
        personal_access_tokens: r.personal_access_tokens,
      })),
      imported: imp
        ? {
            file: imp.file,
            imported_at: formatRfc3339(imp.imported_at),
            revisions: imp.revisions.map((r) => ({ at: formatRfc3339(r.at), spec: r.spec })),
          }
        : null,
    });
  });

  app.post('/admin/v1/orgs/:org/apps/:op{.+:(?:block|unblock|approve)}', async (c) => {
    const org = c.req.param('org').toLowerCase();
    const op = c.req.param('op');
    const cut = op.lastIndexOf(':');
    const appId = op.slice(0, cut);
    const verb = op.slice(cut + 1) as 'block' | 'unblock' | 'approve';
    const what = { block: 'blocking an app', unblock: 'unblocking an app', approve: 'approving an app' }[
      verb
    ];
    requireAdminRole(c, engine, org, { write: true, what });
    let edit: PolicyEdit;
    if (verb === 'block') {
      const b = await readEditBody<BlockAppBody>(c, config, blockSchema);
      edit = { kind: 'block', app_id: appId, ...b };
    } else if (verb === 'approve') {
      const b = await readEditBody<ApproveAppBody>(c, config, approveSchema);
      edit = { kind: 'approve', app_id: appId, ...b };
    } else {
      await readEditBody(c, config, emptySchema);
      edit = { kind: 'unblock', app_id: appId };
    }
    return c.json(await proposeEdit(engine, org, edit));
  });

  app.post('/admin/v1/orgs/:org/:op{tokens:set-expiration}', async (c) => {
    const org = c.req.param('org').toLowerCase();
    requireAdminRole(c, engine, org, { write: true, what: 'setting the token expiration' });
    // No body is `{}`, which the schema refuses: expiration is required.
    const { expiration } = await readEditBody<SetExpirationBody>(c, config, expirationSchema);
    return c.json(await proposeEdit(engine, org, { kind: 'set_expiration', expiration }));
  });

  app.post('/admin/v1/orgs/:org/tokens/:op{pats:(?:enable|disable)}', async (c) => {
    const org = c.req.param('org').toLowerCase();
    const on = c.req.param('op') === 'pats:enable';
    requireAdminRole(c, engine, org, {
      write: true,
      what: `turning personal access tokens ${on ? 'on' : 'off'}`,
    });
    await readEditBody(c, config, emptySchema);
    return c.json(
      await proposeEdit(engine, org, {
        kind: 'set_personal_access_tokens',
        personal_access_tokens: on ? 'enabled' : 'disabled',
      }),
    );
  });
}
