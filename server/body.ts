// Reads a request body: media type, size limit (Content-Length and chunked), UTF-8, strict JSON, object; and
// checks it against the JSON Schema the OpenAPI document shows for it (schemas/), plus the text checks a schema
// cannot express.
import type { Context } from 'hono';
import {
  type BodyError,
  escapePointer,
  type IdentifiedSchema,
  pointerLabel,
  textProblem,
  validateJsonBody,
} from '../engine/index.ts';
import { type FieldProblem, HttpError, invalidRequest, issuesToProblems } from './errors.ts';
import { JsonError, parseStrictJson } from './json.ts';

/** True for `application/json` and `application/*+json`, any case, with parameters; a charset must be UTF-8. */
export function isJsonMediaType(header: string | undefined): boolean {
  if (!header) return false;
  const [type = '', ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  if (!/^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/.test(type)) return false;
  for (const p of params) {
    const [name, value = ''] = p.split('=').map((s) => s.trim());
    if (
      name === 'charset' &&
      value.replace(/^"|"$/g, '') !== 'utf-8' &&
      value.replace(/^"|"$/g, '') !== 'utf8'
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Reads the request body as a JSON object (SPEC §4 bad input), never more than `maxBytes` bytes:
 * a declared Content-Length over the limit is refused before reading; a chunked body is counted as it
 * streams and refused as soon as it passes the limit.
 * @throws HttpError 415 `unsupported_media_type`, 413 `payload_too_large`, 400 `incomplete_body` (the client
 *   disconnected mid-body), 400 `invalid_json`
 *   (not UTF-8, not JSON, duplicate key, or not an object).
 */
export async function readJsonObject(c: Context, maxBytes: number): Promise<Record<string, unknown>> {
  const contentType = c.req.header('content-type');
  if (!isJsonMediaType(contentType)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `the body must be application/json (utf-8), not ${contentType ? JSON.stringify(contentType) : 'missing'}`,
      { field: null },
    );
  }
  const tooLarge = () =>
    new HttpError(413, 'payload_too_large', `the body is larger than the limit of ${maxBytes} bytes`);
  const declared = c.req.header('content-length');
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw tooLarge();

  const body = c.req.raw.body;
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (body) {
    const reader = body.getReader();
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch (err) {
        // The client went away mid-body (ECONNRESET, "aborted"): its fault, not a server error.
        throw new HttpError(
          400,
          'incomplete_body',
          'the request body ended early (the connection was closed)',
          {
            cause: err,
          },
        );
      }
      const { done, value } = step;
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid UTF-8');
  }
  if (text.trim() === '') throw new HttpError(400, 'invalid_json', 'the body is empty; send a JSON object');
  let value: unknown;
  try {
    value = parseStrictJson(text);
  } catch (err) {
    if (err instanceof JsonError) throw new HttpError(400, 'invalid_json', err.message, { field: err.field });
    throw err;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new HttpError(400, 'invalid_json', `the body must be a JSON object, not ${got}`, { field: '' });
  }
  return value as Record<string, unknown>;
}

/**
 * True when the request carries a body: over a socket Node always gives a stream, so a body counts only when
 * one is declared (a Content-Length other than 0, chunked, or a Content-Type without a length).
 */
export function hasBody(c: Context): boolean {
  const length = c.req.header('content-length');
  const declared =
    (length !== undefined && length !== '0') ||
    c.req.header('transfer-encoding') !== undefined ||
    (length === undefined && c.req.header('content-type') !== undefined);
  return c.req.raw.body !== null && declared;
}

/** Adds a problem unless its field already has one (the first, from the schema, says it best). */
export function addProblem(problems: FieldProblem[], field: string, message: string): void {
  if (!problems.some((p) => p.field === field)) problems.push({ field, message });
}

/** Throws 400 `invalid_request` listing every problem, when there is one. */
export function throwProblems(problems: FieldProblem[]): void {
  if (problems.length > 0) throw invalidRequest(problems);
}

/** The fields that are prose (a request's note, a denial's or a revocation's reason): they may span lines. */
const MULTI_LINE = /\/(note|reason)$/;

/**
 * Ids, names and addresses are one line: a line break or a C1 control in one would forge a row of a CLI
 * table or a line of an email's facts (a reviewer's app name made a fake "approved" row).
 */
function lineBreak(text: string): string | undefined {
  const m = /[\r\n\u0085\u2028\u2029]|[\u0080-\u009f]/.exec(text);
  if (!m) return undefined;
  return `contains a line break or control character (\\u${m[0].charCodeAt(0).toString(16).padStart(4, '0')}); it is one line`;
}

/**
 * The SPEC §4/§7 text checks ({@link textProblem}) of every string in `value`: no lone surrogate, no control
 * character, nothing that looks like a secret token; line breaks only in prose fields (`note`, `reason`).
 * Text sent here is stored, shown to admins, mailed or written into a policy patch. A field that already has
 * a problem is skipped.
 */
export function textProblems(value: unknown, problems: FieldProblem[], at = ''): void {
  // Nothing under a field that already has a problem (an unknown field, a wrong type, too long): that is
  // also where hostile nesting is, which the schemas (closed, typed) never reach into.
  if (problems.some((p) => p.field !== null && (p.field === at || at.startsWith(`${p.field}/`)))) return;
  if (typeof value === 'string') {
    const bad = textProblem(value) ?? (MULTI_LINE.test(at) ? undefined : lineBreak(value));
    if (bad) problems.push({ field: at, message: `${pointerLabel(at)} ${bad}` });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      textProblems(v, problems, `${at}/${i}`);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) textProblems(v, problems, `${at}/${escapePointer(k)}`);
  }
}

/**
 * Reads the JSON object body ({@link readJsonObject}) and checks its shape against `schema`, the JSON Schema the
 * OpenAPI document embeds for the route (one source of truth: scripts/gen-openapi.ts), and, unless `text` is
 * false, every string with {@link textProblems}. The problems are returned, not thrown, so that a route can add
 * the checks only it can make and answer every problem at once ({@link throwProblems}).
 * @param options.optional no body at all reads as `{}` (which the schema must accept)
 * @param options.text false skips the text checks (a decision request's own validation makes them)
 * @param options.ignore schema errors left to another validator (given the body too)
 * @throws HttpError 415, 413, 400 `invalid_json` / `incomplete_body` as {@link readJsonObject}
 */
export async function readBody<T>(
  c: Context,
  maxBytes: number,
  schema: IdentifiedSchema,
  options: {
    optional?: boolean;
    text?: boolean;
    ignore?: (e: BodyError, body: Record<string, unknown>) => boolean;
  } = {},
): Promise<{ body: T; problems: FieldProblem[] }> {
  const body = options.optional && !hasBody(c) ? {} : await readJsonObject(c, maxBytes);
  const skip = options.ignore;
  const ignore = skip ? { ignore: (e: BodyError) => skip(e, body) } : {};
  const problems = issuesToProblems(validateJsonBody(body, schema, ignore));
  if (options.text !== false) textProblems(body, problems);
  return { body: body as T, problems };
}
