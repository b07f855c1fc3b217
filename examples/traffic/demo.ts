import { parseArgs } from 'node:util';
import { quantile, type RunningServer, runIfMain, startAppwarden, table } from '../support.ts';
import {
  DEFAULT_COUNT,
  DEFAULT_SEED,
  type EvaluationRequest,
  EXAMPLE_POLICY_DIR,
  generateTraffic,
} from './generate.ts';

/** The wire decision fields the demo reads (schemas/decision-response.schema.json). */
interface WireDecision {
  decision?: boolean;
  context?: { reason?: { code?: string; message?: string } };
}

/** What one replay observed. */
export interface ReplayResult {
  total: number;
  /** HTTP status -> count (0 = network error, no response). */
  statuses: Map<number, number>;
  /** `action` -> `allow`/`deny` counts. */
  perAction: Map<string, { allow: number; deny: number }>;
  /** Reason code -> count, with the first message seen. */
  perReason: Map<string, { count: number; message: string }>;
  /** Latency of every request, milliseconds, sorted. */
  latenciesMs: number[];
  /** Wall time of the whole replay, milliseconds. */
  elapsedMs: number;
  /** First few non-2xx answers (status and body), for diagnosis. */
  failures: string[];
}

/**
 * Sends every request to `POST <url>/access/v1/evaluation` with `concurrency` requests in flight
 * (fetch keeps connections alive) and tallies the answers.
 * @param token bearer token for the decision API, if the server requires one (never printed)
 */
export async function replay(
  url: string,
  requests: readonly EvaluationRequest[],
  opts: { concurrency?: number; token?: string } = {},
): Promise<ReplayResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const result: ReplayResult = {
    total: requests.length,
    statuses: new Map(),
    perAction: new Map(),
    perReason: new Map(),
    latenciesMs: [],
    elapsedMs: 0,
    failures: [],
  };
  const bodies = requests.map((r) => JSON.stringify(r));
  let next = 0;
  const bump = (status: number) => result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
  async function worker(): Promise<void> {
    for (let i = next++; i < requests.length; i = next++) {
      const request = requests[i] as EvaluationRequest;
      const t0 = performance.now();
      let status = 0;
      let text = '';
      try {
        const res = await fetch(`${url}/access/v1/evaluation`, {
          method: 'POST',
          headers,
          body: bodies[i] ?? '',
        });
        status = res.status;
        text = await res.text();
      } catch (err) {
        text = String(err);
      }
      result.latenciesMs.push(performance.now() - t0);
      bump(status);
      if (status < 200 || status >= 300) {
        if (result.failures.length < 5) result.failures.push(`${status} ${text.slice(0, 300)}`);
        continue;
      }
      const d = JSON.parse(text) as WireDecision;
      const tally = result.perAction.get(request.action.name) ?? { allow: 0, deny: 0 };
      if (d.decision === true) tally.allow++;
      else tally.deny++;
      result.perAction.set(request.action.name, tally);
      const code = d.context?.reason?.code ?? '(none)';
      const r = result.perReason.get(code) ?? { count: 0, message: d.context?.reason?.message ?? '' };
      r.count++;
      result.perReason.set(code, r);
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 32) }, worker));
  result.elapsedMs = performance.now() - t0;
  result.latenciesMs.sort((a, b) => a - b);
  return result;
}

/** Prints a replay as the tables the demo shows. */
export function report(r: ReplayResult): string {
  const pct = (n: number) => `${((100 * n) / Math.max(1, r.total)).toFixed(1)}%`;
  const actions = [...r.perAction].sort((a, b) => b[1].allow + b[1].deny - (a[1].allow + a[1].deny));
  const reasons = [...r.perReason].sort((a, b) => b[1].count - a[1].count);
  const non2xx = [...r.statuses].filter(([s]) => s < 200 || s >= 300).reduce((n, [, c]) => n + c, 0);
  const fiveXx = [...r.statuses].filter(([s]) => s >= 500 || s === 0).reduce((n, [, c]) => n + c, 0);
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  return [
    table([
      ['action', 'requests', 'allow', 'deny'],
      ...actions.map(([a, t]) => [a, String(t.allow + t.deny), String(t.allow), String(t.deny)]),
    ]),
    '',
    table([
      ['reason', 'count', 'share', 'example message'],
      ...reasons.map(([code, x]) => [code, String(x.count), pct(x.count), x.message.slice(0, 70)]),
    ]),
    '',
    `status codes: ${[...r.statuses]
      .sort((a, b) => a[0] - b[0])
      .map(([s, c]) => `${s === 0 ? 'network error' : s} x${c}`)
      .join(', ')}`,
    `non-2xx: ${non2xx}  (5xx or no answer: ${fiveXx})`,
    ...r.failures.map((f) => `  e.g. ${f}`),
    `throughput: ${((1000 * r.total) / r.elapsedMs).toFixed(0)} req/s (${r.total} requests in ${(r.elapsedMs / 1000).toFixed(2)} s)`,
    `latency: p50 ${ms(quantile(r.latenciesMs, 0.5))}  p90 ${ms(quantile(r.latenciesMs, 0.9))}  p99 ${ms(quantile(r.latenciesMs, 0.99))}  max ${ms(r.latenciesMs.at(-1) ?? Number.NaN)}`,
  ].join('\n');
}

/** Is an appwarden server ready at `url`? (`GET /ready` answers 200 `{ready: true}`.) */
async function isReady(url: string, token: string | undefined): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ready`, {
      signal: AbortSignal.timeout(1500),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const body = (await res.json().catch(() => ({}))) as { ready?: unknown };
    return res.ok && body.ready === true;
  } catch {
    return false;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      count: { type: 'string', default: String(DEFAULT_COUNT) },
      seed: { type: 'string', default: String(DEFAULT_SEED) },
      concurrency: { type: 'string', default: '32' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run demo -- [--url http://127.0.0.1:8181] [--token T] [--count 10000] [--seed N] [--concurrency 32]\n' +
        'Without --url it uses a server on 127.0.0.1:8181 if one is ready, else starts its own on a free port.\n' +
        'The token may also come from APPWARDEN_TOKEN.',
    );
    return 0;
  }
  const token = values.token ?? process.env.APPWARDEN_TOKEN;
  let url = (values.url ?? 'http://127.0.0.1:8181').replace(/\/+$/, '');
  let own: RunningServer | undefined;
  if (!(await isReady(url, token))) {
    if (values.url) {
      console.error(
        `no ready appwarden server at ${url} (GET /ready). Start one with \`npm start\`, or leave out --url.`,
      );
      return 1;
    }
    console.log(
      `no server ready at ${url}; starting node bin/appwarden.js serve --policy examples/policy-repo ...`,
    );
    own = await startAppwarden(EXAMPLE_POLICY_DIR);
    url = own.url;
  }
  try {
    // Token ages count back from the real clock: the server evaluates at its own time.
    const requests = generateTraffic({
      seed: Number(values.seed),
      count: Number(values.count),
      now: Date.now() / 1000,
    });
    console.log(
      `replaying ${requests.length} requests (seed ${values.seed}) against ${url} with ${values.concurrency} in flight\n`,
    );
    const r = await replay(url, requests, {
      concurrency: Number(values.concurrency),
      ...(token ? { token } : {}),
    });
    console.log(report(r));
    const fiveXx = [...r.statuses].filter(([s]) => s >= 500 || s === 0).reduce((n, [, c]) => n + c, 0);
    if (fiveXx > 0) {
      console.error(`\nFAIL: ${fiveXx} requests answered 5xx or not at all`);
      return 1;
    }
    return 0;
  } finally {
    await own?.stop();
  }
}

runIfMain(import.meta.url, main);
