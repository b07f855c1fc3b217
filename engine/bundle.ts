// OPA bundles (SPEC §2): `.manifest` (revision, roots, wasm entrypoint), `data.json` (the data
// document), `policy.wasm` and `history.json` (the repository's settings histories, SPEC §5; OPA
// itself ignores the file), as a reproducible tar.gz; and reading one back.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { EngineError } from './errors.ts';
import { DEFAULT_WASM_PATH, ENTRYPOINT } from './evaluator.ts';
import type { OrgHistory } from './history.ts';
import { formatRfc3339, parseRfc3339 } from './time.ts';
import type { DataDocument } from './types.ts';

/** The `.manifest` of an appwarden bundle (OPA's bundle manifest fields). */
export interface BundleManifest {
  revision: string;
  roots: string[];
  wasm: { entrypoint: string; module: string }[];
  metadata?: Record<string, unknown>;
}

/** Bundle files read back into memory. */
export interface LoadedBundle {
  manifest: BundleManifest;
  data: DataDocument;
  wasm: Uint8Array;
  /** Settings histories (SPEC §5), `at` in epoch seconds; empty when the bundle has none. */
  histories: OrgHistory[];
}

/** What a bundle holds. */
export interface BundleContents {
  data: DataDocument;
  wasm: Uint8Array;
  /** The revision (computed by the engine from data, histories and wasm). */
  revision: string;
  histories: readonly OrgHistory[];
}

/** history.json: PolicyHistory-shaped entries with RFC 3339 times, readable by a human. */
type HistoryJson = { org: string; revisions: { at: string; spec: Record<string, unknown> }[] }[];

/**
 * Writes a bundle: files in a fixed order with a fixed mtime, so the same revision gives the same bytes.
 * @throws EngineError `io_error`
 */
export async function writeBundle(
  outFile: string,
  { data, wasm, revision, histories }: BundleContents,
): Promise<void> {
  const manifest: BundleManifest = {
    revision,
    roots: ['orgs', 'appwarden'],
    wasm: [{ entrypoint: ENTRYPOINT, module: '/policy.wasm' }],
    metadata: { generator: 'appwarden' },
  };
  const dir = await mkdtemp(join(tmpdir(), 'appwarden-bundle-'));
  try {
    await writeFile(join(dir, '.manifest'), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(join(dir, 'data.json'), `${JSON.stringify(data)}\n`);
    await writeFile(join(dir, 'policy.wasm'), wasm);
    const history: HistoryJson = [...histories]
      .sort((a, b) => a.org.localeCompare(b.org))
      .map((h) => ({
        org: h.org,
        revisions: h.revisions.map((r) => ({
          at: formatRfc3339(r.at),
          spec: r.spec as Record<string, unknown>,
        })),
      }));
    await writeFile(join(dir, 'history.json'), `${JSON.stringify(history, null, 2)}\n`);
    await tar.c(
      { gzip: { level: 9 }, file: outFile, cwd: dir, portable: true, noMtime: false, mtime: new Date(0) },
      ['.manifest', 'data.json', 'policy.wasm', 'history.json'],
    );
  } catch (err) {
    throw new EngineError('io_error', `cannot write bundle ${outFile}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Reads a bundle written by {@link writeBundle} (or by hand, in the same layout).
 * @throws EngineError `io_error` | `invalid_bundle` (missing file, bad JSON, wrong entrypoint)
 */
export async function loadBundle(file: string): Promise<LoadedBundle> {
  const files = new Map<string, Buffer>();
  try {
    await readFile(file); // a clear io_error for a missing file, before tar's own error
    await tar.t({
      file,
      onReadEntry: (entry) => {
        const name = entry.path.replace(/^\.?\//, '');
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => files.set(name, Buffer.concat(chunks)));
      },
    });
  } catch (err) {
    throw new EngineError('io_error', `cannot read bundle ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const need = (name: string): Buffer => {
    const b = files.get(name);
    if (!b) throw new EngineError('invalid_bundle', [{ file, message: `bundle has no ${name}` }]);
    return b;
  };
  let manifest: BundleManifest;
  let data: DataDocument;
  let historyJson: HistoryJson = [];
  try {
    manifest = JSON.parse(need('.manifest').toString('utf8')) as BundleManifest;
    data = JSON.parse(need('data.json').toString('utf8')) as DataDocument;
    const h = files.get('history.json');
    if (h) historyJson = JSON.parse(h.toString('utf8')) as HistoryJson;
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new EngineError('invalid_bundle', [
      { file, message: `bundle JSON is invalid: ${(err as Error).message}` },
    ]);
  }
  if (!manifest.wasm?.some((w) => w.entrypoint === ENTRYPOINT)) {
    throw new EngineError('invalid_bundle', [
      { file, message: `bundle manifest has no wasm entrypoint ${ENTRYPOINT}` },
    ]);
  }
  if (data === null || typeof data !== 'object' || typeof data.orgs !== 'object' || data.orgs === null) {
    throw new EngineError('invalid_bundle', [{ file, message: 'bundle data.json has no "orgs" object' }]);
  }
  const histories: OrgHistory[] = [];
  for (const h of Array.isArray(historyJson) ? historyJson : []) {
    const revisions = (h?.revisions ?? []).map((r) => ({
      at: parseRfc3339(String(r?.at)),
      spec: r?.spec ?? {},
    }));
    if (typeof h?.org !== 'string' || revisions.some((r) => r.at === null)) {
      throw new EngineError('invalid_bundle', [{ file, message: 'bundle history.json is malformed' }]);
    }
    histories.push({
      org: h.org,
      file: `${file}!history.json`,
      revisions: revisions as OrgHistory['revisions'],
    });
  }
  return { manifest, data, wasm: new Uint8Array(need('policy.wasm')), histories };
}

/** The default compiled policy path, re-exported for the CLI's build command. */
export const POLICY_WASM = DEFAULT_WASM_PATH;
