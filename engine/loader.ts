// Loads a policy repository (orgs/*.yaml, history/*.yaml) from disk or memory, validates every
// file and accepts or rejects the repository as a whole (SPEC §3), returning the data document.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OrgPolicy } from '../schemas/org-policy.gen.ts';
import { EngineError, type Issue } from './errors.ts';
import { type ParsedHistory, validateHistory } from './history-file.ts';
import { normalize } from './normalize.ts';
import type { DataDocument } from './types.ts';
import { duplicateOrgIssues, validateOrgPolicy } from './validator.ts';
import { type ParsedYaml, parseYaml } from './yaml.ts';

/** An accepted policy repository. */
export interface LoadedRepository {
  /** Every org policy by `metadata.org`, with the file (repository-relative) it came from. */
  orgs: Record<string, { file: string; policy: OrgPolicy }>;
  /** The normalized data document (DESIGN §1). */
  data: DataDocument;
  /** PolicyHistory files of `history/`, sorted by file; at most one per org. */
  histories: ParsedHistory[];
  /** Every file read (org policies and histories), sorted by path, with the sha256 (hex) of its bytes. */
  files: { path: string; sha256: string }[];
}

/** A repository file as read: its repository-relative path (`orgs/acme.yaml`) and text. */
interface SourceFile {
  path: string;
  text: string;
  sha256: string;
}

const YAML_FILE = /\.ya?ml$/;

/** Directories read from a repository: org policies (required) and histories (optional). */
const ORGS_DIR = 'orgs';
const HISTORY_DIR = 'history';

/**
 * Loads a policy repository from disk: every `orgs/*.yaml|yml` (sorted by name; dotfiles and other
 * files ignored) and every `history/*.yaml|yml` (optional directory). Symlinks are followed, as
 * Kubernetes ConfigMap mounts need (`orgs/acme.yaml -> ..data/acme.yaml`); each listed path is
 * read once, and its hash and parse come from the same bytes.
 *
 * @param dir the repository root; issue paths are relative to it (`orgs/acme.yaml`)
 * @throws EngineError `invalid_policy` with every issue of every file (missing `orgs/`, no org
 *   file, YAML, schema, SPEC §3 and history problems); `io_error` when a file cannot be read
 */
export async function loadPolicyRepository(dir: string): Promise<LoadedRepository> {
  const orgNames = await listYaml(dir, ORGS_DIR);
  if (orgNames === undefined) {
    throw new EngineError('invalid_policy', [
      {
        file: `${ORGS_DIR}/`,
        message: `the policy repository has no ${ORGS_DIR}/ directory`,
        hint: 'put one org policy per file in orgs/',
      },
    ]);
  }
  const historyNames = (await listYaml(dir, HISTORY_DIR)) ?? [];
  const sources: SourceFile[] = [];
  for (const path of [...orgNames, ...historyNames]) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, path));
    } catch (err) {
      throw new EngineError(
        'io_error',
        [{ file: path, message: `cannot read file: ${(err as Error).message}` }],
        { cause: err },
      );
    }
    sources.push({
      path,
      text: bytes.toString('utf8'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  }
  return loadSources(sources);
}

/**
 * Loads a policy repository from memory (tests, bundles, the admin API's proposed edits).
 * Paths are repository-relative with `/` (`orgs/acme.yaml`); only `orgs/*.yaml|yml` and
 * `history/*.yaml|yml` are read, other entries ignored. The sha256 is of the UTF-8 text.
 *
 * @param files `{path: text}`
 * @throws EngineError `invalid_policy` as {@link loadPolicyRepository}
 */
export function loadPolicyFromFiles(files: Readonly<Record<string, string>>): LoadedRepository {
  const pick = (sub: string): string[] =>
    Object.keys(files)
      .filter((p) => p.startsWith(`${sub}/`) && isYamlName(p.slice(sub.length + 1)))
      .sort();
  const orgPaths = pick(ORGS_DIR);
  const sources = [...orgPaths, ...pick(HISTORY_DIR)].map((path) => {
    const text = files[path] as string;
    return { path, text, sha256: createHash('sha256').update(text, 'utf8').digest('hex') };
  });
  return loadSources(sources);
}

function isYamlName(name: string): boolean {
  return !name.startsWith('.') && !name.includes('/') && YAML_FILE.test(name);
}

/** Sorted `sub/<name>` paths of the YAML files in `dir/sub`, or undefined when `sub` is not a directory. */
async function listYaml(dir: string, sub: string): Promise<string[] | undefined> {
  const full = join(dir, sub);
  try {
    const info = await stat(full);
    if (!info.isDirectory()) return undefined;
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ENOENT' ||
      (err as NodeJS.ErrnoException).code === 'ENOTDIR'
    ) {
      return undefined;
    }
    throw new EngineError(
      'io_error',
      [{ file: `${sub}/`, message: `cannot read directory: ${(err as Error).message}` }],
      {
        cause: err,
      },
    );
  }
  const entries = await readdir(full, { withFileTypes: true }).catch((err: unknown) => {
    throw new EngineError(
      'io_error',
      [{ file: `${sub}/`, message: `cannot read directory: ${(err as Error).message}` }],
      {
        cause: err,
      },
    );
  });
  const names: string[] = [];
  for (const entry of entries) {
    if (!isYamlName(entry.name)) continue;
    // A symlink counts when it points at a regular file (ConfigMap mounts); broken links are skipped.
    if (
      entry.isFile() ||
      (entry.isSymbolicLink() && (await stat(join(full, entry.name)).catch(() => undefined))?.isFile())
    ) {
      names.push(`${sub}/${entry.name}`);
    }
  }
  return names.sort();
}

/** Parses, validates and normalizes; all issues of all files or the accepted repository. */
function loadSources(sources: readonly SourceFile[]): LoadedRepository {
  const issues: Issue[] = [];
  const orgSources = sources.filter((s) => s.path.startsWith(`${ORGS_DIR}/`));
  if (orgSources.length === 0) {
    issues.push({
      file: `${ORGS_DIR}/`,
      message: 'no org policy files',
      hint: 'add at least one orgs/<org-id>.yaml with kind: OrgPolicy',
    });
  }

  const parsedOrgs: ParsedYaml[] = [];
  const orgs: LoadedRepository['orgs'] = {};
  const policies: OrgPolicy[] = [];
  for (const source of orgSources) {
    const { parsed, issues: yamlIssues } = parseYaml(source.path, source.text);
    issues.push(...yamlIssues);
    if (!parsed) continue;
    parsedOrgs.push(parsed);
    const result = validateOrgPolicy(parsed);
    issues.push(...result.issues);
    if (result.policy) {
      policies.push(result.policy);
      Object.defineProperty(orgs, result.policy.metadata.org, {
        value: { file: source.path, policy: result.policy },
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  issues.push(...duplicateOrgIssues(parsedOrgs));

  const histories: ParsedHistory[] = [];
  const historyByOrg = new Map<string, ParsedHistory>();
  for (const source of sources.filter((s) => s.path.startsWith(`${HISTORY_DIR}/`))) {
    const { parsed, issues: yamlIssues } = parseYaml(source.path, source.text);
    issues.push(...yamlIssues);
    if (!parsed) continue;
    const result = validateHistory(parsed);
    issues.push(...result.issues);
    const history = result.history;
    if (!history) continue;
    const orgAt = parsed.positionOf(['org']);
    const first = historyByOrg.get(history.org);
    if (first) {
      issues.push({
        file: source.path,
        ...orgAt,
        path: 'org',
        message: `a second history for org ${JSON.stringify(history.org)}`,
        hint: `the first is ${first.file}; keep one history file per org`,
      });
      continue;
    }
    // A history of an org that no file declares would silently never apply: reject it.
    if (orgSources.length > 0 && !parsedOrgs.some((p) => orgOf(p) === history.org)) {
      issues.push({
        file: source.path,
        ...orgAt,
        path: 'org',
        message: `history for org ${JSON.stringify(history.org)}, which no org policy declares`,
        hint: 'fix the org id or add its orgs/ file',
      });
      continue;
    }
    historyByOrg.set(history.org, history);
    histories.push(history);
  }

  if (issues.length > 0) throw new EngineError('invalid_policy', issues);
  return {
    orgs,
    data: normalize(policies),
    histories,
    files: sources
      .map((s) => ({ path: s.path, sha256: s.sha256 }))
      .sort((a, b) => a.path.localeCompare(b.path)),
  };
}

function orgOf(parsed: ParsedYaml): unknown {
  const value = parsed.value as { metadata?: { org?: unknown } } | null;
  return value && typeof value === 'object' ? value.metadata?.org : undefined;
}
