// `appwarden history import`: a PolicyHistory file (SPEC §5) validated as the loader does, then saved in
// the store for the org that migrates in; the server's next load makes it part of that org's timeline.
import { resolve } from 'node:path';
import { loadHistoryFile } from '../history-file.ts';
import { nowSeconds } from '../time.ts';
import type { ImportedHistory, Store } from './store.ts';

/**
 * Validates the PolicyHistory at `file` and saves it in `store`, replacing an earlier import for its org.
 * The org need not have a policy yet: the import waits for it. A repository `history/` file for the same
 * org makes the server's load fail (`invalid_history`: keep one).
 * @param at import time, epoch seconds UTC (default now)
 * @returns what was stored
 * @throws EngineError `io_error` (file or store) | `invalid_history` (every problem, with line and column)
 */
export async function importHistoryFile(
  store: Store,
  file: string,
  at = nowSeconds(),
): Promise<ImportedHistory> {
  const parsed = await loadHistoryFile(file);
  const imported: ImportedHistory = {
    org: parsed.org,
    file: resolve(file),
    revisions: parsed.revisions,
    imported_at: at,
  };
  await store.importHistory(imported);
  return imported;
}
