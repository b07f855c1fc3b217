// Process and statistics helpers shared by the demo and the benchmark: free loopback ports, a
// child appwarden server or OPA server that is waited for and stopped, percentiles, table output.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the appwarden package (where `bin/`, `policies/` and `.tools/` live). */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The pinned OPA binary installed by `npm run tools`. */
export const OPA_BIN: string = join(ROOT, '.tools', 'bin', 'opa');

/** Asks the OS for a free TCP port on 127.0.0.1 (released before returning, so use it at once). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** A child server process started by {@link startProcess}. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  child: ChildProcess;
  /** Everything the child wrote so far (stdout and stderr), for error messages. */
  output(): string;
  /** Stops the child (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `cmd args` and waits until `GET <url><readyPath>` answers 200.
 * @param opts.timeoutMs how long to wait for readiness, milliseconds
 * @throws Error with the child's output when it exits early or is not ready in time
 */
/** Children still running, killed when this process exits however it exits (error, Ctrl-C, a closed pipe). */
const children = new Set<ChildProcess>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => process.exit(130));
  }
  // `npm run demo | head` closes our stdout: end quietly, and the exit handler stops the children.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
}

export async function startProcess(
  cmd: string,
  args: string[],
  opts: { url: string; readyPath: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<RunningServer> {
  installCleanup();
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  // Keep the tail only: a chatty server must not grow the benchmark's memory.
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: number | string | null | undefined;
  const exit = new Promise<void>((done) => {
    child.once('exit', (code, signal) => {
      exited = code ?? signal;
      children.delete(child);
      done();
    });
    // A program that cannot be started (ENOENT) emits 'error' and never 'exit'.
    child.once('error', (err) => {
      exited = err.message;
      children.delete(child);
      done();
    });
  });
  const server: RunningServer = {
    url: opts.url,
    child,
    output: () => out,
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(`${cmd} ${args.join(' ')} exited (${String(exited)}) before it was ready:\n${out}`);
    }
    try {
      const res = await fetch(`${opts.url}${opts.readyPath}`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.stop();
  throw new Error(`${cmd} was not ready at ${opts.url}${opts.readyPath} in time:\n${out}`);
}

/**
 * Starts `node bin/appwarden.js serve --policy <policyDir> --port <free port> [...extraArgs]` on
 * 127.0.0.1 and waits for `/ready`. Without a `--store` in `extraArgs` the server keeps its state in
 * memory, so demos and tests never write go-live history into the repository's `var/appwarden.db`; its
 * emails go to a temporary directory. `opts.env` is added to the environment.
 * @throws Error with the server's output when it does not become ready
 */
export async function startAppwarden(
  policyDir: string,
  extraArgs: string[] = [],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<RunningServer> {
  const port = await freePort();
  return startProcess(
    process.execPath,
    [
      join(ROOT, 'bin', 'appwarden.js'),
      'serve',
      '--policy',
      policyDir,
      '--port',
      String(port),
      ...(extraArgs.includes('--store') ? [] : ['--store', ':memory:']),
      ...extraArgs,
    ],
    {
      url: `http://127.0.0.1:${port}`,
      readyPath: '/ready',
      env: {
        // Emails of a demo or test server go to a temporary directory, never the repository's var/outbox.
        APPWARDEN_NOTIFICATIONS_OUTBOX_DIR: mkdtempSync(join(tmpdir(), 'appwarden-outbox-')),
        ...opts.env,
      },
    },
  );
}

/**
 * Starts `opa run --server` on a free 127.0.0.1 port with the given Rego and data files and waits
 * for `/health`.
 * @throws Error with OPA's output when it does not become ready
 */
export async function startOpa(files: string[]): Promise<RunningServer> {
  // The pinned OPA comes from the project's installer (Go); `npm test` runs it too, the bench may come first.
  const install = spawnSync('bash', [join(ROOT, 'scripts', 'install-opa.sh')], { stdio: 'inherit' });
  if (install.status !== 0)
    throw new Error('cannot install the pinned opa (scripts/install-opa.sh needs Go)');
  const port = await freePort();
  return startProcess(
    OPA_BIN,
    [
      'run',
      '--server',
      '--addr',
      `127.0.0.1:${port}`,
      '--log-level',
      'error',
      '--disable-telemetry',
      ...files,
    ],
    { url: `http://127.0.0.1:${port}`, readyPath: '/health' },
  );
}

/** The q-quantile (0..1) of already sorted numbers, nearest-rank; NaN for an empty list. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/**
 * Renders rows as a text table (first row is the header). Cells that are numbers (optionally with
 * a unit or %) are right-aligned, everything else left-aligned.
 */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const numeric = /^-?[\d.,]+ ?(%|ms|µs|s)?$|^n\/a$/;
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (numeric.test(cell) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const [head, ...rest] = rows;
  if (!head) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rest.map(line)].join('\n');
}

/**
 * Runs `main(argv)` when `moduleUrl` is the script node was started with: sets the exit code from
 * its result, prints a thrown error's message (no stack) and exits 1.
 */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
