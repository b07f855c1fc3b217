// Builds the example store: the seeded traffic of generate.ts decided by the engine over the example policy
// repository, two weeks of it, written into a SQLite store through the server's own record and sighting
// functions (decision log with inputs, token registry, connected apps), and optionally a decisions JSONL export.
// Reproducible: the same seed and count give the same store and the same export. Impact replay examples and
// tests (`appwarden diff --impact`) run against it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createEngine,
  type DecisionRecord,
  openStore,
  type Store,
  type TokenSighting,
  type UsageSighting,
} from '../../engine/index.ts';
import { decisionRecord, tokenSighting, usageSighting } from '../../server/decision-log.ts';
import { BASE_TIME, DEFAULT_SEED, EXAMPLE_POLICY_DIR, generateTraffic } from './generate.ts';

/** The traffic of the example store ends here: 2026-11-15T12:00:00Z (epoch seconds); impact "now" in examples. */
export const EXAMPLE_STORE_END: number = BASE_TIME;
/** Days of traffic in the example store (the decisions are spread evenly over them, the last at the end). */
export const EXAMPLE_STORE_DAYS = 14;
/** Requests in the example store by default. */
export const EXAMPLE_STORE_COUNT = 3000;

/** Options of {@link buildExampleStore}. */
export interface ExampleStoreOptions {
  seed?: number;
  count?: number;
  /** The policy repository the traffic is decided under; default the example repository. */
  policyDir?: string;
}

/**
 * Decides the seeded traffic (people, PATs and service-account tokens counted back from the start of the
 * period) one request at a time at evenly spread times over {@link EXAMPLE_STORE_DAYS} days ending at
 * {@link EXAMPLE_STORE_END}, with the engine's clock at each decision's time (as a live server would: the
 * policy goes live at the start), and appends the records and sightings to `store` in batches.
 * @returns the decision records written, oldest first
 * @throws EngineError when the repository is invalid or the store cannot be written
 */
export async function buildExampleStore(
  store: Store,
  opts: ExampleStoreOptions = {},
): Promise<DecisionRecord[]> {
  const count = opts.count ?? EXAMPLE_STORE_COUNT;
  const start = EXAMPLE_STORE_END - EXAMPLE_STORE_DAYS * 86_400;
  let clock = start;
  const engine = createEngine({
    policyDir: opts.policyDir ?? EXAMPLE_POLICY_DIR,
    store,
    clock: () => clock,
  });
  await engine.load();
  const requests = generateTraffic({ seed: opts.seed ?? DEFAULT_SEED, count, now: start });
  const stepMs = (EXAMPLE_STORE_DAYS * 86_400_000) / count;
  const all: DecisionRecord[] = [];
  let records: DecisionRecord[] = [];
  let tokens: TokenSighting[] = [];
  let usage: UsageSighting[] = [];
  const flush = async () => {
    await store.appendDecisions(records, tokens, usage);
    all.push(...records);
    records = [];
    tokens = [];
    usage = [];
  };
  try {
    for (const [i, request] of requests.entries()) {
      const atMs = Math.round(start * 1000 + (i + 1) * stepMs);
      clock = Math.floor(atMs / 1000);
      const decision = engine.decide(request);
      const made = { request, at_ms: atMs, latency_us: 0 };
      // Stable ids (the engine's are random UUIDs), so the committed export regenerates byte for byte.
      records.push({
        ...decisionRecord(decision, made),
        decision_id: `example-${String(i + 1).padStart(5, '0')}`,
      });
      const t = tokenSighting(decision, made);
      if (t) tokens.push(t);
      const u = usageSighting(decision, made);
      if (u) usage.push(u);
      if (records.length >= 500) await flush();
    }
    await flush();
  } finally {
    engine.close();
  }
  return all;
}

const EMAIL = /^[^@\s]+@[^@\s]+$/;

/**
 * JSON lines of decision records (the `--decisions` format of `appwarden diff --impact`), for committing: any
 * string that looks like an email (a service-account token's `owner` in the example traffic) becomes
 * `redacted`, since the log's inputs lose only the subject's email and a committed file must hold none.
 */
export function decisionsJsonl(records: readonly DecisionRecord[]): string {
  const scrub = (_key: string, value: unknown) =>
    typeof value === 'string' && EMAIL.test(value) ? 'redacted' : value;
  return records.map((r) => JSON.stringify(r, scrub)).join('\n') + (records.length > 0 ? '\n' : '');
}

async function cli(argv: string[]): Promise<number> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--help' || a === '-h') {
      console.log(
        'usage: tsx examples/traffic/example-store.ts --store var/example.db [--count 3000] [--seed N] [--decisions out.jsonl [--last N]]\n' +
          'Writes two weeks of example traffic ending 2026-11-15T12:00:00Z into a new SQLite store; with --decisions also\n' +
          'the decision records as JSON lines (the newest --last N only, when given).',
      );
      return 0;
    }
    if (a.startsWith('--')) args.set(a.slice(2), argv[++i] ?? '');
  }
  const path = args.get('store') ?? ':memory:';
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const store = openStore(path);
  try {
    const records = await buildExampleStore(store, {
      count: Number(args.get('count') ?? EXAMPLE_STORE_COUNT),
      seed: Number(args.get('seed') ?? DEFAULT_SEED),
    });
    console.log(`wrote ${records.length} decisions into ${path}`);
    const out = args.get('decisions');
    if (out) {
      const last = Number(args.get('last') ?? records.length);
      writeFileSync(out, decisionsJsonl(records.slice(-last)));
      console.log(`wrote the newest ${Math.min(last, records.length)} decision records to ${out}`);
    }
  } finally {
    await store.close();
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await cli(process.argv.slice(2));
}
