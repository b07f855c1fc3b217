// Loads a policy repository (orgs/*.yaml, history/*.yaml) from disk or memory, validates every
// file and accepts or rejects the repository as a whole (SPEC §3), returning the data document.
import { createHash } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { CatalogApp } from '../schemas/app-catalog.gen.ts';
import type { OrgPolicy } from '../schemas/org-policy.gen.ts';
import { EngineError, type Issue } from './errors.ts';
import { type ParsedHistory, validateHistory } from './history-file.ts';
import { normalize } from './normalize.ts';
import type { DataDocument } from './types.ts';
import { APP_CATALOG_SCHEMA_ID, duplicateOrgIssues, schemaIssues, validateOrgPolicy } from './validator.ts';
import { decodeUtf8, formatPath, type ParsedYaml, parseYaml, quote, truncate } from './yaml.ts';

/** An accepted policy repository. */
export interface LoadedRepository {
  /** Every org policy by `metadata.org`, with the file (repository-relative) it came from. */
  orgs: Record<string, { file: string; policy: OrgPolicy }>;
  /** The normalized data document (DESIGN §1). */
  data: DataDocument;
  /** PolicyHistory files of `history/`, sorted by file; at most one per org. */
  histories: ParsedHistory[];
  /**
   * The app catalog of `apps/*.yaml` (optional) by app id: what the admin surface shows about apps (SPEC §6).
   * It never reaches the data document, so it changes no decision and no revision.
   */
  catalog: Record<string, CatalogApp>;
  /** Every file read (org policies, histories and app catalogs), sorted by path, with the sha256 (hex) of its bytes. */
  files: { path: string; sha256: string }[];
}

/** A repository file as read: its repository-relative path (`orgs/acme.yaml`) and text. */
interface SourceFile {
  path: string;
  text: string;
  sha256: string;
}

/** Directories read from a repository: org policies (required) and histories (optional). */
const ORGS_DIR = 'orgs';
const HISTORY_DIR = 'history';
const APPS_DIR = 'apps';

/** A name with a YAML extension in any case: `.yaml`, `.yml`, `.YAML`, `.Yml`. */
const YAML_ANY_CASE = /\.ya?ml$/i;
/** The extensions that are read. */
const YAML_FILE = /\.ya?ml$/;

/**
 * Loads a policy repository from disk: every `orgs/*.yaml|yml` (sorted by name) and every
 * `history/*.yaml|yml` (optional directory). Names starting with a dot (files and directories, as
 * Kubernetes' `..data`) and files with other extensions (`README.md`) are ignored; anything else
 * that would silently not be read is an issue: a subdirectory, a directory named like a policy
 * file, an upper-case extension (`.YAML`), a dangling link or a link loop, a link that resolves
 * outside the repository root, an `orgs` or `history` that is not a directory.
 *
 * Symlinks are followed inside the root, as Kubernetes ConfigMap mounts need
 * (`orgs/acme.yaml -> ..data/acme.yaml`); each file is read once, through its resolved path, and
 * its hash and parse come from the same bytes. Bytes must be valid UTF-8.
 *
 * @param dir the repository root; issue paths are relative to it (`orgs/acme.yaml`)
 * @throws EngineError `invalid_policy` with every issue of every file (layout, UTF-8, YAML,
 *   schema, SPEC §3 and history problems, and files that could not be read); `io_error` when the
 *   only problems are files or directories that could not be read
 */
export async function loadPolicyRepository(dir: string): Promise<LoadedRepository> {
  let root: string;
  try {
    root = await realpath(dir);
  } catch (err) {
    throw new EngineError(
      'io_error',
      [{ file: dir, message: `cannot open the policy repository (${errorCode(err)})` }],
      { cause: err },
    );
  }
  const issues: ReadIssue[] = [];
  const orgs = await listYaml(root, ORGS_DIR, issues);
  if (orgs === undefined) {
    issues.push({
      file: `${ORGS_DIR}/`,
      message: `the policy repository has no ${ORGS_DIR}/ directory`,
      hint: 'put one org policy per file in orgs/',
    });
  }
  const histories = (await listYaml(root, HISTORY_DIR, issues)) ?? [];
  const catalogs = (await listYaml(root, APPS_DIR, issues)) ?? [];
  const sources: SourceFile[] = [];
  for (const { path, real } of [...(orgs ?? []), ...histories, ...catalogs]) {
    let bytes: Buffer;
    try {
      bytes = await readFile(real);
    } catch (err) {
      // One unreadable file is reported with the others' problems, never alone.
      issues.push({
        file: path,
        message: `cannot read the file (${errorCode(err)})`,
        hint: 'check that it is a readable regular file',
        unreadable: true,
      });
      continue;
    }
    const decoded = decodeUtf8(path, bytes);
    if ('issue' in decoded) {
      issues.push(decoded.issue);
      continue;
    }
    sources.push({ path, text: decoded.text, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return loadSources(
    sources,
    issues,
    orgs === undefined ? 'no-directory' : orgs.length > 0 ? 'some' : 'none',
  );
}

/**
 * Loads a policy repository from memory (tests, bundles, the admin API's proposed edits).
 * Paths are repository-relative with `/` (`orgs/acme.yaml`); `orgs/*.yaml|yml` and
 * `history/*.yaml|yml` are read, the same entries as on disk are ignored (dot names, other
 * extensions) and the same ones are issues (subdirectories, upper-case extensions). The sha256
 * is of the UTF-8 text.
 *
 * @param files `{path: text}`
 * @throws EngineError `invalid_policy` as {@link loadPolicyRepository}
 */
export function loadPolicyFromFiles(files: Readonly<Record<string, string>>): LoadedRepository {
  const issues: ReadIssue[] = [];
  const pick = (sub: string): string[] => {
    const picked: string[] = [];
    const subdirs = new Set<string>();
    for (const path of Object.keys(files).sort()) {
      if (!path.startsWith(`${sub}/`)) continue;
      const [name = '', ...deeper] = path.slice(sub.length + 1).split('/');
      if (name === '' || name.startsWith('.')) continue;
      if (deeper.length > 0) subdirs.add(name);
      else if (YAML_ANY_CASE.test(name)) {
        const problem = nameIssue(sub, name);
        if (problem) issues.push(problem);
        else picked.push(path);
      }
    }
    for (const name of subdirs) issues.push(subdirectoryIssue(sub, name));
    return picked;
  };
  const orgPaths = pick(ORGS_DIR);
  const sources = [...orgPaths, ...pick(HISTORY_DIR), ...pick(APPS_DIR)].map((path) => {
    const text = files[path] as string;
    return { path, text, sha256: createHash('sha256').update(text, 'utf8').digest('hex') };
  });
  return loadSources(sources, issues, orgPaths.length > 0 ? 'some' : 'none');
}

/** An issue found while listing or reading; `unreadable` marks an I/O failure (see the throw code). */
type ReadIssue = Issue & { unreadable?: true };

/** The issue for a YAML-like name that is not read as it stands (upper-case extension), if any. */
function nameIssue(sub: string, name: string): ReadIssue | undefined {
  if (YAML_FILE.test(name)) return undefined;
  const fixed = name.replace(YAML_ANY_CASE, (ext) => ext.toLowerCase());
  return {
    file: `${sub}/${name}`,
    message: 'the extension must be lower-case .yaml or .yml; this file is not read as it is',
    hint: `rename it to ${truncate(fixed, 60)}`,
  };
}

function subdirectoryIssue(sub: string, name: string): ReadIssue {
  return {
    file: `${sub}/${name}/`,
    message: `subdirectories of ${sub}/ are not read`,
    hint: `move its files up into ${sub}/, or start its name with a dot to keep it out on purpose`,
  };
}

/** The errno code of a file system error (`EACCES`), never its message (it holds absolute paths). */
function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? 'unknown error';
}

/** True when `real` is `root` or inside it (both already resolved by realpath). */
function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/**
 * Resolves a path that may be or pass through symlinks, refusing what leaves the root.
 * @returns the real path and what it is, or an issue (dangling link, loop, outside the root)
 */
async function resolveInside(
  root: string,
  full: string,
  shown: string,
): Promise<{ real: string; kind: 'file' | 'dir' | 'other' } | { issue: ReadIssue }> {
  let real: string;
  try {
    real = await realpath(full);
  } catch (err) {
    const code = errorCode(err);
    const fix = 'fix the link or remove it';
    if (code === 'ENOENT' || code === 'ENOTDIR')
      return { issue: { file: shown, message: 'symbolic link to a file that does not exist', hint: fix } };
    if (code === 'ELOOP') return { issue: { file: shown, message: 'symbolic link loop', hint: fix } };
    return {
      issue: { file: shown, message: `cannot resolve the link (${code})`, hint: fix, unreadable: true },
    };
  }
  // Never follow a link out of the repository: its target would be read and quoted in messages.
  if (!isInside(root, real)) {
    return {
      issue: {
        file: shown,
        message: 'symbolic link to a path outside the policy repository; it is not followed',
        hint: 'copy the file into the repository, or link only within it',
      },
    };
  }
  try {
    const info = await stat(real);
    return { real, kind: info.isFile() ? 'file' : info.isDirectory() ? 'dir' : 'other' };
  } catch (err) {
    return { issue: { file: shown, message: `cannot read (${errorCode(err)})`, unreadable: true } };
  }
}

/**
 * The YAML files of `root/sub` as repository paths and real paths, sorted by name; undefined when
 * `sub` does not exist. Every entry that looks meant to be read but would not be is an issue.
 */
async function listYaml(
  root: string,
  sub: string,
  issues: ReadIssue[],
): Promise<{ path: string; real: string }[] | undefined> {
  const full = join(root, sub);
  let info: Stats;
  try {
    info = await lstat(full);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    issues.push({
      file: `${sub}/`,
      message: `cannot read the directory (${errorCode(err)})`,
      unreadable: true,
    });
    return [];
  }
  let dirReal = full;
  if (info.isSymbolicLink() || !info.isDirectory()) {
    const resolved = await resolveInside(root, full, sub);
    if ('issue' in resolved) {
      issues.push(resolved.issue);
      return [];
    }
    if (resolved.kind !== 'dir') {
      issues.push({
        file: sub,
        message: 'not a directory',
        hint: `${sub === ORGS_DIR ? 'org policy' : sub === APPS_DIR ? 'app catalog' : 'history'} files go in a ${sub}/ directory; move or rename this one`,
      });
      return [];
    }
    dirReal = resolved.real;
  }
  let entries: Dirent[];
  try {
    entries = await readdir(dirReal, { withFileTypes: true });
  } catch (err) {
    issues.push({
      file: `${sub}/`,
      message: `cannot read the directory (${errorCode(err)})`,
      unreadable: true,
    });
    return [];
  }
  const found: { path: string; real: string }[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    // Dot names are how Kubernetes keeps its versions (`..data`, `..2026_11_29...`) and how an
    // admin keeps a draft out on purpose.
    if (entry.name.startsWith('.')) continue;
    const path = `${sub}/${entry.name}`;
    const yamlish = YAML_ANY_CASE.test(entry.name);
    let kind: 'file' | 'dir' | 'other' = entry.isFile() ? 'file' : entry.isDirectory() ? 'dir' : 'other';
    let real = join(dirReal, entry.name);
    if (entry.isSymbolicLink()) {
      const resolved = await resolveInside(root, real, path);
      if ('issue' in resolved) {
        // A broken README link is not a policy problem; a broken link named like a policy is.
        if (yamlish) issues.push(resolved.issue);
        continue;
      }
      kind = resolved.kind;
      real = resolved.real;
    }
    if (kind === 'dir') {
      issues.push(
        yamlish
          ? {
              file: path,
              message: 'a directory named like a policy file; it is not read',
              hint: `put the policy in ${sub}/ itself, or rename the directory`,
            }
          : subdirectoryIssue(sub, entry.name),
      );
      continue;
    }
    if (!yamlish) continue;
    if (kind !== 'file') {
      issues.push({ file: path, message: 'not a regular file', hint: 'replace it with a regular file' });
      continue;
    }
    const problem = nameIssue(sub, entry.name);
    if (problem) issues.push(problem);
    else found.push({ path, real });
  }
  return found;
}

/** Parses, validates and normalizes; all issues of all files or the accepted repository. */
function loadSources(
  sources: readonly SourceFile[],
  readIssues: readonly ReadIssue[],
  orgFiles: 'none' | 'some' | 'no-directory',
): LoadedRepository {
  const issues: Issue[] = readIssues.map(({ unreadable: _, ...issue }) => issue);
  const orgSources = sources.filter((s) => s.path.startsWith(`${ORGS_DIR}/`));
  const hasOrgFiles = orgFiles === 'some';
  if (orgFiles === 'none') {
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
        message: `a second history for org ${quote(history.org)}`,
        hint: `the first is ${first.file}; keep one history file per org`,
      });
      continue;
    }
    // A history of an org that no file declares would silently never apply: reject it.
    if (hasOrgFiles && !parsedOrgs.some((p) => orgOf(p) === history.org)) {
      issues.push({
        file: source.path,
        ...orgAt,
        path: 'org',
        message: `history for org ${quote(history.org)}, which no org policy declares`,
        hint: 'fix the org id or add its orgs/ file',
      });
      continue;
    }
    historyByOrg.set(history.org, history);
    histories.push(history);
  }

  const catalog = loadCatalogs(
    sources.filter((s) => s.path.startsWith(`${APPS_DIR}/`)),
    issues,
  );

  if (issues.length > 0) {
    // Only unreadable files: the environment is at fault, not the policy.
    const onlyIo = readIssues.length === issues.length && readIssues.every((i) => i.unreadable);
    throw new EngineError(onlyIo ? 'io_error' : 'invalid_policy', issues);
  }
  return {
    orgs,
    data: normalize(policies),
    histories,
    catalog,
    files: sources
      .map((s) => ({ path: s.path, sha256: s.sha256 }))
      .sort((a, b) => a.path.localeCompare(b.path)),
  };
}

/**
 * Parses and validates the `apps/*.yaml` app catalogs (schemas/app-catalog.schema.json) with the same YAML
 * rules as org policies; an app id described twice (in one file or two) is an issue at the second.
 * Issues are added to `issues`; the catalog holds the apps of the valid files.
 */
function loadCatalogs(sources: readonly SourceFile[], issues: Issue[]): Record<string, CatalogApp> {
  const catalog: Record<string, CatalogApp> = {};
  const seen = new Map<string, { file: string; line: number }>();
  for (const source of sources) {
    const { parsed, issues: yamlIssues } = parseYaml(source.path, source.text);
    issues.push(...yamlIssues);
    if (!parsed) continue;
    const schema = schemaIssues(APP_CATALOG_SCHEMA_ID, parsed);
    issues.push(...schema);
    if (schema.length > 0) continue;
    const apps = (parsed.value as { apps: CatalogApp[] }).apps;
    apps.forEach((app, i) => {
      const at = parsed.positionOf(['apps', i, 'id']);
      const first = seen.get(app.id);
      if (first) {
        issues.push({
          file: source.path,
          ...at,
          path: formatPath(['apps', i, 'id']),
          message: `app ${quote(app.id)} is described twice`,
          hint: `the first is ${first.file}:${first.line}; keep one entry per app`,
        });
        return;
      }
      seen.set(app.id, { file: source.path, line: at.line });
      Object.defineProperty(catalog, app.id, {
        value: app,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    });
  }
  return catalog;
}

function orgOf(parsed: ParsedYaml): unknown {
  const value = parsed.value as { metadata?: { org?: unknown } } | null;
  return value && typeof value === 'object' ? value.metadata?.org : undefined;
}
