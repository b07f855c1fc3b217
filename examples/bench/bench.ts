// `npm run bench`: (a) in-process cost of engine.decide over the example trace; (b) appwarden's HTTP
// server against `opa run --server` with the same Rego, data and requests, driven by one autocannon.
// Prints a side-by-side table and writes the numbers to var/bench.json.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine, type Engine, isEngineError } from '../../engine/index.ts';
import {
  quantile,
  ROOT,
  type RunningServer,
  runIfMain,
  startAppwarden,
  startOpa,
  table,
} from '../support.ts';
import {
  BASE_TIME,
  type EvaluationRequest,
  EXAMPLE_POLICY_DIR,
  generateTraffic,
} from '../traffic/generate.ts';

/** The slice of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: string;
}
interface AutocannonHistogram {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
interface AutocannonResult {
  requests: AutocannonHistogram & { total: number };
  latency: AutocannonHistogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  pipelining: number;
  duration: number;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** In-process numbers: microseconds per decision. */
export interface InProcessResult {
  decisions: number;
  /** Mean over timed passes, microseconds per `engine.decide` call. */
  mean_us: number;
  p50_us: number;
  p99_us: number;
  /** Mean cost of validation + Rego input building alone (`engine.buildInput`), microseconds. */
  input_only_us: number;
  decisions_per_second: number;
  /** Decisions that threw (evaluation errors); must be 0. */
  errors: number;
}

/** One HTTP target's numbers (latency in milliseconds, as autocannon measures it). */
export interface HttpResult {
  /** `appwarden` (decision log in a SQLite file, synchronous=FULL), `appwarden-memory` (`--store :memory:`), `opa`. */
  target: 'appwarden' | 'appwarden-memory' | 'opa';
  url: string;
  requests_per_second: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  total: number;
  non2xx: number;
  errors: number;
}

/**
 * Times `engine.decide` over `requests` (evaluated at `at`, epoch seconds): one warm-up pass, then
 * passes until `minMs` of measured time, plus one pass timing every call for percentiles.
 */
export function benchInProcess(
  engine: Engine,
  requests: readonly EvaluationRequest[],
  at: number,
  minMs = 2000,
): InProcessResult {
  let errors = 0;
  const once = (r: EvaluationRequest) => {
    try {
      engine.decide(r, { at });
    } catch (err) {
      if (!isEngineError(err)) throw err;
      errors++;
    }
  };
  for (const r of requests) once(r);
  errors = 0;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    for (const r of requests) once(r);
    n += requests.length;
  }
  const mean = ((performance.now() - t0) * 1000) / n;
  const each: number[] = [];
  for (const r of requests) {
    const s = process.hrtime.bigint();
    once(r);
    each.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  each.sort((a, b) => a - b);
  const t1 = performance.now();
  let m = 0;
  while (performance.now() - t1 < minMs / 4) {
    for (const r of requests) engine.buildInput(r, { at });
    m += requests.length;
  }
  const inputOnly = ((performance.now() - t1) * 1000) / m;
  return {
    decisions: n,
    mean_us: round(mean),
    p50_us: round(quantile(each, 0.5)),
    p99_us: round(quantile(each, 0.99)),
    input_only_us: round(inputOnly),
    decisions_per_second: Math.round(1e6 / mean),
    errors,
  };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The Rego files `opa build` compiles into policy.wasm (tests excluded). */
function regoFiles(): string[] {
  const dir = join(ROOT, 'policies', 'appwarden');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rego') && !f.endsWith('_test.rego'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Sends each request once to both servers and compares decision and reason code: a benchmark of
 * two servers that disagree would compare different work (SPEC §7: Wasm and OPA agree).
 */
async function compareAnswers(
  appwarden: string,
  opa: string,
  bodies: readonly { authzen: string; opa: string }[],
): Promise<{ compared: number; disagreements: string[] }> {
  const disagreements: string[] = [];
  let next = 0;
  const post = async (url: string, body: string) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (!res.ok) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    return (await res.json()) as unknown;
  };
  async function worker() {
    for (let i = next++; i < bodies.length; i = next++) {
      const b = bodies[i] as { authzen: string; opa: string };
      const a = (await post(`${appwarden}/access/v1/evaluation`, b.authzen)) as {
        decision: boolean;
        context: { reason: { code: string } };
      };
      const o = (await post(`${opa}/v1/data/appwarden/decision`, b.opa)) as {
        result?: { decision: boolean; context: { reason: { code: string } } };
      };
      if (a.decision !== o.result?.decision || a.context.reason.code !== o.result?.context.reason.code) {
        disagreements.push(
          `#${i}: appwarden ${a.decision}/${a.context.reason.code}, opa ${String(o.result?.decision)}/${o.result?.context.reason.code}`,
        );
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker));
  return { compared: bodies.length, disagreements };
}

async function drive(
  target: HttpResult['target'],
  url: string,
  path: string,
  bodies: readonly string[],
  opts: { connections: number; duration: number; warmup: number },
): Promise<HttpResult> {
  const requests: AutocannonRequest[] = bodies.map((body) => ({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body,
  }));
  const common = { url, connections: opts.connections, pipelining: 1, requests };
  if (opts.warmup > 0) await autocannon({ ...common, duration: opts.warmup });
  const r = await autocannon({ ...common, duration: opts.duration });
  return {
    target,
    url,
    requests_per_second: Math.round(r.requests.total / r.duration),
    p50_ms: r.latency.p50,
    p90_ms: r.latency.p90,
    p99_ms: r.latency.p99,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      count: { type: 'string', default: '10000' },
      sample: { type: 'string', default: '2000' },
      'skip-http': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench -- [--duration 10] [--warmup 3] [--connections 32] [--count 10000] [--sample 2000] [--skip-http]',
    );
    return 0;
  }
  const engine = createEngine({ policyDir: EXAMPLE_POLICY_DIR });
  const loaded = await engine.load();
  console.log(
    `policy ${loaded.revision}: ${loaded.orgs.join(', ')}; ${cpus().length} CPUs, node ${process.version}`,
  );

  // (a) in-process, at the fixed base time so the numbers and decisions are reproducible.
  const trace = generateTraffic({ count: Number(values.count), now: BASE_TIME });
  const inProcess = benchInProcess(engine, trace, BASE_TIME);
  console.log(
    `\n(a) in-process engine.decide over ${trace.length} requests: ${inProcess.mean_us} µs/decision mean ` +
      `(p50 ${inProcess.p50_us} µs, p99 ${inProcess.p99_us} µs; validation + input alone ${inProcess.input_only_us} µs), ` +
      `${inProcess.decisions_per_second} decisions/s on one core, ${inProcess.errors} errors`,
  );

  const result: Record<string, unknown> = {
    at: new Date().toISOString(),
    revision: loaded.revision,
    node: process.version,
    cpus: cpus().length,
    in_process: inProcess,
  };
  let exit = inProcess.errors > 0 ? 1 : 0;

  if (!values['skip-http']) {
    // (b) HTTP. Both servers evaluate at their own clock, so the requests are generated for now.
    const live = generateTraffic({ count: Number(values.sample), now: Date.now() / 1000 });
    const bodies = live.map((r) => ({
      authzen: JSON.stringify(r),
      opa: JSON.stringify({ input: engine.buildInput(r) }),
    }));
    const dataFile = resolve(ROOT, 'var', 'bench', 'data.json');
    mkdirSync(resolve(dataFile, '..'), { recursive: true });
    writeFileSync(dataFile, JSON.stringify(engine.data));
    let app: RunningServer | undefined;
    let opa: RunningServer | undefined;
    let appMemory: RunningServer | undefined;
    // A fresh file store, so the decision log's cost is measured from empty on every run.
    const storeFile = resolve(ROOT, 'var', 'bench', 'appwarden.db');
    for (const f of ['', '-wal', '-shm']) rmSync(`${storeFile}${f}`, { force: true });
    try {
      app = await startAppwarden(EXAMPLE_POLICY_DIR, ['--store', storeFile]);
      opa = await startOpa([...regoFiles(), dataFile]);
      const agreement = await compareAnswers(app.url, opa.url, bodies);
      console.log(
        `\n(b) HTTP: ${agreement.compared - agreement.disagreements.length}/${agreement.compared} requests get the same decision and reason from both servers`,
      );
      for (const d of agreement.disagreements.slice(0, 5)) console.log(`  disagree ${d}`);
      if (agreement.disagreements.length > 0) exit = 1;
      const opts = {
        connections: Number(values.connections),
        duration: Number(values.duration),
        warmup: Number(values.warmup),
      };
      console.log(
        `driving each server for ${opts.duration} s after ${opts.warmup} s warm-up, ${opts.connections} connections, ${bodies.length} distinct requests`,
      );
      const a = await drive(
        'appwarden',
        app.url,
        '/access/v1/evaluation',
        bodies.map((b) => b.authzen),
        opts,
      );
      await app.stop();
      // The same server with its decision log in memory: what the durable log (WAL, fsync per group
      // commit) costs over the same SQLite work without a disk.
      appMemory = await startAppwarden(EXAMPLE_POLICY_DIR, ['--store', ':memory:']);
      const m = await drive(
        'appwarden-memory',
        appMemory.url,
        '/access/v1/evaluation',
        bodies.map((b) => b.authzen),
        opts,
      );
      await appMemory.stop();
      const o = await drive(
        'opa',
        opa.url,
        '/v1/data/appwarden/decision',
        bodies.map((b) => b.opa),
        opts,
      );
      const ratio = (x: number, y: number) => (y === 0 ? 'n/a' : (x / y).toFixed(2));
      console.log(
        `\n${table([
          ['', 'appwarden (AuthZEN, Wasm)', 'opa run --server', 'appwarden/opa'],
          [
            'req/s',
            String(a.requests_per_second),
            String(o.requests_per_second),
            ratio(a.requests_per_second, o.requests_per_second),
          ],
          ['p50 ms', String(a.p50_ms), String(o.p50_ms), ratio(a.p50_ms, o.p50_ms)],
          ['p90 ms', String(a.p90_ms), String(o.p90_ms), ratio(a.p90_ms, o.p90_ms)],
          ['p99 ms', String(a.p99_ms), String(o.p99_ms), ratio(a.p99_ms, o.p99_ms)],
          ['requests', String(a.total), String(o.total), ''],
          ['non-2xx', String(a.non2xx), String(o.non2xx), ''],
          ['errors', String(a.errors), String(o.errors), ''],
        ])}`,
      );
      const cost = (x: number, y: number) => (y === 0 ? 'n/a' : `${(((x - y) / y) * 100).toFixed(1)}%`);
      console.log(
        `\ndecision log: every answer waits for its record's group commit (${storeFile}, synchronous=FULL)\n${table(
          [
            ['', 'store file', '--store :memory:', 'file vs memory'],
            [
              'req/s',
              String(a.requests_per_second),
              String(m.requests_per_second),
              cost(a.requests_per_second, m.requests_per_second),
            ],
            ['p50 ms', String(a.p50_ms), String(m.p50_ms), cost(a.p50_ms, m.p50_ms)],
            ['p99 ms', String(a.p99_ms), String(m.p99_ms), cost(a.p99_ms, m.p99_ms)],
            ['non-2xx', String(a.non2xx), String(m.non2xx), ''],
          ],
        )}`,
      );
      result.http = {
        connections: opts.connections,
        duration_s: opts.duration,
        warmup_s: opts.warmup,
        distinct_requests: bodies.length,
        agreement: { compared: agreement.compared, disagreements: agreement.disagreements.length },
        appwarden: a,
        appwarden_memory_store: m,
        opa: o,
        ratio: {
          requests_per_second: Number(ratio(a.requests_per_second, o.requests_per_second)),
          p50: Number(ratio(a.p50_ms, o.p50_ms)),
          p99: Number(ratio(a.p99_ms, o.p99_ms)),
        },
      };
      if (a.non2xx > 0 || o.non2xx > 0 || m.non2xx > 0 || a.errors > 0 || o.errors > 0 || m.errors > 0)
        exit = 1;
    } finally {
      await app?.stop();
      await appMemory?.stop();
      await opa?.stop();
    }
  }
  engine.close();
  const out = resolve(ROOT, 'var', 'bench.json');
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
  return exit;
}

runIfMain(import.meta.url, main);
