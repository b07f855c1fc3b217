// Compiles the decision cases (policies/testdata/cases/*.yaml, DESIGN §4) into
// policies/testdata/cases.gen.json through the same loader, normalizer and input builder as the
// server, so `opa test` (Rego) and the TypeScript suites (Wasm and `opa eval`) run the same inputs.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { EngineError, formatIssue, type Issue } from '../engine/errors.ts';
import {
  epochsForEvaluation,
  epochsFromHistory,
  type OrgHistory,
  tokenSettingsOf,
} from '../engine/history.ts';
import { buildInput, validateRequest } from '../engine/input.ts';
import { loadPolicyRepository } from '../engine/loader.ts';
import { parseRfc3339 } from '../engine/time.ts';
import type { DataDocument, RegoInput } from '../engine/types.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testdata = join(root, 'policies', 'testdata');
/** Where the compiled cases go; loaded by `opa test` at the data root. */
export const CASES_GEN = join(testdata, 'cases.gen.json');
/** Evaluation time of a case that gives no `at`. */
const DEFAULT_AT = '2026-06-01T00:00:00Z';

/** The expected outcome of one case, in the Rego output's terms (epoch seconds). */
export interface CompiledWant {
  decision: boolean;
  code: string;
  blocked_by?: string;
  expires_at?: number;
  warning?: string;
  approval_request?: boolean;
}

/** One compiled case. */
export interface CompiledCase {
  name: string;
  file: string;
  line: number;
  dataset: string;
  input: RegoInput;
  want: CompiledWant;
}

/** The whole compiled file. */
export interface CompiledCases {
  datasets: Record<string, DataDocument>;
  cases: CompiledCase[];
}

interface RawCase {
  name?: string;
  at?: string;
  history?: { org: string; revisions: { at: string; spec: Record<string, unknown> }[] }[];
  facts?: { token_revoked?: boolean };
  input?: unknown;
  want?: {
    decision?: boolean;
    reason?: string;
    blocked_by?: string;
    advice?: { expires_at?: string; warning?: string };
    approval_request?: boolean;
  };
}

function time(text: unknown, where: string): number {
  const t = typeof text === 'string' ? parseRfc3339(text) : null;
  if (t === null)
    throw new Error(`${where}: ${JSON.stringify(text)} is not an RFC 3339 timestamp with time and offset`);
  return t;
}

/**
 * Compiles every case file.
 * @throws Error naming `file:line` and the case on any malformed case (a bad fixture must not pass silently).
 */
export async function compileCases(): Promise<CompiledCases> {
  const casesDir = join(testdata, 'cases');
  const files = (await readdir(casesDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const datasets: Record<string, DataDocument> = {};
  const cases: CompiledCase[] = [];
  const names = new Set<string>();
  const repoHistories: Record<string, OrgHistory[]> = {};
  for (const f of files) {
    const path = join(casesDir, f);
    const rel = relative(root, path);
    const lineCounter = new LineCounter();
    const doc = parseDocument(await readFile(path, 'utf8'), {
      lineCounter,
      uniqueKeys: true,
      version: '1.2',
    });
    if (doc.errors.length > 0) throw new Error(`${rel}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const top = doc.toJS() as { repo?: string; cases?: RawCase[] };
    // A bare name is a fixture under policies/testdata/repos/; a path (with a slash) is relative to
    // the project root, e.g. examples/policy-repo. A repository's own history/ files apply to its
    // cases unless a case gives a history for that org.
    const repo = top.repo ?? 'default';
    if (!datasets[repo]) {
      try {
        const loaded = await loadPolicyRepository(
          repo.includes('/') ? join(root, repo) : join(testdata, 'repos', repo),
        );
        datasets[repo] = loaded.data;
        repoHistories[repo] = loaded.histories;
      } catch (err) {
        if (err instanceof EngineError)
          throw new Error(`fixture repository ${repo}:\n${err.issues.map(formatIssue).join('\n')}`);
        throw err;
      }
    }
    const data = datasets[repo] as DataDocument;
    const seqNode = doc.get('cases', true) as YamlNode | undefined;
    const items = isSeq(seqNode) ? seqNode.items : [];
    (top.cases ?? []).forEach((c, i) => {
      const node = items[i] as YamlNode | undefined;
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : 0;
      const where = `${rel}:${line}${c.name ? ` (${c.name})` : ''}`;
      if (!c.name || !c.input || !c.want || typeof c.want.decision !== 'boolean' || !c.want.reason) {
        throw new Error(`${where}: a case needs name, input and want: {decision, reason}`);
      }
      if (names.has(c.name)) throw new Error(`${where}: case name "${c.name}" is used twice`);
      names.add(c.name);
      if (node && isMap(node) && node.has('data'))
        throw new Error(`${where}: give a fixture repository (repo:), not inline data`);
      let req: ReturnType<typeof validateRequest>;
      try {
        req = validateRequest(c.input);
      } catch (err) {
        if (err instanceof EngineError)
          throw new Error(`${where}: input is invalid: ${err.issues.map(formatIssue).join('; ')}`);
        throw err;
      }
      const at = time(c.at ?? DEFAULT_AT, `${where} at`);
      const org = req.context.org.toLowerCase();
      const raw = (c.history ?? []).find((h) => h.org === org);
      const history: OrgHistory | undefined = raw
        ? {
            org,
            revisions: raw.revisions.map((r, j) => ({
              at: time(r.at, `${where} history[${j}].at`),
              spec: r.spec,
            })),
          }
        : repoHistories[repo]?.find((h) => h.org === org);
      const orgData = Object.hasOwn(data.orgs, org) ? data.orgs[org] : undefined;
      const epochs = orgData
        ? epochsForEvaluation(history, tokenSettingsOf(orgData), at)
        : epochsFromHistory(history);
      const input = buildInput(req, {
        now: at,
        history: epochs,
        token_revoked: c.facts?.token_revoked === true,
      });
      const want: CompiledWant = { decision: c.want.decision, code: c.want.reason };
      if (c.want.blocked_by !== undefined) want.blocked_by = c.want.blocked_by;
      if (c.want.advice?.expires_at !== undefined)
        want.expires_at = time(c.want.advice.expires_at, `${where} want.advice.expires_at`);
      if (c.want.advice?.warning !== undefined) want.warning = c.want.advice.warning;
      if (c.want.approval_request !== undefined) want.approval_request = c.want.approval_request;
      cases.push({ name: c.name, file: rel, line, dataset: repo, input, want });
    });
  }
  return { datasets, cases };
}

/** Serializes compiled cases deterministically (one case per line keeps diffs readable). */
export function serializeCases(compiled: CompiledCases): string {
  const datasets = JSON.stringify(compiled.datasets);
  const cases = compiled.cases.map((c) => `    ${JSON.stringify(c)}`).join(',\n');
  return `{\n  "datasets": ${datasets},\n  "cases": [\n${cases}\n  ]\n}\n`;
}

/**
 * Writes (or with `check`, compares) policies/testdata/cases.gen.json.
 * @returns the paths that were written or are stale.
 */
export async function genCases({ check }: { check: boolean }): Promise<string[]> {
  const text = serializeCases(await compileCases());
  const current = await readFile(CASES_GEN, 'utf8').catch(() => '');
  if (current === text) return [];
  if (!check) await writeFile(CASES_GEN, text);
  return [relative(root, CASES_GEN)];
}

/** Issues are re-exported for callers that want to format them. */
export type { Issue };

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  const changed = await genCases({ check });
  if (check && changed.length > 0) {
    console.error(`stale: ${changed.join(', ')}; run npm run gen`);
    process.exit(1);
  }
  console.log(changed.length > 0 ? `wrote ${changed.join(', ')}` : 'cases are up to date');
}
