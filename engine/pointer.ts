// JSON Pointer segments (RFC 6901): how every field of an error is named (`/evaluations/0/subject/id`).

/** One key or index as a JSON-pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A JSON-pointer segment back to its key (RFC 6901, `~1` before `~0`). */
export function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
