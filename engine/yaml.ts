// Parses one policy file's text by YAML 1.2 core rules only, keeping source positions so that
// every later check can point at file:line:column (SPEC §3 "The YAML is read by YAML 1.2 core rules only").
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  Parser,
  parseAllDocuments,
  visit,
  type YAMLError,
} from 'yaml';
import type { Issue } from './errors.ts';

/** One step of a field path: a map key or a sequence index. */
export type PathSegment = string | number;

/** A 1-based position in a file; the column counts characters (code points), not UTF-16 units. */
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
   * otherwise its value. When the path passes through an alias, the alias (the place the value
   * was used, not where it was defined). Falls back to the nearest ancestor that exists, then to 1:1.
   */
  positionOf(path: readonly PathSegment[], at?: 'key' | 'value'): Position;
  /** The source text of the scalar at `path` as written (e.g. `007`), or undefined. */
  sourceOf(path: readonly PathSegment[]): string | undefined;
  /** The explicit tag of the node at `path` in short form (`!!int`), or undefined. */
  tagOf(path: readonly PathSegment[]): string | undefined;
}

/** Explicit tags allowed: the YAML 1.2 core schema's own (`!!str 123` is a legitimate way to quote). */
const CORE_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

/** Alias expansions allowed per document; a billion-laughs file needs far more. */
export const MAX_ALIAS_COUNT = 100;

/**
 * Collections nested deeper than this are refused before the YAML library composes them (its
 * composer recurses; policy files need 6 levels).
 */
export const MAX_DEPTH = 64;

/** Syntax errors reported per file; the rest are counted ("and N more"), as they mostly cascade. */
export const MAX_SYNTAX_ERRORS = 3;

/** Longest value quoted in a message before it is cut with an ellipsis (characters). */
export const MAX_QUOTED = 80;

/** Characters that cannot be seen in an editor (zero-width, NBSP, bidi controls, other spaces). */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');

/**
 * Characters a string value or key may not hold: C0 controls other than tab, LF and CR (YAML
 * white space) and lone UTF-16 surrogates. The engine's Wasm JSON parser refuses lone surrogates,
 * and NUL or other controls in a name or id are never what an admin meant.
 */
const FORBIDDEN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Names of the C0 control characters, for messages. */
const C0_NAMES = (
  'NUL SOH STX ETX EOT ENQ ACK BEL BS TAB LF VT FF CR SO SI ' +
  'DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US'
).split(' ');

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

/** `text` cut to {@link MAX_QUOTED} characters with an ellipsis (never inside a surrogate pair). */
export function truncate(text: string, max = MAX_QUOTED): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * A string quoted for a message: JSON-escaped, invisible characters as `\uXXXX`, cut to
 * {@link MAX_QUOTED} characters. `"30d\u200b"`, never the raw character.
 */
export function quote(text: string): string {
  const json = JSON.stringify(truncate(text));
  // JSON.stringify already escapes C0 controls and lone surrogates; escape what it leaves visible-less.
  return escapeInvisible(json);
}

/** Formats a path as `spec.apps.blocked[2].id` (invisible characters in keys escaped, long keys cut). */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const shown = escapeInvisible(truncate(seg, 40));
      out += out === '' ? shown : `.${shown}`;
    }
  }
  return out;
}

/** The first forbidden character of `text` as `\u0000 (NUL)` or `lone surrogate \ud83d`, or undefined. */
export function forbiddenCharacter(text: string): string | undefined {
  const m = FORBIDDEN.exec(text);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0);
  const escaped = `\\u${code.toString(16).padStart(4, '0')}`;
  return code < 0x20 ? `the control character ${escaped} (${C0_NAMES[code]})` : `a lone surrogate ${escaped}`;
}

/**
 * Decodes a file's bytes as UTF-8 (strict: an invalid byte is an error, not U+FFFD).
 *
 * @param file path reported in the issue
 * @returns the text, or one issue at the line and column of the first invalid byte
 */
export function decodeUtf8(file: string, bytes: Uint8Array): { text: string } | { issue: Issue } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    // Everything before the bad byte is valid, so it decodes to the line and column.
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
    const lineStart = before.lastIndexOf('\n') + 1;
    const line = before.split('\n').length;
    const lineText = before.slice(lineStart);
    const column = [...(lineStart === 0 ? lineText.replace(/^\uFEFF/, '') : lineText)].length + 1;
    const byte = bytes[bad] ?? 0;
    return {
      issue: {
        file,
        line,
        column,
        message: `the file is not valid UTF-8 (byte 0x${byte.toString(16).padStart(2, '0')})`,
        hint: 'save the file as UTF-8',
      },
    };
  }
}

/** Byte offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let need = 0;
    let min = 0;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k += 1) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/** What the concrete syntax tree shows that the composed document forgets: where tags and anchors are. */
interface CstFacts {
  /** Tag tokens (`!!binary`, `!app`) by offset, in source order. */
  tags: { offset: number; source: string }[];
  /** Anchor tokens (`&a`) by offset, in source order. */
  anchors: { offset: number; source: string }[];
  /** `%YAML` directives, each with the number of `%YAML` lines before it in the same document prelude. */
  yamlDirectives: { offset: number; version: string; repeat: boolean }[];
  /** Offset of the first collection nested deeper than {@link MAX_DEPTH}, if any. */
  tooDeep?: number;
}

const COLLECTION_TOKENS = new Set(['block-map', 'block-seq', 'flow-collection']);

/** Walks the CST without recursion (the nesting depth is what is being checked). */
function scanCst(source: string): CstFacts {
  const facts: CstFacts = { tags: [], anchors: [], yamlDirectives: [] };
  let yamlInPrelude = 0;
  for (const token of new Parser().parse(source)) {
    if (token.type === 'directive') {
      const m = /^%YAML[ \t]+(\S+)/.exec(token.source);
      if (m) {
        facts.yamlDirectives.push({ offset: token.offset, version: m[1] ?? '', repeat: yamlInPrelude > 0 });
        yamlInPrelude += 1;
      }
      continue;
    }
    if (token.type === 'document') yamlInPrelude = 0;
    const stack: { value: unknown; depth: number }[] = [{ value: token, depth: 0 }];
    while (stack.length > 0) {
      const { value, depth } = stack.pop() as { value: unknown; depth: number };
      if (value === null || typeof value !== 'object') continue;
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i -= 1) stack.push({ value: value[i], depth });
        continue;
      }
      const t = value as { type?: string; offset?: number; source?: string };
      let d = depth;
      if (t.type && COLLECTION_TOKENS.has(t.type)) {
        d += 1;
        if (d > MAX_DEPTH) {
          if (facts.tooDeep === undefined || (t.offset ?? 0) < facts.tooDeep) facts.tooDeep = t.offset ?? 0;
          continue;
        }
      }
      if (t.type === 'tag') facts.tags.push({ offset: t.offset ?? 0, source: t.source ?? '' });
      if (t.type === 'anchor') facts.anchors.push({ offset: t.offset ?? 0, source: t.source ?? '' });
      const children = Object.entries(value).filter(([k]) => k !== 'source');
      for (let i = children.length - 1; i >= 0; i -= 1) stack.push({ value: children[i]?.[1], depth: d });
    }
  }
  facts.tags.sort((a, b) => a.offset - b.offset);
  facts.anchors.sort((a, b) => a.offset - b.offset);
  return facts;
}

/** The last token that starts at or before `offset` (a node's tag or anchor precedes the node). */
function tokenBefore(tokens: readonly { offset: number; source: string }[], offset: number, source?: string) {
  let found: { offset: number; source: string } | undefined;
  for (const t of tokens) {
    if (t.offset > offset) break;
    if (source === undefined || t.source === source) found = t;
  }
  return found;
}

/** Hints for the yaml library's syntax errors that have a usual cause, by code or message. */
const SIBLINGS = 'check the indentation of this line against its siblings';
const SYNTAX_HINTS: readonly [RegExp, string][] = [
  [/^TAB_AS_INDENT /, 'indent with spaces, not tabs'],
  [/must start at the same column/i, SIBLINGS],
  [/block sequence may not be used as an implicit map key/i, SIBLINGS],
  [/implicit keys need to be on a single line/i, SIBLINGS],
  [/sequence item without - indicator/i, SIBLINGS],
  [/nested mappings are not allowed in compact mappings/i, `quote a value that holds ": ", or ${SIBLINGS}`],
  [/^(flow sequence|flow mapping).*end with a ([\]}])/i, 'close the bracket before the next key'],
  [/^BAD_DQ_ESCAPE /, 'in double quotes write \\\\ for a backslash, or use single quotes'],
];

function syntaxHint(err: YAMLError, lineText: string): string | undefined {
  // A tab in the indentation is the usual cause of whatever the library says about this line.
  if (/^ *\t/.test(lineText)) return 'indent with spaces, not tabs';
  const text = `${err.code} ${err.message}`;
  return SYNTAX_HINTS.find(([re]) => re.test(text) || re.test(err.message))?.[1];
}

/**
 * Indentation errors: once the parser has misread one line's indentation, the lines after it in
 * the same top-level section are misread too, and every one of them gets an error of this kind.
 */
const INDENTATION = new Set([
  'TAB_AS_INDENT',
  'BAD_INDENT',
  'BLOCK_AS_IMPLICIT_KEY',
  'MULTILINE_IMPLICIT_KEY',
]);

function isIndentationError(err: YAMLError): boolean {
  return (
    INDENTATION.has(err.code) ||
    /^(implicit map keys need to be followed|sequence item without - indicator)/i.test(err.message)
  );
}

/**
 * Parses one YAML file by YAML 1.2 core rules (SPEC §3). A UTF-8 byte-order mark at the start is
 * dropped and changes nothing (columns on line 1 count from the first visible character); a lone
 * CR is a line break, as YAML 1.2 says.
 *
 * Rejected, each as an issue at file:line:col: syntax errors (at most {@link MAX_SYNTAX_ERRORS},
 * then a count), a `%YAML` directive other than 1.2 or a repeated one, merge keys (`<<`), explicit
 * tags other than the core ones, duplicate keys, keys that are not plain strings (collections,
 * empty, null, aliases, anchored keys), NUL, other C0 controls and lone surrogates in any string,
 * more than one document, an empty file (or only comments), nesting deeper than
 * {@link MAX_DEPTH}, more than {@link MAX_ALIAS_COUNT} alias expansions.
 *
 * @param file path reported in issues (relative to the repository root, e.g. `orgs/acme.yaml`)
 * @param text the file's text
 * @returns the parsed file, or the issues found (never both); problems in the text never throw
 */
export function parseYaml(
  file: string,
  text: string,
): { parsed: ParsedYaml; issues: [] } | { parsed?: undefined; issues: Issue[] } {
  // A lone CR (old Mac line ends) is a line break in YAML 1.2 but not to the yaml library; as an LF
  // it keeps every offset where it was.
  const source = (text.startsWith('\uFEFF') ? text.slice(1) : text).replace(/\r(?!\n)/g, '\n');
  const lineStarts = [0];
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const at = (offset: number): Position => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const start = lineStarts[lo] as number;
    return { line: lo + 1, column: [...source.slice(start, Math.max(start, offset))].length + 1 };
  };
  const issues: Issue[] = [];
  const issue = (offset: number, message: string, hint?: string): void => {
    issues.push({ file, ...at(offset), message, ...(hint ? { hint } : {}) });
  };

  const cst = scanCst(source);
  if (cst.tooDeep !== undefined) {
    issue(
      cst.tooDeep,
      `nesting deeper than ${MAX_DEPTH} levels`,
      'policy files need a few levels; look for unclosed brackets or runaway indentation',
    );
    return { issues };
  }

  const docs = parseAllDocuments(source, {
    version: '1.2',
    schema: 'core',
    merge: false,
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
    // Warnings are reported as issues; the library must never print to the process.
    logLevel: 'silent',
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

  const syntax: YAMLError[] = [];
  for (const err of [...doc.errors, ...list.slice(1).flatMap((d) => d.errors)]) {
    if (err.code === 'DUPLICATE_KEY') {
      const key = showKeyAt(doc, source, err.pos[0]);
      // Two empty or null keys clash too; the key check below reports each of them. After a
      // syntax error, a repeat is mostly a line the parser put in the wrong mapping.
      const misread = doc.errors.some((e) => e.code !== 'DUPLICATE_KEY');
      if (key !== undefined && !misread) issue(err.pos[0], `duplicate key ${key}`, 'keep one of them');
    } else syntax.push(err);
  }
  reportSyntaxErrors(syntax, source, at, issues, file);
  for (const warn of doc.warnings) {
    // Unresolved tags are reported by the tag walk below; directives by the directive check.
    if (warn.code === 'TAG_RESOLVE_FAILED' || warn.code === 'BAD_DIRECTIVE') continue;
    issue(warn.pos[0], `yaml: ${lowerFirst(truncate(warn.message.split('\n', 1)[0] ?? '', 120))}`);
  }

  // A %YAML 1.1 directive would switch the reader to 1.1 rules (yes/no booleans, sexagesimal
  // numbers); SPEC §3 says 1.2 core whatever the file says, so any other version is an error.
  for (const d of cst.yamlDirectives) {
    if (d.repeat) issue(d.offset, 'more than one %YAML directive', 'keep one `%YAML 1.2` line, or none');
    else if (d.version !== '1.2') {
      issue(
        d.offset,
        `unsupported %YAML ${truncate(d.version, 20)} directive; files are read as YAML 1.2 only`,
        'remove the directive',
      );
    }
  }

  // After a syntax error the composed document is a guess: its keys and tags would be reported
  // as problems of their own. Fix the syntax first.
  for (const each of syntax.length > 0 ? [] : list) {
    // A pair is visited before its key, so the key is known as one when its scalar is checked.
    const keys = new Set<unknown>();
    visit(each, {
      Pair(_key, pair) {
        keys.add(pair.key);
        checkKey(pair.key as Node | null, pair.value as Node | null);
      },
      Node(_key, node) {
        const tag = (node as { tag?: string }).tag;
        if (tag && !CORE_TAGS.has(tag) && !isAlias(node)) {
          const start = node.range?.[0] ?? 0;
          issue(
            tokenBefore(cst.tags, start)?.offset ?? start,
            `tag \`${truncate(shortTag(tag), 40)}\` is not allowed`,
            'write a plain value without a tag',
          );
        }
        if (isScalar(node) && typeof node.value === 'string') {
          const bad = forbiddenCharacter(node.value);
          if (bad) {
            issue(
              node.range?.[0] ?? 0,
              `${keys.has(node) ? 'key' : 'value'} ${quote(node.value)} contains ${bad}`,
              'remove it; policy files hold printable text only',
            );
          }
        }
      },
    });
  }

  function checkKey(key: Node | null, value: Node | null): void {
    if (isScalar(key) && key.value === '<<' && key.type === 'PLAIN') {
      issue(key.range?.[0] ?? 0, 'merge keys (`<<`) are not allowed', 'write the keys out in full');
      return;
    }
    if (isAlias(key)) {
      issue(
        key.range?.[0] ?? 0,
        `alias \`*${truncate(key.source, 40)}\` used as a key; keys may not be aliases`,
        'write the key out in full',
      );
      return;
    }
    if (key === null || (isScalar(key) && key.value === null)) {
      // `: x` has no key node at all, or an empty scalar; `~: x` a null one.
      const start = key?.range?.[0] ?? value?.range?.[0] ?? 0;
      const written = key?.range ? source.slice(key.range[0], key.range[1]).trim() : '';
      // An empty key's range sits before the indentation: point at its colon.
      const colon = source.indexOf(':', start);
      const offset = written === '' && colon !== -1 ? colon : start;
      issue(
        offset,
        written === ''
          ? 'empty key; keys must be plain strings'
          : `key \`${truncate(written, 40)}\` is null; keys must be plain strings`,
        written === '' ? 'write the key before the colon' : `write the key name, or quote it ("${written}")`,
      );
      return;
    }
    if (isCollection(key)) {
      issue(
        key.range?.[0] ?? 0,
        `a ${isSeq(key) ? 'list' : 'mapping'} used as a key; keys must be plain strings`,
        'write a plain key such as `name:`',
      );
      return;
    }
    if (isScalar(key) && key.anchor) {
      const anchor = tokenBefore(cst.anchors, key.range?.[0] ?? 0, `&${key.anchor}`);
      issue(
        anchor?.offset ?? key.range?.[0] ?? 0,
        `anchor \`&${truncate(key.anchor, 40)}\` on a key; keys may not carry anchors`,
        'remove it; to anchor the whole mapping, put the anchor on a line of its own before it',
      );
    }
    if (isScalar(key) && typeof key.value !== 'string' && key.range) {
      const written = source.slice(key.range[0], key.range[1]).trim();
      issue(
        key.range[0],
        `key \`${truncate(written, 40)}\` is read as a ${typeof key.value}; keys must be plain strings`,
        `quote it ("${truncate(written, 40)}")`,
      );
    }
  }

  if (issues.length > 0) return { issues };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    // yaml throws a ReferenceError for an alias without its anchor, and once expansions pass the
    // bound: point at the alias concerned.
    let unresolved: { offset: number; name: string } | undefined;
    let first: number | undefined;
    visit(doc, {
      Alias(_k, node) {
        const offset = node.range?.[0] ?? 0;
        first ??= offset;
        if (node.resolve(doc) === undefined) {
          unresolved = { offset, name: node.source };
          return visit.BREAK;
        }
        return undefined;
      },
    });
    if (unresolved) {
      const name = truncate(unresolved.name, 40);
      issue(unresolved.offset, `alias \`*${name}\` has no anchor before it`, `define \`&${name}\` first`);
    } else {
      issue(
        first ?? 0,
        `too many alias expansions (more than ${MAX_ALIAS_COUNT})`,
        'write the values out instead of using anchors and aliases',
      );
    }
    return { issues };
  }

  /** The node at `path`, its key, how deep the path was found, and the first alias crossed. */
  const nodeAt = (
    path: readonly PathSegment[],
  ): { node: Node | null; key: Node | null; depth: number; alias: Node | null } => {
    let node: Node | null = (doc.contents as Node | null) ?? null;
    let key: Node | null = null;
    let alias: Node | null = null;
    let depth = 0;
    const resolve = (): void => {
      if (node && isAlias(node)) {
        alias ??= node;
        node = (node.resolve(doc) as Node | undefined) ?? null;
      }
    };
    for (const seg of path) {
      resolve();
      if (typeof seg === 'number' && node && isSeq(node)) {
        const item = node.items[seg];
        if (item === undefined) break;
        node = item as Node;
        if (!alias) key = null;
      } else if (typeof seg === 'string' && node && isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyString(p.key) === seg);
        if (!pair) break;
        if (!alias) key = (pair.key as Node | null) ?? null;
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
    return { node, key, depth, alias };
  };

  const parsed: ParsedYaml = {
    file,
    value,
    positionOf(path, where = 'value') {
      const found = nodeAt(path);
      const exact = found.depth === path.length;
      // Through an alias: where the alias stands, since that is the use an admin has to change.
      // Exact: the key or the value as asked (a key with an empty value has only its key).
      // Not found: the nearest ancestor's key, so a missing field points at its parent's line.
      const target = found.alias
        ? found.alias
        : exact
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
    tagOf(path) {
      const found = nodeAt(path);
      const tag = found.depth === path.length ? (found.node as { tag?: string } | null)?.tag : undefined;
      return tag ? shortTag(tag) : undefined;
    },
  };
  return { parsed, issues: [] };
}

/**
 * Reports the yaml library's syntax errors without their cascade: the first per line, none on the
 * line right after an indentation error (the same mistake seen again), at most
 * {@link MAX_SYNTAX_ERRORS}, then one issue counting the rest.
 */
function reportSyntaxErrors(
  errors: readonly YAMLError[],
  source: string,
  at: (offset: number) => Position,
  issues: Issue[],
  file: string,
): void {
  const sorted = [...errors].sort((a, b) => a.pos[0] - b.pos[0]);
  const lines = source.split('\n');
  /** The line (1-based) that opens the top-level section holding `line`: the last one not indented. */
  const sectionOf = (line: number): number => {
    for (let l = line; l > 1; l -= 1) {
      if (/^[^\s#]/.test(lines[l - 1] ?? '')) return l;
    }
    return 1;
  };
  const kept: { err: YAMLError; pos: Position }[] = [];
  let last: { err: YAMLError; pos: Position } | undefined;
  let misreadSection: number | undefined;
  for (const err of sorted) {
    // An error placed in a line's leading spaces belongs to the first thing written on it.
    const lineStart = source.lastIndexOf('\n', err.pos[0] - 1) + 1;
    const lead = /^ */.exec(source.slice(lineStart))?.[0].length ?? 0;
    const pos = at(Math.max(err.pos[0], lineStart + lead));
    if (last && pos.line === last.pos.line) continue;
    const section = sectionOf(pos.line);
    if (isIndentationError(err) && section === misreadSection) continue;
    if (isIndentationError(err)) misreadSection = section;
    last = { err, pos };
    kept.push(last);
  }
  for (const { err, pos } of kept.slice(0, MAX_SYNTAX_ERRORS)) {
    const lineText = source.slice(source.lastIndexOf('\n', err.pos[0] - 1) + 1).split('\n', 1)[0] ?? '';
    const hint = syntaxHint(err, lineText);
    issues.push({
      file,
      ...pos,
      message: `yaml syntax error: ${lowerFirst(truncate(err.message.split('\n', 1)[0] ?? '', 120))}`,
      ...(hint ? { hint } : {}),
    });
  }
  const rest = kept.slice(MAX_SYNTAX_ERRORS);
  const next = rest[0];
  if (next) {
    issues.push({
      file,
      ...next.pos,
      message: `and ${rest.length} more yaml syntax error${rest.length === 1 ? '' : 's'}`,
      hint: 'fix the first ones; the others often follow from them',
    });
  }
}

/**
 * The key starting at `offset`, for messages: `` `a` `` or `"a\u200b"` when it holds invisible
 * characters; undefined when that key is not a string (reported as a key problem instead).
 */
function showKeyAt(doc: Document.Parsed, source: string, offset: number): string | undefined {
  let key: string | undefined;
  let plain = true;
  visit(doc, {
    Pair(_k, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        plain = typeof pair.key.value === 'string';
        key = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (!plain) return undefined;
  key ??= /^[^:\n]*/.exec(source.slice(offset))?.[0].trim() ?? '?';
  return hasInvisible(key) ? quote(key) : `\`${truncate(key)}\``;
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
