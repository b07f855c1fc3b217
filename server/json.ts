// Strict JSON for request bodies and CLI input files: JSON.parse plus the checks it skips (duplicate keys).
import { escapePointer } from '../engine/index.ts';

/** Where a JSON text is not acceptable: `field` is a JSON pointer when known, `message` says what is wrong. */
export class JsonError extends Error {
  override readonly name = 'JsonError';
  readonly field: string | null;
  constructor(message: string, field: string | null = null) {
    super(message);
    this.field = field;
  }
}

/**
 * Parses `text` as JSON and rejects what I-JSON (RFC 7493 §2) forbids and JSON.parse lets through: duplicate
 * object keys (JSON.parse keeps the last one silently, so a caller's `"org"` could be overridden by a second
 * `"org"` that a proxy or logger never showed) and strings or keys with a lone UTF-16 surrogate escape
 * (`"\ud800"`: not Unicode, so no UTF-8 store, log or Wasm can hold it; every endpoint refuses it the same way).
 * @throws JsonError when the text is not JSON, repeats a key or holds a lone surrogate (field: the pointer to
 *   the repeated key or the bad string).
 */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new JsonError(`body is not valid JSON: ${(err as Error).message.toLowerCase()}`);
  }
  findIJsonViolation(text);
  return value;
}

// Scans text that JSON.parse already accepted (duplicate keys, lone surrogates), so only strings, brackets,
// colons and commas matter.
// Iterative (an explicit stack) so deep nesting cannot overflow the call stack.
function findIJsonViolation(text: string): void {
  type Frame =
    | { kind: 'object'; keys: Set<string>; path: string; expectKey: boolean; lastKey: string }
    | {
        kind: 'array';
        path: string;
        index: number;
      };
  const stack: Frame[] = [];
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    return top.kind === 'object' ? `${top.path}/${escapePointer(top.lastKey)}` : `${top.path}/${top.index}`;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      const token = text.slice(i, j + 1);
      if (token.includes('\\u') && !(JSON.parse(token) as string).isWellFormed()) {
        const isKey = top?.kind === 'object' && top.expectKey;
        throw new JsonError(
          `${isKey ? 'a key' : 'a string'} holds a lone UTF-16 surrogate escape (e.g. "\\ud800"); send valid Unicode`,
          isKey && top ? `${top.path}/${escapePointer(JSON.parse(token) as string)}` : childPath(),
        );
      }
      if (top?.kind === 'object' && top.expectKey) {
        const key = JSON.parse(token) as string;
        if (top.keys.has(key)) {
          throw new JsonError(`duplicate key "${key}"`, `${top.path}/${escapePointer(key)}`);
        }
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (ch === '{')
      stack.push({ kind: 'object', keys: new Set(), path: childPath(), expectKey: true, lastKey: '' });
    else if (ch === '[') stack.push({ kind: 'array', path: childPath(), index: 0 });
    else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array') top.index += 1;
    }
    i += 1;
  }
}
