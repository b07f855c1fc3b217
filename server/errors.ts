// The one mapping from errors to HTTP answers (SPEC §4 bad input): every route throws, this file answers.
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type Issue, isEngineError } from '../engine/index.ts';

/** Machine-readable error codes of the HTTP API (docs/api.md "Errors"). */
export type HttpErrorCode =
  | 'invalid_json'
  | 'incomplete_body'
  | 'invalid_request'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'conflict'
  | 'not_ready'
  | 'not_found'
  | 'method_not_allowed'
  | 'evaluation_error'
  | 'internal_error';

/** One problem with a request, `field` as a JSON pointer into the body (e.g. `/evaluations/3/subject/id`). */
export interface FieldProblem {
  field: string | null;
  message: string;
}

/**
 * An error the server answers with `{error: {code, message, field}}` and `status`.
 * Thrown by routes and middleware; turned into a response only by {@link errorResponse}.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: ContentfulStatusCode;
  readonly code: HttpErrorCode;
  readonly field: string | null;
  readonly problems: FieldProblem[];
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: HttpErrorCode,
    message: string,
    opts: {
      field?: string | null;
      problems?: FieldProblem[];
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.field = opts.field ?? null;
    this.problems = opts.problems ?? [];
    this.headers = opts.headers ?? {};
  }
}

/** Turns engine request issues into field problems, prefixing every path with `prefix` (e.g. `/input`). */
export function issuesToProblems(issues: readonly Issue[], prefix = ''): FieldProblem[] {
  return issues.map((i) => ({
    field: i.path !== undefined ? `${prefix}${i.path}` : prefix || null,
    message: i.message,
  }));
}

/** A 400 `invalid_request` naming the first problem's field and listing all of them. */
export function invalidRequest(problems: FieldProblem[]): HttpError {
  const first = problems[0] ?? { field: null, message: 'invalid request' };
  return new HttpError(400, 'invalid_request', first.message, { field: first.field, problems });
}

/**
 * Maps any thrown value to the HTTP error to answer (SPEC §4):
 * EngineError `invalid_input` → 400 `invalid_request` (field from the issue path); `not_ready` → 503;
 * `evaluation_error` / `evaluation_undefined` → 500 `evaluation_error` (a deny: fail closed);
 * anything else → 500 `internal_error` (its message is not shown to callers).
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isEngineError(err, 'invalid_input')) return invalidRequest(issuesToProblems(err.issues));
  if (isEngineError(err, 'not_ready')) {
    return new HttpError(503, 'not_ready', 'no valid policy is live yet; try again once /ready answers 200', {
      headers: { 'Retry-After': '1' },
    });
  }
  if (isEngineError(err, 'evaluation_error') || isEngineError(err, 'evaluation_undefined')) {
    return new HttpError(500, 'evaluation_error', 'the evaluation failed; denied (fail closed)', {
      cause: err,
    });
  }
  return new HttpError(500, 'internal_error', 'internal error', { cause: err });
}

/** Path of the OPA Data API route, whose answers wrap the decision in `result` (OPA's shape). */
export const OPA_DECISION_PATH = '/v1/data/appwarden/decision';

/**
 * The JSON body of an error answer. `evaluation_error` is still a decision (SPEC §4: fail closed,
 * every response carries a decision id and the revision): `decision: false` with its context — on
 * the OPA route wrapped as `{result, decision_id}` like any OPA answer.
 */
export function errorBody(e: HttpError, revision: string | null, path = ''): Record<string, unknown> {
  const error: Record<string, unknown> = { code: e.code, message: e.message, field: e.field };
  if (e.problems.length > 1) error.problems = e.problems;
  if (e.code === 'evaluation_error') {
    const decisionId = randomUUID();
    const decision = {
      decision: false,
      context: {
        decision_id: decisionId,
        revision,
        reason: { code: 'evaluation_error', message: e.message },
      },
    };
    if (path === OPA_DECISION_PATH) return { result: decision, decision_id: decisionId, error };
    return { ...decision, error };
  }
  return { error };
}

/** Answers `err` on `c` as JSON with its status and headers; the single error-to-HTTP exit of the app. */
export function errorResponse(c: Context, err: unknown, revision: string | null): Response {
  const e = toHttpError(err);
  return c.json(errorBody(e, revision, c.req.path), e.status, e.headers);
}
