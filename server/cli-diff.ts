// `appwarden diff <base> <head>`: the semantic diff of two policy repositories (directories or git refs), with
// `--impact` replay on the decision log, `--author` role check (SPEC §1) and text / Markdown / JSON output.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AuthorProblem,
  checkAuthor,
  DAY,
  type DecisionRecord,
  type DiffSide,
  diffPolicies,
  formatIssue,
  type GitTree,
  type ImpactRegistry,
  type ImpactReport,
  isEngineError,
  loadAndValidate,
  nowSeconds,
  oneLine,
  openStore,
  type PolicyDiff,
  parseRfc3339,
  readDecisionsFile,
  readGitTree,
  registryFromStore,
  renderDiffMarkdown,
  renderDiffText,
  renderImpactMarkdown,
  renderImpactText,
  replayImpact,
  type Store,
  storeDecisions,
} from '../engine/index.ts';
import { located } from './cli-paths.ts';

/** Where the command writes, and how it reports its exit code to the CLI's `main`. */
export interface DiffCommandContext {
  io: { stdout: (s: string) => void; stderr: (s: string) => void };
  /** 0 done, 1 invalid side / changes with --exit-code / too many deny flips / author may not, 2 usage or error. */
  exit: (code: number) => void;
}

interface DiffOptions {
  repo: string;
  path: string;
  format: 'text' | 'markdown' | 'json';
  exitCode?: boolean;
  impact?: boolean;
  store?: string;
  decisions?: string;
  since: string;
  now?: string;
  failOnDenyFlips?: number;
  author?: string;
  allowNewOrgs?: boolean;
  refs?: boolean;
}

function nonNegative(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number (0 or more)');
  return Number(value);
}

/** `30d`, `12h` or an RFC 3339 time → epoch seconds (relative to `now`), or null. */
export function parseSince(value: string, now: number): number | null {
  const m = /^(\d+)([dh])$/.exec(value);
  if (m) return now - Number(m[1]) * (m[2] === 'd' ? DAY : 3600);
  return parseRfc3339(value);
}

const HELP = `
<base> and <head> are each a policy repository directory or, when not a directory, a git ref (branch, tag,
commit) of the repository --repo, read from git's objects into a temporary directory (the work tree is never
touched, .gitattributes never applies); --path names the policy repository inside it. A name that is both a
directory and a commit (a directory called HEAD) is refused as ambiguous: write ./HEAD for the directory, or
pass --refs, which reads both sides as git refs and never as directories (what CI should run).

Impact (--impact): re-evaluates the decision log of the period under base and head with the server's Wasm,
each decision at its own time, and reports the decisions whose outcome differs (allow → deny, deny → allow)
by org, new reason, app, user and token owner; for token settings also the registry's tokens revoked (PATs
off) or expiring earlier. Source: --store <db> (the server's SQLite file, read only) or --decisions <file>
(JSON lines: decision records with "input", e.g. pages of GET /admin/v1/orgs/{org}/decisions).

Author (--author <email>): every change must be one the author's role in the BASE revision allows (SPEC §1):
super admins of the org anything of it, admins only spec.guests, nobody else anything; a new org needs
--allow-new-orgs (no one in the base can authorize it).

Examples:
  appwarden diff origin/main HEAD --refs --path policy --format markdown
  appwarden diff ../policy-main . --impact --store var/appwarden.db --since 30d --fail-on-deny-flips 100
  appwarden diff origin/main HEAD --refs --author dana.whitfield@acme.example

Exit codes: 0 done (with or without changes), 1 a side is invalid, changes with --exit-code, more allow → deny
flips than --fail-on-deny-flips, or the author may not make a change; 2 usage or runtime error.`;

/** Registers `diff` on `program` (server/cli.ts). */
export function registerDiffCommand(program: Command, ctx: DiffCommandContext): void {
  program
    .command('diff')
    .description(
      'what a policy change does: per org in words, its impact on logged decisions, who may make it',
    )
    .argument('<base>', 'the base: a policy directory or a git ref (e.g. origin/main)')
    .argument('<head>', 'the head: a policy directory or a git ref (e.g. HEAD)')
    .option('--repo <dir>', 'the git repository refs are read from', '.')
    .option('--path <dir>', 'the policy repository inside the git repository (refs only)', '.')
    .option(
      '--refs',
      'both sides are git refs of --repo, never directories (for CI: a pull request cannot shadow a ref)',
    )
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'),
    )
    .option('--exit-code', 'exit 1 when there are changes (like git diff --exit-code)')
    .option('--impact', 'replay the decision log under base and head and report what flips')
    .option('--store <db>', 'the server SQLite store to replay (read only)')
    .option('--decisions <file>', 'a decisions export to replay instead: JSON lines with input')
    .option('--since <when>', 'replay decisions since: 30d, 12h or an RFC 3339 time', '30d')
    .option('--now <time>', 'RFC 3339: the time head would go live (default: now), for reproducible reports')
    .option('--fail-on-deny-flips <n>', 'exit 1 when more than n decisions flip allow → deny', nonNegative)
    .option('--author <email>', "fail when the author's role in the base may not make a change (SPEC §1)")
    .option('--allow-new-orgs', 'with --author: allow adding org files (a repository owner approved them)')
    .addHelpText('after', HELP)
    .action(async (base: string, head: string, opts: DiffOptions) => {
      ctx.exit(await runDiff(base, head, opts, ctx.io));
    });
}

/** The commit `ref` names in the git repository `repo`, or null (not a commit, not a repository, no git). */
function resolveCommit(repo: string, ref: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-C', repo, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
      (err, stdout) => resolve(err ? null : stdout.trim() || null),
    );
  });
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

async function runDiff(
  baseArg: string,
  headArg: string,
  opts: DiffOptions,
  io: DiffCommandContext['io'],
): Promise<number> {
  if (opts.author !== undefined && opts.author.trim() === '') {
    // An empty email (an unset variable in a CI script) would check nobody: refuse rather than pass.
    io.stderr('--author needs an email; it is empty (is the variable that holds it set?)\n');
    return 2;
  }
  let now = nowSeconds();
  if (opts.now !== undefined) {
    const t = parseRfc3339(opts.now);
    if (t === null) {
      io.stderr(`--now ${JSON.stringify(opts.now)} is not an RFC 3339 time with an offset\n`);
      return 2;
    }
    now = t;
  }
  if (opts.impact && !opts.store === !opts.decisions) {
    io.stderr('--impact needs exactly one of --store <db> and --decisions <file>\n');
    return 2;
  }
  if (!opts.impact && (opts.store || opts.decisions || opts.failOnDenyFlips !== undefined)) {
    io.stderr('--store, --decisions and --fail-on-deny-flips go with --impact\n');
    return 2;
  }
  const since = parseSince(opts.since, now);
  if (since === null) {
    io.stderr(`--since ${JSON.stringify(opts.since)} is not 30d, 12h or an RFC 3339 time with an offset\n`);
    return 2;
  }
  const trees: GitTree[] = [];
  try {
    const sides: { dir: string; label: string }[] = [];
    const dirSide: boolean[] = [];
    for (const arg of [baseArg, headArg]) {
      const asDir = !opts.refs && isDir(arg);
      // A directory named like a ref (a pull request can commit a directory `HEAD` or `origin/main`) must not
      // silently replace the ref: a name that is both is an error unless written as a path (./HEAD, /abs).
      if (asDir && !/^(\.{1,2}\/|\/)/.test(arg) && (await resolveCommit(opts.repo, arg)) !== null) {
        io.stderr(
          `ambiguous: ${oneLine(arg)} is both a directory and a commit of the git repository ${oneLine(opts.repo)}; write ./${oneLine(arg)} for the directory or pass --refs for git refs\n`,
        );
        return 2;
      }
      dirSide.push(asDir);
      if (asDir) sides.push({ dir: arg, label: arg });
      else {
        const tree = await readGitTree(opts.repo, arg, opts.path);
        trees.push(tree);
        sides.push({ dir: tree.dir, label: `${arg} (${tree.commit.slice(0, 12)})` });
      }
    }
    const loaded: (DiffSide & { dir: string })[] = [];
    for (const [i, side] of sides.entries()) {
      const which = i === 0 ? 'base' : 'head';
      try {
        const v = await loadAndValidate(side.dir);
        loaded.push({
          label: side.label,
          revision: v.revision,
          data: v.data,
          histories: v.histories,
          dir: side.dir,
        });
      } catch (err) {
        if (!isEngineError(err)) throw err;
        // Issues are reported like `validate`: relative to where the command runs for a directory, and for a ref
        // relative to the git repository's root (the paths of the work tree, which annotations need).
        const shown = dirSide[i] ? side.dir : opts.path;
        for (const issue of err.issues) io.stderr(`${oneLine(formatIssue(located(issue, shown)))}\n`);
        if (['invalid_policy', 'invalid_history'].includes(err.code)) {
          io.stderr(
            `${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}; the ${which} ${oneLine(side.label)} is not valid\n`,
          );
          return 1;
        }
        io.stderr(`cannot read the ${which} ${oneLine(side.label)} (${err.code})\n`);
        return 2;
      }
    }
    const [b, h] = loaded as [DiffSide & { dir: string }, DiffSide & { dir: string }];
    const diff = diffPolicies(b, h);
    let impact: ImpactReport | undefined;
    if (opts.impact) {
      const result = await impactOf(b, h, opts, now, since, io);
      if (typeof result === 'number') return result;
      impact = result;
    }
    const problems = opts.author
      ? checkAuthor(diff, b.data, opts.author, { allowNewOrgs: opts.allowNewOrgs ?? false })
      : [];
    output(diff, impact, opts, problems, io);
    let code = 0;
    if (opts.exitCode && diff.changed) code = 1;
    if (impact && opts.failOnDenyFlips !== undefined && impact.allow_to_deny > opts.failOnDenyFlips) {
      io.stderr(
        `${impact.allow_to_deny} decision${impact.allow_to_deny === 1 ? '' : 's'} flip${impact.allow_to_deny === 1 ? 's' : ''} allow → deny, more than --fail-on-deny-flips ${opts.failOnDenyFlips}: a change with this blast radius needs a second approval\n`,
      );
      code = 1;
    }
    if (problems.length > 0) {
      for (const p of problems) io.stderr(`${oneLine(p.message)}\n`);
      io.stderr(
        `${problems.length} change${problems.length === 1 ? '' : 's'} that ${oneLine((opts.author ?? '').trim().toLowerCase())} may not make\n`,
      );
      code = 1;
    }
    return code;
  } catch (err) {
    if (!isEngineError(err)) throw err;
    for (const issue of err.issues) io.stderr(`${oneLine(formatIssue(issue))}\n`);
    return 2;
  } finally {
    for (const t of trees) await t.cleanup();
  }
}

async function impactOf(
  b: DiffSide & { dir: string },
  h: DiffSide & { dir: string },
  opts: DiffOptions,
  now: number,
  since: number,
  io: DiffCommandContext['io'],
): Promise<ImpactReport | number> {
  const orgs = [...new Set([...Object.keys(b.data.orgs), ...Object.keys(h.data.orgs)])].sort();
  const sides = {
    base: { dir: b.dir, data: b.data, histories: b.histories },
    head: { dir: h.dir, data: h.data, histories: h.histories },
  };
  if (opts.decisions) {
    if (!statSync(opts.decisions, { throwIfNoEntry: false })?.isFile()) {
      io.stderr(`--decisions ${opts.decisions} is not a file\n`);
      return 2;
    }
    try {
      return await replayImpact({
        ...sides,
        decisions: readDecisionsFile(opts.decisions, since * 1000, now * 1000 + 999),
        now,
        since,
      });
    } catch (err) {
      if (isEngineError(err, 'invalid_input') || isEngineError(err, 'io_error')) {
        // A malformed export is an input error (exit 2), not a finding about the change (exit 1).
        for (const issue of err.issues) io.stderr(`${oneLine(formatIssue(issue))}\n`);
        return 2;
      }
      throw err;
    }
  }
  const path = opts.store as string;
  if (path !== ':memory:' && !statSync(path, { throwIfNoEntry: false })?.isFile()) {
    io.stderr(`--store ${path} is not a file\n`);
    return 2;
  }
  let store: Store | undefined;
  try {
    store = openStore(path, { readonly: true });
    const registry: ImpactRegistry = await registryFromStore(store, orgs);
    const decisions: AsyncIterable<DecisionRecord> = storeDecisions(store, orgs, since * 1000);
    return await replayImpact({ ...sides, decisions, registry, now, since });
  } finally {
    await store?.close();
  }
}

function output(
  diff: PolicyDiff,
  impact: ImpactReport | undefined,
  opts: DiffOptions,
  problems: AuthorProblem[],
  io: DiffCommandContext['io'],
): void {
  const author = opts.author
    ? {
        email: opts.author.trim().toLowerCase(),
        ok: problems.length === 0,
        problems: problems.map((p) => ({
          org: p.org,
          kind: p.change.kind,
          field: p.change.field,
          role: p.role,
          message: p.message,
        })),
      }
    : undefined;
  if (opts.format === 'json') {
    io.stdout(
      `${JSON.stringify({ diff, ...(impact ? { impact } : {}), ...(author ? { author } : {}) }, null, 2)}\n`,
    );
    return;
  }
  if (opts.format === 'markdown') {
    // The author check is escaped like the diff: no line breaks, no @-mentions, no markup from a name or reason.
    io.stdout(
      renderDiffMarkdown(diff, {
        ...(impact ? { after: renderImpactMarkdown(impact) } : {}),
        ...(author ? { author } : {}),
      }),
    );
    return;
  }
  io.stdout(renderDiffText(diff) + (impact ? renderImpactText(impact) : ''));
  if (author?.ok)
    io.stdout(`\nauthor ${oneLine(author.email)} may make every change (roles of the base revision)\n`);
}
