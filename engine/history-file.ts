// Parses and validates PolicyHistory files (SPEC §5): the past settings of an org that migrates
// in, with the same YAML rules and error quality as org policy files.
import { readFile } from 'node:fs/promises';
import type { OrgPolicySpec } from '../schemas/org-policy.gen.ts';
import type { PolicyHistory } from '../schemas/policy-history.gen.ts';
import { EngineError, type Issue } from './errors.ts';
import { compareInstants, type Instant, parseRfc3339Instant } from './time.ts';
import { POLICY_HISTORY_SCHEMA_ID, schemaIssues, specIssues } from './validator.ts';
import { decodeUtf8, formatPath, type ParsedYaml, parseYaml, quote, truncate } from './yaml.ts';

/** A partial OrgPolicy spec: only what changed at that instant. */
export type HistorySpec = OrgPolicySpec & { [key: string]: unknown };

/** One revision with its time as integer epoch seconds UTC. */
export interface ParsedRevision {
  /** Epoch seconds UTC (fractional seconds dropped: floor). */
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
 * `spec` a partial OrgPolicy spec), the SPEC §3 list checks on each revision's spec (an id twice
 * in a list, an app both blocked and approved, an email twice), and revisions in strictly
 * increasing time order, compared as exact instants (fractions of a second count). The order is
 * checked among the timestamps that can be read even when others cannot.
 *
 * @returns the history when valid, and every issue found (empty when valid)
 */
export function validateHistory(parsed: ParsedYaml): { history?: ParsedHistory; issues: Issue[] } {
  const issues = schemaIssues(POLICY_HISTORY_SCHEMA_ID, parsed);
  const badPaths = new Set(issues.map((i) => i.path));
  const doc = parsed.value as Partial<PolicyHistory> | null;
  const list: unknown[] = doc && typeof doc === 'object' && Array.isArray(doc.revisions) ? doc.revisions : [];
  const revisions: ParsedRevision[] = [];
  let prev: { at: Instant; line: number; text: string } | undefined;
  list.forEach((raw, i) => {
    const rev = (raw && typeof raw === 'object' ? raw : {}) as { at?: unknown; spec?: unknown };
    if (rev.spec && typeof rev.spec === 'object')
      issues.push(...specIssues(parsed, ['revisions', i, 'spec']));
    const path = ['revisions', i, 'at'];
    if (typeof rev.at !== 'string') return;
    const where = parsed.positionOf(path);
    const at = parseRfc3339Instant(rev.at);
    if (at === null) {
      // The schema passed but the calendar did not (e.g. a year the format check lets through).
      if (!badPaths.has(formatPath(path))) {
        issues.push({
          file: parsed.file,
          ...where,
          path: formatPath(path),
          message: `timestamp is not a real date and time: ${quote(rev.at)}`,
          hint: 'e.g. 2026-03-01T00:00:00Z',
        });
      }
      return;
    }
    if (prev && compareInstants(at, prev.at) <= 0) {
      issues.push({
        file: parsed.file,
        ...where,
        path: formatPath(path),
        message: `revisions must be in time order: ${truncate(rev.at)} is not after ${truncate(prev.text)}`,
        hint: `the previous revision is at line ${prev.line}; list revisions oldest first, one per instant`,
      });
    }
    prev = { at, line: where.line, text: rev.at };
    revisions.push({ at: at.seconds, spec: rev.spec as HistorySpec });
  });
  if (issues.length > 0) return { issues };
  return { history: { org: doc?.org as string, file: parsed.file, revisions }, issues };
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
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new EngineError(
      'io_error',
      [{ file: path, message: `cannot read history file: ${(err as Error).message}` }],
      {
        cause: err,
      },
    );
  }
  const decoded = decodeUtf8(path, bytes);
  if ('issue' in decoded) throw new EngineError('invalid_history', [decoded.issue]);
  return parseHistory(path, decoded.text);
}
