// An in-process store with no SQL at all: the reference the shared store suite holds every backend to,
// and a store for tests that need no persistence. Nothing survives the process.
import { randomUUID } from 'node:crypto';
import { EngineError } from '../errors.ts';
import type { NewNotification, Notification, NotificationStatus } from '../notify/types.ts';
import { NOTIFICATION_STATUSES } from '../notify/types.ts';
import {
  ACTIVE_MEMBER_DAYS,
  type ApprovalRequest,
  type AppUserUsage,
  type ConnectedApp,
  checkNotifications,
  DAY_SECONDS,
  type DecisionPage,
  type DecisionRecord,
  decodeCursor,
  encodeCursor,
  type GoLiveRecord,
  type ImportedHistory,
  type MemberBlockedApp,
  type MemberJoin,
  matchesTokenQuery,
  mergeSighting,
  NOTIFICATION_PAGE,
  PAT_SWEEP,
  type RequestEvent,
  type Store,
  type TokenRecord,
  USAGE_DAYS,
  windowStartDay,
} from './store.ts';

/**
 * Creates an empty memory store. Same contract as the SQLite store: appends are all-or-nothing (a record
 * whose `decision_id` is already logged rejects the whole batch), pages newest first, cursors opaque. An
 * event with a `notify` computes its result first, composes, then applies both: a throw changes nothing.
 */
export function createMemoryStore(): Store {
  const goLives: { seq: number; record: GoLiveRecord }[] = [];
  const imports = new Map<string, ImportedHistory>();
  const decisions: { seq: number; record: DecisionRecord }[] = [];
  const ids = new Set<string>();
  const tokens = new Map<string, TokenRecord>();
  const key = (org: string, id: string) => `${org}\u0000${id}`;
  const requests: ApprovalRequest[] = [];
  const events: RequestEvent[] = [];
  // Connected apps (without active_members), per-(app, user) email and last use, and daily counts keyed
  // org, app, user, day: the SQLite tables' shape, so the two backends count alike.
  const apps = new Map<string, Omit<ConnectedApp, 'active_members'>>();
  const appUsers = new Map<string, { email: string | null; last_used: number }>();
  const daily = new Map<
    string,
    { org: string; app_id: string; user_id: string; day: number; uses: number }
  >();
  let prunedBefore = Number.NEGATIVE_INFINITY;
  const joins = new Map<string, MemberJoin>();
  const blockedForMember: MemberBlockedApp[] = [];
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  function withMembers(a: Omit<ConnectedApp, 'active_members'>, now: number): ConnectedApp {
    const from = windowStartDay(now, ACTIVE_MEMBER_DAYS);
    const users = new Set<string>();
    for (const d of daily.values()) {
      if (d.org === a.org && d.app_id === a.app_id && d.day >= from) users.add(d.user_id);
    }
    return { ...copy(a), active_members: users.size };
  }
  let seq = 0;
  function event(
    r: ApprovalRequest,
    at: number,
    type: RequestEvent['type'],
    by: string | null,
    reason: string | null,
  ) {
    events.push({ seq: ++seq, request_id: r.id, org: r.org, at, type, by, reason });
  }
  let closed = false;
  // The outbox, in insertion order (`seq` breaks created_at ties like SQLite's rowid).
  const outbox: { seq: number; row: Notification }[] = [];
  const dedupeKeys = new Set<string>();
  /** Checks rows and returns the new ones as outbox entries, changing nothing (apply with `commitOutbox`). */
  function planOutbox(rows: readonly NewNotification[] | undefined, at: number): Notification[] {
    if (!rows) return [];
    checkNotifications(rows);
    const seen = new Set<string>();
    const out: Notification[] = [];
    for (const r of rows) {
      if (dedupeKeys.has(r.dedupe_key) || seen.has(r.dedupe_key)) continue;
      seen.add(r.dedupe_key);
      out.push({
        ...copy(r),
        id: randomUUID(),
        status: 'pending',
        attempts: 0,
        created_at: at,
        next_attempt_at: at,
        sent_at: null,
        last_error: null,
      });
    }
    return out;
  }
  function commitOutbox(rows: Notification[]): number {
    for (const row of rows) {
      dedupeKeys.add(row.dedupe_key);
      outbox.push({ seq: ++seq, row });
    }
    return rows.length;
  }
  const nowSec = () => Math.floor(Date.now() / 1000);

  async function open(what: string): Promise<void> {
    if (closed) throw new EngineError('io_error', `store :memory:: cannot ${what}: the store is closed`);
  }
  // Callers may mutate what they passed or got; the store keeps and gives copies.
  const copy = <T>(x: T): T => structuredClone(x);

  return {
    kind: 'memory',
    location: ':memory:',
    async recordGoLive(records, opts = {}) {
      await open('record the policy history');
      // Plan every change on copies, compose, then apply (a throw in notify leaves nothing changed).
      const swept = new Map<string, string[]>();
      const sweptTokens = new Map<string, TokenRecord[]>();
      const revocations: [TokenRecord, TokenRecord['revoked']][] = [];
      for (const org of opts.sweepPats ?? []) {
        const at = records.find((r) => r.org === org)?.at ?? nowSec();
        const rows: TokenRecord[] = [];
        for (const t of tokens.values()) {
          if (t.org !== org || t.kind !== 'personal_access' || t.revoked !== null) continue;
          const revoked = { at, by: PAT_SWEEP.by, reason: PAT_SWEEP.reason };
          revocations.push([t, revoked]);
          rows.push({ ...copy(t), revoked: { ...revoked } });
        }
        rows.sort((a, b) => a.first_seen - b.first_seen || byText(a.id, b.id));
        swept.set(
          org,
          rows.map((t) => t.id),
        );
        sweptTokens.set(org, rows);
      }
      const approved: ApprovalRequest[] = [];
      const approvals: [ApprovalRequest, number][] = [];
      for (const [org, apps] of Object.entries(opts.approvedApps ?? {})) {
        const at = records.find((r) => r.org === org)?.at ?? nowSec();
        const set = new Set(apps);
        for (const r of requests) {
          if (r.org !== org || r.status !== 'pending' || !set.has(r.app_id)) continue;
          approvals.push([r, at]);
          approved.push({
            ...copy(r),
            status: 'approved',
            updated_at: at,
            decided_at: at,
            decided_by: 'policy',
          });
        }
      }
      const res = { swept, sweptTokens, approved };
      const mail = planOutbox(opts.notify?.(res), records[0]?.at ?? nowSec());
      for (const r of records) goLives.push({ seq: ++seq, record: copy(r) });
      for (const [t, revoked] of revocations) t.revoked = revoked;
      for (const [r, at] of approvals) {
        Object.assign(r, { status: 'approved', updated_at: at, decided_at: at, decided_by: 'policy' });
        event(r, at, 'approved', 'policy', null);
      }
      commitOutbox(mail);
      return { swept, sweptTokens: new Map([...sweptTokens].map(([o, ts]) => [o, ts.map(copy)])), approved };
    },
    async createApprovalRequest(n, notify) {
      await open('file the approval request');
      const pending = requests.find(
        (r) =>
          r.org === n.org &&
          r.app_id === n.app_id &&
          r.requester_id === n.requester_id &&
          r.status === 'pending',
      );
      if (pending) {
        const next: ApprovalRequest = {
          ...pending,
          asks: pending.asks + 1,
          updated_at: n.at,
          note: n.note ?? pending.note,
          app_name: n.app_name ?? pending.app_name,
          requester_email: n.requester_email,
        };
        const res = { request: copy(next), merged: true };
        const mail = planOutbox(notify?.(res), n.at);
        Object.assign(pending, next);
        event(pending, n.at, 'merged', null, null);
        commitOutbox(mail);
        return { request: copy(pending), merged: true };
      }
      const r: ApprovalRequest = {
        id: n.id,
        org: n.org,
        app_id: n.app_id,
        app_name: n.app_name,
        requester_id: n.requester_id,
        requester_email: n.requester_email,
        note: n.note,
        status: 'pending',
        asks: 1,
        created_at: n.at,
        updated_at: n.at,
        decided_at: null,
        decided_by: null,
        reason: null,
      };
      const mail = planOutbox(notify?.({ request: copy(r), merged: false }), n.at);
      requests.push(r);
      event(r, n.at, 'created', null, null);
      commitOutbox(mail);
      return { request: copy(r), merged: false };
    },
    async listApprovalRequests(q) {
      await open('read approval requests');
      return requests
        .filter(
          (r) =>
            r.org === q.org &&
            (q.status === undefined || r.status === q.status) &&
            (q.app === undefined || r.app_id === q.app),
        )
        .reverse()
        .map(copy);
    },
    async getApprovalRequest(org, id) {
      await open('read approval requests');
      const r = requests.find((x) => x.org === org && x.id === id);
      return r ? copy(r) : null;
    },
    async denyApprovalRequest(d, notify) {
      await open('deny the approval request');
      const r = requests.find((x) => x.org === d.org && x.id === d.id);
      if (r?.status !== 'pending') {
        const res = { request: r ? copy(r) : null, changed: false };
        commitOutbox(planOutbox(notify?.(res), d.at));
        return res;
      }
      const next: ApprovalRequest = {
        ...r,
        status: 'denied',
        updated_at: d.at,
        decided_at: d.at,
        decided_by: d.by,
        reason: d.reason,
      };
      const mail = planOutbox(notify?.({ request: copy(next), changed: true }), d.at);
      Object.assign(r, next);
      event(r, d.at, 'denied', d.by, d.reason);
      commitOutbox(mail);
      return { request: copy(r), changed: true };
    },
    async requestEvents(q) {
      await open('read request events');
      return events
        .filter((e) => e.org === q.org && (q.requestId === undefined || e.request_id === q.requestId))
        .map(copy);
    },
    async goLives(org) {
      await open('read the policy history');
      return goLives
        .filter((g) => org === undefined || g.record.org === org)
        .sort((a, b) => a.record.at - b.record.at || a.seq - b.seq)
        .map((g) => copy(g.record));
    },
    async importHistory(h) {
      await open('import the history');
      imports.set(h.org, copy(h));
    },
    async removeImportedHistory(org) {
      await open('remove the imported history');
      return imports.delete(org);
    },
    async importedHistories() {
      await open('read imported histories');
      return [...imports.values()].sort((a, b) => (a.org < b.org ? -1 : a.org > b.org ? 1 : 0)).map(copy);
    },
    async appendDecisions(records, sightings = [], usage = []) {
      await open('append to the decision log');
      const batch = new Set<string>();
      for (const r of records) {
        if (ids.has(r.decision_id) || batch.has(r.decision_id)) {
          throw new EngineError(
            'io_error',
            `store :memory:: cannot append to the decision log: decision ${r.decision_id} is already logged`,
          );
        }
        batch.add(r.decision_id);
      }
      for (const r of records) {
        ids.add(r.decision_id);
        decisions.push({ seq: ++seq, record: copy(r) });
      }
      for (const t of sightings) {
        const k = key(t.org, t.id);
        tokens.set(k, mergeSighting(tokens.get(k) ?? null, t));
      }
      let newestDay = Number.NEGATIVE_INFINITY;
      for (const u of usage) {
        const day = Math.floor(u.at / DAY_SECONDS);
        newestDay = Math.max(newestDay, day);
        const ak = key(u.org, u.app_id);
        const a = apps.get(ak);
        if (!a) {
          apps.set(ak, {
            org: u.org,
            app_id: u.app_id,
            name: u.app_name,
            scopes: u.scopes === null ? null : [...u.scopes],
            first_seen: u.at,
            last_activity: u.at,
          });
        } else {
          a.name = u.app_name ?? a.name;
          a.scopes = u.scopes === null ? a.scopes : [...u.scopes];
          a.first_seen = Math.min(a.first_seen, u.at);
          a.last_activity = Math.max(a.last_activity, u.at);
        }
        const dk = `${key(ak, u.user_id)}\u0000${day}`;
        const d = daily.get(dk);
        if (d) d.uses += 1;
        else daily.set(dk, { org: u.org, app_id: u.app_id, user_id: u.user_id, day, uses: 1 });
        const uk = key(ak, u.user_id);
        const au = appUsers.get(uk);
        appUsers.set(uk, {
          email: u.email ?? au?.email ?? null,
          last_used: Math.max(au?.last_used ?? u.at, u.at),
        });
      }
      const keepFrom = newestDay - USAGE_DAYS + 1;
      if (keepFrom > prunedBefore) {
        for (const [k, d] of daily) if (d.day < keepFrom) daily.delete(k);
        prunedBefore = keepFrom;
      }
    },
    async listConnectedApps(org, now) {
      await open('read connected apps');
      return [...apps.values()]
        .filter((a) => a.org === org)
        .sort((a, b) => b.last_activity - a.last_activity || byText(a.app_id, b.app_id))
        .map((a) => withMembers(a, now));
    },
    async getConnectedApp(org, appId, now) {
      await open('read connected apps');
      const a = apps.get(key(org, appId));
      return a ? withMembers(a, now) : null;
    },
    async appUsage(org, now, appId) {
      await open('read app usage');
      const from = windowStartDay(now, USAGE_DAYS);
      const sums = new Map<string, AppUserUsage>();
      for (const d of daily.values()) {
        if (d.org !== org || d.day < from || (appId !== undefined && d.app_id !== appId)) continue;
        const k = key(d.app_id, d.user_id);
        const row = sums.get(k);
        if (row) row.uses_90d += d.uses;
        else {
          const au = appUsers.get(key(key(org, d.app_id), d.user_id));
          sums.set(k, {
            org,
            app_id: d.app_id,
            user_id: d.user_id,
            email: au?.email ?? null,
            uses_90d: d.uses,
            last_used: au?.last_used ?? 0,
          });
        }
      }
      return [...sums.values()].sort((a, b) => byText(a.app_id, b.app_id) || byText(a.user_id, b.user_id));
    },
    async recordMemberJoin(j, blocked, notify) {
      await open('record the member join');
      const mail = planOutbox(notify?.(), j.recorded_at);
      commitOutbox(mail);
      joins.set(key(j.org, j.user_id), copy(j));
      for (const app_id of blocked) {
        if (blockedForMember.some((b) => b.org === j.org && b.user_id === j.user_id && b.app_id === app_id))
          continue;
        blockedForMember.push({ org: j.org, user_id: j.user_id, app_id, at: j.recorded_at });
      }
    },
    async getMemberJoin(org, userId) {
      await open('read member joins');
      const j = joins.get(key(org, userId));
      return j ? copy(j) : null;
    },
    async memberJoinTimes() {
      await open('read member joins');
      const out = new Map<string, Map<string, number>>();
      for (const j of joins.values()) {
        const m = out.get(j.org) ?? new Map<string, number>();
        m.set(j.user_id, j.joined_at);
        out.set(j.org, m);
      }
      return out;
    },
    async memberBlockedApps(org, userId) {
      await open('read member joins');
      return blockedForMember
        .filter((b) => b.org === org && b.user_id === userId)
        .sort((a, b) => a.at - b.at || byText(a.app_id, b.app_id))
        .map(copy);
    },
    async listTokens(q) {
      await open('read the token registry');
      return [...tokens.values()]
        .filter((t) => matchesTokenQuery(t, q))
        .sort((a, b) => a.first_seen - b.first_seen || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map(copy);
    },
    async getToken(org, id) {
      await open('read the token registry');
      const t = tokens.get(key(org, id));
      return t ? copy(t) : null;
    },
    async revokeToken(r, notify) {
      await open('revoke a token');
      const t = tokens.get(key(r.org, r.id));
      if (!t || t.revoked !== null) {
        const res = { token: t ? copy(t) : null, changed: false };
        commitOutbox(planOutbox(notify?.(res), r.at));
        return res;
      }
      const revoked = { at: r.at, by: r.by, reason: r.reason };
      const mail = planOutbox(
        notify?.({ token: { ...copy(t), revoked: { ...revoked } }, changed: true }),
        r.at,
      );
      t.revoked = revoked;
      commitOutbox(mail);
      return { token: copy(t), changed: true };
    },
    async revokedTokenIds() {
      await open('read the token registry');
      const out = new Map<string, string[]>();
      for (const t of tokens.values()) {
        if (t.revoked === null) continue;
        out.set(t.org, [...(out.get(t.org) ?? []), t.id]);
      }
      return out;
    },
    async queryDecisions(q): Promise<DecisionPage> {
      await open('query the decision log');
      const before = q.cursor === undefined ? Number.POSITIVE_INFINITY : decodeCursor(q.cursor);
      const page: { seq: number; record: DecisionRecord }[] = [];
      let more = false;
      for (let i = decisions.length - 1; i >= 0; i--) {
        const d = decisions[i] as { seq: number; record: DecisionRecord };
        const r = d.record;
        if (d.seq >= before || r.org !== q.org) continue;
        if (q.since_ms !== undefined && r.at_ms < q.since_ms) continue;
        if (q.until_ms !== undefined && r.at_ms >= q.until_ms) continue;
        if (q.action !== undefined && r.action !== q.action) continue;
        if (q.reason !== undefined && r.reason !== q.reason) continue;
        if (q.subject !== undefined && r.subject_id !== q.subject) continue;
        if (page.length === q.limit) {
          more = true;
          break;
        }
        page.push(d);
      }
      const last = page[page.length - 1];
      return {
        decisions: page.map((d) => copy(d.record)),
        next_cursor: more && last ? encodeCursor(last.seq) : null,
      };
    },
    async getDecision(id) {
      await open('read the decision log');
      const d = decisions.find((x) => x.record.decision_id === id);
      return d ? copy(d.record) : null;
    },
    async enqueueNotifications(rows, at) {
      await open('queue emails');
      return commitOutbox(planOutbox(rows, at));
    },
    async claimNotifications(now, limit, leaseSeconds) {
      await open('claim emails to send');
      // Synchronous from here: nothing else runs between the pick and the update (one event loop).
      const due = outbox
        .filter(
          ({ row }) => (row.status === 'pending' || row.status === 'sending') && row.next_attempt_at <= now,
        )
        .sort((a, b) => a.row.created_at - b.row.created_at || a.seq - b.seq)
        .slice(0, Math.max(0, limit));
      for (const { row } of due) {
        row.status = 'sending';
        row.attempts += 1;
        row.next_attempt_at = now + leaseSeconds;
      }
      return due.map(({ row }) => copy(row));
    },
    async markNotificationSent(id, at) {
      await open('mark an email sent');
      const row = outbox.find((o) => o.row.id === id)?.row;
      if (row && row.status !== 'sent') Object.assign(row, { status: 'sent', sent_at: at });
    },
    async markNotificationFailed(id, at, error, retryAt) {
      await open('record a failed email');
      const row = outbox.find((o) => o.row.id === id)?.row;
      if (row?.status !== 'sending') return;
      row.status = retryAt === null ? 'dead' : 'pending';
      row.next_attempt_at = retryAt ?? at;
      row.last_error = error;
    },
    async listNotifications(q) {
      await open('read the outbox');
      const limit = Math.min(Math.max(1, q.limit ?? NOTIFICATION_PAGE.default), NOTIFICATION_PAGE.max);
      return outbox
        .filter(
          ({ row }) =>
            (q.org === undefined || row.org === q.org) && (q.status === undefined || row.status === q.status),
        )
        .sort((a, b) => b.row.created_at - a.row.created_at || b.seq - a.seq)
        .slice(0, limit)
        .map(({ row }) => copy(row));
    },
    async getNotification(id) {
      await open('read the outbox');
      const row = outbox.find((o) => o.row.id === id)?.row;
      return row ? copy(row) : null;
    },
    async getNotificationByKey(dedupeKey) {
      await open('read the outbox');
      const row = outbox.find((o) => o.row.dedupe_key === dedupeKey)?.row;
      return row ? copy(row) : null;
    },
    async retryNotification(id, at) {
      await open('retry an email');
      const row = outbox.find((o) => o.row.id === id)?.row;
      if (!row) return null;
      if (row.status === 'dead') Object.assign(row, { status: 'pending', attempts: 0, next_attempt_at: at });
      else if (row.status === 'pending' || (row.status === 'sending' && row.next_attempt_at <= at)) {
        Object.assign(row, { status: 'pending', next_attempt_at: at });
      }
      return copy(row);
    },
    async notificationCounts() {
      await open('count the outbox');
      const out = Object.fromEntries(NOTIFICATION_STATUSES.map((s) => [s, 0])) as Record<
        NotificationStatus,
        number
      >;
      for (const { row } of outbox) out[row.status] += 1;
      return out;
    },
    async close() {
      closed = true;
    },
  };
}
