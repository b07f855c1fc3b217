// Where the CLI shows a repository's files: relative to the directory the command ran in, as CI and editors
// expect (an issue names `orgs/acme.yaml`; the command was given `examples/policy-repo`).
import { isAbsolute, join } from 'node:path';
import type { Issue } from '../engine/index.ts';

/** `file` of a repository at `dir`, as seen from where the command ran (absolute paths unchanged). */
export function under(dir: string, file: string): string {
  return isAbsolute(file) ? file : join(dir, file);
}

/** `issue` with its repository-relative `file` seen from where the command ran ({@link under}). */
export function located(issue: Issue, dir: string): Issue {
  return issue.file ? { ...issue, file: under(dir, issue.file) } : issue;
}
