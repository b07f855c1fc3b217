// `appwarden history import`: a PolicyHistory file (SPEC §5) validated as the loader does, then saved in
// the store for the org that migrates in; the server's next load makes it part of that org's timeline.
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EngineError } from '../errors.ts';
import { loadHistoryFile } from '../history-file.ts';
import { nowSeconds } from '../time.ts';
import type { ImportedHistory, Store } from './store.ts';

/**
 * The `history/*.yaml|yml` file of `policyDir` for `org`, or null. Files that do not parse are skipped
 * (`appwarden validate` reports them); a missing `history/` directory has none.
 */
async function repositoryHistoryFor(policyDir: string, org: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(join(policyDir, 'history'));
  } catch {
    return null;
  }
  for (const name of names.sort()) {
    if (name.startsWith('.') || !/\.ya?ml$/.test(name)) continue;
    const file = join(policyDir, 'history', name);
    try {
      if ((await loadHistoryFile(file)).org === org) return file;
    } catch {}
  }
  return null;
}

/**
 * Validates the PolicyHistory at `file` and saves it in `store`, replacing an earlier import for its org.
 * The org need not have a policy yet: the import waits for it. With `policyDir`, an org that already has a
 * `history/` file there is refused: the repository's file would win and the import be ignored (SPEC §5).
 * @param at import time, epoch seconds UTC (default now)
 * @returns what was stored
 * @throws EngineError `io_error` (file or store) | `invalid_history` (every problem, with line and column;
 *   the repository already has a history for the org)
 */
export async function importHistoryFile(
  store: Store,
  file: string,
  at = nowSeconds(),
  opts: { policyDir?: string } = {},
): Promise<ImportedHistory> {
  const parsed = await loadHistoryFile(file);
  if (opts.policyDir !== undefined) {
    const existing = await repositoryHistoryFor(opts.policyDir, parsed.org);
    if (existing !== null) {
      throw new EngineError('invalid_history', [
        {
          file,
          message: `the policy repository already has a history for org "${parsed.org}" (${existing}); not imported`,
          hint: 'keep one history per org: edit the repository file instead, or remove it before importing',
        },
      ]);
    }
  }
  const imported: ImportedHistory = {
    org: parsed.org,
    file: resolve(file),
    revisions: parsed.revisions,
    imported_at: at,
  };
  await store.importHistory(imported);
  return imported;
}
