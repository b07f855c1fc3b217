// `appwarden test <dir>`: runs a policy repository's test suites (tests/*.yaml, docs/policy-tests.md) and
// reports them as text, GitHub Actions annotations and JUnit XML; also the annotation writer `validate` uses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import junitModule, { type Builder } from 'junit-report-builder';
import {
  type EngineError,
  formatIssue,
  type Issue,
  isEngineError,
  oneLine,
  type PolicyTestCaseResult,
  type PolicyTestRun,
  type PolicyTestWant,
  runPolicyTests,
} from '../engine/index.ts';
import { located, under } from './cli-paths.ts';

/** Where the command writes, and how it reports its exit code to the CLI's `main`. */
export interface TestCommandContext {
  io: { stdout: (s: string) => void; stderr: (s: string) => void };
  /** Receives the exit code: 0 every case passed, 1 a case failed, 2 usage or load error. */
  exit: (code: number) => void;
}

// The package is CommonJS whose module.exports is the builder; its types describe it as an ES default export.
const junit = ((junitModule as unknown as { default?: Builder }).default ??
  junitModule) as unknown as Builder;

/** A GitHub Actions workflow command's message, escaped as the runner requires (`%`, CR, LF). */
export function escapeGithubData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A GitHub Actions workflow command's property value: the message escapes plus `:` and `,`. */
export function escapeGithubProperty(text: string): string {
  return escapeGithubData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Where an annotation points and its title; each property is left out when undefined. */
export interface AnnotationProperties {
  file?: string;
  /** 1-based. */
  line?: number;
  /** 1-based; only written with a line. */
  col?: number;
  title?: string;
}

/**
 * One GitHub Actions workflow command line, e.g.
 * `::error file=orgs/acme.yaml,line=12,col=9,title=spec.tokens.expiration::expiration must be one of …`.
 * @param command `error` | `warning` | `notice`
 * @returns the line, with its trailing newline
 */
export function githubAnnotation(
  command: 'error' | 'warning' | 'notice',
  props: AnnotationProperties,
  message: string,
): string {
  const parts: string[] = [];
  if (props.file !== undefined) parts.push(`file=${escapeGithubProperty(props.file)}`);
  if (props.file !== undefined && props.line !== undefined) {
    parts.push(`line=${props.line}`);
    if (props.col !== undefined) parts.push(`col=${props.col}`);
  }
  if (props.title !== undefined) parts.push(`title=${escapeGithubProperty(props.title)}`);
  return `::${command}${parts.length > 0 ? ` ${parts.join(',')}` : ''}::${escapeGithubData(message)}\n`;
}

/** An issue as a GitHub `::error` annotation; the title is its field path, or else `fallbackTitle`. */
export function issueAnnotation(issue: Issue, fallbackTitle: string): string {
  return githubAnnotation(
    'error',
    {
      ...(issue.file !== undefined ? { file: issue.file } : {}),
      ...(issue.line !== undefined ? { line: issue.line } : {}),
      ...(issue.column !== undefined ? { col: issue.column } : {}),
      title: issue.path ?? fallbackTitle,
    },
    `${issue.message}${issue.hint ? ` (${issue.hint})` : ''}`,
  );
}

/** `allow (allowed)` / `deny (app_blocked)`; reason left out when the case does not name one. */
function wantText(want: PolicyTestWant): string {
  return oneLine(`${want.decision ? 'allow' : 'deny'}${want.reason ? ` (${want.reason})` : ''}`);
}

function gotText(c: PolicyTestCaseResult): string {
  return oneLine(`${c.got.decision ? 'allow' : 'deny'} (${c.got.reason}: ${c.got.message})`);
}

/**
 * The lines explaining a failure: expected, got, and every other field that differs. Each is one line
 * ({@link oneLine}): names, reasons and messages come from the repository under review, and a line break in
 * one would let it print a line of its own — in a CI log, a workflow command.
 */
function failureLines(c: PolicyTestCaseResult): string[] {
  const others = c.mismatches.filter((m) => !m.startsWith('decision:') && !m.startsWith('reason:'));
  return [`expected: ${wantText(c.want)}`, `got:      ${gotText(c)}`, ...others.map(oneLine)];
}

/** Milliseconds as seconds, to the millisecond (JUnit `time`). */
function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** Plural `n word(s)`. */
function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The human report: per suite a line per case, failures explained, and a summary line. */
export function renderTestText(run: PolicyTestRun, dir: string): string {
  const out: string[] = [];
  for (const suite of run.suites) {
    out.push(oneLine(`${under(dir, suite.file)}${suite.description ? ` — ${suite.description}` : ''}`));
    for (const c of suite.cases) {
      if (c.passed) {
        out.push(`  ✓ ${oneLine(c.name)}`);
        continue;
      }
      out.push(`  ✗ ${oneLine(c.name)}`, `      at ${oneLine(under(dir, c.file))}:${c.line}`);
      for (const line of failureLines(c)) out.push(`      ${line}`);
    }
    out.push('');
  }
  out.push(
    `${count(run.total, 'case')} in ${count(run.suites.length, 'suite')}: ${run.passed} passed, ${run.failed} failed (revision ${oneLine(run.revision)}, ${(run.durationMs / 1000).toFixed(2)} s)`,
  );
  return `${out.join('\n')}\n`;
}

/**
 * The JUnit XML of a run (junit-report-builder): one `<testsuite>` per suite file (named by its path), one
 * `<testcase>` per case (name, classname = the file, file, time in seconds), and for a failure a
 * `<failure message="…" type="decision_mismatch">` whose text has `file:line`, expected and got.
 */
export function renderJunit(run: PolicyTestRun, dir: string): string {
  const builder = junit.newBuilder().name('appwarden policy tests');
  for (const suite of run.suites) {
    const file = under(dir, suite.file);
    const ts = builder.testSuite().name(file).time(seconds(suite.durationMs));
    for (const c of suite.cases) {
      const tc = ts.testCase().className(file).name(c.name).file(file).time(seconds(c.durationMs));
      if (!c.passed) {
        tc.failure(
          `expected ${wantText(c.want)}, got ${c.got.decision ? 'allow' : 'deny'} (${c.got.reason})`,
          'decision_mismatch',
        );
        tc.stacktrace([`at ${file}:${c.line}`, ...failureLines(c)].join('\n'));
      }
    }
  }
  return builder.build();
}

/** One `::error` per failed case, at its line. */
export function renderTestAnnotations(run: PolicyTestRun, dir: string): string {
  let out = '';
  for (const suite of run.suites) {
    for (const c of suite.cases) {
      if (c.passed) continue;
      out += githubAnnotation(
        'error',
        { file: under(dir, c.file), line: c.line, col: c.column, title: `policy test failed: ${c.name}` },
        failureLines(c).join('\n'),
      );
    }
  }
  return out;
}

interface TestOptions {
  format: 'text' | 'github';
  junit?: string;
  filter?: string;
}

/**
 * Registers `appwarden test <dir> [--format text|github] [--junit <file>] [--filter <text>]`.
 * Exit codes: 0 every case passed, 1 a case failed, 2 usage error, invalid repository or suite, no case.
 */
export function registerTestCommand(program: Command, ctx: TestCommandContext): void {
  const { io } = ctx;
  program
    .command('test')
    .description("run a policy repository's test suites (tests/*.yaml) through the decision engine")
    .argument('<dir>', 'policy repository directory')
    .addOption(
      new Option('--format <format>', 'text, or github: text plus an ::error annotation per failed case')
        .choices(['text', 'github'])
        .default('text'),
    )
    .option('--junit <file>', 'also write the results as JUnit XML to this file')
    .option('--filter <text>', 'run only the cases whose name contains this text (case-insensitive)')
    .addHelpText(
      'after',
      '\nSuites: docs/policy-tests.md. Example:\n  appwarden test examples/policy-repo --junit reports/policy-tests.xml\n' +
        'Exit codes: 0 every case passed, 1 a case failed, 2 usage error, invalid repository or suite, or no case to run.',
    )
    .action(async (dir: string, opts: TestOptions) => {
      ctx.exit(await runTests(dir, opts, io));
    });
}

async function runTests(dir: string, opts: TestOptions, io: TestCommandContext['io']): Promise<number> {
  let run: PolicyTestRun;
  try {
    run = await runPolicyTests(dir, opts.filter === undefined ? {} : { filter: opts.filter });
  } catch (err) {
    if (!isEngineError(err)) throw err;
    reportLoadError(err, dir, opts, io);
    return 2;
  }
  if (run.total === 0) {
    io.stderr(
      opts.filter === undefined
        ? `no policy test cases in ${join(dir, 'tests')}/ (add tests/*.yaml: docs/policy-tests.md)\n`
        : `no policy test case name contains ${oneLine(JSON.stringify(opts.filter))}\n`,
    );
    return 2;
  }
  io.stdout(renderTestText(run, dir));
  if (opts.format === 'github') {
    io.stdout(renderTestAnnotations(run, dir));
    io.stdout(
      githubAnnotation(
        'notice',
        { title: 'appwarden test' },
        `${run.passed} of ${count(run.total, 'policy test case')} passed, ${run.failed} failed`,
      ),
    );
  }
  if (opts.junit !== undefined) {
    try {
      mkdirSync(dirname(opts.junit), { recursive: true });
      writeFileSync(opts.junit, renderJunit(run, dir));
    } catch (err) {
      io.stderr(
        `cannot write --junit ${opts.junit}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`,
      );
      return 2;
    }
  }
  return run.failed > 0 ? 1 : 0;
}

function reportLoadError(
  err: EngineError,
  dir: string,
  opts: TestOptions,
  io: TestCommandContext['io'],
): void {
  const issues = err.issues.map((i) => located(i, dir));
  for (const i of issues) io.stderr(`${oneLine(formatIssue(i))}\n`);
  io.stderr(
    `cannot run the policy tests of ${oneLine(dir)}: ${count(issues.length, 'problem')} (${err.code})\n`,
  );
  if (opts.format === 'github') for (const i of issues) io.stdout(issueAnnotation(i, err.code));
}
