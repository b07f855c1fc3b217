// examples/ci/policy-ci.yml stays true to the CLI: it parses as YAML, has the pull-request and push jobs the
// docs describe, and every `appwarden <command>` it runs exists with every flag (and --format value) it passes,
// as `appwarden <command> --help` lists them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { main } from '../server/cli.ts';

const root = join(import.meta.dirname, '..');
const workflowText = readFileSync(join(root, 'examples', 'ci', 'policy-ci.yml'), 'utf8');

interface Step {
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: { pull_request?: unknown; push?: unknown };
  jobs: Record<string, { if?: string; steps: Step[]; permissions?: Record<string, string> }>;
}

async function help(args: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await main([...args, '--help'], {
    stdout: (s) => {
      text += s;
    },
    stderr: (s) => {
      text += s;
    },
    readStdin: async () => '',
  });
  return { code, text };
}

/** Every `appwarden …` invocation of a run script: the command words and the flags with their values. */
function invocations(script: string): { command: string[]; flags: Map<string, string | undefined> }[] {
  const out: { command: string[]; flags: Map<string, string | undefined> }[] = [];
  const joined = script.replace(/\\\n\s*/g, ' ');
  for (const line of joined.split('\n')) {
    for (const m of line.matchAll(/(?:^|[\s;(|&$])appwarden\s+([^|;>&)]*)/g)) {
      const words = (m[1] ?? '').trim().split(/\s+/);
      const command: string[] = [];
      while (words.length > 0 && /^[a-z][a-z-]*$/.test(words[0] ?? '') && command.length < 2) {
        command.push(words.shift() as string);
      }
      const flags = new Map<string, string | undefined>();
      for (let i = 0; i < words.length; i++) {
        const w = words[i] as string;
        if (!w.startsWith('--')) continue;
        const next = words[i + 1];
        flags.set(w.split('=')[0] as string, next !== undefined && !next.startsWith('--') ? next : undefined);
      }
      out.push({ command, flags });
    }
  }
  return out;
}

const workflow = parse(workflowText) as Workflow;
const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
const calls = steps.flatMap((s) => (s.run ? invocations(s.run) : []));

test('the workflow parses and runs on pull requests and on pushes to main', () => {
  assert.ok(workflow.on.pull_request !== undefined && workflow.on.push !== undefined);
  assert.match(workflow.jobs.check?.if ?? '', /pull_request/);
  assert.match(workflow.jobs.publish?.if ?? '', /push/);
  assert.is(workflow.jobs.check?.permissions?.['pull-requests'], 'write');
  assert.ok(steps.some((s) => s.uses?.startsWith('actions/upload-artifact@')));
  assert.ok(steps.some((s) => s.run?.includes('gh pr comment')));
});

test('it runs validate, test --junit, diff with --impact and --author, and build', () => {
  const names = calls.map((c) => c.command[0]);
  for (const cmd of ['validate', 'test', 'diff', 'build']) assert.ok(names.includes(cmd), cmd);
  assert.ok(calls.some((c) => c.command[0] === 'validate' && c.flags.get('--format') === 'github'));
  assert.ok(calls.some((c) => c.command[0] === 'test' && c.flags.has('--junit')));
  assert.ok(
    calls.some(
      (c) => c.command[0] === 'diff' && c.flags.has('--impact') && c.flags.get('--format') === 'markdown',
    ),
  );
  assert.ok(calls.some((c) => c.command[0] === 'diff' && c.flags.has('--author')));
});

test('every command and flag it uses exists (appwarden <command> --help)', async () => {
  assert.ok(calls.length >= 6);
  for (const call of calls) {
    // `appwarden test "$POLICY_PATH"`: the command is the first word; a second word that is a subcommand
    // (history import) is kept only when the first is a group.
    const { code, text } = await help(call.command.slice(0, 1));
    assert.is(code, 0, `appwarden ${call.command[0]} --help: ${text}`);
    for (const [flag, value] of call.flags) {
      assert.ok(
        text.includes(`${flag} `) || text.includes(`${flag},`) || text.includes(`${flag}\n`),
        `${call.command[0]} ${flag}`,
      );
      if (flag === '--format' && value !== undefined)
        assert.ok(text.includes(`"${value}"`), `${call.command[0]} --format ${value} is not a listed choice`);
    }
  }
});

// Review finding 5 (and 1): what a hostile pull request could exploit in the workflow itself.
test('every diff runs with --refs; actions are pinned to commit SHAs; the export covers removed orgs; every commit author is judged', () => {
  const diffs = calls.filter((c) => c.command[0] === 'diff');
  assert.ok(diffs.length >= 3);
  for (const d of diffs) assert.ok(d.flags.has('--refs'), 'appwarden diff without --refs');
  for (const s of steps) {
    if (!s.uses) continue;
    assert.match(s.uses, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${s.uses} is not pinned to a commit SHA`);
    assert.match(workflowText, new RegExp(`${s.uses.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} # v\\d`));
  }
  const exportStep = steps.find((s) => s.name?.startsWith('Export the decision log'));
  assert.match(exportStep?.run ?? '', /select\(\.status == "removed"\)/);
  const author = steps.find((s) => s.name?.startsWith('Author may make'));
  assert.match(author?.run ?? '', /pulls\/\$PR\/commits/);
  assert.match(author?.run ?? '', /\.author\.login/);
  assert.match(author?.run ?? '', /\.committer\.login/);
  // What the lead added stays: label triggers, a failing export, the CAUTION note, !cancelled().
  assert.match(workflowText, /types: \[opened, synchronize, reopened, labeled, unlabeled\]/);
  assert.match(exportStep?.run ?? '', /exit 1/);
  assert.match(workflowText, /\[!CAUTION\]/);
  assert.match(author?.if ?? '', /^\$\{\{ !cancelled\(\) \}\}$/);
});

test.run();
