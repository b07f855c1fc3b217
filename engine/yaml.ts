// Parses one policy file's text by YAML 1.2 core rules only, keeping source positions so that
// every later check can point at file:line:column (SPEC §3 "The YAML is read by YAML 1.2 core rules only").
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  visit,
} from 'yaml';
import type { Issue } from './errors.ts';

/** One step of a field path: a map key or a sequence index. */
export type PathSegment = string | number;

/** A 1-based position in a file. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed YAML file: its plain JS value and a way back from field paths to the source. */
export interface ParsedYaml {
  /** Path of the file as reported in issues (relative to the repository root). */
  file: string;
  /** The document as plain JSON-compatible data (maps are objects with string keys). */
  value: unknown;
  /**
   * Where the node at `path` starts: its key when `at` is `key` (and the node is a map value),
   * otherwise its value. Falls back to the nearest ancestor that exists, then to 1:1.
   */
  positionOf(path: readonly PathSegment[], at?: 'key' | 'value'): Position;
  /** The source text of the scalar at `path` as written (e.g. `007`), or undefined. */
  sourceOf(path: readonly PathSegment[]): string | undefined;
}

/** Explicit tags allowed: the YAML 1.2 core schema's own (`!!str 123` is a legitimate way to quote). */
const CORE_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

/** Alias expansions allowed per document; a billion-laughs file needs far more. */
export const MAX_ALIAS_COUNT = 100;

/** Characters that cannot be seen in an editor (zero-width, NBSP, bidi controls, other spaces). */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');

/** True when `text` holds a character an editor does not show. */
export function hasInvisible(text: string): boolean {
  return INVISIBLE.test(text);
}

/** `text` without the characters an editor does not show. */
export function stripInvisible(text: string): string {
  return text.replace(INVISIBLE_ALL, '');
}

/** `text` with every invisible character written as `\uXXXX`, so a reader can find it. */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE_ALL, (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** Formats a path as `spec.apps.blocked[2].id` (invisible characters in keys escaped). */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? escapeInvisible(seg) : `.${escapeInvisible(seg)}`;
  }
  return out;
}

/**
 * Parses one YAML file by YAML 1.2 core rules (SPEC §3). A UTF-8 byte-order mark at the start is
 * dropped and changes nothing (columns on line 1 count from the first visible character).
 *
 * Rejected, each as an issue at file:line:col: syntax errors, a `%YAML` directive other than 1.2,
 * merge keys (`<<`), explicit tags other than the core ones, duplicate keys, more than one
 * document, an empty file (or only comments), more than {@link MAX_ALIAS_COUNT} alias expansions.
 *
 * @param file path reported in issues (relative to the repository root, e.g. `orgs/acme.yaml`)
 * @param text the file's text
 * @returns the parsed file, or the issues found (never both); problems in the text never throw
 */
export function parseYaml(
  file: string,
  text: string,
): { parsed: ParsedYaml; issues: [] } | { parsed?: undefined; issues: Issue[] } {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lineCounter = new LineCounter();
  const issues: Issue[] = [];
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const issue = (offset: number, message: string, hint?: string): void => {
    issues.push({ file, ...at(offset), message, ...(hint ? { hint } : {}) });
  };

  const docs = parseAllDocuments(source, {
    version: '1.2',
    schema: 'core',
    merge: false,
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
    lineCounter,
  });
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  if (list.length === 0 || list.every((d) => d.contents === null)) {
    return { issues: [{ file, line: 1, column: 1, message: 'file is empty', hint: 'write one document' }] };
  }
  for (const extra of list.slice(1)) {
    issue(
      extra.range[0],
      'more than one document in the file',
      'keep one document per file; remove the `---`',
    );
  }
  const doc = list[0] as Document.Parsed;

  for (const err of [...doc.errors, ...list.slice(1).flatMap((d) => d.errors)]) {
    if (err.code === 'DUPLICATE_KEY') {
      issue(err.pos[0], `duplicate key ${showKeyAt(doc, source, err.pos[0])}`, 'keep one of them');
    } else {
      issue(err.pos[0], `yaml syntax error: ${lowerFirst(err.message)}`);
    }
  }
  for (const warn of doc.warnings) {
    // Unresolved tags are reported by the tag walk below, with the tag's own position.
    if (warn.code === 'TAG_RESOLVE_FAILED') continue;
    if (warn.code === 'BAD_DIRECTIVE') continue;
    issue(warn.pos[0], `yaml: ${lowerFirst(warn.message)}`);
  }

  // A %YAML 1.1 directive would switch the reader to 1.1 rules (yes/no booleans, sexagesimal
  // numbers); SPEC §3 says 1.2 core whatever the file says, so any other version is an error.
  const directive = /^%YAML[ \t]+(\S+)/m.exec(source);
  if (directive && directive[1] !== '1.2') {
    issue(
      directive.index,
      `unsupported %YAML ${directive[1]} directive; files are read as YAML 1.2 only`,
      'remove the directive',
    );
  }

  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === '<<' && pair.key.type === 'PLAIN') {
        issue(pair.key.range?.[0] ?? 0, 'merge keys (`<<`) are not allowed', 'write the keys out in full');
      }
    },
    Node(_key, node) {
      const tag = (node as { tag?: string }).tag;
      if (tag && !CORE_TAGS.has(tag) && !isAlias(node)) {
        const start = node.range?.[0] ?? 0;
        issue(
          tagOffset(source, start),
          `tag \`${shortTag(tag)}\` is not allowed`,
          'write a plain value without a tag',
        );
      }
    },
  });

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    // yaml throws a ReferenceError for an alias without its anchor, and once expansions pass the
    // bound: point at the alias concerned.
    let unresolved: { offset: number; name: string } | undefined;
    let first = 0;
    visit(doc, {
      Alias(_k, node) {
        const offset = node.range?.[0] ?? 0;
        if (first === 0) first = offset;
        if (node.resolve(doc) === undefined) {
          unresolved = { offset, name: node.source };
          return visit.BREAK;
        }
        return undefined;
      },
    });
    if (unresolved) {
      issue(
        unresolved.offset,
        `alias \`*${unresolved.name}\` has no anchor before it`,
        `define \`&${unresolved.name}\` first`,
      );
    } else {
      issue(
        first,
        `too many alias expansions (more than ${MAX_ALIAS_COUNT})`,
        'write the values out instead of using anchors and aliases',
      );
    }
  }
  if (issues.length > 0) return { issues };

  const nodeAt = (path: readonly PathSegment[]): { node: Node | null; key: Node | null; depth: number } => {
    let node: Node | null = (doc.contents as Node | null) ?? null;
    let key: Node | null = null;
    let depth = 0;
    for (const seg of path) {
      if (node && isAlias(node)) node = (node.resolve(doc) as Node | undefined) ?? null;
      if (typeof seg === 'number' && node && isSeq(node)) {
        const item = node.items[seg];
        if (item === undefined) break;
        node = item as Node;
        key = null;
      } else if (typeof seg === 'string' && node && isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyString(p.key) === seg);
        if (!pair) break;
        key = (pair.key as Node | null) ?? null;
        node = (pair.value as Node | null) ?? null;
        if (node === null) {
          depth += 1;
          break;
        }
      } else {
        break;
      }
      depth += 1;
    }
    return { node, key, depth };
  };

  const parsed: ParsedYaml = {
    file,
    value,
    positionOf(path, where = 'value') {
      const found = nodeAt(path);
      const exact = found.depth === path.length;
      // Exact: the key or the value as asked (a key with an empty value has only its key).
      // Not found: the nearest ancestor's key, so a missing field points at its parent's line.
      const target = exact
        ? where === 'key'
          ? (found.key ?? found.node)
          : (found.node ?? found.key)
        : (found.key ?? found.node);
      const offset = target?.range?.[0];
      return offset === undefined ? { line: 1, column: 1 } : at(offset);
    },
    sourceOf(path) {
      const found = nodeAt(path);
      if (found.depth !== path.length || !found.node || !isScalar(found.node) || !found.node.range)
        return undefined;
      return source.slice(found.node.range[0], found.node.range[1]);
    },
  };
  return { parsed, issues: [] };
}

/** The key starting at `offset`, for messages: `` `a` `` or `"a\u200b"` when it holds invisible characters. */
function showKeyAt(doc: Document.Parsed, source: string, offset: number): string {
  let key: string | undefined;
  visit(doc, {
    Pair(_k, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        key = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  key ??= /^[^:\n]*/.exec(source.slice(offset))?.[0].trim() ?? '?';
  return hasInvisible(key) ? `"${escapeInvisible(key)}"` : `\`${key}\``;
}

function keyString(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1);
}

function shortTag(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}

/** The node's range starts after its tag (and anchor): walk back on the line to the `!`. */
function tagOffset(source: string, nodeStart: number): number {
  const lineStart = source.lastIndexOf('\n', nodeStart - 1) + 1;
  const before = source.slice(lineStart, nodeStart);
  const bang = before.lastIndexOf('!');
  if (bang === -1) return nodeStart;
  // Back up to the start of the tag token (`!!binary`, `!custom`, `!<tag:...>`).
  let i = lineStart + bang;
  while (i > lineStart && !/\s/.test(source.charAt(i - 1))) i -= 1;
  return i;
}
