// Reads a decision request body: media type, size limit (Content-Length and chunked), UTF-8, strict JSON, object.
import type { Context } from 'hono';
import { HttpError } from './errors.ts';
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
