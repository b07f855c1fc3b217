// Policy edits for a pull request (SPEC §6): block, unblock or approve an app and change token settings by
// splicing the one org's YAML text, so comments, key order, quoting and layout of every other line stay as written.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { structuredPatch } from 'diff';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import type { OrgPolicy } from '../schemas/org-policy.gen.ts';
import { EngineError } from './errors.ts';
import { type LoadedRepository, loadPolicyFromFiles, loadPolicyRepository } from './loader.ts';

/** The token expiration settings of SPEC §3. */
export type ExpirationSetting = 'default' | '30d' | '60d' | '90d';

/** One change to one org policy. Field names are the wire names of the policy file (SPEC §3). */
export type PolicyEdit =
  | { kind: 'block'; app_id: string; name?: string; reason?: string }
  | { kind: 'unblock'; app_id: string }
  | { kind: 'approve'; app_id: string; name?: string; note?: string }
  | { kind: 'set_expiration'; expiration: ExpirationSetting }
  | { kind: 'set_personal_access_tokens'; personal_access_tokens: 'enabled' | 'disabled' };

/** What an edit would do; nothing is written. */
export interface EditResult {
  /** The edited org policy file, repository-relative (`orgs/acme.yaml`). */
  file: string;
  /** The file's text before the edit. */
  before: string;
  /** The file's text after the edit (equal to `before` when nothing changes). */
  after: string;
  /** False when the policy already says what was asked (the edit is idempotent). */
  changed: boolean;
  /** One line for the admin: what changed (or why nothing did) and when it takes effect. */
  message: string;
  /** Unified diff of `before` → `after` with `a/` and `b/` paths (empty when unchanged). */
  diff: string;
}

/** A policy repository: a directory on disk, or its files in memory as `{path: text}` (`orgs/acme.yaml`). */
export type PolicySource = string | Readonly<Record<string, string>>;

/** The token expiration values accepted by {@link setExpiration}. */
export const EXPIRATION_SETTINGS: readonly ExpirationSetting[] = ['default', '30d', '60d', '90d'];

/**
 * Blocks an app in one org (SPEC §3 `spec.apps.blocked`); an approved entry for it is removed, since
 * an app may not be both. Blocking an app that is already blocked changes nothing.
 *
 * @param repo policy repository directory or files in memory; read, never written
 * @param org the org id (`metadata.org`, not the file name); compared case-insensitively
 * @throws EngineError `invalid_input` unknown org or empty app id; `invalid_policy` when the repository
 *   is invalid before the edit or would be after it (the issues say where); `io_error` when it cannot be read
 */
export function blockApp(
  repo: PolicySource,
  org: string,
  appId: string,
  opts: { name?: string; reason?: string } = {},
): Promise<EditResult> {
  return editPolicy(repo, org, { kind: 'block', app_id: appId, ...opts });
}

/**
 * Unblocks an app: removes it from `blocked`; in `require_approval` mode also approves it, because there
 * unblocking means approving (SPEC §4). An app that is neither blocked nor (in that mode) unapproved
 * changes nothing.
 *
 * @throws EngineError as {@link blockApp}
 */
export function unblockApp(repo: PolicySource, org: string, appId: string): Promise<EditResult> {
  return editPolicy(repo, org, { kind: 'unblock', app_id: appId });
}

/**
 * Approves an app (SPEC §3 `spec.apps.approved`) and removes it from `blocked`. Approving an approved
 * app changes nothing.
 *
 * @throws EngineError as {@link blockApp}
 */
export function approveApp(
  repo: PolicySource,
  org: string,
  appId: string,
  opts: { name?: string; note?: string } = {},
): Promise<EditResult> {
  return editPolicy(repo, org, { kind: 'approve', app_id: appId, ...opts });
}

/**
 * Sets `spec.tokens.expiration` (SPEC §3, §5). Setting the value in force (`default` when absent) changes nothing.
 *
 * @throws EngineError `invalid_input` for a value other than default, 30d, 60d, 90d; otherwise as {@link blockApp}
 */
export function setExpiration(
  repo: PolicySource,
  org: string,
  expiration: ExpirationSetting,
): Promise<EditResult> {
  return editPolicy(repo, org, { kind: 'set_expiration', expiration });
}

/**
 * Turns personal access tokens on or off (`spec.tokens.personal_access_tokens`, SPEC §3, §5).
 *
 * @throws EngineError as {@link setExpiration}
 */
export function setPersonalAccessTokens(
  repo: PolicySource,
  org: string,
  state: 'enabled' | 'disabled',
): Promise<EditResult> {
  return editPolicy(repo, org, { kind: 'set_personal_access_tokens', personal_access_tokens: state });
}

/**
 * Applies one {@link PolicyEdit} to the org policy that declares `org` and validates the whole repository
 * with the edited text, as CI would. The repository must be valid before the edit.
 *
 * @throws EngineError as {@link blockApp}
 */
export async function editPolicy(repo: PolicySource, org: string, edit: PolicyEdit): Promise<EditResult> {
  const files = typeof repo === 'string' ? await readRepository(repo) : { ...repo };
  return editPolicyFiles(files, org, edit);
}

/**
 * The in-memory core of {@link editPolicy}: `files` is `{path: text}` of the whole repository.
 *
 * @throws EngineError as {@link blockApp}
 */
export function editPolicyFiles(
  files: Readonly<Record<string, string>>,
  org: string,
  edit: PolicyEdit,
): EditResult {
  checkArguments(edit);
  let loaded: LoadedRepository;
  try {
    loaded = loadPolicyFromFiles(files);
  } catch (err) {
    throw invalidBeforeEdit(err);
  }
  const orgId = org.trim().toLowerCase();
  const entry = Object.hasOwn(loaded.orgs, orgId) ? loaded.orgs[orgId] : undefined;
  if (!entry) {
    const known = Object.keys(loaded.orgs).sort();
    throw new EngineError('invalid_input', [
      {
        message: `no org policy declares org ${JSON.stringify(org)}`,
        hint: `the orgs of this repository are ${known.join(', ')}`,
      },
    ]);
  }
  const before = files[entry.file] as string;
  const { after, message } = applyToText(before, entry.policy, edit);
  const changed = after !== before;
  if (changed) {
    try {
      loadPolicyFromFiles({ ...files, [entry.file]: after });
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      throw new EngineError(
        'invalid_policy',
        [
          {
            message:
              'the edit was refused: the repository would not be valid after it (lines below are of the edited file)',
          },
          ...err.issues,
        ],
        { cause: err },
      );
    }
  }
  return {
    file: entry.file,
    before,
    after,
    changed,
    message,
    diff: changed ? unifiedDiff(entry.file, before, after) : '',
  };
}

function checkArguments(edit: PolicyEdit): void {
  if (
    (edit.kind === 'block' || edit.kind === 'unblock' || edit.kind === 'approve') &&
    edit.app_id.length === 0
  ) {
    throw new EngineError('invalid_input', [
      { message: 'the app id is empty', hint: 'give the app id, e.g. 1204567890123456789' },
    ]);
  }
  if (edit.kind === 'set_expiration' && !EXPIRATION_SETTINGS.includes(edit.expiration)) {
    throw new EngineError('invalid_input', [
      {
        message: `expiration must be one of ${EXPIRATION_SETTINGS.join(', ')}, not ${JSON.stringify(edit.expiration)}`,
      },
    ]);
  }
  if (
    edit.kind === 'set_personal_access_tokens' &&
    edit.personal_access_tokens !== 'enabled' &&
    edit.personal_access_tokens !== 'disabled'
  ) {
    throw new EngineError('invalid_input', [
      {
        message: `personal_access_tokens must be enabled or disabled, not ${JSON.stringify(edit.personal_access_tokens)}`,
      },
    ]);
  }
}

/** A repository that is invalid before any edit is refused as such, with its own issues after the summary. */
function invalidBeforeEdit(err: unknown): unknown {
  if (!(err instanceof EngineError && err.code === 'invalid_policy')) return err;
  return new EngineError(
    'invalid_policy',
    [
      {
        message: 'the policy repository is not valid before the edit; nothing was edited',
        hint: 'fix the problems listed first',
      },
      ...err.issues,
    ],
    { cause: err },
  );
}

/**
 * Reads every file the loader reads (org policies and histories), through the loader so that the same
 * layout rules and links apply, and checks each text is the one that was validated.
 */
async function readRepository(dir: string): Promise<Record<string, string>> {
  const loaded = await loadPolicyRepository(dir).catch((err: unknown) => {
    throw invalidBeforeEdit(err);
  });
  const files: Record<string, string> = {};
  for (const { path, sha256 } of loaded.files) {
    const bytes = await readFile(join(dir, path));
    // A writer between the two reads would make the edit start from a text that was never validated.
    if (createHash('sha256').update(bytes).digest('hex') !== sha256) {
      throw new EngineError('io_error', [
        { file: path, message: 'the file changed while it was read', hint: 'run the edit again' },
      ]);
    }
    files[path] = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  }
  return files;
}

// ---------------------------------------------------------------------------------------------------------
// What each edit means

interface AppEntry {
  id: string;
  name?: string;
  reason?: string;
  note?: string;
}

function applyToText(text: string, policy: OrgPolicy, edit: PolicyEdit): { after: string; message: string } {
  const org = policy.metadata.org;
  const apps = policy.spec?.apps ?? {};
  const tokens = policy.spec?.tokens ?? {};
  const takesEffect = 'the change takes effect when this commit is merged and deployed';
  switch (edit.kind) {
    case 'block': {
      const id = edit.app_id;
      const blocked = apps.blocked?.find((a) => a.id === id);
      if (blocked)
        return { after: text, message: `no change: ${label(blocked)} is already blocked in ${org}` };
      const approved = apps.approved?.find((a) => a.id === id);
      const name = edit.name ?? approved?.name;
      const entry: AppEntry = {
        id,
        ...(name !== undefined ? { name } : {}),
        ...(edit.reason !== undefined ? { reason: edit.reason } : {}),
      };
      let after = appendEntry(text, ['spec', 'apps', 'blocked'], entry);
      if (approved) after = removeEntry(after, ['spec', 'apps', 'approved'], id);
      const scope =
        (apps.block_scope ?? 'all_user_orgs') === 'all_user_orgs'
          ? ` and, for its members, in every org they belong to (block_scope: all_user_orgs)`
          : '';
      return {
        after,
        message: `${label(entry)} is now blocked in ${org}${scope}${approved ? ', and no longer approved' : ''}: ${takesEffect}`,
      };
    }
    case 'unblock': {
      const id = edit.app_id;
      const requireApproval = apps.mode === 'require_approval';
      const blocked = apps.blocked?.find((a) => a.id === id);
      const approved = apps.approved?.find((a) => a.id === id);
      if (!blocked) {
        if (!requireApproval)
          return { after: text, message: `no change: ${label({ id })} is not blocked in ${org}` };
        if (approved)
          return {
            after: text,
            message: `no change: ${label(approved)} is not blocked and already approved in ${org}`,
          };
      }
      let after = blocked ? removeEntry(text, ['spec', 'apps', 'blocked'], id) : text;
      const entry: AppEntry = { id, ...(blocked?.name !== undefined ? { name: blocked.name } : {}) };
      if (requireApproval && !approved) after = appendEntry(after, ['spec', 'apps', 'approved'], entry);
      return {
        after,
        message: requireApproval
          ? `${label(entry)} is now ${blocked ? 'unblocked and ' : ''}approved in ${org} (in require_approval mode unblocking means approving): ${takesEffect}`
          : `${label(entry)} is no longer blocked in ${org}: ${takesEffect}`,
      };
    }
    case 'approve': {
      const id = edit.app_id;
      const approved = apps.approved?.find((a) => a.id === id);
      if (approved)
        return { after: text, message: `no change: ${label(approved)} is already approved in ${org}` };
      const blocked = apps.blocked?.find((a) => a.id === id);
      const name = edit.name ?? blocked?.name;
      const entry: AppEntry = {
        id,
        ...(name !== undefined ? { name } : {}),
        ...(edit.note !== undefined ? { note: edit.note } : {}),
      };
      let after = blocked ? removeEntry(text, ['spec', 'apps', 'blocked'], id) : text;
      after = appendEntry(after, ['spec', 'apps', 'approved'], entry);
      const mode =
        apps.mode === 'require_approval'
          ? ''
          : ' (the org is in allow_all mode, where every app that is not blocked is allowed anyway)';
      return {
        after,
        message: `${label(entry)} is now approved in ${org}${blocked ? ' and no longer blocked' : ''}${mode}: ${takesEffect}`,
      };
    }
    case 'set_expiration': {
      const current = tokens.expiration ?? 'default';
      if (current === edit.expiration)
        return { after: text, message: `no change: token expiration is already ${current} in ${org}` };
      const after = setScalar(text, ['spec', 'tokens', 'expiration'], edit.expiration);
      const what =
        edit.expiration === 'default'
          ? 'new tokens expire after 10 years; tokens that already lived under a shorter setting keep their earlier expiry'
          : `tokens expire ${edit.expiration.replace('d', ' days')} after creation, and existing ones at the latest ${edit.expiration.replace('d', ' days')} after the change goes live`;
      return {
        after,
        message: `token expiration is now ${edit.expiration} in ${org} (${what}): ${takesEffect}`,
      };
    }
    case 'set_personal_access_tokens': {
      const current = tokens.personal_access_tokens ?? 'enabled';
      const wanted = edit.personal_access_tokens;
      if (current === wanted)
        return { after: text, message: `no change: personal access tokens are already ${current} in ${org}` };
      const after = setScalar(text, ['spec', 'tokens', 'personal_access_tokens'], wanted);
      const what =
        wanted === 'disabled'
          ? 'every PAT use and creation will be denied, and every PAT that exists then is revoked for good'
          : 'new PATs work again; PATs revoked while they were off stay revoked';
      return {
        after,
        message: `personal access tokens are now ${wanted} in ${org} (${what}): ${takesEffect}`,
      };
    }
  }
}

function label(app: { id: string; name?: string | undefined }): string {
  return app.name !== undefined ? `${app.name} (${app.id})` : `app ${app.id}`;
}

// ---------------------------------------------------------------------------------------------------------
// Text surgery. Every edit parses the text, finds the nodes with their source offsets and splices only the
// lines it must; nothing is re-serialized, so what the edit does not touch stays byte-identical.

/** The order keys are written in (SPEC §3), used to place a key the file does not have yet. */
const KEY_ORDER: Record<string, readonly string[]> = {
  '': ['apiVersion', 'kind', 'metadata', 'spec'],
  spec: ['apps', 'automation', 'tokens', 'guests', 'service_accounts', 'admins'],
  'spec.apps': ['mode', 'block_scope', 'blocked', 'approved', 'requests'],
  'spec.tokens': ['personal_access_tokens', 'expiration'],
};

/** The order entry fields are written in. */
const ENTRY_ORDER = ['id', 'name', 'reason', 'note'] as const;

/** A value to write where none exists: a scalar, a map or a list of app entries. */
type NewValue = string | AppEntry[] | { map: [string, NewValue][] };

/** Lines of a text: where each starts and ends, with LF, CRLF and lone CR all line breaks. */
class Lines {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly eol: string;

  constructor(readonly text: string) {
    // A byte-order mark is not indentation.
    let start = text.startsWith('\uFEFF') ? 1 : 0;
    const re = /\r\n|\r|\n/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      this.starts.push(start);
      this.ends.push(m.index);
      start = m.index + m[0].length;
    }
    if (start < text.length || this.starts.length === 0) {
      this.starts.push(start);
      this.ends.push(text.length);
    }
    this.eol = /\r\n|\r|\n/.exec(text)?.[0] ?? '\n';
  }

  get count(): number {
    return this.starts.length;
  }

  /** The 0-based line holding `offset` (a line break belongs to the line it ends). */
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  start(line: number): number {
    return this.starts[line] as number;
  }

  /** Offset just after the line's break (or the end of the text). */
  next(line: number): number {
    return line + 1 < this.count ? this.start(line + 1) : this.text.length;
  }

  content(line: number): string {
    return this.text.slice(this.start(line), this.ends[line]);
  }

  column(offset: number): number {
    return offset - this.start(this.lineOf(offset));
  }

  indent(line: number): number {
    const content = this.content(line);
    return content.length - content.trimStart().length;
  }

  isBlank(line: number): boolean {
    return this.content(line).trim() === '';
  }

  isComment(line: number): boolean {
    return this.content(line).trimStart().startsWith('#');
  }
}

/** Indentation habits of a file, read from what it already has, so that new lines look like their neighbours. */
interface Style {
  /** Spaces a nested map's keys are indented by. */
  unit: number;
  /** Spaces a block list's `-` is indented from its key (0 for `key:\n- a`). */
  seqIndent: number;
  /** Columns from `-` to the entry's first key (`- id` is 2). */
  dashGap: number;
}

function parse(text: string) {
  // The loader reads a lone CR as a line break; as an LF it keeps every offset where it was.
  const doc = parseDocument(text.replace(/\r(?!\n)/g, '\n'), {
    version: '1.2',
    schema: 'core',
    merge: false,
    prettyErrors: false,
    logLevel: 'silent',
  });
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw unexpected('the file does not parse as a mapping');
  return { doc, root: doc.contents as YAMLMap, lines: new Lines(text) };
}

function unexpected(what: string): EngineError {
  return new EngineError('invalid_policy', [{ message: `cannot edit the file: ${what}` }]);
}

function range(node: Node): [number, number, number] {
  const r = node.range;
  if (!r) throw unexpected('a node has no source position');
  return r;
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p): p is Pair => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
}

/** The furthest existing node along `path`, and the keys still missing below it. */
function walk(root: YAMLMap, path: readonly string[]) {
  let map = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i] as string;
    const pair = findPair(map, key);
    if (!pair) return { map, mapPath: path.slice(0, i), missing: path.slice(i) };
    const value = pair.value as Node | null;
    if (i === path.length - 1) return { map, mapPath: path.slice(0, i), missing: [], pair, value };
    if (!isMap(value)) throw unexpected(`${path.slice(0, i + 1).join('.')} is not a mapping`);
    map = value;
  }
  return { map, mapPath: [...path], missing: [] };
}

/** End offset of the last character that is content (not a comment) inside `node`. */
function contentEnd(node: Node): number {
  if (isScalar(node) || ((isMap(node) || isSeq(node)) && node.flow)) return range(node)[1];
  let end = range(node)[0];
  for (const item of (node as YAMLMap | YAMLSeq).items) {
    if (isPair(item)) {
      end = Math.max(end, contentEnd(item.key as Node));
      if (item.value) end = Math.max(end, contentEnd(item.value as Node));
    } else end = Math.max(end, contentEnd(item as Node));
  }
  return end;
}

/**
 * The last line of a block entry (a map key or a list item) that starts at `column` on line `first`:
 * its last content line, then comments indented deeper than it that follow (they are inside it).
 * Blank lines and comments at its own column or less belong to whatever comes next.
 */
function lastLine(lines: Lines, first: number, column: number, end: number): number {
  let last = Math.max(first, lines.lineOf(Math.max(end - 1, 0)));
  for (let line = last + 1; line < lines.count; line++) {
    if (lines.isBlank(line)) continue;
    if (!lines.isComment(line) || lines.indent(line) <= column) break;
    last = line;
  }
  return last;
}

/** The first of the comment lines directly above `line` at the same indentation (they describe it). */
function firstLine(lines: Lines, line: number): number {
  const column = lines.indent(line);
  let first = line;
  while (first > 0 && lines.isComment(first - 1) && lines.indent(first - 1) === column) first--;
  return first;
}

function detectStyle(root: YAMLMap, lines: Lines): Style {
  const style: Partial<Style> = {};
  const visit = (map: YAMLMap) => {
    for (const pair of map.items) {
      const key = pair.key as Node;
      const value = pair.value as Node | null;
      const keyColumn = lines.column(range(key)[0]);
      if (isMap(value) && !value.flow && value.items.length > 0) {
        style.unit ??= lines.column(range(value.items[0]?.key as Node)[0]) - keyColumn;
        visit(value);
      } else if (isSeq(value) && !value.flow && value.items.length > 0) {
        const item = value.items[0] as Node;
        const dashColumn = lines.indent(lines.lineOf(range(item)[0]));
        style.seqIndent ??= dashColumn - keyColumn;
        if (isMap(item) && !item.flow) style.dashGap ??= lines.column(range(item)[0]) - dashColumn;
      }
    }
  };
  visit(root);
  const unit = style.unit && style.unit > 0 ? style.unit : 2;
  return {
    unit,
    seqIndent: style.seqIndent !== undefined && style.seqIndent >= 0 ? style.seqIndent : unit,
    dashGap: style.dashGap && style.dashGap > 1 ? style.dashGap : 2,
  };
}

/**
 * A string as a YAML scalar: plain when YAML 1.2 core reads it back as the same string in block and flow
 * context, double-quoted otherwise. Ids that look like numbers are always quoted (SPEC §3: a YAML 1.1
 * reader, or a hand edit, must not turn them into numbers).
 */
export function formatScalar(value: string, opts: { isId?: boolean } = {}): string {
  const quoted = JSON.stringify(value);
  if (opts.isId && /^[-+.]?[0-9]/.test(value)) return quoted;
  if (
    value === '' ||
    value !== value.trim() ||
    hasUnprintable(value) ||
    /^[-?:,[\]{}#&*!|>'"%@`]/.test(value) ||
    /[,[\]{}]|: |:$| #/.test(value)
  )
    return quoted;
  const doc = parseDocument(`k: ${value}`, { version: '1.2', schema: 'core', logLevel: 'silent' });
  const read =
    doc.errors.length === 0 && isMap(doc.contents) ? (doc.contents.items[0]?.value as Node | null) : null;
  return isScalar(read) && read.value === value ? value : quoted;
}

/** Control characters, line separators and a byte-order mark cannot stand in a plain scalar. */
function hasUnprintable(value: string): boolean {
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (
      code < 0x20 ||
      (code >= 0x7f && code <= 0x9f) ||
      code === 0x2028 ||
      code === 0x2029 ||
      code === 0xfeff
    )
      return true;
  }
  return false;
}

/** An app entry's fields in file order, each written as a scalar. */
function entryFields(entry: AppEntry): [string, string][] {
  const fields: [string, string][] = [];
  for (const key of ENTRY_ORDER) {
    const value = entry[key];
    if (value !== undefined) fields.push([key, formatScalar(value, { isId: key === 'id' })]);
  }
  return fields;
}

function flowValue(value: NewValue): string {
  if (typeof value === 'string') return formatScalar(value);
  if (Array.isArray(value)) return `[${value.map(flowEntry).join(', ')}]`;
  return `{${value.map.map(([k, v]) => `${k}: ${flowValue(v)}`).join(', ')}}`;
}

function flowEntry(entry: AppEntry): string {
  return `{${entryFields(entry)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')}}`;
}

/** Lines of a block list entry with its `-` at `dashColumn`. */
function entryLines(entry: AppEntry, dashColumn: number, style: Style): string[] {
  return entryFields(entry).map(([k, v], i) =>
    i === 0
      ? `${' '.repeat(dashColumn)}-${' '.repeat(style.dashGap - 1)}${k}: ${v}`
      : `${' '.repeat(dashColumn + style.dashGap)}${k}: ${v}`,
  );
}

/** Lines of `key: value` in block style with the key at `column`. */
function blockLines(key: string, value: NewValue, column: number, style: Style): string[] {
  const pad = ' '.repeat(column);
  if (typeof value === 'string') return [`${pad}${key}: ${formatScalar(value)}`];
  if (Array.isArray(value))
    return [`${pad}${key}:`, ...value.flatMap((e) => entryLines(e, column + style.seqIndent, style))];
  return [`${pad}${key}:`, ...value.map.flatMap(([k, v]) => blockLines(k, v, column + style.unit, style))];
}

/** `{a: {b: value}}` for the keys still missing below an existing map. */
function nest(keys: readonly string[], value: NewValue): NewValue {
  return keys.reduceRight<NewValue>((inner, key) => ({ map: [[key, inner]] }), value);
}

function splice(text: string, from: number, to: number, insert: string): string {
  return text.slice(0, from) + insert + text.slice(to);
}

/** Inserts whole lines before line `line` (or at the end when `line` is the line count). */
function insertLines(lines: Lines, line: number, newLines: readonly string[]): string {
  const block = newLines.map((l) => l + lines.eol).join('');
  if (line < lines.count) return splice(lines.text, lines.start(line), lines.start(line), block);
  const text = lines.text;
  const needsBreak = text.length > 0 && !/[\r\n]$/.test(text);
  return text + (needsBreak ? lines.eol : '') + block;
}

/** Adds `key: value` to `map` (which has no such key), where the key order of SPEC §3 puts it. */
function insertKey(
  lines: Lines,
  style: Style,
  map: YAMLMap,
  mapPath: readonly string[],
  key: string,
  value: NewValue,
): string {
  if (map.flow) {
    const last = map.items.at(-1);
    if (last) {
      const end = contentEnd((last.value ?? last.key) as Node);
      return splice(lines.text, end, end, `, ${key}: ${flowValue(value)}`);
    }
    const open = range(map)[0] + 1;
    return splice(lines.text, open, open, `${key}: ${flowValue(value)}`);
  }
  const first = map.items[0];
  if (!first) throw unexpected(`${mapPath.join('.') || 'the document'} is an empty mapping`);
  const column = lines.column(range(first.key as Node)[0]);
  const newLines = blockLines(key, value, column, style);
  const order = KEY_ORDER[mapPath.join('.')] ?? [];
  const rank = (k: string) => {
    const i = order.indexOf(k);
    return i === -1 ? order.length : i;
  };
  const after = map.items.find((p) => rank(String((p.key as { value?: unknown }).value)) > rank(key));
  if (after) {
    const at = firstLine(lines, lines.lineOf(range(after.key as Node)[0]));
    // Sections the author separates with a blank line stay separated.
    const spaced = at > 0 && lines.isBlank(at - 1);
    return insertLines(lines, at, spaced ? [...newLines, ''] : newLines);
  }
  const lastPair = map.items.at(-1) as Pair;
  const keyStart = range(lastPair.key as Node)[0];
  const end = lastLine(
    lines,
    lines.lineOf(keyStart),
    column,
    contentEnd((lastPair.value ?? lastPair.key) as Node),
  );
  return insertLines(lines, end + 1, newLines);
}

function setScalar(text: string, path: readonly string[], value: string): string {
  const { root, lines } = parse(text);
  const found = walk(root, path);
  if (found.missing.length > 0) {
    const [key, ...rest] = found.missing as [string, ...string[]];
    return insertKey(lines, detectStyle(root, lines), found.map, found.mapPath, key, nest(rest, value));
  }
  const node = found.value;
  if (!isScalar(node)) throw unexpected(`${path.join('.')} is not a single value`);
  const [start, end] = range(node);
  // Keep the quoting the author chose for this value.
  const written =
    node.type === 'QUOTE_DOUBLE'
      ? JSON.stringify(value)
      : node.type === 'QUOTE_SINGLE'
        ? `'${value.replaceAll("'", "''")}'`
        : formatScalar(value);
  return splice(text, start, end, written);
}

function entryId(item: unknown): string | undefined {
  if (!isMap(item)) return undefined;
  const id = findPair(item, 'id')?.value;
  return isScalar(id) ? String(id.value) : undefined;
}

function appendEntry(text: string, path: readonly string[], entry: AppEntry): string {
  const { root, lines } = parse(text);
  const style = detectStyle(root, lines);
  const found = walk(root, path);
  if (found.missing.length > 0) {
    const [key, ...rest] = found.missing as [string, ...string[]];
    return insertKey(lines, style, found.map, found.mapPath, key, nest(rest, [entry]));
  }
  const list = found.value;
  if (!isSeq(list)) throw unexpected(`${path.join('.')} is not a list`);
  const keyNode = found.pair?.key as Node;
  if (list.flow) {
    const last = list.items.at(-1) as Node | undefined;
    if (last) {
      const end = range(last)[1];
      const lastLineNo = lines.lineOf(range(last)[0]);
      // An entry per line stays an entry per line.
      const own =
        lines.lineOf(range(list)[0]) !== lastLineNo &&
        lines.indent(lastLineNo) === lines.column(range(last)[0]);
      const sep = own ? `,${lines.eol}${' '.repeat(lines.indent(lastLineNo))}` : ', ';
      return splice(text, end, end, `${sep}${flowEntry(entry)}`);
    }
    if (found.map.flow) {
      const [start, end] = range(list);
      return splice(text, start, end, `[${flowEntry(entry)}]`);
    }
    // `blocked: []` in a block mapping becomes a block list: one entry per line reads best in review.
    const [start, end] = range(list);
    let from = start;
    while (from > 0 && (text[from - 1] === ' ' || text[from - 1] === '\t')) from--;
    const keyLine = lines.lineOf(range(keyNode)[0]);
    const withoutBrackets = new Lines(splice(text, from, end, ''));
    const dashColumn = lines.column(range(keyNode)[0]) + style.seqIndent;
    return insertLines(withoutBrackets, keyLine + 1, entryLines(entry, dashColumn, style));
  }
  const last = list.items.at(-1) as Node;
  const lastStart = lines.lineOf(range(last)[0]);
  const dashColumn = lines.indent(lastStart);
  const itemStyle =
    isMap(last) && !last.flow ? { ...style, dashGap: lines.column(range(last)[0]) - dashColumn } : style;
  const end = lastLine(lines, lastStart, dashColumn, contentEnd(last));
  // Entries the author separates with blank lines get one before the new entry too.
  const above = firstLine(lines, lastStart) - 1;
  const spaced = list.items.length > 1 && above >= 0 && lines.isBlank(above);
  return insertLines(lines, end + 1, [...(spaced ? [''] : []), ...entryLines(entry, dashColumn, itemStyle)]);
}

function removeEntry(text: string, path: readonly string[], id: string): string {
  const { root, lines } = parse(text);
  const found = walk(root, path);
  const list = found.value;
  if (found.missing.length > 0 || !isSeq(list)) throw unexpected(`${path.join('.')} is not a list`);
  const index = list.items.findIndex((item) => entryId(item) === id);
  const item = list.items[index] as Node | undefined;
  if (!item) throw unexpected(`app ${id} is not in ${path.join('.')}`);
  if (list.flow) {
    const [listStart, listEnd] = range(list);
    if (list.items.length === 1) return splice(text, listStart, listEnd, '[]');
    const next = list.items[index + 1] as Node | undefined;
    if (next) return splice(text, range(item)[0], range(next)[0], '');
    const previous = list.items[index - 1] as Node;
    return splice(text, range(previous)[1], range(item)[1], '');
  }
  const startLine = lines.lineOf(range(item)[0]);
  const dashColumn = lines.indent(startLine);
  let first = firstLine(lines, startLine);
  let last = lastLine(lines, startLine, dashColumn, contentEnd(item));
  if (list.items.length === 1) {
    // The last entry goes and the list stays, empty: `blocked: []` (an empty key would be null).
    const keyEnd = range(found.pair?.key as Node)[1];
    const colon = text.indexOf(':', keyEnd);
    const without = splice(text, lines.start(first), lines.next(last), '');
    return splice(without, colon + 1, colon + 1, ' []');
  }
  // Entries separated by blank lines stay separated by one, not two, and none is left dangling.
  const blankBefore = first > 0 && lines.isBlank(first - 1);
  const blankAfter = last + 1 < lines.count && lines.isBlank(last + 1);
  if (index === list.items.length - 1) {
    if (blankBefore) while (first > 0 && lines.isBlank(first - 1)) first--;
  } else if (blankAfter && (index === 0 || blankBefore)) {
    while (last + 1 < lines.count && lines.isBlank(last + 1)) last++;
  }
  return splice(text, lines.start(first), lines.next(last), '');
}

// ---------------------------------------------------------------------------------------------------------
// Unified diff

/**
 * A unified diff (`diff -u`, three lines of context) of two texts of one repository file, with
 * `a/<file>` and `b/<file>` headers as `git apply` and `patch -p1` expect. Lines are compared with
 * their line breaks (a last line without one is marked `\ No newline at end of file`).
 *
 * @param file repository-relative path, e.g. `orgs/acme.yaml`
 * @returns the diff, or '' when the texts are equal
 */
export function unifiedDiff(file: string, before: string, after: string, context = 3): string {
  if (before === after) return '';
  // jsdiff computes the hunks; the headers are written as `diff -u` / git write them.
  const patch = structuredPatch(`a/${file}`, `b/${file}`, before, after, undefined, undefined, { context });
  const out = [`--- a/${file}`, `+++ b/${file}`];
  for (const h of patch.hunks) {
    out.push(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines);
  }
  return `${out.join('\n')}\n`;
}
