// One suite, every store backend (STYLE.md; hono's common.case.test.ts): the same cases run against the
// memory store, in-memory SQLite and a SQLite file, then the SQLite-only cases (files, migrations, pragmas).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isEngineError } from '../engine/index.ts';
import type { NewNotification, Notification } from '../engine/notify/types.ts';
import {
  createDecisionLog,
  createMemoryStore,
  type DecisionQuery,
  type DecisionRecord,
  decisionScanSql,
  MAX_DECISION_SCAN,
  MIGRATIONS,
  type NewApprovalRequest,
  openStore,
  type Store,
  type TokenSighting,
  type UsageSighting,
} from '../engine/store/index.ts';
import { encodeCursor } from '../engine/store/store.ts';

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'appwarden.db');
}

const T0 = Date.UTC(2026, 2, 1); // epoch ms

function record(i: number, over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    decision_id: `d-${String(i).padStart(4, '0')}`,
    at_ms: T0 + i * 1000,
    org: 'acme.example',
    action: i % 2 === 0 ? 'app.connect' : 'token.use',
    subject_type: 'user',
    subject_id: `U${i % 3}`,
    subject_role: i % 3 === 0 ? 'guest' : 'member',
    resource_type: i % 2 === 0 ? 'app' : 'token',
    resource_id: i % 5 === 0 ? null : `R${i}`,
    decision: i % 4 !== 0,
    reason: i % 4 === 0 ? 'app_blocked' : 'allowed',
    revision: 'rev0000000000001',
    latency_us: 40 + i,
    // Every other record carries its input (impact replay), the others are rows from before migration 7.
    input:
      i % 2 === 0
        ? {
            subject: { type: 'user', id: `U${i % 3}` },
            action: { name: 'app.connect' },
            context: { org: 'acme.example' },
          }
        : null,
    ...over,
  };
}

function sighting(id: string, over: Partial<TokenSighting> = {}): TokenSighting {
  return {
    org: 'acme.example',
    id,
    action: 'token.use',
    kind: 'personal_access',
    owner: 'U1',
    owner_email: null,
    service_account: null,
    created_at: 1_000,
    at: 2_000,
    used: true,
    expires_at: null,
    ...over,
  };
}

/** An email to queue, to dana unless told. */
function mail(dedupe_key: string, over: Partial<NewNotification> = {}): NewNotification {
  return {
    kind: 'approval_request',
    org: 'acme.example',
    to: ['dana@acme.example'],
    dedupe_key,
    data: { request_id: 'r1', app_name: 'Calendar Bot' },
    ...over,
  };
}

/** A request of U1 for A1. */
function ask(id: string, at: number): NewApprovalRequest {
  return {
    id,
    org: 'acme.example',
    app_id: 'A1',
    app_name: 'Calendar Bot',
    requester_id: 'U1',
    requester_email: 'u1@acme.example',
    note: null,
    at,
  };
}

async function rejects(p: Promise<unknown>, check: (err: unknown) => boolean, msg: string) {
  try {
    await p;
  } catch (err) {
    assert.ok(check(err), `${msg}: ${String(err)}`);
    return;
  }
  assert.unreachable(`${msg}: resolved`);
}

const backends: [string, () => Store][] = [
  ['memory', () => createMemoryStore()],
  ['sqlite :memory:', () => openStore(':memory:')],
  ['sqlite file', () => openStore(tempDb())],
];

for (const [name, make] of backends) {
  const s = suite<{ store: Store }>(name, { store: undefined as unknown as Store });
  s.before.each((ctx) => {
    ctx.store = make();
  });
  s.after.each(async (ctx) => {
    await ctx.store.close();
  });

  s('go-live rows come back oldest first, by org, with their token settings', async ({ store }) => {
    await store.recordGoLive([
      { org: 'b.example', revision: 'r2', at: 200, expiration_days: 30, personal_access_tokens: 'enabled' },
      {
        org: 'a.example',
        revision: 'r2',
        at: 200,
        expiration_days: null,
        personal_access_tokens: 'disabled',
        settings_json: '{"x":1}',
      },
    ]);
    await store.recordGoLive([
      { org: 'a.example', revision: 'r1', at: 100, expiration_days: 90, personal_access_tokens: 'enabled' },
    ]);
    const all = await store.goLives();
    assert.equal(
      all.map((r) => [r.org, r.at, r.revision]),
      [
        ['a.example', 100, 'r1'],
        ['b.example', 200, 'r2'],
        ['a.example', 200, 'r2'],
      ],
    );
    const a = await store.goLives('a.example');
    assert.equal(a[1], {
      org: 'a.example',
      revision: 'r2',
      at: 200,
      expiration_days: null,
      personal_access_tokens: 'disabled',
      settings_json: '{"x":1}',
    });
    assert.equal(await store.goLives('c.example'), []);
  });

  s('an imported history replaces the earlier import of the same org', async ({ store }) => {
    const revisions = [{ at: 100, spec: { tokens: { expiration: '30d' } } }];
    await store.importHistory({ org: 'z.example', file: 'z1.yaml', revisions, imported_at: 5 });
    await store.importHistory({ org: 'a.example', file: 'a.yaml', revisions: [], imported_at: 6 });
    await store.importHistory({
      org: 'z.example',
      file: 'z2.yaml',
      revisions: [...revisions, { at: 200, spec: { tokens: { expiration: '90d' } } }],
      imported_at: 7,
    });
    const got = await store.importedHistories();
    assert.equal(
      got.map((h) => [h.org, h.file, h.revisions.length, h.imported_at]),
      [
        ['a.example', 'a.yaml', 0, 6],
        ['z.example', 'z2.yaml', 2, 7],
      ],
    );
    assert.equal(got[1]?.revisions[1], { at: 200, spec: { tokens: { expiration: '90d' } } });
  });

  s('decisions are kept field for field and found by id', async ({ store }) => {
    const rs = [record(1), record(5), record(8)];
    await store.appendDecisions(rs);
    for (const r of rs) assert.equal(await store.getDecision(r.decision_id), r);
    assert.is(await store.getDecision('nope'), null);
  });

  s('a batch with a decision id already logged is refused whole', async ({ store }) => {
    await store.appendDecisions([record(1)]);
    await rejects(
      store.appendDecisions([record(2), record(1)]),
      (e) => isEngineError(e, 'io_error'),
      'duplicate id',
    );
    assert.is(await store.getDecision('d-0002'), null, 'nothing of the failed batch is kept');
  });

  s('pages are newest first, disjoint, and together hold every match once', async ({ store }) => {
    await store.appendDecisions(Array.from({ length: 25 }, (_, i) => record(i)));
    await store.appendDecisions([record(100, { org: 'other.example' })]);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.queryDecisions({
        org: 'acme.example',
        limit: 10,
        ...(cursor ? { cursor } : {}),
      });
      pages++;
      assert.ok(page.decisions.length <= 10);
      seen.push(...page.decisions.map((d) => d.decision_id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    assert.is(pages, 3);
    assert.equal(
      seen,
      Array.from({ length: 25 }, (_, i) => record(24 - i).decision_id),
    );
    const exact = await store.queryDecisions({ org: 'acme.example', limit: 25 });
    assert.is(exact.decisions.length, 25);
    assert.is(exact.next_cursor, null, 'no empty last page when the count divides evenly');
  });

  s('filters: action, reason, subject, and since (inclusive) / until (exclusive)', async ({ store }) => {
    const all = Array.from({ length: 30 }, (_, i) => record(i));
    await store.appendDecisions(all);
    const q = async (f: Record<string, unknown>) =>
      (await store.queryDecisions({ org: 'acme.example', limit: 1000, ...f })).decisions.map(
        (d) => d.decision_id,
      );
    const want = (pred: (r: DecisionRecord) => boolean) =>
      all
        .filter(pred)
        .reverse()
        .map((r) => r.decision_id);
    assert.equal(
      await q({ action: 'token.use' }),
      want((r) => r.action === 'token.use'),
    );
    assert.equal(
      await q({ reason: 'app_blocked' }),
      want((r) => r.reason === 'app_blocked'),
    );
    assert.equal(
      await q({ subject: 'U2' }),
      want((r) => r.subject_id === 'U2'),
    );
    assert.equal(
      await q({ since_ms: T0 + 10_000, until_ms: T0 + 20_000 }),
      want((r) => r.at_ms >= T0 + 10_000 && r.at_ms < T0 + 20_000),
    );
    assert.is((await q({ since_ms: T0 + 10_000, until_ms: T0 + 20_000 })).length, 10);
    assert.equal(
      await q({ action: 'app.connect', reason: 'allowed', subject: 'U1' }),
      want((r) => r.action === 'app.connect' && r.reason === 'allowed' && r.subject_id === 'U1'),
    );
    assert.equal(await q({ org: 'nobody.example' }), []);
  });

  s('a cursor this store did not make is invalid_input naming cursor', async ({ store }) => {
    await rejects(
      store.queryDecisions({ org: 'acme.example', limit: 5, cursor: 'bm90LWEtY3Vyc29y' }),
      (e) => isEngineError(e, 'invalid_input') && e.issues[0]?.path === 'cursor',
      'bad cursor',
    );
  });

  s('a closed store rejects with io_error', async ({ store }) => {
    await store.close();
    await store.close();
    await rejects(store.appendDecisions([record(1)]), (e) => isEngineError(e, 'io_error'), 'append');
    await rejects(store.goLives(), (e) => isEngineError(e, 'io_error'), 'goLives');
  });

  s(
    'the decision log commits concurrent appends together and resolves each after its commit',
    async ({ store }) => {
      const log = createDecisionLog(store);
      const n = 200;
      const done = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          await log.append([record(i)]);
          // Resolved means committed: the record is readable at once.
          return (await store.getDecision(record(i).decision_id)) !== null;
        }),
      );
      assert.ok(done.every(Boolean));
      assert.is(log.stats.records, n);
      assert.ok(log.stats.commits < n / 10, `${log.stats.commits} commits for ${n} appends`);
    },
  );

  s('a failed commit rejects every waiter of that batch', async ({ store }) => {
    const log = createDecisionLog(store);
    await store.close();
    const results = await Promise.allSettled([log.append([record(1)]), log.append([record(2)])]);
    assert.equal(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.is(log.stats.failures, 1);
  });

  s(
    'decisions register tokens: first values kept, last use forward, expiry earlier, revocation kept',
    async ({ store }) => {
      await store.appendDecisions(
        [record(1)],
        [
          sighting('T1', {
            action: 'token.create',
            used: false,
            created_at: 1_500,
            at: 1_500,
            expires_at: 9_000,
            owner_email: 'u1@acme.example',
          }),
          sighting('T2', { kind: 'service_account', owner: null, service_account: 'ci-bot' }),
        ],
      );
      await store.appendDecisions(
        [record(2)],
        [
          sighting('T1', {
            at: 3_000,
            owner: 'U9',
            owner_email: 'u9@acme.example',
            created_at: 5,
            expires_at: 8_000,
          }),
          sighting('T1', { at: 2_500, expires_at: 9_500 }),
          sighting('T2', { at: 1_900, used: false, owner: 'U2', owner_email: 'u2@acme.example' }),
        ],
      );
      assert.equal(await store.getToken('acme.example', 'T1'), {
        org: 'acme.example',
        id: 'T1',
        kind: 'personal_access',
        owner: 'U1',
        owner_email: 'u1@acme.example',
        service_account: null,
        created_at: 1_500,
        first_seen: 1_500,
        registered_by: 'token.create',
        last_used_at: 3_000,
        expires_at: 8_000,
        revoked: null,
      });
      const t2 = await store.getToken('acme.example', 'T2');
      assert.equal(
        [t2?.owner, t2?.owner_email, t2?.service_account, t2?.last_used_at],
        ['U2', 'u2@acme.example', 'ci-bot', 2_000],
        'the first owner and owner email told are kept',
      );
      assert.is(await store.getToken('other.example', 'T1'), null, 'the registry is per org');
      await store.appendDecisions(
        [record(3)],
        [
          sighting('T3', {
            used: false,
            revoke: { by: 'policy', reason: 'personal access tokens turned off' },
          }),
        ],
      );
      await store.appendDecisions(
        [record(4)],
        [sighting('T3', { at: 9_999, revoke: { by: 'x', reason: 'y' } })],
      );
      assert.equal((await store.getToken('acme.example', 'T3'))?.revoked, {
        at: 2_000,
        by: 'policy',
        reason: 'personal access tokens turned off',
      });
    },
  );

  s('a refused decision batch registers no token either', async ({ store }) => {
    await store.appendDecisions([record(1)]);
    await rejects(
      store.appendDecisions([record(2), record(1)], [sighting('T1')]),
      (e) => isEngineError(e, 'io_error'),
      'duplicate id',
    );
    assert.is(await store.getToken('acme.example', 'T1'), null);
  });

  s('tokens are listed by filters; revocation is idempotent and keeps the first', async ({ store }) => {
    await store.appendDecisions(
      [record(1)],
      [
        sighting('T1', { at: 10 }),
        sighting('T2', { at: 20, owner: 'U2' }),
        sighting('T3', { at: 30, kind: 'service_account', service_account: 'ci-bot' }),
        sighting('T4', { at: 40, org: 'other.example' }),
      ],
    );
    const ids = async (q: Partial<Parameters<Store['listTokens']>[0]>) =>
      (await store.listTokens({ org: 'acme.example', ...q })).map((t) => t.id);
    assert.equal(await ids({}), ['T1', 'T2', 'T3']);
    assert.equal(await ids({ owner: 'U2' }), ['T2']);
    assert.equal(await ids({ kind: 'service_account' }), ['T3']);
    const first = await store.revokeToken({
      org: 'acme.example',
      id: 'T2',
      at: 50,
      by: 'dana@acme.example',
      reason: 'leaked',
    });
    assert.equal(
      [first.changed, first.token?.revoked],
      [true, { at: 50, by: 'dana@acme.example', reason: 'leaked' }],
    );
    const again = await store.revokeToken({
      org: 'acme.example',
      id: 'T2',
      at: 60,
      by: 'raj@acme.example',
      reason: null,
    });
    assert.equal(
      [again.changed, again.token?.revoked?.at, again.token?.revoked?.by],
      [false, 50, 'dana@acme.example'],
    );
    assert.equal(await store.revokeToken({ org: 'acme.example', id: 'T9', at: 60, by: 'x', reason: null }), {
      token: null,
      changed: false,
    });
    assert.equal(await ids({ revoked: 'revoked' }), ['T2']);
    assert.equal(await ids({ revoked: 'unrevoked' }), ['T1', 'T3']);
    assert.equal([...(await store.revokedTokenIds())], [['acme.example', ['T2']]]);
  });

  s(
    'a go-live that turns PATs off revokes every unrevoked PAT of that org, in the same call',
    async ({ store }) => {
      await store.appendDecisions(
        [record(1)],
        [
          sighting('P1'),
          sighting('P2'),
          sighting('S1', { kind: 'service_account', service_account: 'ci-bot' }),
          sighting('P3', { org: 'other.example' }),
        ],
      );
      await store.revokeToken({
        org: 'acme.example',
        id: 'P2',
        at: 50,
        by: 'dana@acme.example',
        reason: 'leaked',
      });
      const { swept } = await store.recordGoLive(
        [
          {
            org: 'acme.example',
            revision: 'r2',
            at: 700,
            expiration_days: null,
            personal_access_tokens: 'disabled',
          },
        ],
        { sweepPats: ['acme.example'] },
      );
      assert.equal([...swept], [['acme.example', ['P1']]]);
      assert.equal((await store.getToken('acme.example', 'P1'))?.revoked, {
        at: 700,
        by: 'policy',
        reason: 'personal access tokens turned off',
      });
      assert.is(
        (await store.getToken('acme.example', 'P2'))?.revoked?.by,
        'dana@acme.example',
        'first revocation kept',
      );
      assert.is((await store.getToken('acme.example', 'S1'))?.revoked, null, 'service-account tokens stay');
      assert.is((await store.getToken('other.example', 'P3'))?.revoked, null, 'other orgs stay');
      assert.is((await store.goLives('acme.example')).length, 1);
    },
  );

  s(
    'approval requests: a pending one per requester and app (merged), deny once, approve at go-live',
    async ({ store }) => {
      const ask = (id: string, requester: string, app: string, at: number, note: string | null = null) =>
        store.createApprovalRequest({
          id,
          org: 'acme.example',
          app_id: app,
          app_name: null,
          requester_id: requester,
          requester_email: `${requester.toLowerCase()}@acme.example`,
          note,
          at,
        });
      const a = await ask('r1', 'U1', 'A1', 10, 'for the roadmap');
      assert.equal(
        [a.merged, a.request.status, a.request.asks, a.request.note],
        [false, 'pending', 1, 'for the roadmap'],
      );
      const b = await ask('r2', 'U1', 'A1', 20);
      assert.equal(
        [b.merged, b.request.id, b.request.asks, b.request.note, b.request.updated_at],
        [true, 'r1', 2, 'for the roadmap', 20],
      );
      await ask('r3', 'U2', 'A1', 30);
      await ask('r4', 'U1', 'A2', 40);
      await store.createApprovalRequest({
        id: 'r6',
        org: 'other.example',
        app_id: 'A1',
        app_name: null,
        requester_id: 'U1',
        requester_email: 'u1@other.example',
        note: null,
        at: 50,
      });
      const list = async (q: { status?: 'pending' | 'approved' | 'denied'; app?: string } = {}) =>
        (await store.listApprovalRequests({ org: 'acme.example', ...q })).map((r) => r.id);
      assert.equal(await list(), ['r4', 'r3', 'r1']);
      assert.equal(await list({ app: 'A1' }), ['r3', 'r1']);
      const denied = await store.denyApprovalRequest({
        org: 'acme.example',
        id: 'r4',
        at: 60,
        by: 'dana@acme.example',
        reason: 'no',
      });
      assert.equal([denied.changed, denied.request?.status, denied.request?.reason], [true, 'denied', 'no']);
      const again = await store.denyApprovalRequest({
        org: 'acme.example',
        id: 'r4',
        at: 70,
        by: 'raj@acme.example',
        reason: 'x',
      });
      assert.equal([again.changed, again.request?.decided_by], [false, 'dana@acme.example']);
      assert.equal(
        await store.denyApprovalRequest({ org: 'other.example', id: 'r4', at: 70, by: 'x', reason: 'x' }),
        {
          request: null,
          changed: false,
        },
      );
      // Denied, so asking again files a new one.
      assert.is((await ask('r7', 'U1', 'A2', 80)).merged, false);
      const { approved } = await store.recordGoLive(
        [
          {
            org: 'acme.example',
            revision: 'r9',
            at: 90,
            expiration_days: null,
            personal_access_tokens: 'enabled',
          },
        ],
        { approvedApps: { 'acme.example': ['A1'] } },
      );
      assert.equal(approved.map((r) => [r.id, r.status, r.decided_by, r.decided_at]).sort(), [
        ['r1', 'approved', 'policy', 90],
        ['r3', 'approved', 'policy', 90],
      ]);
      assert.equal(await list({ status: 'pending' }), ['r7']);
      assert.is(
        (await store.getApprovalRequest('other.example', 'r6'))?.status,
        'pending',
        'other orgs untouched',
      );
      assert.is(await store.getApprovalRequest('acme.example', 'r6'), null);
      assert.equal(
        (await store.requestEvents({ org: 'acme.example', requestId: 'r1' })).map((e) => [
          e.type,
          e.at,
          e.by,
        ]),
        [
          ['created', 10, null],
          ['merged', 20, null],
          ['approved', 90, 'policy'],
        ],
      );
      assert.equal(
        (await store.requestEvents({ org: 'acme.example' })).map((e) => e.type),
        ['created', 'merged', 'created', 'created', 'denied', 'created', 'approved', 'approved'],
      );
    },
  );

  s(
    'connected apps: first seen, last activity, active members over 30 days, latest name and scopes',
    async ({ store }) => {
      const D = 86_400;
      const now = 1_000 * D + 3_600; // day 1000, 01:00 UTC
      const use = (app_id: string, user_id: string, at: number, over: Partial<UsageSighting> = {}) => ({
        org: 'acme.example',
        app_id,
        user_id,
        email: `${user_id.toLowerCase()}@acme.example`,
        app_name: null,
        scopes: null,
        at,
        ...over,
      });
      await store.appendDecisions(
        [record(1)],
        [],
        [
          use('A1', 'U1', now - 40 * D, { app_name: 'Old name', scopes: ['a'] }),
          use('A1', 'U2', now - 29 * D), // day 971: the first day of the 30-day window
          use('A1', 'U3', now - 10 * D, { app_name: 'Calendar Bot', scopes: ['b', 'c'] }),
          use('A1', 'U3', now - 10 * D + 60),
          use('A2', 'U1', now - 100 * D), // outside both windows, still connected
          use('A1', 'U9', now, { org: 'other.example' }),
        ],
      );
      const apps = await store.listConnectedApps('acme.example', now);
      assert.equal(
        apps.map((a) => [a.app_id, a.name, a.scopes, a.first_seen, a.last_activity, a.active_members]),
        [
          ['A1', 'Calendar Bot', ['b', 'c'], now - 40 * D, now - 10 * D + 60, 2],
          ['A2', null, null, now - 100 * D, now - 100 * D, 0],
        ],
      );
      assert.is(
        (await store.getConnectedApp('acme.example', 'A1', now + D))?.active_members,
        1,
        'U2 left the window',
      );
      assert.is(await store.getConnectedApp('acme.example', 'nope', now), null);
      assert.is(await store.getConnectedApp('acme.example', 'A1', now).then((a) => a?.org), 'acme.example');
    },
  );

  s(
    'app usage: uses per user on the last 90 UTC days, last use, email; bounded by the window',
    async ({ store }) => {
      const D = 86_400;
      const now = 2_000 * D + 100;
      const use = (
        app_id: string,
        user_id: string,
        at: number,
        email: string | null = null,
      ): UsageSighting => ({
        org: 'acme.example',
        app_id,
        user_id,
        email,
        app_name: null,
        scopes: null,
        at,
      });
      await store.appendDecisions(
        [record(1)],
        [],
        [
          use('A1', 'U1', now - 95 * D, 'u1@acme.example'), // too old to count
          use('A1', 'U1', now - 89 * D), // day 1911: the first day of the 90-day window
          use('A1', 'U1', now - 3 * D),
          use('A1', 'U1', now - 3 * D + 5),
          use('A1', 'U2', now - 91 * D, '=cmd|x@x.example'),
          use('A2', 'U2', now, 'u2@acme.example'),
        ],
      );
      await store.appendDecisions([record(2)], [], [use('A1', 'U1', now - 3 * D + 9)]);
      const rows = await store.appUsage('acme.example', now);
      assert.equal(rows, [
        {
          org: 'acme.example',
          app_id: 'A1',
          user_id: 'U1',
          email: 'u1@acme.example',
          uses_90d: 4,
          last_used: now - 3 * D + 9,
        },
        {
          org: 'acme.example',
          app_id: 'A2',
          user_id: 'U2',
          email: 'u2@acme.example',
          uses_90d: 1,
          last_used: now,
        },
      ]);
      assert.equal(
        (await store.appUsage('acme.example', now, 'A2')).map((r) => r.user_id),
        ['U2'],
      );
      assert.equal(await store.appUsage('other.example', now), []);
    },
  );

  s('member joins: latest join wins, blocked apps accumulate, join times by org', async ({ store }) => {
    await store.recordMemberJoin(
      { org: 'acme.example', user_id: 'G1', role: 'guest', joined_at: 100, recorded_at: 110 },
      ['A2', 'A1'],
    );
    await store.recordMemberJoin(
      { org: 'acme.example', user_id: 'G1', role: 'member', joined_at: 200, recorded_at: 210 },
      ['A1', 'A3'],
    );
    await store.recordMemberJoin(
      { org: 'beta.example', user_id: 'G1', role: 'guest', joined_at: 50, recorded_at: 60 },
      [],
    );
    assert.equal(await store.getMemberJoin('acme.example', 'G1'), {
      org: 'acme.example',
      user_id: 'G1',
      role: 'member',
      joined_at: 200,
      recorded_at: 210,
    });
    assert.is(await store.getMemberJoin('acme.example', 'G2'), null);
    assert.equal(
      (await store.memberBlockedApps('acme.example', 'G1')).map((b) => [b.app_id, b.at]),
      [
        ['A1', 110],
        ['A2', 110],
        ['A3', 210],
      ],
    );
    assert.equal(await store.memberBlockedApps('beta.example', 'G1'), []);
    const times = await store.memberJoinTimes();
    assert.equal([...times].map(([org, m]) => [org, [...m]]).sort(), [
      ['acme.example', [['G1', 200]]],
      ['beta.example', [['G1', 50]]],
    ]);
  });

  s('outbox: a dedupe key is queued once, also across calls; a bad row queues nothing', async ({ store }) => {
    assert.is(await store.enqueueNotifications([mail('k1'), mail('k2', { org: 'beta.example' })], 100), 2);
    assert.is(await store.enqueueNotifications([mail('k1'), mail('k3'), mail('k3')], 200), 1);
    const rows = await store.listNotifications({});
    // The row a caller just queued is found by its key: the first enqueue's, not the ignored duplicate's.
    assert.is((await store.getNotificationByKey('k1'))?.created_at, 100);
    assert.is(await store.getNotificationByKey('nope'), null);
    assert.equal(
      rows.map((r) => [r.dedupe_key, r.created_at]),
      [
        ['k3', 200],
        ['k2', 100],
        ['k1', 100],
      ],
      'newest first',
    );
    const k3 = rows[0] as Notification;
    assert.equal(await store.getNotification(k3.id), {
      ...mail('k3'),
      id: k3.id,
      status: 'pending',
      attempts: 0,
      created_at: 200,
      next_attempt_at: 200,
      sent_at: null,
      last_error: null,
    });
    assert.match(k3.id, /^[0-9a-f-]{36}$/);
    assert.equal(
      (await store.listNotifications({ org: 'beta.example' })).map((r) => r.dedupe_key),
      ['k2'],
    );
    assert.equal(
      (await store.listNotifications({ limit: 1 })).map((r) => r.dedupe_key),
      ['k3'],
    );
    await rejects(
      store.enqueueNotifications([mail('k4'), mail('k5', { to: [] })], 300),
      (e) => isEngineError(e, 'invalid_input') && /recipient/.test(String(e)),
      'no recipient',
    );
    assert.is(await store.getNotification('nope'), null);
    assert.equal(await store.notificationCounts(), { pending: 3, sending: 0, sent: 0, dead: 0 });
  });

  s(
    'outbox: each event queues its emails in its own transaction, composed from its result',
    async ({ store }) => {
      const seen: unknown[] = [];
      await store.appendDecisions(
        [record(1)],
        [
          sighting('P1', { owner_email: 'u1@acme.example' }),
          sighting('P2', { owner: 'U2', owner_email: 'u2@acme.example' }),
        ],
      );
      const filed = await store.createApprovalRequest(ask('r1', 10), (res) => {
        seen.push(['request', res.request.id, res.request.status, res.merged]);
        return [mail(`approval_request:${res.request.id}`), mail(`request_confirmation:${res.request.id}`)];
      });
      await store.createApprovalRequest(ask('r2', 11), (res) => {
        seen.push(['request', res.request.id, res.request.asks, res.merged]);
        return []; // a merge: nothing new to say
      });
      await store.denyApprovalRequest(
        { org: 'acme.example', id: 'r1', at: 20, by: 'dana@acme.example', reason: 'not now' },
        (res) => {
          seen.push(['deny', res.request?.status, res.request?.reason, res.changed]);
          return res.changed ? [mail(`request_decision:${res.request?.id}`)] : [];
        },
      );
      await store.revokeToken(
        { org: 'acme.example', id: 'P2', at: 30, by: 'dana@acme.example', reason: 'leaked' },
        (res) => {
          seen.push(['revoke', res.token?.id, res.token?.owner_email, res.token?.revoked?.by, res.changed]);
          return [mail(`token_revoked:${res.token?.id}`, { to: [res.token?.owner_email ?? ''] })];
        },
      );
      await store.recordGoLive(
        [
          {
            org: 'acme.example',
            revision: 'r9',
            at: 40,
            expiration_days: null,
            personal_access_tokens: 'disabled',
          },
        ],
        {
          sweepPats: ['acme.example'],
          notify: (res) => {
            const tokens = res.sweptTokens.get('acme.example') ?? [];
            seen.push(['go-live', [...res.swept], tokens.map((t) => [t.id, t.owner_email, t.revoked?.at])]);
            return tokens.map((t) => mail(`pats_revoked:${t.id}`, { to: [t.owner_email ?? ''] }));
          },
        },
      );
      await store.recordMemberJoin(
        { org: 'acme.example', user_id: 'G1', role: 'guest', joined_at: 50, recorded_at: 51 },
        ['A1'],
        () => [mail('guest_apps_blocked:G1')],
      );
      assert.equal(seen, [
        ['request', filed.request.id, 'pending', false],
        ['request', filed.request.id, 2, true],
        ['deny', 'denied', 'not now', true],
        ['revoke', 'P2', 'u2@acme.example', 'dana@acme.example', true],
        ['go-live', [['acme.example', ['P1']]], [['P1', 'u1@acme.example', 40]]],
      ]);
      const rows = (await store.listNotifications({ org: 'acme.example' })).reverse();
      assert.equal(
        rows.map((r) => [r.dedupe_key, r.created_at, r.to]),
        [
          ['approval_request:r1', 10, ['dana@acme.example']],
          ['request_confirmation:r1', 10, ['dana@acme.example']],
          ['request_decision:r1', 20, ['dana@acme.example']],
          ['token_revoked:P2', 30, ['u2@acme.example']],
          ['pats_revoked:P1', 40, ['u1@acme.example']],
          ['guest_apps_blocked:G1', 51, ['dana@acme.example']],
        ],
      );
      // The same event again (a repeated deny): composes again, the dedupe key keeps one email.
      await store.denyApprovalRequest(
        { org: 'acme.example', id: 'r1', at: 21, by: 'dana@acme.example', reason: 'x' },
        () => [mail('request_decision:r1')],
      );
      assert.is((await store.listNotifications({})).length, 6);
    },
  );

  s('outbox: a compose that throws (or returns a bad row) rolls its event back', async ({ store }) => {
    await store.appendDecisions([record(1)], [sighting('P1')]);
    const boom = () => {
      throw new Error('template data missing');
    };
    await rejects(
      store.createApprovalRequest(ask('r1', 10), boom),
      (e) => /template data/.test(String(e)),
      'create',
    );
    assert.equal(await store.listApprovalRequests({ org: 'acme.example' }), [], 'no request filed');
    await store.createApprovalRequest(ask('r1', 10));
    await rejects(
      store.createApprovalRequest(ask('r2', 11), () => [mail('k', { to: [] })]),
      (e) => isEngineError(e, 'invalid_input'),
      'merge with a bad row',
    );
    assert.is((await store.getApprovalRequest('acme.example', 'r1'))?.asks, 1, 'merge undone');
    await rejects(
      store.denyApprovalRequest({ org: 'acme.example', id: 'r1', at: 20, by: 'd', reason: 'no' }, boom),
      () => true,
      'deny',
    );
    assert.is((await store.getApprovalRequest('acme.example', 'r1'))?.status, 'pending');
    await rejects(
      store.revokeToken({ org: 'acme.example', id: 'P1', at: 30, by: 'd', reason: null }, boom),
      () => true,
      'revoke',
    );
    assert.is((await store.getToken('acme.example', 'P1'))?.revoked, null);
    await rejects(
      store.recordGoLive(
        [
          {
            org: 'acme.example',
            revision: 'r9',
            at: 40,
            expiration_days: null,
            personal_access_tokens: 'disabled',
          },
        ],
        { sweepPats: ['acme.example'], approvedApps: { 'acme.example': ['A1'] }, notify: boom },
      ),
      () => true,
      'go-live',
    );
    assert.equal(await store.goLives(), [], 'no go-live recorded');
    assert.is((await store.getToken('acme.example', 'P1'))?.revoked, null, 'no sweep');
    assert.is((await store.getApprovalRequest('acme.example', 'r1'))?.status, 'pending', 'no approval');
    assert.equal(
      (await store.requestEvents({ org: 'acme.example' })).map((e) => e.type),
      ['created'],
      'no event of the rolled-back calls',
    );
    await rejects(
      store.recordMemberJoin(
        { org: 'acme.example', user_id: 'G1', role: 'guest', joined_at: 50, recorded_at: 51 },
        ['A1'],
        boom,
      ),
      () => true,
      'join',
    );
    assert.is(await store.getMemberJoin('acme.example', 'G1'), null);
    assert.equal(await store.memberBlockedApps('acme.example', 'G1'), []);
    assert.equal(await store.listNotifications({}), [], 'no email queued');
  });

  s(
    'outbox: claims are oldest first, exclusive, leased; an expired lease is claimed again',
    async ({ store }) => {
      for (let i = 0; i < 5; i++) await store.enqueueNotifications([mail(`k${i}`)], 100 + i);
      await store.enqueueNotifications([mail('later')], 500);
      const first = await store.claimNotifications(200, 2, 60);
      assert.equal(
        first.map((r) => [r.dedupe_key, r.status, r.attempts, r.next_attempt_at]),
        [
          ['k0', 'sending', 1, 260],
          ['k1', 'sending', 1, 260],
        ],
      );
      const [a, b] = await Promise.all([
        store.claimNotifications(200, 10, 60),
        store.claimNotifications(200, 10, 60),
      ]);
      const keys = [...(a ?? []), ...(b ?? [])].map((r) => r.dedupe_key).sort();
      assert.equal(keys, ['k2', 'k3', 'k4'], 'every due row claimed once, none twice');
      assert.equal(await store.claimNotifications(259, 10, 60), [], 'leases held, the later row not due');
      assert.equal(await store.notificationCounts(), { pending: 1, sending: 5, sent: 0, dead: 0 });
      await store.markNotificationSent(first[0]?.id ?? '', 230);
      // k1's worker crashed: its lease runs out at 260 and another worker takes it (attempt 2).
      const again = await store.claimNotifications(260, 10, 60);
      assert.equal(
        again.map((r) => [r.dedupe_key, r.attempts]),
        [
          ['k1', 2],
          ['k2', 2],
          ['k3', 2],
          ['k4', 2],
        ],
      );
      const k0 = await store.getNotification(first[0]?.id ?? '');
      assert.equal([k0?.status, k0?.sent_at, k0?.attempts], ['sent', 230, 1]);
    },
  );

  s(
    'outbox: a failed attempt backs off, the last one is dead, an admin retry starts over',
    async ({ store }) => {
      await store.enqueueNotifications([mail('k1'), mail('k2')], 100);
      const [one, two] = await store.claimNotifications(100, 10, 60);
      const id = one?.id ?? '';
      await store.markNotificationSent(two?.id ?? '', 101);
      await store.markNotificationFailed(id, 101, '421 try later', 160);
      let row = await store.getNotification(id);
      assert.equal(
        [row?.status, row?.next_attempt_at, row?.last_error, row?.attempts],
        ['pending', 160, '421 try later', 1],
      );
      assert.equal(await store.claimNotifications(159, 10, 60), [], 'not due before its backoff');
      assert.equal(
        (await store.claimNotifications(160, 10, 60)).map((r) => [r.id, r.attempts]),
        [[id, 2]],
      );
      await store.markNotificationFailed(id, 161, '550 mailbox unavailable', null);
      row = await store.getNotification(id);
      assert.equal([row?.status, row?.last_error, row?.attempts], ['dead', '550 mailbox unavailable', 2]);
      assert.equal(await store.claimNotifications(10_000, 10, 60), [], 'a dead row is never claimed');
      assert.equal(
        (await store.listNotifications({ status: 'dead' })).map((r) => r.id),
        [id],
      );
      // A late failure report for a row another worker sent changes nothing.
      await store.markNotificationFailed(two?.id ?? '', 171, 'late', 200);
      assert.equal((await store.getNotification(two?.id ?? ''))?.status, 'sent');
      assert.equal(await store.notificationCounts(), { pending: 0, sending: 0, sent: 1, dead: 1 });

      const retried = await store.retryNotification(id, 300);
      assert.equal(
        [retried?.status, retried?.attempts, retried?.next_attempt_at, retried?.last_error],
        ['pending', 0, 300, '550 mailbox unavailable'],
      );
      assert.equal(
        (await store.claimNotifications(300, 10, 60)).map((r) => [r.id, r.attempts]),
        [[id, 1]],
      );
      // Claimed until 360: a live worker holds it, a retry changes nothing; after its claim ran out (the
      // worker died) a retry makes it due at once.
      assert.equal((await store.retryNotification(id, 330))?.status, 'sending');
      const stale = await store.retryNotification(id, 400);
      assert.equal([stale?.status, stale?.next_attempt_at, stale?.attempts], ['pending', 400, 1]);
      const sent = await store.retryNotification(two?.id ?? '', 300);
      assert.equal([sent?.status, sent?.sent_at], ['sent', 101], 'a sent email is not sent again');
      assert.is(await store.retryNotification('nope', 300), null);
    },
  );

  s.run();
}

const sqlite = suite('sqlite only');

sqlite('a file store keeps everything across close and reopen', async () => {
  const path = tempDb();
  let store = openStore(path);
  await store.appendDecisions([record(1)], [sighting('T1')]);
  await store.recordGoLive([
    { org: 'acme.example', revision: 'r1', at: 1, expiration_days: 30, personal_access_tokens: 'enabled' },
  ]);
  await store.revokeToken({ org: 'acme.example', id: 'T1', at: 5, by: 'dana@acme.example', reason: null });
  await store.close();
  store = openStore(path);
  assert.equal(await store.getDecision('d-0001'), record(1));
  assert.equal([...(await store.revokedTokenIds())], [['acme.example', ['T1']]]);
  assert.is((await store.goLives()).length, 1);
  await store.close();
});

sqlite(
  'decision filters walk an index newest first (no full scan, no sort); a page examines a bounded number of rows',
  async () => {
    const path = tempDb();
    const store = openStore(path);
    const n = MAX_DECISION_SCAN + 3;
    const rows: DecisionRecord[] = [];
    for (let i = 1; i <= n; i++)
      rows.push(record(i, { subject_id: 'S', reason: i <= 3 ? 'app_blocked' : 'allowed' }));
    await store.appendDecisions(rows);
    const db = new Database(path, { readonly: true });
    const plan = (q: Omit<DecisionQuery, 'limit'>) => {
      const { sql, params } = decisionScanSql({ ...q, limit: 10 }, MAX_DECISION_SCAN);
      return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[])
        .map((r) => r.detail)
        .join('; ');
    };
    const org = 'acme.example';
    for (const [q, index] of [
      [{ org, subject: 'S' }, 'decision_log_subject'],
      [{ org, reason: 'allowed' }, 'decision_log_reason'],
      [{ org, action: 'token.use' }, 'decision_log_action'],
      [{ org, subject: 'S', reason: 'allowed', cursor: encodeCursor(50) }, 'decision_log_subject'],
    ] as const) {
      const detail = plan(q);
      assert.match(detail, new RegExp(`USING (COVERING )?INDEX ${index}`), detail);
      assert.not.match(detail, /TEMP B-TREE/, detail);
    }
    db.close();
    // Only the 3 oldest rows match: the first page stops at the scan bound, empty, and says where to go on.
    const first = await store.queryDecisions({ org, subject: 'S', reason: 'app_blocked', limit: 10 });
    assert.is(first.decisions.length, 0);
    assert.ok(first.next_cursor);
    const second = await store.queryDecisions({
      org,
      subject: 'S',
      reason: 'app_blocked',
      limit: 10,
      cursor: first.next_cursor as string,
    });
    assert.equal(
      second.decisions.map((d) => d.decision_id),
      ['d-0003', 'd-0002', 'd-0001'],
    );
    assert.is(second.next_cursor, null);
    await store.close();
  },
);

sqlite('migrations run once, are recorded, and the journal is WAL', async () => {
  const path = tempDb();
  await openStore(path).close();
  await openStore(path).close();
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
  assert.equal(
    rows,
    MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
  );
  assert.is(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

sqlite('a database made by an older appwarden gets the newer migrations and keeps its rows', async () => {
  const path = tempDb();
  const store = openStore(path);
  await store.appendDecisions([record(1)]);
  await store.close();
  const db = new Database(path);
  db.exec(
    'DROP TABLE tokens; DROP TABLE request_events; DROP TABLE approval_requests; DROP TABLE connected_apps; ' +
      'DROP TABLE app_usage_daily; DROP TABLE app_users; DROP TABLE member_joins; DROP TABLE member_blocked_apps; ' +
      'DROP TABLE outbox; ' +
      'ALTER TABLE decision_log DROP COLUMN input_json',
  );
  db.prepare('DELETE FROM schema_migrations WHERE version > 1').run();
  db.close();
  const upgraded = openStore(path);
  assert.equal(await upgraded.getDecision('d-0001'), record(1));
  await upgraded.appendDecisions([record(4)]);
  assert.equal((await upgraded.getDecision('d-0004'))?.input, record(4).input, 'the input column is back');
  await upgraded.appendDecisions([record(2)], [sighting('T1')]);
  assert.is((await upgraded.getToken('acme.example', 'T1'))?.id, 'T1');
  assert.equal(await upgraded.listApprovalRequests({ org: 'acme.example' }), []);
  assert.equal(await upgraded.listConnectedApps('acme.example', 0), []);
  assert.is(await upgraded.getMemberJoin('acme.example', 'U1'), null);
  assert.is(await upgraded.enqueueNotifications([mail('k1')], 10), 1, 'the outbox is there');
  await upgraded.close();
});

sqlite(
  'a read-only open reads the file as it is, writes nothing, and refuses other schema versions',
  async () => {
    const path = tempDb();
    const rw = openStore(path);
    await rw.appendDecisions([record(2)]);
    await rw.close();
    const ro = openStore(path, { readonly: true });
    assert.equal(await ro.getDecision('d-0002'), record(2));
    try {
      await ro.appendDecisions([record(3)]);
      assert.unreachable('wrote through a read-only store');
    } catch (err) {
      assert.ok(isEngineError(err, 'io_error'), String(err));
    }
    await ro.close();
    assert.is(await openStore(path).getDecision('d-0003'), null, 'nothing was written');
    const missing = join(mkdtempSync(join(tmpdir(), 'appwarden-store-')), 'none.db');
    assert.throws(() => openStore(missing, { readonly: true }), /none\.db/);
    assert.not.ok(spawnSync('test', ['-e', missing]).status === 0, 'a read-only open creates no file');
    const db = new Database(path);
    db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(
      MIGRATIONS[MIGRATIONS.length - 1]?.version,
    );
    db.close();
    assert.throws(() => openStore(path, { readonly: true }), /schema version \d+, this appwarden reads/);
  },
);

sqlite('a database with a newer schema is refused, not written to', async () => {
  const path = tempDb();
  await openStore(path).close();
  const db = new Database(path);
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run('future');
  db.close();
  try {
    openStore(path);
    assert.unreachable('opened');
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_config'), String(err));
    assert.match(String((err as Error).message), /schema version 999/);
  }
});

sqlite(
  'a read-then-write transaction waits for another process writing the file (IMMEDIATE, busy timeout)',
  async () => {
    const db = tempDb();
    const store = openStore(db);
    await store.createApprovalRequest({
      id: 'r0',
      org: 'acme.example',
      app_id: 'A0',
      app_name: null,
      requester_id: 'U0',
      requester_email: 'u0@acme.example',
      note: null,
      at: 1,
    });
    // Another process (a CLI command) holds the write lock for 300 ms, then commits a write.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(db)});
       db.exec('BEGIN IMMEDIATE'); db.prepare("INSERT INTO imported_history VALUES ('x.example', 'f', '[]', 1)").run();
       process.stdout.write('locked\\n');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300); db.exec('COMMIT'); db.close();`,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    // A DEFERRED transaction read first, then failed to upgrade with SQLITE_BUSY ("database is locked").
    const { request, merged } = await store.createApprovalRequest({
      id: 'r1',
      org: 'acme.example',
      app_id: 'A1',
      app_name: null,
      requester_id: 'U1',
      requester_email: 'u1@acme.example',
      note: null,
      at: 2,
    });
    assert.equal([request.id, merged], ['r1', false]);
    await new Promise((res) => child.once('exit', res));
    assert.equal(
      (await store.importedHistories()).map((h) => h.org),
      ['x.example'],
      'the other process committed too',
    );
    await store.close();
  },
);

sqlite(
  'serve on a read-only store file exits 2 at start, naming the file (not a server that is never ready)',
  async () => {
    const db = tempDb();
    await openStore(db).close();
    const dir = join(db, '..');
    // The directory stays writable (SQLite may make its -shm there); the file itself is read-only.
    chmodSync(dir, 0o777);
    chmodSync(join(dir, '..'), 0o755);
    chmodSync(db, 0o444);
    const root = join(import.meta.dirname, '..');
    // root ignores file modes: run as nobody then — which needs to read the checkout (a clone in a
    // private temporary directory, as some CI runners make, is not readable by nobody).
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if (process.getuid?.() === 0) {
      const probe = spawnSync(
        process.execPath,
        ['-e', `require('node:fs').accessSync(${JSON.stringify(join(root, 'bin', 'appwarden.js'))})`],
        { ...asNobody },
      );
      if (probe.status !== 0) {
        console.log('  (skipped: user nobody cannot read this checkout, and root ignores file modes)');
        return;
      }
    }
    const child = spawn(
      process.execPath,
      [
        join(root, 'bin', 'appwarden.js'),
        'serve',
        '--policy',
        join(root, 'examples', 'policy-repo'),
        '--port',
        '0',
        '--store',
        db,
      ],
      {
        cwd: root,
        env: { ...process.env, APPWARDEN_TOKEN_SHA256: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...asNobody,
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    clearTimeout(timer);
    assert.is(code, 2, stderr);
    assert.match(stderr, /is not writable/);
    assert.ok(stderr.includes(db), stderr);
  },
);

sqlite('a postgres:// URL is refused until that backend exists', () => {
  try {
    openStore('postgres://localhost/appwarden');
    assert.unreachable('opened');
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_config'), String(err));
  }
});

sqlite.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

sqlite.run();
