// Policy test suites of a policy repository (SPEC §3 `tests/*.yaml`, docs/policy-tests.md): loads and
// checks them with the same YAML rules and error quality as org policies, and runs every case through the
// server's Wasm, returning structured results for the CLI (text, GitHub annotations, JUnit).
import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import orgPolicySchema from '../schemas/org-policy.schema.json' with { type: 'json' };
import policyHistorySchema from '../schemas/policy-history.schema.json' with { type: 'json' };
import type { PolicyTestSuite as SuiteFile, TestCase, TestSubject } from '../schemas/policy-test.gen.ts';
import policyTestSchema from '../schemas/policy-test.schema.json' with { type: 'json' };
import { createEngine, type Decision, toWireDecision } from './engine.ts';
import { EngineError, type Issue, isEngineError, sortIssues } from './errors.ts';
import { DEFAULT_WASM_PATH, loadPolicy, readPolicyWasm } from './evaluator.ts';
import { epochsForEvaluation, type HistoryRevision, type OrgHistory, tokenSettingsOf } from './history.ts';
import { validateHistory } from './history-file.ts';
import { type DecisionRequest, validateRequest } from './input.ts';
import { unescapePointer } from './pointer.ts';
import { formatRfc3339, parseRfc3339 } from './time.ts';
import { didYouMean, mapAjvErrors } from './validator.ts';
import { decodeUtf8, formatPath, type ParsedYaml, type PathSegment, parseYaml, quote } from './yaml.ts';

/** `$id` of the PolicyTestSuite schema (schemas/policy-test.schema.json). */
export const POLICY_TEST_SCHEMA_ID = 'https://appwarden.dev/schemas/policy-test.schema.json';

/** The directory of a policy repository that holds the suites (SPEC §3). */
export const TESTS_DIR = 'tests';

/** What a case expects (schemas/policy-test.schema.json `want`); every field but `decision` is optional. */
export interface PolicyTestWant {
  decision: boolean;
  reason?: string;
  blocked_by?: string;
  /** RFC 3339, compared as an instant. */
  expires_at?: string;
  warning?: string;
  approval_request?: boolean;
}

/** One loaded case, ready to run. */
export interface PolicyTestCase {
  name: string;
  /** Repository-relative file (`tests/acme.yaml`) and the 1-based line and column where the case starts. */
  file: string;
  line: number;
  column: number;
  /** The org whose policy applies (lower-case). */
  org: string;
  /** Evaluation time, epoch seconds UTC. */
  at: number;
  /** The AuthZEN request built from the case and its fixtures (validated as the decision API does). */
  request: DecisionRequest;
  /** The case's own history of the org (SPEC §5), replacing the repository's history/ file; undefined: none given. */
  history?: OrgHistory;
  /** True when the token fixture says `revoked: true` and the action is token.use. */
  tokenRevoked: boolean;
  want: PolicyTestWant;
}

/** One loaded suite file. */
export interface PolicyTestSuite {
  /** Repository-relative path, e.g. `tests/acme.yaml`. */
  file: string;
  description?: string;
  cases: PolicyTestCase[];
}

/** What a case got, in the terms of `want` (RFC 3339 times). */
export interface PolicyTestGot {
  decision: boolean;
  reason: string;
  /** The reason's human message (context.reason.message). */
  message: string;
  blocked_by?: string;
  expires_at?: string;
  warning?: string;
  approval_request: boolean;
}

/** The result of one case. */
export interface PolicyTestCaseResult {
  name: string;
  file: string;
  line: number;
  column: number;
  passed: boolean;
  want: PolicyTestWant;
  got: PolicyTestGot;
  /** One line per field that differs (`reason: want app_blocked, got allowed`); empty when passed. */
  mismatches: string[];
  /** Wall time of the evaluation, milliseconds. */
  durationMs: number;
}

/** The results of one suite file (only the cases the filter kept). */
export interface PolicyTestSuiteResult {
  file: string;
  description?: string;
  cases: PolicyTestCaseResult[];
  passed: number;
  failed: number;
  durationMs: number;
}

/** The results of {@link runPolicyTests}. */
export interface PolicyTestRun {
  /** The revision of the repository the cases ran against (as `appwarden validate` prints it). */
  revision: string;
  suites: PolicyTestSuiteResult[];
  total: number;
  passed: number;
  failed: number;
  durationMs: number;
}

let validator: { suite: ValidateFunction; subject: ValidateFunction } | undefined;

/** A separate ajv instance (the policy validator's is private): the suite schema refers to the other two. */
function validators(): { suite: ValidateFunction; subject: ValidateFunction } {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    addFormats.default(ajv);
    ajv.addSchema(orgPolicySchema);
    ajv.addSchema(policyHistorySchema);
    ajv.addSchema(policyTestSchema);
    const get = (id: string): ValidateFunction => {
      const fn = ajv.getSchema(id);
      if (!fn) throw new Error(`schema ${id} is not registered`);
      return fn;
    };
    validator = {
      suite: get(POLICY_TEST_SCHEMA_ID),
      subject: get(`${POLICY_TEST_SCHEMA_ID}#/$defs/subject`),
    };
  }
  return validator;
}

/** A view of part of a parsed file as a file of its own (positions and paths stay the whole file's). */
function partOf(parsed: ParsedYaml, prefix: readonly PathSegment[], value: unknown): ParsedYaml {
  return {
    file: parsed.file,
    value,
    positionOf: (path, at) => parsed.positionOf([...prefix, ...path], at),
    sourceOf: (path) => parsed.sourceOf([...prefix, ...path]),
    tagOf: (path) => parsed.tagOf([...prefix, ...path]),
  };
}

/** `prefix` + a path formatted relative to it. */
function joinPath(prefix: readonly PathSegment[], rest: string | undefined): string {
  const head = formatPath(prefix);
  if (!rest) return head;
  return rest.startsWith('[') ? `${head}${rest}` : `${head}.${rest}`;
}

/** Schema issues of a suite file, with the inline-subject and fixture-name errors explained in words. */
function schemaIssues(parsed: ParsedYaml): Issue[] {
  const { suite, subject } = validators();
  if (suite(parsed.value)) return [];
  const keep: ErrorObject[] = [];
  const issues: Issue[] = [];
  for (const err of suite.errors ?? []) {
    const subjectAt = /^\/cases\/(\d+)\/subject$/.exec(err.instancePath);
    if (err.keyword === 'anyOf' && subjectAt) {
      const prefix: PathSegment[] = ['cases', Number(subjectAt[1]), 'subject'];
      const value = err.data;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        // An inline subject: explain its own problems (unknown key, missing id) rather than "no form matches".
        if (!subject(value)) {
          for (const i of mapAjvErrors(subject.errors ?? [], partOf(parsed, prefix, value)))
            issues.push({ ...i, path: joinPath(prefix, i.path) });
        }
      } else {
        issues.push({
          file: parsed.file,
          ...parsed.positionOf(prefix),
          path: formatPath(prefix),
          message: `subject must be the name of a subject fixture or an inline subject, not ${typeof value === 'string' ? quote(value) : JSON.stringify(value)}`,
          hint: 'e.g. subject: ann, or subject: {type: user, id: U1, properties: {email: ann@acme.example, role: member}}',
        });
      }
      continue;
    }
    // The branches of a subject's anyOf reach it through $refs (their schemaPath does not say anyOf): the
    // anyOf error above explains them all.
    if (/^\/cases\/\d+\/subject(\/|$)/.test(err.instancePath)) continue;
    if (err.keyword === 'propertyNames') continue;
    if (err.propertyName !== undefined) {
      const path = [...pathOf(err.instancePath), err.propertyName];
      const isOrg = err.instancePath === '/histories';
      issues.push({
        file: parsed.file,
        ...parsed.positionOf(path, 'key'),
        path: formatPath(path),
        message: `${isOrg ? 'org id' : 'fixture name'} ${quote(err.propertyName)} is not allowed`,
        hint: isOrg
          ? 'e.g. acme.example: a lower-case DNS name'
          : 'use letters, digits, _ . and -, starting with a letter or digit (at most 64 characters)',
      });
      continue;
    }
    keep.push(err);
  }
  issues.push(...mapAjvErrors(keep, parsed));
  return issues;
}

function pathOf(instancePath: string): PathSegment[] {
  return instancePath
    .split('/')
    .slice(1)
    .map(unescapePointer)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The fixture named `name` of `kind`, or an issue at `path` with a did-you-mean or the names there are. */
function fixture<T>(
  parsed: ParsedYaml,
  fixtures: Record<string, unknown> | undefined,
  kind: 'subject' | 'app' | 'token',
  name: string,
  path: readonly PathSegment[],
  issues: Issue[],
): T | undefined {
  if (fixtures && Object.hasOwn(fixtures, name)) return fixtures[name] as T;
  const names = Object.keys(fixtures ?? {});
  const suggestion = didYouMean(name, names);
  const group = kind === 'subject' ? 'subjects' : `${kind}s`;
  issues.push({
    file: parsed.file,
    ...parsed.positionOf(path),
    path: formatPath(path),
    message: `unknown ${kind} fixture ${quote(name)}`,
    hint: suggestion
      ? `did you mean "${suggestion}"?`
      : names.length > 0
        ? `the ${kind} fixtures of this file: ${names.join(', ')}`
        : `define it under fixtures.${group}`,
  });
  return undefined;
}

/** Where a decision-request field (`/subject/properties/email`) comes from in the suite file. */
function requestFieldPosition(
  casePath: readonly PathSegment[],
  raw: TestCase,
  pointer: string,
): PathSegment[] {
  const [top, ...rest] = pathOf(pointer);
  if (top === 'subject') {
    return typeof raw.subject === 'string'
      ? ['fixtures', 'subjects', raw.subject, ...rest]
      : [...casePath, 'subject', ...rest];
  }
  if (top === 'resource') {
    const r = raw.resource;
    if (r?.app !== undefined) return ['fixtures', 'apps', r.app, ...rest.filter((s) => s !== 'properties')];
    if (r?.token !== undefined)
      return ['fixtures', 'tokens', r.token, ...rest.filter((s) => s !== 'properties')];
    return r ? [...casePath, 'resource', ...rest] : [...casePath, 'action'];
  }
  if (top === 'context') return [...casePath, rest[0] === 'via' ? 'via' : 'org'];
  return [...casePath, 'action'];
}

/**
 * Checks a list of history revisions at `path` of the file as a PolicyHistory file's revisions are checked
 * (SPEC §5: schema, the SPEC §3 list checks of each spec, strictly increasing times), with issues at their
 * place in this file. Adds the issues to `issues`.
 * @returns the revisions (epoch seconds UTC), or undefined when there were issues
 */
function historyRevisions(
  parsed: ParsedYaml,
  path: readonly PathSegment[],
  list: unknown,
  issues: Issue[],
): HistoryRevision[] | undefined {
  const toFile = (p: readonly PathSegment[]): PathSegment[] =>
    p[0] === 'revisions' ? [...path, ...p.slice(1)] : [...path];
  const view: ParsedYaml = {
    file: parsed.file,
    // The org is not checked here (the suite's schema did); any valid id keeps the history schema quiet.
    value: { apiVersion: 'appwarden/v1', kind: 'PolicyHistory', org: 'test.example', revisions: list },
    positionOf: (p, pos) => parsed.positionOf(toFile(p), pos),
    sourceOf: (p) => parsed.sourceOf(toFile(p)),
    tagOf: (p) => parsed.tagOf(toFile(p)),
  };
  const result = validateHistory(view);
  for (const i of result.issues) {
    issues.push({
      ...i,
      message: i.message.replace(/^revisions\b/, 'history entries'),
      ...(i.path !== undefined ? { path: joinPath(path, i.path.replace(/^revisions/, '')) } : {}),
      ...(i.hint ? { hint: i.hint.replace(/\brevisions\b/g, 'history entries') } : {}),
    });
  }
  return result.history?.revisions;
}

/**
 * Parses and checks one suite file: YAML 1.2 core rules (engine/yaml.ts), the JSON Schema
 * (schemas/policy-test.schema.json), then every reference and rule a schema cannot express: fixture names
 * (unknown ones with a did-you-mean), case names unique in the file, an org and an evaluation time for every
 * case, exactly one of `app`, `token` and `type` in a resource, a `want` whose reason agrees with its
 * decision (an allow is always `allowed`), the case history's order (as a PolicyHistory file's), and the
 * decision request the case builds, checked as the decision API checks requests (SPEC §4).
 *
 * @param file repository-relative path reported in issues (`tests/acme.yaml`)
 * @param text the file's text
 * @returns the suite, or every issue found (never both)
 */
export function parsePolicyTestSuite(
  file: string,
  text: string,
): { suite: PolicyTestSuite; issues: [] } | { suite?: undefined; issues: Issue[] } {
  const { parsed, issues: yamlIssues } = parseYaml(file, text);
  if (!parsed) return { issues: sortIssues(yamlIssues) };
  const issues = schemaIssues(parsed);
  const badPaths = issues.map((i) => i.path ?? '');
  const doc = (isObject(parsed.value) ? parsed.value : {}) as Partial<SuiteFile>;
  // Defensive: the schema may have failed, so every value is checked for its type before use.
  const fixtures = (isObject(doc.fixtures) ? doc.fixtures : {}) as Record<
    'subjects' | 'apps' | 'tokens',
    Record<string, unknown> | undefined
  >;
  const defaults = (isObject(doc.defaults) ? doc.defaults : {}) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const cases: PolicyTestCase[] = [];
  const seen = new Map<string, number>();
  const histories = new Map<string, HistoryRevision[]>();
  if (isObject(doc.histories) && !badPaths.some((p) => p.startsWith('histories'))) {
    for (const [org, list] of Object.entries(doc.histories)) {
      const revisions = historyRevisions(parsed, ['histories', org], list, issues);
      if (revisions) histories.set(org, revisions);
    }
  }
  (Array.isArray(doc.cases) ? doc.cases : []).forEach((rawCase: unknown, i) => {
    if (!isObject(rawCase)) return;
    const raw = rawCase as unknown as TestCase;
    const casePath: PathSegment[] = ['cases', i];
    const where = parsed.positionOf(casePath);
    const caseIssues: Issue[] = [];
    const report = (path: PathSegment[], message: string, hint?: string): void => {
      caseIssues.push({
        file,
        ...parsed.positionOf(path),
        path: formatPath(path),
        message,
        ...(hint ? { hint } : {}),
      });
    };
    // Problems the schema already reported under this case are not repeated as reference problems.
    const schemaBad = (path: PathSegment[]): boolean => {
      const shown = formatPath(path);
      return badPaths.some((p) => p === shown || p.startsWith(`${shown}.`) || p.startsWith(`${shown}[`));
    };
    if (typeof raw.name === 'string') {
      const first = seen.get(raw.name);
      if (first !== undefined)
        report(
          [...casePath, 'name'],
          `case name ${quote(raw.name)} is used twice`,
          `the first is at line ${first}`,
        );
      else seen.set(raw.name, where.line);
    }
    const org = str(raw.org ?? defaults.org);
    if (org === undefined)
      report(casePath, 'the case names no org', 'give org: here, or defaults: {org: …} for the whole file');
    const atText = str(raw.at ?? defaults.at);
    if (atText === undefined)
      report(
        casePath,
        'the case has no evaluation time',
        'give at: here, or defaults: {at: …} for the whole file',
      );

    let subject: TestSubject | undefined;
    if (typeof raw.subject === 'string') {
      if (!schemaBad([...casePath, 'subject']))
        subject = fixture(
          parsed,
          fixtures.subjects,
          'subject',
          raw.subject,
          [...casePath, 'subject'],
          caseIssues,
        );
    } else if (isObject(raw.subject)) subject = raw.subject;

    let resource: DecisionRequest['resource'] | undefined;
    let tokenRevoked = false;
    const r = raw.resource;
    if (r === undefined) {
      if (raw.action === 'api.use') resource = { type: 'api' };
      // After an unknown key (`resorce`) the missing resource is the same mistake: said once.
      else if (typeof raw.action === 'string' && !schemaBad(casePath))
        report(
          casePath,
          `the case has no resource`,
          'give resource: {app: <fixture>}, {token: <fixture>} or {type, id}',
        );
    } else if (isObject(r) && !schemaBad([...casePath, 'resource'])) {
      const forms = (['app', 'token', 'type'] as const).filter((k) => r[k] !== undefined);
      if (forms.length !== 1) {
        report(
          [...casePath, 'resource'],
          forms.length === 0
            ? 'the resource names no app, token or type'
            : `the resource gives ${forms.join(' and ')}; give exactly one`,
          'write {app: <fixture>}, {token: <fixture>} or an inline {type, id?, properties?}',
        );
      } else if (forms[0] !== 'type' && (r.id !== undefined || r.properties !== undefined)) {
        report(
          [...casePath, 'resource', r.id !== undefined ? 'id' : 'properties'],
          `id and properties belong to an inline resource, not next to ${forms[0]}`,
          `set them in the ${forms[0]} fixture, or write the resource inline with type`,
        );
      } else if (r.app !== undefined) {
        const app = fixture<{ id: string; name?: string; scopes?: string[] }>(
          parsed,
          fixtures.apps,
          'app',
          String(r.app),
          [...casePath, 'resource', 'app'],
          caseIssues,
        );
        if (app) {
          const properties: Record<string, unknown> = {};
          if (app.name !== undefined) properties.name = app.name;
          if (app.scopes !== undefined) properties.scopes = app.scopes;
          resource = {
            type: 'app',
            id: app.id,
            ...(Object.keys(properties).length > 0 ? { properties } : {}),
          };
        }
      } else if (r.token !== undefined) {
        const token = fixture<Record<string, unknown>>(
          parsed,
          fixtures.tokens,
          'token',
          String(r.token),
          [...casePath, 'resource', 'token'],
          caseIssues,
        );
        if (token) {
          const properties: Record<string, unknown> = {};
          for (const k of ['kind', 'owner', 'service_account', 'created_at'])
            if (token[k] !== undefined) properties[k] = token[k];
          resource = {
            type: 'token',
            ...(typeof token.id === 'string' ? { id: token.id } : {}),
            properties,
          };
          tokenRevoked = token.revoked === true && raw.action === 'token.use';
        }
      } else {
        resource = {
          type: r.type as DecisionRequest['resource']['type'],
          ...(typeof r.id === 'string' ? { id: r.id } : {}),
          ...(isObject(r.properties) ? { properties: r.properties } : {}),
        };
      }
    }

    const want = isObject(raw.want) ? raw.want : undefined;
    if (want && typeof want.decision === 'boolean' && typeof want.reason === 'string') {
      if (want.decision && want.reason !== 'allowed')
        report(
          [...casePath, 'want', 'reason'],
          `an allow always has reason allowed, not ${want.reason}`,
          'write decision: false, or reason: allowed',
        );
      if (!want.decision && want.reason === 'allowed')
        report(
          [...casePath, 'want', 'reason'],
          'a deny never has reason allowed',
          'write decision: true, or the deny reason you expect',
        );
    }

    let history: OrgHistory | undefined;
    const caseOrg = org?.toLowerCase();
    if (Array.isArray(raw.history) && !schemaBad([...casePath, 'history'])) {
      const revisions = historyRevisions(parsed, [...casePath, 'history'], raw.history, caseIssues);
      if (revisions && caseOrg !== undefined) history = { org: caseOrg, file, revisions };
    } else if (caseOrg !== undefined && histories.has(caseOrg)) {
      history = { org: caseOrg, file, revisions: histories.get(caseOrg) as HistoryRevision[] };
    }

    const time = typeof atText === 'string' ? parseRfc3339(atText) : null;
    if (
      typeof atText === 'string' &&
      time === null &&
      !schemaBad([...casePath, 'at']) &&
      !schemaBad(['defaults', 'at'])
    )
      report(
        raw.at !== undefined ? [...casePath, 'at'] : ['defaults', 'at'],
        `timestamp is not a real date and time: ${quote(atText)}`,
      );

    if (caseIssues.length > 0 || schemaBad(casePath) || !subject || !resource || !want || org === undefined) {
      issues.push(...caseIssues);
      return;
    }
    const request = {
      subject: structuredClone(subject),
      action: { name: raw.action },
      resource: structuredClone(resource),
      context: { org, ...(raw.via !== undefined ? { via: raw.via } : {}) },
    };
    let checked: DecisionRequest;
    try {
      checked = validateRequest(request);
    } catch (err) {
      if (!isEngineError(err, 'invalid_input')) throw err;
      for (const i of err.issues) {
        const path = requestFieldPosition(casePath, raw, i.path ?? '/');
        issues.push({
          file,
          ...parsed.positionOf(path),
          path: formatPath(path),
          message: `the case is not a valid decision request: ${i.message}`,
          ...(i.hint ? { hint: i.hint } : {}),
        });
      }
      return;
    }
    if (time === null) return;
    cases.push({
      name: raw.name,
      file,
      line: where.line,
      column: where.column,
      org: org.toLowerCase(),
      at: time,
      request: checked,
      ...(history ? { history } : {}),
      tokenRevoked,
      want: want as PolicyTestWant,
    });
  });
  if (issues.length > 0) return { issues: sortIssues(issues) };
  return {
    suite: { file, ...(typeof doc.description === 'string' ? { description: doc.description } : {}), cases },
    issues: [],
  };
}

/**
 * Loads every suite of a policy repository's `tests/` directory (`*.yaml|yml`, sorted by name; names
 * starting with a dot and other extensions ignored, a subdirectory or an upper-case extension an issue, as
 * for `orgs/`). No `tests/` directory: no suites. The suites do not depend on the org policies, so they
 * can be checked even when the repository is not valid.
 *
 * @param dir the repository root; issue paths are relative to it (`tests/acme.yaml`)
 * @returns the suites, sorted by file
 * @throws EngineError `invalid_policy` with every issue of every suite (file:line:col); `io_error` when a
 *   file or the directory cannot be read
 */
export async function loadPolicyTests(dir: string): Promise<PolicyTestSuite[]> {
  const root = await realpath(dir).catch((err: unknown) => {
    throw new EngineError(
      'io_error',
      [{ file: dir, message: `cannot open the policy repository (${code(err)})` }],
      {
        cause: err,
      },
    );
  });
  const full = join(root, TESTS_DIR);
  let entries: Dirent[];
  try {
    if (!(await stat(full)).isDirectory())
      throw new EngineError('invalid_policy', [
        { file: TESTS_DIR, message: 'not a directory', hint: 'policy test suites go in a tests/ directory' },
      ]);
    entries = await readdir(full, { withFileTypes: true });
  } catch (err) {
    if (isEngineError(err)) throw err;
    if (code(err) === 'ENOENT') return [];
    throw new EngineError(
      'io_error',
      [{ file: `${TESTS_DIR}/`, message: `cannot read the directory (${code(err)})` }],
      {
        cause: err,
      },
    );
  }
  const issues: Issue[] = [];
  const suites: PolicyTestSuite[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = `${TESTS_DIR}/${entry.name}`;
    const real = join(full, entry.name);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(real);
    } catch {
      if (/\.ya?ml$/i.test(entry.name))
        issues.push({
          file: path,
          message: 'symbolic link to a file that does not exist',
          hint: 'fix the link or remove it',
        });
      continue;
    }
    if (info.isDirectory()) {
      issues.push({
        file: `${path}/`,
        message: `subdirectories of ${TESTS_DIR}/ are not read`,
        hint: `move its files up into ${TESTS_DIR}/, or start its name with a dot to keep it out on purpose`,
      });
      continue;
    }
    if (!/\.ya?ml$/i.test(entry.name)) continue;
    if (!/\.ya?ml$/.test(entry.name)) {
      issues.push({
        file: path,
        message: 'the extension must be lower-case .yaml or .yml; this file is not read as it is',
      });
      continue;
    }
    const resolved = await realpath(real);
    if (resolved !== root && !resolved.startsWith(`${root}${sep}`)) {
      issues.push({
        file: path,
        message: 'symbolic link to a path outside the policy repository; it is not followed',
      });
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(resolved);
    } catch (err) {
      issues.push({ file: path, message: `cannot read the file (${code(err)})` });
      continue;
    }
    const decoded = decodeUtf8(path, bytes);
    if ('issue' in decoded) {
      issues.push(decoded.issue);
      continue;
    }
    const result = parsePolicyTestSuite(path, decoded.text);
    if (result.suite) suites.push(result.suite);
    else issues.push(...result.issues);
  }
  if (issues.length > 0) throw new EngineError('invalid_policy', issues);
  return suites;
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? 'unknown error';
}

/** The fields of a wire decision that a `want` can name. */
function gotOf(d: Decision): PolicyTestGot {
  return {
    decision: d.decision,
    reason: d.context.reason.code,
    message: d.context.reason.message,
    ...(d.context.blocked_by !== undefined ? { blocked_by: d.context.blocked_by } : {}),
    ...(d.context.advice !== undefined ? { expires_at: d.context.advice.expires_at } : {}),
    ...(d.context.advice?.warning !== undefined ? { warning: d.context.advice.warning } : {}),
    approval_request: d.context.approval_request !== undefined,
  };
}

/** Every field of `want` that `got` does not match, as `field: want X, got Y`. */
function mismatchesOf(want: PolicyTestWant, got: PolicyTestGot): string[] {
  const out: string[] = [];
  const show = (v: unknown): string => (v === undefined ? '(none)' : String(v));
  if (want.decision !== got.decision)
    out.push(`decision: want ${want.decision ? 'allow' : 'deny'}, got ${got.decision ? 'allow' : 'deny'}`);
  if (want.reason !== undefined && want.reason !== got.reason)
    out.push(`reason: want ${want.reason}, got ${got.reason}`);
  if (want.blocked_by !== undefined && want.blocked_by !== got.blocked_by)
    out.push(`blocked_by: want ${want.blocked_by}, got ${show(got.blocked_by)}`);
  if (want.expires_at !== undefined) {
    const w = parseRfc3339(want.expires_at);
    const g = got.expires_at === undefined ? null : parseRfc3339(got.expires_at);
    if (w !== g) out.push(`expires_at: want ${formatRfc3339(w ?? 0)}, got ${show(got.expires_at)}`);
  }
  if (want.warning !== undefined && want.warning !== got.warning)
    out.push(`warning: want ${want.warning}, got ${show(got.warning)}`);
  if (want.approval_request !== undefined && want.approval_request !== got.approval_request)
    out.push(`approval_request: want ${want.approval_request}, got ${got.approval_request}`);
  return out;
}

/** Options of {@link runPolicyTests}. */
export interface RunPolicyTestsOptions {
  /** Keep only cases whose name contains this text (case-insensitive); suites left with none are dropped. */
  filter?: string;
  /** The compiled policy; default `policies/policy.wasm` of this package (the server's). */
  wasmPath?: string;
}

/**
 * Runs every case of a repository's `tests/` through the server's Wasm: the repository is loaded by
 * {@link createEngine} as the server loads it (all of it validated), each case's input is built as the
 * engine builds it for an evaluation time (`appwarden eval`: the repository's history/ file for the org and
 * the live settings as set at `at`, SPEC §5), with the case's own `history` replacing that file when given
 * and a revoked token fixture as the registry's fact, then evaluated against the revision's data.
 *
 * @param dir the policy repository
 * @returns the results per suite, in file order; a suite's cases in file order
 * @throws EngineError from the repository load (`invalid_policy`, `invalid_history`, `io_error`,
 *   `wasm_load_error`) or from {@link loadPolicyTests}
 */
export async function runPolicyTests(dir: string, opts: RunPolicyTestsOptions = {}): Promise<PolicyTestRun> {
  const started = performance.now();
  const wasmPath = opts.wasmPath ?? DEFAULT_WASM_PATH;
  const engine = createEngine({ policyDir: dir, wasmPath });
  try {
    const { revision } = await engine.load();
    const suites = await loadPolicyTests(dir);
    const data = engine.data;
    if (!data) throw new EngineError('not_ready', 'no valid policy is live yet');
    // The same module and data the engine made live; a second instance so the input can carry the case's facts.
    const policy = loadPolicy((await readPolicyWasm(wasmPath)).module, data);
    const needle = opts.filter?.toLowerCase();
    const results: PolicyTestSuiteResult[] = [];
    for (const suite of suites) {
      const suiteStart = performance.now();
      const cases: PolicyTestCaseResult[] = [];
      for (const c of suite.cases) {
        if (needle !== undefined && !c.name.toLowerCase().includes(needle)) continue;
        const t0 = performance.now();
        const input = engine.buildInput(c.request, { at: c.at });
        const orgData = Object.hasOwn(data.orgs, c.org) ? data.orgs[c.org] : undefined;
        if (c.history && orgData)
          input.facts.history = epochsForEvaluation(c.history, tokenSettingsOf(orgData), c.at);
        if (c.tokenRevoked) input.facts.token_revoked = true;
        let decision: Decision;
        try {
          decision = toWireDecision(policy.evaluate(input), revision, c.org);
        } catch (err) {
          if (!isEngineError(err, 'evaluation_error')) throw err;
          // Fail closed, as the server does: the case sees the deny the platform would get.
          decision = {
            decision: false,
            context: {
              decision_id: '',
              revision,
              reason: { code: 'evaluation_error', message: err.message },
            },
          };
        }
        const got = gotOf(decision);
        const mismatches = mismatchesOf(c.want, got);
        cases.push({
          name: c.name,
          file: c.file,
          line: c.line,
          column: c.column,
          passed: mismatches.length === 0,
          want: c.want,
          got,
          mismatches,
          durationMs: performance.now() - t0,
        });
      }
      if (cases.length === 0) continue;
      const passed = cases.filter((c) => c.passed).length;
      results.push({
        file: suite.file,
        ...(suite.description !== undefined ? { description: suite.description } : {}),
        cases,
        passed,
        failed: cases.length - passed,
        durationMs: performance.now() - suiteStart,
      });
    }
    const total = results.reduce((n, s) => n + s.cases.length, 0);
    const passed = results.reduce((n, s) => n + s.passed, 0);
    return {
      revision,
      suites: results,
      total,
      passed,
      failed: total - passed,
      durationMs: performance.now() - started,
    };
  } finally {
    engine.close();
  }
}
