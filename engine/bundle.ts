// OPA bundles (SPEC §2): `.manifest` (revision, roots, wasm entrypoint), `data.json` (the data
// document) and `policy.wasm`, as a reproducible tar.gz; and reading one back.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { EngineError } from './errors.ts';
import { DEFAULT_WASM_PATH, ENTRYPOINT } from './evaluator.ts';
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
}

/**
 * Writes a bundle: files in a fixed order with a fixed mtime, so the same revision gives the same bytes.
 * @param revision the revision (computed by the engine from data + wasm).
 * @throws EngineError `io_error`
 */
export async function writeBundle(
  outFile: string,
  data: DataDocument,
  wasm: Uint8Array,
  revision: string,
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
    await tar.c(
      { gzip: { level: 9 }, file: outFile, cwd: dir, portable: true, noMtime: false, mtime: new Date(0) },
      ['.manifest', 'data.json', 'policy.wasm'],
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
  try {
    manifest = JSON.parse(need('.manifest').toString('utf8')) as BundleManifest;
    data = JSON.parse(need('data.json').toString('utf8')) as DataDocument;
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
  return { manifest, data, wasm: new Uint8Array(need('policy.wasm')) };
}

/** The default compiled policy path, re-exported for the CLI's build command. */
export const POLICY_WASM = DEFAULT_WASM_PATH;
