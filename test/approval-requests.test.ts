// Approval requests through HTTP (SPEC §6): the platform files them with its decision-API token (duplicates
// of a pending request merged), admins read them, super admins deny them with a reason, and a revision that
// approves the app closes its pending requests as approved; every status change is an event.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { approveApp, createEngine, openStore } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig } from '../server/config.ts';

const root = join(import.meta.dirname, '..');
const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PLATFORM = 'platform-decision-token-0123456789';
const PEOPLE = {
  super_admin: 'hank.scorpio@globex.example',
  admin: 'frank.grimes@globex.example',
  member: 'bo@globex.example',
  other_org_admin: 'dana.whitfield@acme.example',
} as const;
type Who = keyof typeof PEOPLE;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const as = (who: Who) => bearer(`tok-${who}-0123456789`);

async function setup() {
  const tmp = mkdtempSync(join(tmpdir(), 'appwarden-requests-'));
  dirs.push(tmp);
  const dir = join(tmp, 'repo');
  cpSync(join(root, 'examples', 'policy-repo'), dir, { recursive: true });
  const store = openStore(join(tmp, 'state.db'));
  const engine = createEngine({ policyDir: dir, store });
  await engine.load();
  const app = createApp({
    engine,
    store,
    config: {
      ...defaultConfig,
      tokenSha256: [sha256Hex(PLATFORM)],
      adminTokens: Object.entries(PEOPLE).map(([who, email]) => ({
        email,
        tokenSha256: sha256Hex(`tok-${who}-0123456789`),
      })),
    },
  });
  const json = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    app.request(path, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const ask = (body: unknown, headers: Record<string, string> = bearer(PLATFORM)) =>
    json('POST', '/v1/orgs/globex.example/approval-requests', headers, body);
  const close = async () => {
    engine.close();
    await store.close();
  };
  return { dir, store, engine, app, json, ask, close };
}

const asking = (user: string, app: string, note?: string) => ({
  app: { id: app, name: `App ${app}` },
  requester: { id: user, email: `${user.toLowerCase()}@Globex.example` },
  ...(note === undefined ? {} : { note }),
});
type Wire = { id: string; status: string; asks: number; note: string | null; requester: { email: string } };

test('the platform files a request where the denied app.connect points; asking again merges', async () => {
  const t = await setup();
  const connect = await t.json('POST', '/access/v1/evaluation', bearer(PLATFORM), {
    subject: { type: 'user', id: 'U200', properties: { email: 'bo@globex.example', role: 'member' } },
    action: { name: 'app.connect' },
    resource: { type: 'app', id: 'trello-board' },
    context: { org: 'globex.example' },
  });
  const href = ((await connect.json()) as { context: { approval_request: { href: string } } }).context
    .approval_request.href;
  const first = await t.json('POST', href, bearer(PLATFORM), asking('U200', 'trello-board', 'sprint boards'));
  assert.is(first.status, 201);
  const a = (await first.json()) as { request: Wire; merged: boolean };
  assert.equal(
    [a.merged, a.request.status, a.request.asks, a.request.requester.email],
    [false, 'pending', 1, 'u200@globex.example'],
  );
  const again = await t.ask(asking('U200', 'trello-board'));
  assert.is(again.status, 200);
  const b = (await again.json()) as { request: Wire; merged: boolean };
  assert.equal(
    [b.merged, b.request.id, b.request.asks, b.request.note],
    [true, a.request.id, 2, 'sprint boards'],
  );
  assert.is((await t.ask(asking('U201', 'trello-board'))).status, 201, 'another user: its own request');
  // Auth and input.
  assert.is((await t.ask(asking('U200', 'x'), {})).status, 401);
  assert.is(
    (await t.ask(asking('U200', 'x'), as('super_admin'))).status,
    403,
    'an admin token is not the platform',
  );
  const bad = await t.ask({ app: { id: 42 }, requester: { id: 'U1', email: 'nope' }, extra: 1 });
  assert.is(bad.status, 400);
  const fields = ((await bad.json()) as { error: { problems: { field: string }[] } }).error.problems.map(
    (p) => p.field,
  );
  assert.equal(fields.sort(), ['/app/id', '/extra', '/requester/email']);
  const approved = await t.ask(asking('U200', 'A0F7XDUAZ'));
  assert.is(approved.status, 409, 'already approved');
  const unknown = await t.json(
    'POST',
    '/v1/orgs/nowhere.example/approval-requests',
    bearer(PLATFORM),
    asking('U1', 'a'),
  );
  assert.is(unknown.status, 404);
  await t.close();
});

test('no request where approval cannot help: an allow_all org, an app the org blocks (409 conflict)', async () => {
  const t = await setup();
  const message = async (res: Response) => {
    assert.is(res.status, 409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.is(body.error.code, 'conflict');
    return body.error.message;
  };
  const blocked = await t.ask(asking('U200', 'zapier-platform'));
  assert.match(await message(blocked), /globex\.example blocks zapier-platform; ask an admin to unblock it/);
  const allowAll = await t.json(
    'POST',
    '/v1/orgs/acme.example/approval-requests',
    bearer(PLATFORM),
    asking('U1', 'some-app'),
  );
  assert.match(
    await message(allowAll),
    /acme\.example does not work by approval; the app is allowed unless blocked/,
  );
  assert.equal(await t.store.listApprovalRequests({ org: 'acme.example' }), []);
  assert.equal(await t.store.listApprovalRequests({ org: 'globex.example' }), []);
  await t.close();
});

test('request text: no secret-looking values or control characters; the note limit counts code points', async () => {
  const t = await setup();
  const problem = async (body: unknown) => {
    const res = await t.ask(body);
    assert.is(res.status, 400);
    return ((await res.json()) as { error: { field: string; message: string } }).error;
  };
  const pat = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
  const whole = await problem(asking('U200', 'trello-board', pat));
  assert.equal([whole.field, /secret/.test(whole.message)], ['/note', true]);
  const inside = await problem(asking('U200', 'trello-board', `please, my token is ${pat} thanks`));
  assert.is(inside.field, '/note');
  const control = await problem(asking('U200', 'trello-board\u0007'));
  assert.equal([control.field, /control character/.test(control.message)], ['/app/id', true]);
  // 1000 emoji are 2000 UTF-16 units but 1000 characters: accepted; 1001 are not.
  const ok = await t.ask(asking('U200', 'trello-board', '🙂'.repeat(1000)));
  assert.is(ok.status, 201);
  assert.is((await problem(asking('U201', 'trello-board', '🙂'.repeat(1001)))).field, '/note');
  const multiline = await t.ask(asking('U202', 'trello-board', 'line one\nline two'));
  assert.is(multiline.status, 201, 'newlines are fine in a note');
  // An id or a name is one line: a line break there would forge a row of `appwarden requests list`.
  for (const id of ['trello\nreq-fake  slack  approved', 'trello\r', 'trello\u2028x', 'trello\u0085x']) {
    const broken = await problem(asking('U203', id));
    assert.equal([broken.field, /one line/.test(broken.message)], ['/app/id', true], JSON.stringify(id));
  }
  assert.equal(
    (await t.store.listApprovalRequests({ org: 'globex.example' })).map((r) => r.note?.includes('ghp_')),
    [false, false],
  );
  await t.close();
});

test('admins list and read; only super admins deny, with a reason; deny is idempotent; events recorded', async () => {
  const t = await setup();
  const id = ((await (await t.ask(asking('U200', 'trello-board'))).json()) as { request: Wire }).request.id;
  await t.ask(asking('U201', 'miro-whiteboard'));
  const base = '/admin/v1/orgs/globex.example/approval-requests';
  const listAs = async (who: Who, qs = '') => t.app.request(`${base}${qs}`, { headers: as(who) });
  assert.is((await listAs('admin')).status, 200);
  for (const who of ['member', 'other_org_admin'] as Who[]) assert.is((await listAs(who)).status, 403, who);
  const all = ((await (await listAs('super_admin')).json()) as { requests: Wire[] }).requests;
  assert.is(all.length, 2);
  const pendingTrello = (
    (await (await listAs('admin', '?status=pending&app=trello-board')).json()) as {
      requests: Wire[];
    }
  ).requests;
  assert.equal(
    pendingTrello.map((r) => r.id),
    [id],
  );
  assert.is((await listAs('admin', '?status=open')).status, 400);
  const deny = (who: Who, body: unknown) => t.json('POST', `${base}/${id}/deny`, as(who), body);
  const byAdmin = await deny('admin', { reason: 'no' });
  assert.is(byAdmin.status, 403);
  assert.match(((await byAdmin.json()) as { error: { message: string } }).error.message, /read-only/);
  assert.is((await deny('super_admin', {})).status, 400, 'a reason is required');
  const denied = await deny('super_admin', { reason: 'we use Jira' });
  assert.is(denied.status, 200);
  const d = (await denied.json()) as {
    request: Wire & { reason: string; decided_by: string };
    changed: boolean;
  };
  assert.equal(
    [d.changed, d.request.status, d.request.reason, d.request.decided_by],
    [true, 'denied', 'we use Jira', PEOPLE.super_admin],
  );
  const twice = (await (await deny('super_admin', { reason: 'again' })).json()) as {
    changed: boolean;
    request: { reason: string };
  };
  assert.equal([twice.changed, twice.request.reason], [false, 'we use Jira']);
  const detail = (await (await t.app.request(`${base}/${id}`, { headers: as('admin') })).json()) as {
    request: { events: { type: string; by: string | null }[] };
  };
  assert.equal(
    detail.request.events.map((e) => [e.type, e.by]),
    [
      ['created', null],
      ['denied', PEOPLE.super_admin],
    ],
  );
  assert.is((await t.app.request(`${base}/nope`, { headers: as('admin') })).status, 404);
  await t.close();
});

test('when a revision approving the app goes live, its pending requests become approved (by policy)', async () => {
  const t = await setup();
  await t.ask(asking('U200', 'trello-board'));
  await t.ask(asking('U201', 'trello-board'));
  await t.ask(asking('U202', 'miro-whiteboard'));
  const edit = await approveApp(t.dir, 'globex.example', 'trello-board', { name: 'Trello' });
  writeFileSync(isAbsolute(edit.file) ? edit.file : join(t.dir, edit.file), edit.after);
  assert.is((await t.engine.load()).changed, true);
  const rows = await t.store.listApprovalRequests({ org: 'globex.example' });
  assert.equal(
    rows.map((r) => [r.requester_id, r.status, r.decided_by]),
    [
      ['U202', 'pending', null],
      ['U201', 'approved', 'policy'],
      ['U200', 'approved', 'policy'],
    ],
  );
  const events = await t.store.requestEvents({ org: 'globex.example' });
  assert.is(events.filter((e) => e.type === 'approved').length, 2);
  // Denying an approved request is a conflict, not a silent change.
  const approvedId = rows[1]?.id as string;
  const res = await t.json(
    'POST',
    `/admin/v1/orgs/globex.example/approval-requests/${approvedId}/deny`,
    as('super_admin'),
    { reason: 'too late' },
  );
  assert.is(res.status, 409);
  await t.close();
});

test.run();
