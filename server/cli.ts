// The appwarden CLI (validate, eval, serve, build, history import, policy edits, operator commands): commander over
// engine/index.ts; exit 0 ok, 1 invalid, 2 usage or runtime error.
import { readFileSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  buildBundle,
  createEngine,
  DEFAULT_STORE_PATH,
  type EngineError,
  formatIssue,
  importHistoryFile,
  isEngineError,
  loadAndValidate,
  loadPolicyTests,
  MIGRATIONS,
  openStore,
  type PolicyTestSuite,
  parseRfc3339,
  type Store,
  sortIssues,
} from '../engine/index.ts';
import { registerConfigCommands } from './cli-config.ts';
import { registerDiffCommand } from './cli-diff.ts';
import { registerEditCommands } from './cli-edit.ts';
import { createServerNotificationWorker, registerNotificationCommands } from './cli-notifications.ts';
import { registerOperatorCommands } from './cli-ops.ts';
import { located } from './cli-paths.ts';
import { githubAnnotation, issueAnnotation, registerTestCommand } from './cli-test.ts';
import { resolveServe } from './config.ts';
import { JsonError, parseStrictJson } from './json.ts';
import { createLogger } from './logger.ts';
import { assertSafeBinding, startServer } from './main.ts';

/** Exit codes of every command. */
export const EXIT = { ok: 0, invalid: 1, error: 2 } as const;

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => Promise<string>;
}

const defaultIo: CliIo = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

// Errors about the policy or the input itself are "invalid" (1); anything about the environment is 2.
function exitFor(err: EngineError): number {
  return ['invalid_policy', 'invalid_history', 'invalid_input', 'invalid_bundle'].includes(err.code)
    ? EXIT.invalid
    : EXIT.error;
}

function packageVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '0.0.0';
  }
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return Number(value);
}

// A path that does not exist is a usage error (2), not an invalid repository (1).
function missing(path: string, what: string, io: CliIo): boolean {
  try {
    statSync(path);
    return false;
  } catch {
    io.stderr(`${what} ${path} does not exist\n`);
    return true;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and resolves to the exit code: 0 ok, 1 invalid
 * (policy, history, bundle or input), 2 usage or runtime error. `serve` resolves only after SIGINT/SIGTERM.
 */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('appwarden')
    .description('policy-as-code for third-party app and API access: validate, evaluate, serve, build')
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('validate')
    .description(
      'validate a policy repository (orgs/*.yaml, history/*.yaml, apps/*.yaml, tests/*.yaml) as CI does',
    )
    .argument('<dir>', 'policy repository directory')
    .addOption(
      new Option(
        '--format <format>',
        'text (file:line:col: message), json (for CI systems) or github (GitHub Actions ::error annotations)',
      )
        .choices(['text', 'json', 'github'])
        .default('text'),
    )
    .addHelpText(
      'after',
      '\nThe policy test suites (tests/*.yaml) are checked too, not run: `appwarden test` runs them.\n' +
        'Exit codes: 0 valid, 1 invalid (every problem listed as file:line:col: message), 2 error.',
    )
    .action(async (dir: string, opts: { format: 'text' | 'json' | 'github' }) => {
      if (missing(dir, 'policy directory', io)) {
        code = EXIT.error;
        return;
      }
      const errors: EngineError[] = [];
      let valid: { revision: string; orgs: string[] } | undefined;
      let suites: PolicyTestSuite[] = [];
      try {
        valid = await loadAndValidate(dir);
      } catch (err) {
        if (!isEngineError(err)) throw err;
        errors.push(err);
      }
      // Test suites are part of the repository (SPEC §3): checked (not run) with it, even when it is invalid.
      try {
        suites = await loadPolicyTests(dir);
      } catch (err) {
        if (!isEngineError(err)) throw err;
        errors.push(err);
      }
      if (valid && errors.length === 0) {
        const { revision, orgs } = valid;
        const summary = `valid: revision ${revision}, ${orgs.length} org${orgs.length === 1 ? '' : 's'} (${orgs.join(', ')})`;
        const cases = suites.reduce((n, s) => n + s.cases.length, 0);
        const tests =
          suites.length > 0
            ? `checked ${suites.length} test suite${suites.length === 1 ? '' : 's'} (${cases} case${cases === 1 ? '' : 's'}); appwarden test runs them`
            : '';
        if (opts.format === 'json')
          io.stdout(`${JSON.stringify({ valid: true, revision, orgs, issues: [] }, null, 2)}\n`);
        else if (opts.format === 'github')
          io.stdout(
            githubAnnotation(
              'notice',
              { title: 'appwarden validate' },
              `${summary}${tests ? `; ${tests}` : ''}`,
            ),
          );
        else io.stdout(`${summary}\n${tests ? `${tests}\n` : ''}`);
        code = EXIT.ok;
        return;
      }
      // An environment problem (2) decides the exit code over an invalid file (1).
      const primary = errors.find((e) => exitFor(e) === EXIT.error) ?? (errors[0] as EngineError);
      const issues = sortIssues(errors.flatMap((e) => e.issues)).map((i) => located(i, dir));
      code = exitFor(primary);
      const summary =
        code === EXIT.invalid
          ? `${issues.length} problem${issues.length === 1 ? '' : 's'}; ${dir} is not valid`
          : `cannot validate ${dir} (${primary.code})`;
      if (opts.format === 'json') {
        io.stdout(
          `${JSON.stringify({ valid: false, revision: null, orgs: [], code: primary.code, issues }, null, 2)}\n`,
        );
      } else if (opts.format === 'github') {
        for (const i of issues) io.stdout(issueAnnotation(i, primary.code));
        io.stdout(`${summary}\n`);
      } else {
        for (const i of issues) io.stderr(`${formatIssue(i)}\n`);
        io.stderr(`${summary}\n`);
      }
    });

  program
    .command('eval')
    .description('evaluate one AuthZEN request against a policy repository and print the decision JSON')
    .requiredOption('--policy <dir>', 'policy repository directory')
    .requiredOption('--input <file>', 'the request as JSON, or - for stdin')
    .option('--at <time>', 'evaluation time, RFC 3339 with offset (default: now)')
    .option('--history <file>', 'PolicyHistory file (repeatable)', collect, [] as string[])
    .addHelpText(
      'after',
      '\nExample:\n  appwarden eval --policy examples/policy-repo --input req.json --at 2026-06-01T00:00:00Z\n' +
        'Exit codes: 0 a decision was printed (allow or deny), 1 invalid policy or request, 2 usage or runtime error.',
    )
    .action(async (opts: { policy: string; input: string; at?: string; history: string[] }) => {
      if (missing(opts.policy, '--policy', io)) {
        code = EXIT.error;
        return;
      }
      let at = Math.floor(Date.now() / 1000);
      if (opts.at !== undefined) {
        const parsed = parseRfc3339(opts.at);
        if (parsed === null) {
          io.stderr(
            `--at ${JSON.stringify(opts.at)} is not an RFC 3339 timestamp with a time and an offset, e.g. 2026-06-01T00:00:00Z\n`,
          );
          code = EXIT.error;
          return;
        }
        at = parsed;
      }
      let text: string;
      try {
        text = opts.input === '-' ? await io.readStdin() : readFileSync(opts.input, 'utf8');
      } catch (err) {
        io.stderr(`cannot read --input ${opts.input}: ${(err as Error).message}\n`);
        code = EXIT.error;
        return;
      }
      let request: unknown;
      try {
        request = parseStrictJson(text);
      } catch (err) {
        if (!(err instanceof JsonError)) throw err;
        io.stderr(`${opts.input}: ${err.message}${err.field ? ` (at ${err.field})` : ''}\n`);
        code = EXIT.invalid;
        return;
      }
      const engine = createEngine({ policyDir: opts.policy, historyFiles: opts.history, clock: () => at });
      try {
        await engine.load();
        const decision = engine.decide(request, { at });
        io.stdout(`${JSON.stringify(decision, null, 2)}\n`);
        code = EXIT.ok;
      } catch (err) {
        if (!isEngineError(err)) throw err;
        const where = err.code === 'invalid_input' ? `${opts.input}: ` : '';
        for (const i of err.issues) io.stderr(`${where}${formatIssue(located(i, opts.policy))}\n`);
        code = exitFor(err);
      } finally {
        engine.close();
      }
    });

  program
    .command('serve')
    .description('run the decision server (AuthZEN + OPA Data API) with hot reload')
    .option('--policy <dir>', 'policy repository directory (watched; reloaded on change and on SIGHUP)')
    .option('--bundle <file>', 'bundle built by `appwarden build` (watched)')
    .option('--port <port>', 'TCP port (default 8181)', parsePort)
    .option('--host <host>', 'interface to bind (default 127.0.0.1; others need tokens)')
    .option(
      '--config <file>',
      'appwarden.config.yaml: every setting, policy source included (README "Configuration"); flags win',
    )
    .option(
      '--store <path>',
      `SQLite file for the decision log and settings history (created with its directory; :memory: keeps nothing; default ${DEFAULT_STORE_PATH})`,
    )
    .addOption(
      new Option(
        '--store-sync <mode>',
        'full (default): each decision-log commit is fsynced (survives power loss); normal: survives a process crash only, faster',
      ).choices(['full', 'normal']),
    )
    .addHelpText(
      'after',
      '\nTokens: list SHA-256 digests in the config (auth.token_sha256) or APPWARDEN_TOKEN_SHA256 (comma-separated).\n' +
        'Without tokens the server only binds a loopback host.\n' +
        'Admin API: APPWARDEN_ADMIN_TOKENS=email=sha256hex,... or auth.admin_tokens; without one it answers 401. See docs/api.md.',
    )
    .action(async (opts: ServeOptions) => {
      if (opts.policy !== undefined && opts.bundle !== undefined) {
        io.stderr('give exactly one of --policy <dir> and --bundle <file>\n');
        code = EXIT.error;
        return;
      }
      code = await serve(opts, io);
    });

  const history = program.command('history').description('the settings history of orgs (SPEC §5)');
  history
    .command('import')
    .description(
      'import a PolicyHistory file for an org that migrates in; the server uses it from its next reload',
    )
    .argument('<file>', 'PolicyHistory YAML (apiVersion, kind: PolicyHistory, org, revisions)')
    .option('--store <path>', 'the SQLite store the server uses', DEFAULT_STORE_PATH)
    .option(
      '--policy <dir>',
      'the policy repository the server serves (recommended): refuses an org that already has a history/ file there',
    )
    .addHelpText(
      'after',
      '\nA second import for the same org replaces the first. When the policy repository also has a history/\n' +
        'file for the org, that file wins and the server ignores the import (a warning in /health); give\n' +
        '--policy so the import is refused instead. `appwarden history remove <org>` drops an import.\n' +
        'Exit codes: 0 imported, 1 invalid file or the repository already has a history for the org, 2 error.',
    )
    .action(async (file: string, opts: { store: string; policy?: string }) => {
      if (missing(file, 'history file', io)) {
        code = EXIT.error;
        return;
      }
      if (opts.policy !== undefined && missing(opts.policy, '--policy', io)) {
        code = EXIT.error;
        return;
      }
      let store: Store | undefined;
      try {
        store = openStore(opts.store);
        const h = await importHistoryFile(
          store,
          file,
          undefined,
          opts.policy === undefined ? {} : { policyDir: opts.policy },
        );
        io.stdout(
          `imported the history of ${h.org} (${h.revisions.length} revision${h.revisions.length === 1 ? '' : 's'}) into ${opts.store}; the server applies it at its next reload (SIGHUP or a policy change)\n`,
        );
        code = EXIT.ok;
      } catch (err) {
        if (!isEngineError(err)) throw err;
        for (const i of err.issues) io.stderr(`${formatIssue(i)}\n`);
        code = exitFor(err);
      } finally {
        await store?.close();
      }
    });
  history
    .command('remove')
    .description('drop the history imported for an org; the server stops using it at its next reload')
    .argument('<org>', 'the org whose imported history goes')
    .option('--store <path>', 'the SQLite store the server uses', DEFAULT_STORE_PATH)
    .addHelpText('after', '\nExit codes: 0 removed, 1 no history imported for the org, 2 error.')
    .action(async (org: string, opts: { store: string }) => {
      let store: Store | undefined;
      try {
        store = openStore(opts.store);
        const name = org.toLowerCase();
        if (await store.removeImportedHistory(name)) {
          io.stdout(
            `removed the imported history of ${name} from ${opts.store}; the server drops it at its next reload (SIGHUP or a policy change)\n`,
          );
          code = EXIT.ok;
        } else {
          io.stderr(`no history imported for org ${name} in ${opts.store}\n`);
          code = EXIT.invalid;
        }
      } catch (err) {
        if (!isEngineError(err)) throw err;
        for (const i of err.issues) io.stderr(`${formatIssue(i)}\n`);
        code = exitFor(err);
      } finally {
        await store?.close();
      }
    });

  program
    .command('build')
    .description('build an OPA bundle (.manifest, data.json, policy.wasm) from a valid policy repository')
    .requiredOption('--policy <dir>', 'policy repository directory')
    .requiredOption('-o, --output <file>', 'bundle file to write, e.g. bundle.tar.gz')
    .action(async (opts: { policy: string; output: string }) => {
      if (missing(opts.policy, '--policy', io)) {
        code = EXIT.error;
        return;
      }
      try {
        const { revision } = await buildBundle(opts.policy, opts.output);
        io.stdout(`wrote ${opts.output} (revision ${revision})\n`);
        code = EXIT.ok;
      } catch (err) {
        if (!isEngineError(err)) throw err;
        for (const i of err.issues) io.stderr(`${formatIssue(located(i, opts.policy))}\n`);
        code = exitFor(err);
      }
    });

  registerDiffCommand(program, {
    io,
    exit: (c) => {
      code = c;
    },
  });
  registerTestCommand(program, {
    io,
    exit: (c) => {
      code = c;
    },
  });
  registerEditCommands(program, {
    io,
    exit: (c) => {
      code = c;
    },
  });
  registerConfigCommands(program, { io, exit: (c) => (code = c) });
  registerOperatorCommands(program, {
    io,
    exit: (c) => {
      code = c;
    },
  });
  registerNotificationCommands(program, { io, exit: (c) => (code = c) });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.error;
    io.stderr(`appwarden: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.error;
  }
  if (argv.length === 0) {
    io.stderr(program.helpInformation());
    return EXIT.error;
  }
  return code;
}

interface ServeOptions {
  policy?: string;
  bundle?: string;
  port?: number;
  host?: string;
  config?: string;
  store?: string;
  storeSync?: 'full' | 'normal';
}

async function serve(opts: ServeOptions, io: CliIo): Promise<number> {
  // Defaults < --config file < APPWARDEN_* env < flags (server/config.ts); the policy source may come from any.
  let resolved: ReturnType<typeof resolveServe>;
  try {
    resolved = resolveServe(opts, process.env);
    // Refuse an unsafe binding before anything is opened or created (the store's file, its directory).
    assertSafeBinding(resolved.config);
  } catch (err) {
    if (!isEngineError(err)) throw err;
    for (const i of err.issues) io.stderr(`${formatIssue(i)}\n`);
    return EXIT.error;
  }
  const { config, source } = resolved;
  for (const w of resolved.warnings) io.stderr(`appwarden: warning: ${formatIssue(w)}\n`);
  // JSON lines on stdout with every secret redacted (server/logger.ts, docs/operations.md "Logs").
  const logger = createLogger({ level: config.logLevel });
  let store: Store;
  try {
    store = openStore(config.store.path, { synchronous: config.store.sync === 'normal' ? 'NORMAL' : 'FULL' });
  } catch (err) {
    if (!isEngineError(err)) throw err;
    for (const i of err.issues) io.stderr(`appwarden: ${formatIssue(i)}\n`);
    return EXIT.error;
  }
  logger.info(
    {
      kind: store.kind,
      location: store.location,
      // The store migrates to this appwarden's newest schema at open (a newer one is refused).
      schema_version: MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0,
      sync: config.store.sync,
    },
    'store opened',
  );
  const engine = createEngine(
    config.policy.dir !== null ? { policyDir: source, store } : { bundlePath: source, store },
  );
  // SIGTERM / SIGINT: graceful shutdown, exit 0 (docs/operations.md "Shutdown"), handled from before the server
  // listens, so no accepted connection is ever dropped by the default action. A second one while it runs means
  // the operator will not wait: exit at once with the shell's code for that signal (143, 130).
  let signalled: NodeJS.Signals | null = null;
  let stopRequested!: (signal: NodeJS.Signals) => void;
  const stop = new Promise<NodeJS.Signals>((r) => {
    stopRequested = r;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      const exitCode = 128 + (osConstants.signals[signal] ?? 15);
      logger.warn({ signal, exit_code: exitCode }, 'second signal during shutdown: exiting now');
      process.exit(exitCode);
    }
    signalled = signal;
    stopRequested(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    // The outbox worker (SPEC §6 emails): SMTP, or .eml files when none is configured (said in the log).
    const worker = createServerNotificationWorker({ config, store, engine, logger });
    running = await startServer({
      engine,
      config,
      logger,
      watchPath: source,
      store,
      shutdownGraceMs: config.shutdownGraceMs,
      worker,
    });
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
    if (isEngineError(err)) for (const i of err.issues) io.stderr(`appwarden: ${formatIssue(i)}\n`);
    else io.stderr(`appwarden: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
    return EXIT.error;
  }
  const onHup = () => void running.watcher?.reload('SIGHUP');
  process.on('SIGHUP', onHup);
  // The first load goes through the watcher so it is serialized with file events; a bad policy at start
  // leaves the server up and answering 503 until a valid change arrives. A shutdown waits for it (close()).
  const startup = running.watcher?.reload('startup').then(() => {
    if (!engine.isReady && !signalled) {
      logger.warn({ source }, 'no valid policy is live; decisions answer 503 until one is');
    }
  });

  const signal = await stop;
  logger.info({ signal }, 'shutting down');
  process.off('SIGHUP', onHup);
  let exitCode: number;
  try {
    // close() waits for open requests, whose decisions the log commits first; then the store can go.
    await running.close();
    await startup;
    await store.close();
    engine.close();
    exitCode = EXIT.ok;
    logger.info({ signal, exit_code: exitCode }, 'shutdown: store closed; exiting');
  } catch (err) {
    exitCode = EXIT.error;
    logger.error({ err }, 'shutdown failed');
  }
  // Whatever a library left open (a timer, a socket) must not keep a stopped server alive.
  setTimeout(() => process.exit(exitCode), 2_000).unref();
  return exitCode;
}
