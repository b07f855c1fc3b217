// npm run soak: drives a child `appwarden serve` (SQLite store, policy copy, both in a temp dir) at a fixed
// rate for a set time while an org file is rewritten every few seconds, samples errors, latency percentiles
// and memory every 10 s, prints a table over time and a verdict: zero errors, every reload as expected, flat RSS.
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, quantile, ROOT, type RunningServer, runIfMain, startProcess } from '../support.ts';
import { EXAMPLE_POLICY_DIR, generateTraffic } from '../traffic/generate.ts';

/** Options of {@link runSoak}; every duration in milliseconds. */
export interface SoakOptions {
  /** Requests per second over all connections (autocannon `overallRate`); default 500. */
  rate?: number;
  /** How long the load runs; default 10 minutes. */
  durationMs?: number;
  /** Rewrite `orgs/umbrella.yaml` this often; 0: never. Default 5 s. */
  reloadEveryMs?: number;
  /** Every Nth rewrite is invalid and must be rejected while the last good revision stays live; 0: never. Default 4. */
  invalidEvery?: number;
  /** Keep-alive connections; default 16. */
  connections?: number;
  /** Length of one sample window; default 10 s. */
  sampleMs?: number;
  /** The RSS baseline is the first sample taken at or after this; default min(60 s, duration / 5). */
  warmupMs?: number;
  /** Where the table and the verdict go, one line per call; default console.log. */
  print?: (line: string) => void;
}

/** One sample window. Latencies in milliseconds, memory in MiB. */
export interface SoakSample {
  /** End of the window, seconds since the load started. */
  t_s: number;
  requests: number;
  /** Responses with a status outside 2xx. */
  non2xx: number;
  /** Connection errors and timeouts (no response). */
  conn_errors: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** The server's resident set (VmRSS of /proc/<pid>/status). */
  rss_mib: number;
  /** `nodejs_heap_size_used_bytes` from `GET /metrics`, when the server exposes it; else null. */
  heap_mib: number | null;
  reloads_ok: number;
  reloads_rejected: number;
}

/** What {@link runSoak} measured and concluded. */
export interface SoakResult {
  samples: SoakSample[];
  totals: { requests: number; non2xx: number; conn_errors: number; achieved_rate: number };
  /** Reload checks: valid rewrites that went live, invalid ones rejected, and anything else (`wrong`). */
  reloads: { ok: number; rejected: number; wrong: string[] };
  /** RSS after warm-up, at the end and at its highest (MiB), and the change from warm-up to the end in percent. */
  rss: { warm_mib: number; end_mib: number; peak_mib: number; peak_t_s: number; change_pct: number };
  verdict: { ok: boolean; reasons: string[] };
}

/** The slice of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonInstance extends PromiseLike<unknown> {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: 'reqError' | 'timeout', fn: () => void): void;
  stop(): void;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  pipelining: number;
  duration: number;
  overallRate: number;
  timeout: number;
  requests: AutocannonRequest[];
}) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** The memory rule of the verdict: RSS at the end within this share of RSS after warm-up. */
export const RSS_TOLERANCE = 0.1;

/**
 * Parses `500ms`, `5s`, `10m`, `1h` (or a bare number of seconds) into milliseconds.
 * @throws Error for anything else
 */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 500ms, 5s, 10m, 1h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMib(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Heap in use from the server's Prometheus endpoint; null when there is none (404) or it lacks the metric. */
async function heapMib(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    if (!res.ok) return null;
    const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})?\s+(\S+)/m.exec(text);
    return m ? Number(m[1]) / 1024 / 1024 : null;
  } catch {
    return null;
  }
}

type Health = { revision: string | null; last_reload: { at: string; ok: boolean; revision?: string } | null };

async function health(url: string): Promise<Health> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
  return (await res.json()) as Health;
}

/**
 * The three versions of the rewritten org file: the example's own (60-day tokens), a valid variant (90-day)
 * and an invalid one (`45d` is not an allowed expiration) that the server must reject.
 */
function orgVersions(policyDir: string): { file: string; versions: [string, string]; invalid: string } {
  const file = join(policyDir, 'orgs', 'umbrella.yaml');
  const a = readFileSync(file, 'utf8');
  if (!a.includes('expiration: 60d')) throw new Error(`${file} no longer says "expiration: 60d"`);
  return {
    file,
    versions: [a, a.replace('expiration: 60d', 'expiration: 90d')],
    invalid: a.replace('expiration: 60d', 'expiration: 45d'),
  };
}

/** Replaces a file the way an editor or `git checkout` does (write aside, rename), so no half file is read. */
function writeAtomically(file: string, text: string): void {
  const tmp = join(file, '..', `.soak-${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const COLUMNS: [string, number][] = [
  ['t', 6],
  ['requests', 9],
  ['req/s', 6],
  ['non-2xx', 8],
  ['conn err', 8],
  ['p50 ms', 7],
  ['p90 ms', 7],
  ['p99 ms', 7],
  ['max ms', 7],
  ['RSS MiB', 8],
  ['heap MiB', 8],
  ['reloads', 8],
];
const row = (cells: string[]) => cells.map((c, i) => c.padStart(COLUMNS[i]?.[1] ?? 0)).join('  ');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

/**
 * Runs the soak (docs/operations.md "Soak and fuzz"): starts `appwarden serve` on a copy of the example
 * policy repository with a SQLite store, both in a new temp dir (removed at the end); sends the seeded
 * traffic (examples/traffic/generate.ts: evaluations, one in ten through the OPA Data API, one in
 * twenty-five as a batch of four) at `rate`; rewrites an org file every `reloadEveryMs` and checks through
 * `/health` that each valid version goes live and each invalid one is rejected with the last good revision
 * still live; prints one table row per sample window, then the verdict.
 * Verdict: ok when no response was outside 2xx, no request failed on the connection or timed out, every
 * reload check held, and |RSS at the end − RSS after warm-up| ≤ 10 % of RSS after warm-up.
 * @throws Error when the server does not start
 */
export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const rate = options.rate ?? 500;
  const durationMs = options.durationMs ?? 10 * 60_000;
  const reloadEveryMs = options.reloadEveryMs ?? 5_000;
  const invalidEvery = options.invalidEvery ?? 4;
  const connections = options.connections ?? 16;
  const sampleMs = options.sampleMs ?? 10_000;
  const warmupMs = options.warmupMs ?? Math.min(60_000, durationMs / 5);
  const print = options.print ?? ((line: string) => console.log(line));

  const dir = mkdtempSync(join(tmpdir(), 'appwarden-soak-'));
  const policyDir = join(dir, 'policy');
  cpSync(EXAMPLE_POLICY_DIR, policyDir, { recursive: true });
  const org = orgVersions(policyDir);
  let server: RunningServer | undefined;
  try {
    const port = await freePort();
    server = await startProcess(
      process.execPath,
      [
        join(ROOT, 'bin', 'appwarden.js'),
        'serve',
        '--policy',
        policyDir,
        '--port',
        String(port),
        '--store',
        join(dir, 'appwarden.db'),
      ],
      {
        url: `http://127.0.0.1:${port}`,
        readyPath: '/ready',
        // Emails (token expiry warnings) go to .eml files in the temp dir, never the repository's var/outbox.
        env: { APPWARDEN_LOG_LEVEL: 'warn', APPWARDEN_NOTIFICATIONS_OUTBOX_DIR: join(dir, 'outbox') },
      },
    );
    const { url } = server;
    const pid = server.child.pid ?? 0;

    // The traffic is for the real clock, so token ages and history windows mean what they say today.
    const trace = generateTraffic({ count: 10_000, now: Date.now() / 1000 }).map((r) => JSON.stringify(r));
    let next = 0;
    const headers = { 'content-type': 'application/json' };
    const nextRequest = (req: AutocannonRequest): AutocannonRequest => {
      const i = next++;
      const body = trace[i % trace.length] ?? '{}';
      if (i % 25 === 24) {
        const items = [0, 1, 2, 3].map((k) => trace[(i + k) % trace.length]).join(',');
        return { ...req, path: '/access/v1/evaluations', body: `{"evaluations":[${items}]}` };
      }
      if (i % 10 === 9) return { ...req, path: '/v1/data/appwarden/decision', body: `{"input":${body}}` };
      return { ...req, path: '/access/v1/evaluation', body };
    };

    const hasMetrics = (await heapMib(url)) !== null;
    print(
      `soak: ${rate} req/s for ${durationMs / 1000} s over ${connections} connections against ${url} (pid ${pid}); ` +
        `reload every ${reloadEveryMs / 1000} s (${invalidEvery > 0 ? `1 in ${invalidEvery} invalid` : 'all valid'}); samples every ${sampleMs / 1000} s`,
    );
    print(row(COLUMNS.map(([name]) => name)));

    let window: number[] = [];
    let non2xx = 0;
    let connErrors = 0;
    const totals = { requests: 0, non2xx: 0, conn_errors: 0, achieved_rate: 0 };
    const reloads = { ok: 0, rejected: 0, wrong: [] as string[] };
    const samples: SoakSample[] = [];
    const started = Date.now();

    const instance = autocannon({
      url,
      connections,
      pipelining: 1,
      duration: durationMs / 1000,
      overallRate: rate,
      timeout: 10,
      requests: [{ method: 'POST', path: '/access/v1/evaluation', headers, setupRequest: nextRequest }],
    });
    instance.on('response', (_client, status, _bytes, responseMs) => {
      window.push(responseMs);
      if (status < 200 || status > 299) non2xx++;
    });
    instance.on('reqError', () => connErrors++);
    instance.on('timeout', () => connErrors++);
    let running = true;
    const finished = Promise.resolve(instance).then(() => {
      running = false;
    });
    // A pause that ends early when the load does, so nothing waits out a timer after the end.
    const pause = (ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(r, ms);
        void finished.then(() => {
          clearTimeout(t);
          r();
        });
      });

    const takeSample = async (): Promise<void> => {
      const lat = window.sort((a, b) => a - b);
      window = [];
      const s: SoakSample = {
        t_s: Math.round((Date.now() - started) / 1000),
        requests: lat.length,
        non2xx,
        conn_errors: connErrors,
        p50_ms: quantile(lat, 0.5),
        p90_ms: quantile(lat, 0.9),
        p99_ms: quantile(lat, 0.99),
        max_ms: lat[lat.length - 1] ?? Number.NaN,
        rss_mib: rssMib(pid),
        heap_mib: hasMetrics ? await heapMib(url) : null,
        reloads_ok: reloads.ok,
        reloads_rejected: reloads.rejected,
      };
      totals.requests += s.requests;
      totals.non2xx += non2xx;
      totals.conn_errors += connErrors;
      non2xx = 0;
      connErrors = 0;
      samples.push(s);
      print(
        row([
          `${s.t_s}s`,
          String(s.requests),
          String(Math.round(s.requests / (sampleMs / 1000))),
          String(s.non2xx),
          String(s.conn_errors),
          ms(s.p50_ms),
          ms(s.p90_ms),
          ms(s.p99_ms),
          ms(s.max_ms),
          s.rss_mib.toFixed(1),
          s.heap_mib === null ? 'n/a' : s.heap_mib.toFixed(1),
          `${s.reloads_ok}/${s.reloads_rejected}`,
        ]),
      );
    };

    // Reloads: alternate two valid versions; every `invalidEvery`th write is invalid. Each is checked in
    // /health: a new last_reload appears, ok with the version's revision, or rejected with the revision kept.
    const revisions = new Map<number, string>();
    const reloader = (async () => {
      if (reloadEveryMs <= 0) return;
      const first = await health(url);
      let live = first.revision ?? '';
      revisions.set(0, live);
      let current = 0;
      for (let k = 1; running; k++) {
        await pause(reloadEveryMs);
        if (!running) break;
        const before = JSON.stringify((await health(url)).last_reload);
        const invalid = invalidEvery > 0 && k % invalidEvery === 0;
        const version = invalid ? current : 1 - current;
        writeAtomically(org.file, invalid ? org.invalid : (org.versions[version as 0 | 1] ?? ''));
        let h: Health | undefined;
        for (let t = 0; t < 50; t++) {
          await sleep(100);
          h = await health(url);
          if (JSON.stringify(h.last_reload) !== before) break;
        }
        const what = `reload ${k} (${invalid ? 'invalid' : `version ${version}`}) at ${Math.round((Date.now() - started) / 1000)} s`;
        if (!h || JSON.stringify(h.last_reload) === before) reloads.wrong.push(`${what}: not seen in 5 s`);
        else if (invalid) {
          if (h.last_reload?.ok === false && h.revision === live) reloads.rejected++;
          else reloads.wrong.push(`${what}: not rejected with ${live} kept live (${JSON.stringify(h)})`);
        } else {
          const known = revisions.get(version);
          if (h.last_reload?.ok && h.revision && h.revision !== live && (!known || known === h.revision)) {
            reloads.ok++;
            revisions.set(version, h.revision);
            live = h.revision;
            current = version;
          } else reloads.wrong.push(`${what}: did not go live as expected (${JSON.stringify(h)})`);
        }
      }
    })();

    while (running) {
      await pause(sampleMs);
      if (running || window.length > 0) await takeSample();
    }
    await finished;
    await reloader;

    const elapsedS = (Date.now() - started) / 1000;
    totals.achieved_rate = Math.round(totals.requests / Math.max(elapsedS, 1e-3));
    const warm = samples.find((s) => s.t_s * 1000 >= warmupMs) ?? samples[0];
    const end = samples[samples.length - 1];
    const warmMib = warm?.rss_mib ?? Number.NaN;
    const endMib = end?.rss_mib ?? Number.NaN;
    const changePct = ((endMib - warmMib) / warmMib) * 100;
    // Not part of the rule (V8 frees memory in its own time), but shown: a transient peak is worth knowing.
    const peak = samples.reduce<SoakSample | undefined>(
      (p, x) => (!p || x.rss_mib > p.rss_mib ? x : p),
      undefined,
    );
    const reasons: string[] = [];
    if (totals.non2xx > 0) reasons.push(`${totals.non2xx} responses outside 2xx`);
    if (totals.conn_errors > 0) reasons.push(`${totals.conn_errors} connection errors or timeouts`);
    if (totals.requests === 0) reasons.push('no request was answered');
    for (const w of reloads.wrong) reasons.push(w);
    if (!(Math.abs(changePct) <= RSS_TOLERANCE * 100)) {
      reasons.push(`RSS changed ${changePct.toFixed(1)}% (more than ±${RSS_TOLERANCE * 100}%)`);
    }
    const result: SoakResult = {
      samples,
      totals,
      reloads,
      rss: {
        warm_mib: warmMib,
        end_mib: endMib,
        peak_mib: peak?.rss_mib ?? Number.NaN,
        peak_t_s: peak?.t_s ?? 0,
        change_pct: Math.round(changePct * 10) / 10,
      },
      verdict: { ok: reasons.length === 0, reasons },
    };
    print('');
    print(
      `${totals.requests} requests in ${elapsedS.toFixed(0)} s (${totals.achieved_rate} req/s of ${rate} asked), ` +
        `${totals.non2xx} non-2xx, ${totals.conn_errors} connection errors; ` +
        `reloads ${reloads.ok} live, ${reloads.rejected} rejected as they should be, ${reloads.wrong.length} wrong`,
    );
    print(
      `RSS ${warmMib.toFixed(1)} MiB after warm-up (t=${warm?.t_s ?? 0} s) -> ${endMib.toFixed(1)} MiB at the end ` +
        `(${changePct >= 0 ? '+' : ''}${changePct.toFixed(1)}%; rule: within ±${RSS_TOLERANCE * 100}%); ` +
        `peak ${(peak?.rss_mib ?? Number.NaN).toFixed(1)} MiB at t=${peak?.t_s ?? 0} s`,
    );
    print(
      result.verdict.ok
        ? 'verdict: PASS (zero errors, every reload as expected, flat RSS)'
        : `verdict: FAIL: ${reasons.join('; ')}`,
    );
    return result;
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const USAGE = `usage: npm run soak -- [--rate 500] [--duration 10m] [--reload-every 5s] [--invalid-every 4]
                        [--connections 16] [--sample 10s] [--warmup 60s]
exit 0 when the verdict is PASS, 1 when it is FAIL, 2 on a usage error`;

/** CLI: parses the flags of {@link USAGE}, runs {@link runSoak}, answers the exit code. */
export async function main(argv: string[]): Promise<number> {
  const opts: SoakOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    try {
      if (flag === '--help' || flag === '-h') {
        console.log(USAGE);
        return 0;
      }
      i++;
      if (flag === '--rate') opts.rate = positive(value, flag);
      else if (flag === '--duration') opts.durationMs = parseDuration(value);
      else if (flag === '--reload-every') opts.reloadEveryMs = parseDuration(value);
      else if (flag === '--invalid-every') opts.invalidEvery = Number.parseInt(value, 10) || 0;
      else if (flag === '--connections') opts.connections = positive(value, flag);
      else if (flag === '--sample') opts.sampleMs = parseDuration(value);
      else if (flag === '--warmup') opts.warmupMs = parseDuration(value);
      else throw new Error(`unknown option ${flag}`);
    } catch (err) {
      console.error(`soak: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
  }
  const result = await runSoak(opts);
  return result.verdict.ok ? 0 : 1;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

runIfMain(import.meta.url, main);
