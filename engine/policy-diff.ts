// Semantic diff of two policy repositories (`appwarden diff`): what changed per org, in the words an admin
// uses, as a closed set of change kinds; renderers (text, Markdown, JSON); who may make each change (SPEC §1);
// and reading a git ref's policy tree into a temporary directory without touching the work tree.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { EngineError } from './errors.ts';
import type { OrgHistory } from './history.ts';
import { canonicalJson, normalizeSpec } from './normalize.ts';
import type { DataDocument, OrgData } from './types.ts';

/**
 * Every kind of change the diff reports (each one sentence, see {@link describeChange}). A closed set; and no
 * settings difference can pass undescribed: whatever difference of an org's data document (DESIGN §1) the
 * specific kinds do not explain is reported as `other_change`, naming the fields.
 */
export type ChangeKind =
  | 'org_added'
  | 'org_removed'
  | 'display_name'
  | 'app_blocked'
  | 'app_unblocked'
  | 'app_block_changed'
  | 'app_approved'
  | 'app_unapproved'
  | 'app_approval_changed'
  | 'mode'
  | 'block_scope'
  | 'request_recipients'
  | 'external_webhook_rules'
  | 'personal_access_tokens'
  | 'token_expiration'
  | 'guests_api_via_apps'
  | 'guests_api_via_pats'
  | 'service_account_added'
  | 'service_account_removed'
  | 'service_account_disabled'
  | 'service_account_enabled'
  | 'service_account_owner'
  | 'service_account_renamed'
  | 'super_admin_added'
  | 'super_admin_removed'
  | 'admin_added'
  | 'admin_removed'
  | 'other_change'
  | 'settings_history';

/** The kinds in the order they are listed within an org. */
export const CHANGE_KINDS: readonly ChangeKind[] = [
  'org_added',
  'org_removed',
  'display_name',
  'app_blocked',
  'app_unblocked',
  'app_block_changed',
  'app_approved',
  'app_unapproved',
  'app_approval_changed',
  'mode',
  'block_scope',
  'request_recipients',
  'external_webhook_rules',
  'personal_access_tokens',
  'token_expiration',
  'guests_api_via_apps',
  'guests_api_via_pats',
  'service_account_added',
  'service_account_removed',
  'service_account_disabled',
  'service_account_enabled',
  'service_account_owner',
  'service_account_renamed',
  'super_admin_added',
  'super_admin_removed',
  'admin_added',
  'admin_removed',
  'other_change',
  'settings_history',
];

/**
 * One change of one org (wire shape of `--format json`). `field` is the policy file field it touches (SPEC §3,
 * e.g. `spec.tokens.personal_access_tokens`, `spec.apps.blocked`), which is what the author check reads;
 * `message` is the sentence. The other fields are present when the kind has them.
 */
export interface PolicyChange {
  kind: ChangeKind;
  field: string;
  message: string;
  /** The setting before and after (values as written in the policy file). */
  from?: string | null;
  to?: string | null;
  /** An app id, service account id or email. */
  id?: string;
  name?: string;
  reason?: string;
  note?: string;
  owner?: string;
  /** `request_recipients`: recipients added and removed. */
  added?: string[];
  removed?: string[];
  /** `other_change`: the data document fields (DESIGN §1) that differ, e.g. `apps.notify`. */
  paths?: string[];
}

/** The changes of one org. `status` is `added` (a new org file), `removed`, or `changed`. */
export interface OrgDiff {
  org: string;
  /** The display name (head's, or base's for a removed org), if any. */
  name?: string;
  status: 'added' | 'removed' | 'changed';
  changes: PolicyChange[];
}

/** One side of a diff, as loaded. */
export interface DiffSide {
  /** What the user named: a directory or a git ref (with the commit it resolved to). */
  label: string;
  revision: string;
  data: DataDocument;
  histories: readonly OrgHistory[];
}

/** The diff of two repositories: orgs with changes only, sorted by org id. */
export interface PolicyDiff {
  base: { label: string; revision: string };
  head: { label: string; revision: string };
  changed: boolean;
  orgs: OrgDiff[];
}

const EXPIRATION_WORDS: Record<string, string> = {
  default: 'default',
  '30d': '30 days',
  '60d': '60 days',
  '90d': '90 days',
};

function appLabel(id: string, name: string | undefined): string {
  return name === undefined ? `app ${id}` : `app ${name} (${id})`;
}

function saLabel(id: string, name: string | undefined): string {
  return name === undefined ? `service account ${id}` : `service account ${id} (${name})`;
}

const q = (s: string | undefined | null): string => (s === undefined || s === null ? '(none)' : `"${s}"`);

/**
 * Text from a policy repository (names, reasons, notes, ids), a ref or an argument, made safe for one line of
 * output: CR, LF, the Unicode line separators, bidirectional overrides and other control characters become
 * escapes (`\n`, `\r`, `\u2028`, `\u202e`), so no value can start a line of its own or reorder what is
 * shown — a forged diff line, or a GitHub Actions workflow command (`::error::`, `::add-mask::`) in a CI log.
 */
export function oneLine(s: string): string {
  return s.replace(/[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, (c) =>
    c === '\t'
      ? c
      : c === '\n'
        ? '\\n'
        : c === '\r'
          ? '\\r'
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The sentence of a change, in an admin's words (the README lists them all). Pure function of the change's
 * fields, so the JSON output and the text agree.
 */
export function describeChange(c: Omit<PolicyChange, 'message'>): string {
  switch (c.kind) {
    case 'org_added':
      return `org added${c.name ? `: ${c.name}` : ''} (settings below differ from the defaults)`;
    case 'org_removed':
      return 'org removed: every decision for it becomes org_unknown (deny)';
    case 'display_name':
      return `display name: ${q(c.from)} → ${q(c.to)}`;
    case 'app_blocked':
      return `${appLabel(c.id ?? '', c.name)} blocked — reason: ${c.reason ?? '(none given)'}`;
    case 'app_unblocked':
      return `${appLabel(c.id ?? '', c.name)} unblocked`;
    case 'app_block_changed':
      return `${appLabel(c.id ?? '', c.name)} still blocked; ${c.from} → ${c.to}`;
    case 'app_approved':
      return `${appLabel(c.id ?? '', c.name)} approved${c.note ? ` — note: ${c.note}` : ''}`;
    case 'app_unapproved':
      return `${appLabel(c.id ?? '', c.name)} no longer approved`;
    case 'app_approval_changed':
      return `${appLabel(c.id ?? '', c.name)} still approved; ${c.from} → ${c.to}`;
    case 'mode':
      return `mode: ${c.from} → ${c.to}`;
    case 'block_scope':
      return `block scope: ${c.from} → ${c.to}${
        c.to === 'this_org'
          ? ' (blocks no longer follow members into their other orgs)'
          : ' (blocks now follow members into all their orgs)'
      }`;
    case 'request_recipients':
      return `approval requests notify: ${[
        ...(c.added ?? []).map((r) => `+${r}`),
        ...(c.removed ?? []).map((r) => `-${r}`),
      ].join(', ')} (now: ${c.to})`;
    case 'external_webhook_rules':
      return `rules triggered by external webhooks: ${c.from} → ${c.to}`;
    case 'personal_access_tokens':
      return `PATs: ${c.from} → ${c.to}${c.to === 'disabled' ? ' (every existing PAT is revoked for good)' : ''}`;
    case 'token_expiration':
      return `token expiration: ${EXPIRATION_WORDS[c.from ?? ''] ?? c.from} → ${EXPIRATION_WORDS[c.to ?? ''] ?? c.to}`;
    case 'guests_api_via_apps':
      return c.to === 'deny'
        ? 'guests may no longer use the API via apps'
        : 'guests may now use the API via apps';
    case 'guests_api_via_pats':
      return c.to === 'deny'
        ? 'guests may no longer use the API via PATs'
        : 'guests may now use the API via PATs';
    case 'service_account_added':
      return `${saLabel(c.id ?? '', c.name)} added, owner ${c.owner}${c.to === 'disabled' ? ', disabled' : ''}`;
    case 'service_account_removed':
      return `${saLabel(c.id ?? '', c.name)} removed: its tokens stop working`;
    case 'service_account_disabled':
      return `${saLabel(c.id ?? '', c.name)} disabled: its tokens stop working`;
    case 'service_account_enabled':
      return `${saLabel(c.id ?? '', c.name)} enabled`;
    case 'service_account_owner':
      return `${saLabel(c.id ?? '', c.name)} owner: ${c.from} → ${c.to}`;
    case 'service_account_renamed':
      return `service account ${c.id} name: ${q(c.from)} → ${q(c.to)}`;
    case 'super_admin_added':
      return `super admin added: ${c.id}`;
    case 'super_admin_removed':
      return `super admin removed: ${c.id}`;
    case 'admin_added':
      return `admin added: ${c.id}`;
    case 'admin_removed':
      return `admin removed: ${c.id}`;
    case 'other_change':
      return `other settings change: ${(c.paths ?? []).join(', ')} (no sentence covers it; only super admins may make it)`;
    case 'settings_history':
      return `settings history (history/ file) changed: ${c.from} → ${c.to} revisions (token expiry and the PAT sweep follow the new past, SPEC §5)`;
  }
}

function change(c: Omit<PolicyChange, 'message'>): PolicyChange {
  return { ...c, message: oneLine(describeChange(c)) };
}

const opt = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } =>
  (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };

/** The data document paths (as segments) a change describes. */
function coveredPaths(c: PolicyChange): string[][] {
  const id = c.id ?? '';
  switch (c.kind) {
    case 'display_name':
      return [['name']];
    case 'app_blocked':
    case 'app_unblocked':
    case 'app_block_changed':
      return [['apps', 'blocked', id]];
    case 'app_approved':
    case 'app_unapproved':
    case 'app_approval_changed':
      return [['apps', 'approved', id]];
    case 'mode':
      return [['apps', 'mode']];
    case 'block_scope':
      return [['apps', 'block_scope']];
    case 'request_recipients':
      return [['apps', 'notify']];
    case 'external_webhook_rules':
      return [['automation', 'external_webhook_rules']];
    case 'personal_access_tokens':
      return [['tokens', 'personal_access_tokens']];
    case 'token_expiration':
      return [
        ['tokens', 'expiration'],
        ['tokens', 'expiration_days'],
      ];
    case 'guests_api_via_apps':
      return [['guests', 'api_via_apps']];
    case 'guests_api_via_pats':
      return [['guests', 'api_via_personal_access_tokens']];
    case 'service_account_added':
    case 'service_account_removed':
      return [['service_accounts', id]];
    case 'service_account_enabled':
    case 'service_account_disabled':
      return [['service_accounts', id, 'enabled']];
    case 'service_account_owner':
      return [['service_accounts', id, 'owner']];
    case 'service_account_renamed':
      return [['service_accounts', id, 'name']];
    case 'super_admin_added':
    case 'super_admin_removed':
      return [['admins', 'super_admins', id]];
    case 'admin_added':
    case 'admin_removed':
      return [['admins', 'admins', id]];
    default:
      return [];
  }
}

/** Leaves of a normalized org (objects walked, anything else compared as canonical JSON), by path. */
function leaves(value: unknown, path: string[], out: Map<string, { path: string[]; json: string }>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (v !== undefined) leaves(v, [...path, k], out);
    return;
  }
  out.set(JSON.stringify(path), { path, json: canonicalJson(value) });
}

/** Every path whose value differs between two normalized orgs (present on one side only counts). */
function differingPaths(base: OrgData, head: OrgData): string[][] {
  const b = new Map<string, { path: string[]; json: string }>();
  const h = new Map<string, { path: string[]; json: string }>();
  leaves(base, [], b);
  leaves(head, [], h);
  const out: string[][] = [];
  for (const [k, v] of h) if (b.get(k)?.json !== v.json) out.push(v.path);
  for (const [k, v] of b) if (!h.has(k)) out.push(v.path);
  return out;
}

/** The maps of the data document whose keys are ids (app ids, service account ids, emails). */
const ID_MAPS = new Set([
  'apps.blocked',
  'apps.approved',
  'service_accounts',
  'admins.super_admins',
  'admins.admins',
]);

/** `apps.approved["zoom-1"].note`: field names as they are, ids quoted. */
function showPath(path: string[]): string {
  let out = '';
  for (const [i, seg] of path.entries()) {
    const isId = ID_MAPS.has(path.slice(0, i).join('.')) || !/^[a-z][a-z_]*$/.test(seg);
    out += isId ? `[${JSON.stringify(seg)}]` : `${i === 0 ? '' : '.'}${seg}`;
  }
  return out;
}

/**
 * The changes from `base` to `head` of one org's settings (both normalized, DESIGN §1). For a new org pass
 * the defaults as `base` (`normalizeSpec({})`), so the new org's settings that differ from them are listed.
 */
export function diffOrg(base: OrgData, head: OrgData): PolicyChange[] {
  const out: PolicyChange[] = [];
  if (base.name !== head.name)
    out.push(
      change({
        kind: 'display_name',
        field: 'metadata.name',
        from: base.name ?? null,
        to: head.name ?? null,
      }),
    );
  for (const [id, app] of Object.entries(head.apps.blocked)) {
    const before = Object.hasOwn(base.apps.blocked, id) ? base.apps.blocked[id] : undefined;
    if (!before) {
      out.push(
        change({
          kind: 'app_blocked',
          field: 'spec.apps.blocked',
          id,
          ...opt('name', app.name),
          ...opt('reason', app.reason),
        }),
      );
    } else if (before.name !== app.name || before.reason !== app.reason) {
      const parts: [string, string][] = [];
      if (before.name !== app.name) parts.push([`name ${q(before.name)}`, `name ${q(app.name)}`]);
      if (before.reason !== app.reason) parts.push([`reason ${q(before.reason)}`, `reason ${q(app.reason)}`]);
      out.push(
        change({
          kind: 'app_block_changed',
          field: 'spec.apps.blocked',
          id,
          ...opt('name', app.name ?? before.name),
          ...opt('reason', app.reason),
          from: parts.map((p) => p[0]).join(', '),
          to: parts.map((p) => p[1]).join(', '),
        }),
      );
    }
  }
  for (const [id, app] of Object.entries(base.apps.blocked)) {
    if (!Object.hasOwn(head.apps.blocked, id))
      out.push(change({ kind: 'app_unblocked', field: 'spec.apps.blocked', id, ...opt('name', app.name) }));
  }
  for (const [id, app] of Object.entries(head.apps.approved)) {
    if (!Object.hasOwn(base.apps.approved, id))
      out.push(
        change({
          kind: 'app_approved',
          field: 'spec.apps.approved',
          id,
          ...opt('name', app.name),
          ...opt('note', app.note),
        }),
      );
  }
  for (const [id, app] of Object.entries(base.apps.approved)) {
    if (!Object.hasOwn(head.apps.approved, id)) {
      out.push(change({ kind: 'app_unapproved', field: 'spec.apps.approved', id, ...opt('name', app.name) }));
      continue;
    }
    const now = head.apps.approved[id] as { name?: string; note?: string };
    if (app.name === now.name && app.note === now.note) continue;
    const parts: [string, string][] = [];
    if (app.name !== now.name) parts.push([`name ${q(app.name)}`, `name ${q(now.name)}`]);
    if (app.note !== now.note) parts.push([`note ${q(app.note)}`, `note ${q(now.note)}`]);
    out.push(
      change({
        kind: 'app_approval_changed',
        field: 'spec.apps.approved',
        id,
        ...opt('name', now.name ?? app.name),
        ...opt('note', now.note),
        from: parts.map((p) => p[0]).join(', '),
        to: parts.map((p) => p[1]).join(', '),
      }),
    );
  }
  if (base.apps.mode !== head.apps.mode)
    out.push(change({ kind: 'mode', field: 'spec.apps.mode', from: base.apps.mode, to: head.apps.mode }));
  if (base.apps.block_scope !== head.apps.block_scope)
    out.push(
      change({
        kind: 'block_scope',
        field: 'spec.apps.block_scope',
        from: base.apps.block_scope,
        to: head.apps.block_scope,
      }),
    );
  const added = head.apps.notify.filter((r) => !base.apps.notify.includes(r));
  const removed = base.apps.notify.filter((r) => !head.apps.notify.includes(r));
  if (added.length > 0 || removed.length > 0)
    out.push(
      change({
        kind: 'request_recipients',
        field: 'spec.apps.requests.notify',
        from: base.apps.notify.join(', '),
        to: head.apps.notify.join(', '),
        added,
        removed,
      }),
    );
  const simple = (kind: ChangeKind, field: string, from: string, to: string) => {
    if (from !== to) out.push(change({ kind, field, from, to }));
  };
  simple(
    'external_webhook_rules',
    'spec.automation.external_webhook_rules',
    base.automation.external_webhook_rules,
    head.automation.external_webhook_rules,
  );
  simple(
    'personal_access_tokens',
    'spec.tokens.personal_access_tokens',
    base.tokens.personal_access_tokens,
    head.tokens.personal_access_tokens,
  );
  simple('token_expiration', 'spec.tokens.expiration', base.tokens.expiration, head.tokens.expiration);
  simple(
    'guests_api_via_apps',
    'spec.guests.api_via_apps',
    base.guests.api_via_apps,
    head.guests.api_via_apps,
  );
  simple(
    'guests_api_via_pats',
    'spec.guests.api_via_personal_access_tokens',
    base.guests.api_via_personal_access_tokens,
    head.guests.api_via_personal_access_tokens,
  );
  const sas = (s: boolean) => (s ? 'enabled' : 'disabled');
  for (const [id, sa] of Object.entries(head.service_accounts)) {
    const before = Object.hasOwn(base.service_accounts, id) ? base.service_accounts[id] : undefined;
    const field = 'spec.service_accounts';
    if (!before) {
      out.push(
        change({
          kind: 'service_account_added',
          field,
          id,
          ...opt('name', sa.name),
          owner: sa.owner,
          to: sas(sa.enabled),
        }),
      );
      continue;
    }
    if (before.enabled !== sa.enabled)
      out.push(
        change({
          kind: sa.enabled ? 'service_account_enabled' : 'service_account_disabled',
          field,
          id,
          ...opt('name', sa.name),
          from: sas(before.enabled),
          to: sas(sa.enabled),
        }),
      );
    if (before.owner !== sa.owner)
      out.push(
        change({
          kind: 'service_account_owner',
          field,
          id,
          ...opt('name', sa.name),
          from: before.owner,
          to: sa.owner,
        }),
      );
    if (before.name !== sa.name)
      out.push(
        change({
          kind: 'service_account_renamed',
          field,
          id,
          from: before.name ?? null,
          to: sa.name ?? null,
        }),
      );
  }
  for (const [id, sa] of Object.entries(base.service_accounts)) {
    if (!Object.hasOwn(head.service_accounts, id))
      out.push(
        change({
          kind: 'service_account_removed',
          field: 'spec.service_accounts',
          id,
          ...opt('name', sa.name),
          owner: sa.owner,
        }),
      );
  }
  const people = (
    b: Record<string, true>,
    h: Record<string, true>,
    addKind: ChangeKind,
    removeKind: ChangeKind,
    field: string,
  ) => {
    for (const e of Object.keys(h).sort())
      if (!Object.hasOwn(b, e)) out.push(change({ kind: addKind, field, id: e }));
    for (const e of Object.keys(b).sort())
      if (!Object.hasOwn(h, e)) out.push(change({ kind: removeKind, field, id: e }));
  };
  people(
    base.admins.super_admins,
    head.admins.super_admins,
    'super_admin_added',
    'super_admin_removed',
    'spec.admins.super_admins',
  );
  people(base.admins.admins, head.admins.admins, 'admin_added', 'admin_removed', 'spec.admins.admins');
  // The catch-all: every field of the data document that differs and that no change above explains.
  const covered = out.flatMap(coveredPaths);
  const unexplained = differingPaths(base, head).filter(
    (p) => !covered.some((c) => c.length <= p.length && c.every((seg, i) => seg === p[i])),
  );
  if (unexplained.length > 0)
    out.push(
      change({ kind: 'other_change', field: 'spec', paths: [...new Set(unexplained.map(showPath))].sort() }),
    );
  const order = (k: ChangeKind) => CHANGE_KINDS.indexOf(k);
  // Stable: within a kind the order above (ids as the files list them) is kept.
  return out
    .map((c, i) => [c, i] as const)
    .sort((a, b) => order(a[0].kind) - order(b[0].kind) || a[1] - b[1])
    .map(([c]) => c);
}

/**
 * The semantic diff of two loaded repositories (SPEC §3 settings, SPEC §5 histories): per org, every
 * change in {@link ChangeKind} words. A new org is listed with its settings that differ from the defaults.
 * Comments, layout, file names and the app catalog change nothing here (they change no decision).
 */
export function diffPolicies(base: DiffSide, head: DiffSide): PolicyDiff {
  const orgs = [...new Set([...Object.keys(base.data.orgs), ...Object.keys(head.data.orgs)])].sort();
  const result: OrgDiff[] = [];
  const historyOf = (side: DiffSide, org: string) => side.histories.find((h) => h.org === org);
  for (const org of orgs) {
    const b = Object.hasOwn(base.data.orgs, org) ? base.data.orgs[org] : undefined;
    const h = Object.hasOwn(head.data.orgs, org) ? head.data.orgs[org] : undefined;
    if (b && !h) {
      result.push({
        org,
        ...opt('name', b.name),
        status: 'removed',
        changes: [change({ kind: 'org_removed', field: 'metadata.org', id: org, ...opt('name', b.name) })],
      });
      continue;
    }
    if (!h) continue;
    const changes: PolicyChange[] = [];
    if (!b)
      changes.push(change({ kind: 'org_added', field: 'metadata.org', id: org, ...opt('name', h.name) }));
    const defaults = normalizeSpec({}, h.name);
    changes.push(...diffOrg(b ?? defaults, h));
    const hb = historyOf(base, org);
    const hh = historyOf(head, org);
    if (canonicalJson(hb?.revisions ?? []) !== canonicalJson(hh?.revisions ?? [])) {
      changes.push(
        change({
          kind: 'settings_history',
          field: 'history',
          from: String(hb?.revisions.length ?? 0),
          to: String(hh?.revisions.length ?? 0),
        }),
      );
    }
    if (changes.length > 0)
      result.push({ org, ...opt('name', h.name), status: b ? 'changed' : 'added', changes });
  }
  return {
    base: { label: base.label, revision: base.revision },
    head: { label: head.label, revision: head.revision },
    changed: result.length > 0,
    orgs: result,
  };
}

/** The author's role in an org of the BASE revision (SPEC §1). */
export type AuthorRole = 'super_admin' | 'admin' | 'none';

/** A change the author may not make (`--author`), with why. */
export interface AuthorProblem {
  org: string;
  change: PolicyChange;
  role: AuthorRole;
  message: string;
}

/**
 * Who may make which change (SPEC §1), judged on the BASE revision's admin lists so that a pull request
 * cannot grant its author the role it needs: super admins of an org may change anything of it; admins only
 * `spec.guests.*`; anyone else nothing. A new org has no admins in the base, so nobody can authorize it from
 * there: its changes are refused unless `allowNewOrgs` (the repository owners' call, e.g. a required review).
 * @param author an email (compared lower-cased)
 * @returns one problem per change the author may not make (empty: the author may make all of them)
 */
export function checkAuthor(
  diff: PolicyDiff,
  base: DataDocument,
  author: string,
  opts: { allowNewOrgs?: boolean } = {},
): AuthorProblem[] {
  const email = oneLine(author.trim().toLowerCase());
  const problems: AuthorProblem[] = [];
  for (const o of diff.orgs) {
    if (o.status === 'added') {
      if (opts.allowNewOrgs) continue;
      const first = o.changes[0] as PolicyChange;
      problems.push({
        org: o.org,
        change: first,
        role: 'none',
        message: `${email} may not add org ${o.org}: a new org has no admins in the base revision to authorize it; a repository owner must approve it (pass --allow-new-orgs)`,
      });
      continue;
    }
    const org = base.orgs[o.org];
    const role: AuthorRole = org?.admins.super_admins[email]
      ? 'super_admin'
      : org?.admins.admins[email]
        ? 'admin'
        : 'none';
    if (role === 'super_admin') continue;
    for (const c of o.changes) {
      if (role === 'admin' && c.field.startsWith('spec.guests.')) continue;
      const who = role === 'admin' ? `an admin (not super admin) of ${o.org}` : `not an admin of ${o.org}`;
      const needs =
        role === 'admin'
          ? 'admins may change only the guest API settings (spec.guests)'
          : `only the super admins of ${o.org} may change its settings (admins: spec.guests only)`;
      problems.push({
        org: o.org,
        change: c,
        role,
        message: `${o.org}: ${email} may not make this change: ${c.message} — ${email} is ${who} in the base revision; ${needs}`,
      });
    }
  }
  return problems;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The diff for a terminal: one block per org, one line per change. */
export function renderDiffText(diff: PolicyDiff): string {
  const head = oneLine(
    `policy diff ${diff.base.label} (${diff.base.revision}) → ${diff.head.label} (${diff.head.revision})`,
  ).concat('\n');
  if (!diff.changed) return `${head}no setting changes\n`;
  const lines = [head];
  for (const o of diff.orgs) {
    lines.push(
      `\n${oneLine(`${o.org}${o.name ? ` (${o.name})` : ''}`)}: ${o.status === 'changed' ? plural(o.changes.length, 'change') : o.status}\n`,
    );
    for (const c of o.changes) lines.push(`  • ${oneLine(c.message)}\n`);
  }
  return lines.join('');
}

/**
 * Escapes text for a Markdown table cell or list item: line breaks become `\n` ({@link oneLine}), an `@` that
 * could start a mention (`@team`, not the `@` inside an email) gets a zero-width space after it so nobody is
 * notified by a name or reason, and pipes, backticks, emphasis, brackets and angle brackets are backslashed.
 */
export function mdEscape(s: string): string {
  return oneLine(s)
    .replace(/(?<![A-Za-z0-9])@/g, '@\u200b')
    .replace(/[\\`*_|<>[\]#~]/g, (m) => `\\${m}`);
}

/**
 * The author check as Markdown (`### Author check`): the sentence that the author may make every change, or a
 * bullet per change they may not make — escaped like the diff (no line breaks, no @-mentions, no markup).
 */
export function renderAuthorMarkdown(email: string, problems: readonly { message: string }[]): string {
  return `\n### Author check\n\n${
    problems.length === 0
      ? `${mdEscape(email)} may make every change above (SPEC §1 roles in the base revision).\n`
      : `${problems.map((p) => `- :x: ${mdEscape(p.message)}`).join('\n')}\n`
  }`;
}

/**
 * The diff as Markdown for a pull-request comment: a heading per org and a bullet per change; then
 * `extras.after` (Markdown already rendered, e.g. the impact report) and, with `extras.author`, the author
 * check ({@link renderAuthorMarkdown}).
 */
export function renderDiffMarkdown(
  diff: PolicyDiff,
  extras: { after?: string; author?: { email: string; problems: readonly { message: string }[] } } = {},
): string {
  return (
    renderChangesMarkdown(diff) +
    (extras.after ?? '') +
    (extras.author ? renderAuthorMarkdown(extras.author.email, extras.author.problems) : '')
  );
}

function renderChangesMarkdown(diff: PolicyDiff): string {
  const lines = [
    `### Policy changes\n\n\`${mdEscape(diff.base.label)}\` (${diff.base.revision}) → \`${mdEscape(diff.head.label)}\` (${diff.head.revision})\n`,
  ];
  if (!diff.changed) {
    lines.push('\nNo setting changes.\n');
    return lines.join('');
  }
  for (const o of diff.orgs) {
    lines.push(
      `\n#### ${mdEscape(o.org)}${o.name ? ` — ${mdEscape(o.name)}` : ''}${o.status === 'changed' ? '' : ` (${o.status})`}\n\n`,
    );
    for (const c of o.changes) lines.push(`- ${mdEscape(c.message)}\n`);
  }
  return lines.join('');
}

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.env ? { env: opts.env } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out));
      else reject(new Error(Buffer.concat(err).toString('utf8').trim() || `${cmd} exited with ${code}`));
    });
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(opts.input);
    }
  });
}

/** A policy tree of a git ref, extracted to a temporary directory: remove it with `cleanup()`. */
export interface GitTree {
  /** The policy repository root inside the temporary directory. */
  dir: string;
  /** The full commit id the ref resolved to. */
  commit: string;
  cleanup(): Promise<void>;
}

/** The full commit id `ref` names in the git repository `repo`, or null (not a commit, no repository, no git). */
export async function resolveCommit(repo: string, ref: string): Promise<string | null> {
  try {
    const id = (
      await run('git', [
        '-C',
        repo,
        'rev-parse',
        '--verify',
        '--quiet',
        '--end-of-options',
        `${ref}^{commit}`,
      ])
    )
      .toString('utf8')
      .trim();
    return /^[0-9a-f]{40,64}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}

/**
 * `--path` as a path inside the repository: `.`, `./` and trailing slashes name the top; anything else is kept
 * exactly as written (`.policy` stays `.policy`). An absolute path or a `..` segment is refused.
 * @returns the path without `./` prefix and trailing slashes, `''` for the top, or null when refused
 */
export function normalizeTreePath(path: string): string | null {
  if (path === '') return '';
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.includes('\\')) return null;
  let p = path.replace(/\/+$/, '');
  while (p.startsWith('./')) p = p.slice(2).replace(/^\/+/, '');
  if (p === '.' || p === '') return '';
  const segments = p.split(/\/+/);
  if (segments.some((s) => s === '..' || s === '.')) return null;
  return segments.join('/');
}

/** A file name of a tree that could leave the temporary directory (a crafted tree object). */
const unsafeName = (name: string): boolean =>
  name === '' ||
  isAbsolute(name) ||
  name.split('/').some((s) => s === '..' || s === '.' || s === '' || s === '.git');

/**
 * Extracts the tree of `ref` (below `path`, default the whole tree) of the git repository `repo` into a new
 * temporary directory, reading the objects themselves (`git ls-tree` + `git cat-file --batch`): no
 * `.gitattributes` applies (`export-ignore` cannot hide a file from the diff, no eol or filter conversion) and
 * the user's work tree, index and HEAD are never touched.
 * @throws EngineError `io_error` when git is missing, `ref` is not a commit of `repo`, or `path` is not a
 *   directory of it; also when `path` is absolute or has a `..` segment
 */
export async function readGitTree(repo: string, ref: string, path = '.'): Promise<GitTree> {
  const sub = normalizeTreePath(path);
  if (sub === null)
    throw new EngineError('io_error', [
      {
        message: `--path ${JSON.stringify(path)} must be a relative path inside the repository, without ".." (e.g. policy)`,
      },
    ]);
  let commit: string;
  try {
    commit = (await run('git', ['-C', repo, 'rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]))
      .toString('utf8')
      .trim();
  } catch (err) {
    throw new EngineError(
      'io_error',
      [
        {
          message: `${ref} is neither a directory nor a commit of the git repository ${repo} (${(err as Error).message.split('\n')[0]})`,
        },
      ],
      { cause: err },
    );
  }
  const tmp = await mkdtemp(join(tmpdir(), 'appwarden-diff-'));
  const cleanup = () => rm(tmp, { recursive: true, force: true });
  const root = join(tmp, 'tree');
  try {
    const treeish = sub ? `${commit}:${sub}` : `${commit}^{tree}`;
    let type = '';
    try {
      type = (await run('git', ['-C', repo, 'cat-file', '-t', '--end-of-options', treeish]))
        .toString('utf8')
        .trim();
    } catch {
      type = '';
    }
    if (type !== 'tree')
      throw new Error(`pathspec '${sub}' did not match any directory of commit ${commit.slice(0, 12)}`);
    // --full-tree: from a subdirectory of the repository ls-tree would list only that subdirectory.
    const listing = (
      await run('git', ['-C', repo, 'ls-tree', '-r', '-z', '--full-tree', '--full-name', treeish])
    )
      .toString('utf8')
      .split('\0')
      .filter((e) => e !== '');
    const entries: { mode: string; oid: string; name: string }[] = [];
    for (const e of listing) {
      const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(e);
      if (!m) throw new Error(`unexpected git ls-tree line ${JSON.stringify(e)}`);
      const [, mode, kind, oid, name] = m as unknown as [string, string, string, string, string];
      if (kind !== 'blob') continue; // submodules (commits) have no files here
      if (unsafeName(name)) throw new Error(`the tree has an unsafe file name ${JSON.stringify(name)}`);
      entries.push({ mode, oid, name });
    }
    // A tree built by hand can hold the same name twice, or a symlink and a directory of one name: a file
    // written "under" the symlink would land wherever it points. Refuse both; write regular files first
    // (exclusively, never through an existing entry) and make the symlinks last.
    const names = new Set<string>();
    const links = new Set(entries.filter((e) => e.mode === '120000').map((e) => e.name));
    for (const e of entries) {
      if (names.has(e.name)) throw new Error(`the tree has ${JSON.stringify(e.name)} twice`);
      names.add(e.name);
      const parts = e.name.split('/');
      for (let i = 1; i < parts.length; i++) {
        const prefix = parts.slice(0, i).join('/');
        if (links.has(prefix))
          throw new Error(
            `the tree has ${JSON.stringify(e.name)} under the symlink ${JSON.stringify(prefix)}`,
          );
      }
    }
    entries.sort((a, b) => Number(a.mode === '120000') - Number(b.mode === '120000'));
    await mkdir(root, { recursive: true });
    if (entries.length > 0) {
      const out = await run('git', ['-C', repo, 'cat-file', '--batch'], {
        input: `${entries.map((e) => e.oid).join('\n')}\n`,
      });
      let at = 0;
      for (const e of entries) {
        const nl = out.indexOf(0x0a, at);
        const header = out.subarray(at, nl).toString('utf8').split(' ');
        if (header[0] !== e.oid || header[1] !== 'blob') throw new Error(`git cat-file: ${header.join(' ')}`);
        const size = Number(header[2]);
        const body = out.subarray(nl + 1, nl + 1 + size);
        at = nl + 1 + size + 1;
        const file = join(root, e.name);
        await mkdir(dirname(file), { recursive: true });
        if (e.mode === '120000') await symlink(body.toString('utf8'), file);
        else await writeFile(file, body, { mode: e.mode === '100755' ? 0o755 : 0o644, flag: 'wx' });
      }
    }
  } catch (err) {
    await cleanup();
    throw new EngineError(
      'io_error',
      [
        {
          message: `cannot read ${sub || 'the tree'} of ${ref} in ${repo}: ${(err as Error).message.split('\n')[0]}`,
        },
      ],
      { cause: err },
    );
  }
  return { dir: root, commit, cleanup };
}
