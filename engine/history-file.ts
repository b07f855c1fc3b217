// Parses and validates PolicyHistory files (SPEC §5): the past settings of an org that migrates
// in, with the same YAML rules and error quality as org policy files.
import { readFile } from 'node:fs/promises';
import type { OrgPolicySpec } from '../schemas/org-policy.gen.ts';
import type { PolicyHistory } from '../schemas/policy-history.gen.ts';
import { EngineError, type Issue } from './errors.ts';
import { parseRfc3339 } from './time.ts';
import { POLICY_HISTORY_SCHEMA_ID, schemaIssues } from './validator.ts';
import { formatPath, type ParsedYaml, parseYaml } from './yaml.ts';

/** A partial OrgPolicy spec: only what changed at that instant. */
export type HistorySpec = OrgPolicySpec & { [key: string]: unknown };

/** One revision with its time as integer epoch seconds UTC. */
export interface ParsedRevision {
  /** Epoch seconds UTC (fractional seconds dropped). */
  at: number;
  spec: HistorySpec;
}

/** A validated PolicyHistory: oldest revision first, strictly increasing `at`. */
export interface ParsedHistory {
  org: string;
  /** Path of the file as reported in issues. */
  file: string;
  revisions: ParsedRevision[];
}

/**
 * Validates a parsed PolicyHistory file: schema (SPEC §5; `at` RFC 3339 with time and offset,
 * `spec` a partial OrgPolicy spec) and revisions in strictly increasing time order.
 *
 * @returns the history when valid, and every issue found (empty when valid)
 */
export function validateHistory(parsed: ParsedYaml): { history?: ParsedHistory; issues: Issue[] } {
  const issues = schemaIssues(POLICY_HISTORY_SCHEMA_ID, parsed);
  if (issues.length > 0) return { issues };
  const doc = parsed.value as PolicyHistory;
  const revisions: ParsedRevision[] = [];
  let prev: { at: number; line: number; text: string } | undefined;
  doc.revisions.forEach((rev, i) => {
    const path = ['revisions', i, 'at'];
    const where = parsed.positionOf(path);
    const at = parseRfc3339(rev.at);
    if (at === null) {
      // The pattern passed but the calendar did not (2026-02-30, hour 24, offset +25:00).
      issues.push({
        file: parsed.file,
        ...where,
        path: formatPath(path),
        message: `timestamp is not a real date and time: ${JSON.stringify(rev.at)}`,
      });
      return;
    }
    if (prev && at <= prev.at) {
      issues.push({
        file: parsed.file,
        ...where,
        path: formatPath(path),
        message: `revisions must be in time order: ${rev.at} is not after ${prev.text}`,
        hint: `the previous revision is at line ${prev.line}; list revisions oldest first, one per instant`,
      });
    }
    prev = { at, line: where.line, text: rev.at };
    revisions.push({ at, spec: rev.spec as HistorySpec });
  });
  if (issues.length > 0) return { issues };
  return { history: { org: doc.org, file: parsed.file, revisions }, issues };
}

/**
 * Parses and validates one PolicyHistory file's text.
 *
 * @param file path reported in issues
 * @param text the file's YAML
 * @throws EngineError `invalid_history` with every issue (file:line:col) when it is not valid
 */
export function parseHistory(file: string, text: string): ParsedHistory {
  const { parsed, issues } = parseYaml(file, text);
  if (!parsed) throw new EngineError('invalid_history', issues);
  const result = validateHistory(parsed);
  if (!result.history) throw new EngineError('invalid_history', result.issues);
  return result.history;
}

/**
 * Reads, parses and validates a PolicyHistory file from disk (`appwarden eval --history`,
 * server `--history`). Issues name the path as given.
 *
 * @throws EngineError `io_error` when the file cannot be read, `invalid_history` when invalid
 */
export async function loadHistoryFile(path: string): Promise<ParsedHistory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EngineError(
      'io_error',
      [{ file: path, message: `cannot read history file: ${(err as Error).message}` }],
      {
        cause: err,
      },
    );
  }
  return parseHistory(path, text);
}
