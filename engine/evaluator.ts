// Loads policy.wasm with @open-policy-agent/opa-wasm, sets the data document once per revision and
// evaluates inputs. Everything the SDK throws (bare strings, RangeErrors) becomes an EngineError.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from './errors.ts';
import type { DataDocument, RegoDecision, RegoInput } from './types.ts';

// The SDK's ESM entry exports only the async loader; the CommonJS one has loadPolicySync, which
// lets a reload build and swap a policy without an await between the two.
const { loadPolicySync } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as {
  loadPolicySync: (
    wasm: WebAssembly.Module,
    memory: WebAssembly.MemoryDescriptor,
  ) => {
    evaluate(input: unknown, entrypoint?: string): unknown;
    setData(data: unknown): void;
    entrypoints: Record<string, number>;
  };
};

/** The entrypoint of policies/appwarden (DESIGN §3). */
export const ENTRYPOINT = 'appwarden/decision';

/** Where the committed compiled policy lives. */
export const DEFAULT_WASM_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'policies',
  'policy.wasm',
);

/** 64 KiB Wasm pages. */
const PAGE = 65_536;

/** Limits of one loaded policy's Wasm memory, in 64 KiB pages. */
export interface MemoryLimits {
  /** Upper bound of the Wasm memory; evaluation beyond it fails (and denies). Default 1,024 pages (64 MiB). */
  maximumPages?: number;
}

/** A compiled policy with its data set: evaluate inputs against one revision. */
export interface LoadedPolicy {
  /** Evaluates the entrypoint; `undefined` when the result set is empty (the caller denies). @throws EngineError `evaluation_error` */
  evaluate(input: RegoInput): RegoDecision | undefined;
}

function message(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Compiles `policy.wasm` bytes once (the module is kept and re-instantiated after a failed
 * evaluation, since a trap can leave the instance's heap in an unknown state).
 * @throws EngineError `wasm_load_error` when the bytes are not a valid OPA Wasm module with the entrypoint.
 */
export function compilePolicy(wasm: Uint8Array): WebAssembly.Module {
  try {
    return new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new EngineError('wasm_load_error', `policy.wasm is not a valid Wasm module: ${message(err)}`, {
      cause: err,
    });
  }
}

/** Reads and compiles the policy Wasm file. @throws EngineError `io_error` | `wasm_load_error` */
export async function readPolicyWasm(
  path = DEFAULT_WASM_PATH,
): Promise<{ bytes: Uint8Array; module: WebAssembly.Module }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new EngineError('io_error', `cannot read ${path}: ${message(err)}; run npm run build:policy`, {
      cause: err,
    });
  }
  return { bytes, module: compilePolicy(bytes) };
}

/**
 * Instantiates the module with a bounded memory and sets the data document (once: dynamic facts go
 * in `input`, never `setData`, so the data stays static between reloads — DESIGN §2).
 * @param data the normalized data document of one revision.
 * @throws EngineError `wasm_load_error` when instantiation or setData fails (too large for the memory bound).
 */
export function loadPolicy(
  module: WebAssembly.Module,
  data: DataDocument,
  limits: MemoryLimits = {},
): LoadedPolicy {
  const dataJson = JSON.stringify(data);
  const maximum = limits.maximumPages ?? 1024;
  // Room for the data (as JSON and as OPA values, ~3x) and a few evaluations' heaps to start with.
  const initial = Math.min(maximum, Math.max(8, Math.ceil((dataJson.length * 3) / PAGE) + 4));
  const instantiate = () => {
    try {
      const policy = loadPolicySync(module, { initial, maximum });
      if (!(ENTRYPOINT in policy.entrypoints)) {
        throw new Error(
          `entrypoint ${ENTRYPOINT} is missing (has: ${Object.keys(policy.entrypoints).join(', ')})`,
        );
      }
      policy.setData(new TextEncoder().encode(dataJson).buffer);
      return policy;
    } catch (err) {
      throw new EngineError('wasm_load_error', `cannot load the policy: ${message(err)}`, { cause: err });
    }
  };
  let policy = instantiate();
  return {
    evaluate(input: RegoInput): RegoDecision | undefined {
      let resultSet: unknown;
      try {
        resultSet = policy.evaluate(input, ENTRYPOINT);
      } catch (err) {
        // A trap mid-evaluation may leave the instance's heap inconsistent: start a fresh one.
        policy = instantiate();
        throw new EngineError('evaluation_error', `policy evaluation failed: ${message(err)}`, {
          cause: err,
        });
      }
      if (!Array.isArray(resultSet) || resultSet.length === 0) return undefined;
      const first = resultSet[0] as { result?: unknown };
      const result = first?.result;
      if (!isRegoDecision(result)) return undefined;
      return result;
    },
  };
}

/** True for a well-formed entrypoint result; anything else is treated as undefined (a deny). */
function isRegoDecision(value: unknown): value is RegoDecision {
  if (value === null || typeof value !== 'object') return false;
  const v = value as { decision?: unknown; context?: { reason?: { code?: unknown } } };
  return typeof v.decision === 'boolean' && typeof v.context?.reason?.code === 'string';
}
