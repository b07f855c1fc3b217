// The policy-edit commands of the CLI (SPEC §6): `apps block|unblock|approve` and `tokens set-expiration|pats`
// edit one org's YAML in place, keeping comments and layout, and print the diff an admin commits for review.
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Argument, type Command } from 'commander';
import {
  type EditResult,
  EXPIRATION_SETTINGS,
  type ExpirationSetting,
  editPolicy,
  formatIssue,
  isEngineError,
  type PolicyEdit,
} from '../engine/index.ts';
import { located } from './cli-paths.ts';

/** Where the commands write, and how they report their exit code to the CLI's `main`. */
export interface EditCommandsContext {
  io: { stdout: (s: string) => void; stderr: (s: string) => void };
  /** Receives the exit code: 0 changed or no change, 1 refused (invalid policy), 2 usage or runtime error. */
  exit: (code: number) => void;
}

interface CommonOptions {
  org: string;
  policy: string;
  dryRun?: boolean;
}

const EXIT_OK = 0;
const EXIT_INVALID = 1;
const EXIT_ERROR = 2;

const FOOTER =
  '\nThe file is edited in place (unless --dry-run); the unified diff goes to stdout and a one-line summary to' +
  '\nstderr, so `--dry-run > change.patch` gives a patch for `git apply`. Only the lines the change needs are' +
  '\ntouched: comments, key order, quoting and indentation stay as written. The whole repository is validated' +
  '\nwith the change, and an edit that would make it invalid is refused with the problems (nothing is written).' +
  '\nExit codes: 0 changed or nothing to change, 1 refused (the policy would be, or already is, invalid),' +
  '\n2 usage error (unknown org, missing directory) or the file could not be written.';

/**
 * Registers `apps block|unblock|approve <app-id>` and `tokens set-expiration <value>`, `tokens pats
 * enable|disable` on `program`. Reuses an existing `apps` or `tokens` command group, so operator commands
 * (`apps list`, `tokens revoke`) can live under the same names.
 */
export function registerEditCommands(program: Command, ctx: EditCommandsContext): void {
  const group = (name: string, description: string): Command =>
    program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
  const apps = group('apps', 'third-party apps of an org');
  const tokens = group('tokens', 'personal access tokens and token expiration of an org');
  const common = (cmd: Command): Command =>
    cmd
      .requiredOption('--org <org>', 'the org id (metadata.org), e.g. acme.example')
      .requiredOption('--policy <dir>', 'policy repository directory (the checkout of the policy repo)')
      .option('--dry-run', 'print the diff without writing the file')
      .addHelpText('after', FOOTER);

  common(
    apps
      .command('block')
      .description('block an app in an org (removes it from approved: an app may not be both)')
      .argument('<app-id>', 'the app id; numeric ids are written quoted')
      .option('--name <name>', 'display name of the app')
      .option('--reason <reason>', 'why it is blocked; shown to users in the deny message'),
  ).action(async (appId: string, opts: CommonOptions & { name?: string; reason?: string }) => {
    await run(ctx, opts, {
      kind: 'block',
      app_id: appId,
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    });
  });

  common(
    apps
      .command('unblock')
      .description('unblock an app; in require_approval mode this approves it (SPEC §4)')
      .argument('<app-id>', 'the app id'),
  ).action(async (appId: string, opts: CommonOptions) => {
    await run(ctx, opts, { kind: 'unblock', app_id: appId });
  });

  common(
    apps
      .command('approve')
      .description('approve an app in an org (removes it from blocked)')
      .argument('<app-id>', 'the app id; numeric ids are written quoted')
      .option('--name <name>', 'display name of the app')
      .option('--note <note>', 'a note for other admins, e.g. who approved it and why'),
  ).action(async (appId: string, opts: CommonOptions & { name?: string; note?: string }) => {
    await run(ctx, opts, {
      kind: 'approve',
      app_id: appId,
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.note !== undefined ? { note: opts.note } : {}),
    });
  });

  common(
    tokens
      .command('set-expiration')
      .description('set how long personal access and service-account tokens live (SPEC §5)')
      .addArgument(
        new Argument('<expiration>', 'default (10 years), 30d, 60d or 90d').choices([...EXPIRATION_SETTINGS]),
      ),
  ).action(async (expiration: ExpirationSetting, opts: CommonOptions) => {
    await run(ctx, opts, { kind: 'set_expiration', expiration });
  });

  common(
    tokens
      .command('pats')
      .description('turn personal access tokens on or off (off revokes every existing PAT for good, SPEC §5)')
      .addArgument(new Argument('<state>', 'enable or disable').choices(['enable', 'disable'])),
  ).action(async (state: 'enable' | 'disable', opts: CommonOptions) => {
    await run(ctx, opts, {
      kind: 'set_personal_access_tokens',
      personal_access_tokens: state === 'enable' ? 'enabled' : 'disabled',
    });
  });
}

async function run(ctx: EditCommandsContext, opts: CommonOptions, edit: PolicyEdit): Promise<void> {
  const { io } = ctx;
  try {
    if (!statSync(opts.policy).isDirectory()) throw new Error('not a directory');
  } catch {
    io.stderr(`--policy ${opts.policy} is not a directory\n`);
    ctx.exit(EXIT_ERROR);
    return;
  }
  let result: EditResult;
  try {
    result = await editPolicy(opts.policy, opts.org, edit);
  } catch (err) {
    if (!isEngineError(err)) throw err;
    for (const issue of err.issues) io.stderr(`${formatIssue(located(issue, opts.policy))}\n`);
    if (err.code === 'invalid_policy') {
      io.stderr(`nothing was written to ${opts.policy}\n`);
      ctx.exit(EXIT_INVALID);
    } else ctx.exit(EXIT_ERROR);
    return;
  }
  if (!result.changed) {
    io.stderr(`${result.message}\n`);
    ctx.exit(EXIT_OK);
    return;
  }
  if (!opts.dryRun) {
    try {
      writeInPlace(join(opts.policy, result.file), result.before, result.after);
    } catch (err) {
      io.stderr(`cannot write ${join(opts.policy, result.file)}: ${(err as Error).message}\n`);
      ctx.exit(EXIT_ERROR);
      return;
    }
  }
  io.stdout(result.diff);
  io.stderr(
    `${result.message}${opts.dryRun ? ` (dry run: ${join(opts.policy, result.file)} was not written)` : ''}\n`,
  );
  ctx.exit(EXIT_OK);
}

/**
 * Replaces the file's text atomically (a temporary file renamed over it, as editors do), so a server
 * watching the directory never loads half a file. Refuses when the file changed since it was read.
 */
function writeInPlace(path: string, before: string, after: string): void {
  // Through a symlink (a ConfigMap-style layout) the target is replaced, not the link.
  const real = realpathSync(path);
  const current = readFileSync(real, 'utf8');
  if (current !== before) throw new Error('the file changed while the edit was prepared; run it again');
  const temp = join(dirname(real), `.${basename(real)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, after, { mode: statSync(real).mode & 0o7777, flag: 'wx' });
    renameSync(temp, real);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // Nothing was created.
    }
    throw err;
  }
}
