// The one error type of the engine: a closed set of codes, every problem found at once (sorted by
// file, line, column) and the library error that caused it passed through as `cause`.

/** Every code an {@link EngineError} can carry. */
export type EngineErrorCode =
  /** A policy repository, org policy or history file failed parsing, schema or SPEC §3 checks. */
  | 'invalid_policy'
  /** A PolicyHistory file is invalid (SPEC §5). */
  | 'invalid_history'
  /** A decision request failed validation (SPEC §4 bad input); never evaluated. */
  | 'invalid_input'
  /** A file or directory could not be read. */
  | 'io_error'
  /** policy.wasm could not be loaded or instantiated. */
  | 'wasm_load_error'
  /** The Wasm evaluation threw (opa-wasm throws bare strings; wrapped here). Fail closed: deny. */
  | 'evaluation_error'
  /** The Wasm evaluation returned no result (undefined). Fail closed: deny. */
  | 'evaluation_undefined'
  /** No revision is live yet (SPEC §4: decisions answer 503). */
  | 'not_ready'
  /** A bundle file is malformed. */
  | 'invalid_bundle'
  /** A server or CLI configuration value is wrong. */
  | 'invalid_config';

/** One problem, located as precisely as the source allows (1-based line and column). */
export interface Issue {
  /** Path of the file relative to the policy repository root (or as given), if any. */
  file?: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column. */
  column?: number;
  /** Field path inside the document, e.g. `spec.apps.blocked[2].id`; for requests e.g. `/subject/id`. */
  path?: string;
  /** Lower-case message naming the thing and what is wrong. */
  message: string;
  /** What to do about it, e.g. `quote it ("1204567890123456789")` or `did you mean "expiration"?`. */
  hint?: string;
}

/** Formats an issue as `file:line:col: message (at path; hint)`, the form CI and editors parse. */
export function formatIssue(issue: Issue): string {
  const where = issue.file
    ? `${issue.file}${issue.line ? `:${issue.line}` : ''}${issue.line && issue.column ? `:${issue.column}` : ''}: `
    : '';
  const extras = [issue.path ? `at ${issue.path}` : '', issue.hint ?? ''].filter(Boolean).join('; ');
  return `${where}${issue.message}${extras ? ` (${extras})` : ''}`;
}

/** Sorts issues by file, line, column, then message (stable output for humans and golden files). */
export function sortIssues(issues: readonly Issue[]): Issue[] {
  return [...issues].sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.message.localeCompare(b.message),
  );
}

/**
 * The engine's error. `issues` lists every problem found (sorted); `message` summarizes them.
 * @example throw new EngineError('invalid_policy', issues)
 */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  readonly code: EngineErrorCode;
  readonly issues: Issue[];

  constructor(
    code: EngineErrorCode,
    issuesOrMessage: readonly Issue[] | string,
    options?: { cause?: unknown },
  ) {
    const issues =
      typeof issuesOrMessage === 'string' ? [{ message: issuesOrMessage }] : sortIssues(issuesOrMessage);
    const first = issues[0];
    const summary =
      issues.length === 1 && first
        ? formatIssue(first)
        : `${issues.length} problems:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`;
    super(summary, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = issues;
  }
}

/**
 * True when a load failed because the sources are invalid (a reload is `rejected`: the policy, a history file
 * or a bundle), as opposed to sources that could not be read or loaded (an `error`). SPEC §7: either way the
 * last good revision stays live; the metrics and logs tell the two apart.
 */
export function isRejectedSource(err: unknown): boolean {
  return (
    isEngineError(err, 'invalid_policy') ||
    isEngineError(err, 'invalid_history') ||
    isEngineError(err, 'invalid_bundle')
  );
}

/** True when `err` is an {@link EngineError}, optionally with the given code. */
export function isEngineError(err: unknown, code?: EngineErrorCode): err is EngineError {
  return err instanceof EngineError && (code === undefined || err.code === code);
}
