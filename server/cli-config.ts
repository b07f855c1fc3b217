// `appwarden config check` and `appwarden config print --effective`: validate the server config (file + env) and
// show the merged result with where each value came from, secrets masked.
import { type Command, Option } from 'commander';
import { Document, isMap, isScalar, type Node, type Pair } from 'yaml';
import { formatIssue, type Issue, isEngineError } from '../engine/index.ts';
import { effectiveDocument, envName, resolveConfig } from './config.ts';

/** Where the commands write, and how they report their exit code to the CLI's `main`. */
export interface ConfigCommandsContext {
  io: { stdout: (s: string) => void; stderr: (s: string) => void };
  /** Receives the exit code: 0 valid, 1 invalid, 2 the file cannot be read. */
  exit: (code: number) => void;
  /** The environment to read `APPWARDEN_*` variables from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Registers `config check [--config f]` (exit 0 valid, 1 invalid with every problem as
 * `file:line:col: message`, 2 unreadable) and `config print [--effective] [--config f] [--format yaml|json]`
 * (the configuration after defaults, file and environment, each value with its source; secrets as
 * `********`). README "Configuration".
 */
export function registerConfigCommands(program: Command, ctx: ConfigCommandsContext): void {
  const { io } = ctx;
  const env = (): NodeJS.ProcessEnv => ctx.env ?? process.env;
  const config = program
    .command('config')
    .description('the server configuration: appwarden.config.yaml and APPWARDEN_* variables');

  /** Resolves, printing problems; undefined after a failure (the exit code is set). */
  const resolveOrReport = (file: string | undefined) => {
    try {
      return resolveConfig({ ...(file !== undefined ? { file } : {}), env: env() });
    } catch (err) {
      if (!isEngineError(err)) throw err;
      for (const i of err.issues) io.stderr(`${formatIssue(i)}\n`);
      if (err.code === 'io_error') {
        ctx.exit(2);
        return undefined;
      }
      const n = err.issues.length;
      io.stderr(`${n} problem${n === 1 ? '' : 's'}; the configuration is not valid\n`);
      ctx.exit(1);
      return undefined;
    }
  };
  const warn = (warnings: readonly Issue[]): void => {
    for (const w of warnings) io.stderr(`warning: ${formatIssue(w)}\n`);
  };

  config
    .command('check')
    .description('validate the config file and the APPWARDEN_* environment variables as `serve` would')
    .option('--config <file>', 'the config file (appwarden.config.yaml)')
    .addHelpText(
      'after',
      '\nExit codes: 0 valid (warnings, e.g. a secret in the file, on stderr), 1 invalid (every problem as\n' +
        'file:line:col: message, or naming the environment variable), 2 the file cannot be read.',
    )
    .action((opts: { config?: string }) => {
      const resolved = resolveOrReport(opts.config);
      if (!resolved) return;
      warn(resolved.warnings);
      io.stdout(`valid: ${opts.config ?? '(no config file)'} with the environment\n`);
      ctx.exit(0);
    });

  config
    .command('print')
    .description(
      'print the effective configuration (defaults < file < environment), each value with its source',
    )
    .option('--effective', 'the merged configuration (the only mode; accepted for clarity)', true)
    .option('--config <file>', 'the config file (appwarden.config.yaml)')
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .addHelpText(
      'after',
      '\nSecrets (smtp.password, the password of smtp.url) are shown as ********. CLI flags of `serve`\n' +
        '(--host, --port, --policy, --bundle, --store, --store-sync) win over what is printed here.\n' +
        'Exit codes as for `config check`.',
    )
    .action((opts: { config?: string; format: 'yaml' | 'json' }) => {
      const resolved = resolveOrReport(opts.config);
      if (!resolved) return;
      warn(resolved.warnings);
      const doc = effectiveDocument(resolved.config);
      if (opts.format === 'json') {
        io.stdout(`${JSON.stringify({ config: doc, sources: resolved.sources }, null, 2)}\n`);
      } else {
        io.stdout(yamlWithSources(doc, resolved.sources));
      }
      ctx.exit(0);
    });
}

/** The document as YAML, each key followed by a `# <source>` comment (lists: a comment above the key). */
function yamlWithSources(
  doc: Record<string, Record<string, unknown>>,
  sources: Readonly<Record<string, string>>,
): string {
  const d = new Document(doc);
  d.commentBefore =
    ' effective appwarden configuration: defaults < config file < environment (flags of serve win)\n' +
    ' each value: where it came from; env variable APPWARDEN_<SECTION>_<KEY>; secrets masked';
  if (!isMap(d.contents)) return d.toString();
  for (const sectionPair of d.contents.items as Pair<Node, Node>[]) {
    const section = isScalar(sectionPair.key) ? String(sectionPair.key.value) : '';
    if (!isMap(sectionPair.value)) continue;
    for (const pair of sectionPair.value.items as Pair<Node, Node>[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const full = `${section}.${key}`;
      const source = sources[full] ?? 'default';
      const text = source === 'default' ? ` default (${envName(full)})` : ` ${source}`;
      if (isScalar(pair.value)) pair.value.comment = text;
      else if (isScalar(pair.key)) pair.key.commentBefore = text;
    }
  }
  return d.toString({ lineWidth: 0 });
}
