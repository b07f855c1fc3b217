// Validates an AuthZEN decision request (SPEC §4 bad input) and builds the Rego input from it:
// RFC 3339 -> epoch seconds, only the fields the policy reads, plus the server's facts (DESIGN §2).
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import requestSchema from '../schemas/decision-request.schema.json' with { type: 'json' };
import { EngineError, type Issue } from './errors.ts';
import { escapePointer } from './pointer.ts';
import { parseRfc3339 } from './time.ts';
import type { InputFacts, RegoInput } from './types.ts';

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
// ajv-formats is CommonJS: under nodenext its plugin function is the `.default` of the default import.
addFormats.default(ajv);
const validateSchema = ajv.compile(requestSchema);

/** The actions of SPEC §4. */
export const ACTIONS = [
  'app.connect',
  'app.use',
  'token.create',
  'token.use',
  'api.use',
  'rule.trigger',
] as const;
/** One of {@link ACTIONS}. */
export type ActionName = (typeof ACTIONS)[number];

/** A validated AuthZEN request (schemas/decision-request.schema.json). */
export interface DecisionRequest {
  subject: {
    type: 'user' | 'service_account' | 'external_service';
    id: string;
    properties?: Record<string, unknown>;
  };
  action: { name: ActionName; properties?: Record<string, unknown> };
  resource: { type: 'app' | 'token' | 'api' | 'rule'; id?: string; properties?: Record<string, unknown> };
  context: { org: string; via?: 'app' | 'personal_access_token'; [key: string]: unknown };
}

/** Per action: the resource type it takes, the subject types allowed, and what must be present. */
const ACTION_RULES: Record<ActionName, { resource: string; subjects: string[]; needsId: boolean }> = {
  'app.connect': { resource: 'app', subjects: ['user'], needsId: true },
  'app.use': { resource: 'app', subjects: ['user'], needsId: true },
  'token.create': { resource: 'token', subjects: ['user', 'service_account'], needsId: false },
  // The subject of token.use is whoever uses the token: its owner for a PAT, its service account
  // for a service-account token (checked in semanticIssues).
  'token.use': { resource: 'token', subjects: ['user', 'service_account'], needsId: true },
  'api.use': { resource: 'api', subjects: ['user', 'service_account'], needsId: false },
  'rule.trigger': { resource: 'rule', subjects: ['external_service'], needsId: true },
};

/** Context keys a caller might use to choose the evaluation time; SPEC §2 forbids it. */
const TIME_KEYS = new Set([
  'time',
  'now',
  'at',
  'evaluation_time',
  'eval_time',
  'current_time',
  'timestamp',
  'request_time',
]);

/** Key names that carry secrets; a request holding one is refused (SPEC §4, §7). */
const SECRET_KEY =
  /^(secret|password|passwd|pwd|token|token_value|access_token|refresh_token|id_token|bearer|authorization|api_key|apikey|api_secret|client_secret|private_key|credentials?|session_token|auth_token|pat)$/i;

/** Values shaped like well-known credentials: JWTs, bearer headers, vendor token prefixes, PEM keys. */
const SECRET_VALUE = [
  /^bearer\s+\S{8,}/i,
  /^basic\s+[A-Za-z0-9+/=]{8,}$/i,
  /^eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*$/, // JWT
  /^(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}$/, // GitHub
  /^github_pat_[A-Za-z0-9_]{20,}$/,
  /^xox[abposr]-[A-Za-z0-9-]{10,}$/, // Slack
  /^sk_(live|test)_[A-Za-z0-9]{10,}$/, // Stripe
  /^sk-[A-Za-z0-9_-]{20,}$/, // OpenAI-style
  /^glpat-[A-Za-z0-9_-]{20,}$/, // GitLab
  /^AKIA[0-9A-Z]{16}$/, // AWS access key id
  /^ya29\.[A-Za-z0-9_-]{20,}$/, // Google OAuth access token
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

/** Deepest nesting accepted anywhere in a request (JSON bombs never reach the Wasm). */
const MAX_DEPTH = 16;

function pointer(path: (string | number)[]): string {
  return path.length === 0 ? '/' : `/${path.map((p) => escapePointer(String(p))).join('/')}`;
}

/** Walks every key and string value once: depth bound, secret-looking keys and values. */
function scan(value: unknown, path: (string | number)[], issues: Issue[], depth: number): void {
  if (depth > MAX_DEPTH) {
    issues.push({ path: pointer(path), message: `nesting deeper than ${MAX_DEPTH} levels` });
    return;
  }
  if (typeof value === 'string') {
    const bad = badCharacter(value);
    if (bad) {
      issues.push({ path: pointer(path), message: bad });
      return;
    }
    if (SECRET_VALUE.some((re) => re.test(value))) {
      issues.push({
        path: pointer(path),
        message: 'value looks like a secret token; send the token id, never its value',
      });
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      scan(v, [...path, i], issues, depth + 1);
    });
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const badKey = badCharacter(k);
      if (badKey) {
        issues.push({ path: pointer([...path, k]), message: `key ${badKey}` });
        continue;
      }
      if (SECRET_KEY.test(k)) {
        issues.push({
          path: pointer([...path, k]),
          message: `field "${k}" looks like a secret token value; send the token id, never its value`,
        });
        continue;
      }
      scan(v, [...path, k], issues, depth + 1);
    }
  }
}

/**
 * Lone UTF-16 surrogates (`"\ud800"`) cannot be passed on as JSON to the Wasm, whose parser
 * rejects them, and control characters have no place in ids, emails or names: both are bad input.
 */
function badCharacter(text: string): string | undefined {
  if (!text.isWellFormed())
    return 'contains a lone UTF-16 surrogate (an invalid \\u escape); send valid Unicode';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, '0');
    return `contains the control character \\u${code}; remove it`;
  }
  return undefined;
}

/**
 * The problem with a free-text value a caller sends outside a decision request (an approval request's
 * note, names, emails), or undefined: a lone surrogate, a control character (newlines and tabs are fine),
 * or a secret-looking value — the whole text or any whitespace-separated word of it (SPEC §4, §7: a
 * secret never reaches the store or the logs). The same checks {@link validateRequest} applies.
 */
export function textProblem(text: string): string | undefined {
  const bad = badCharacter(text);
  if (bad) return bad;
  const words = [text, ...text.split(/\s+/)];
  if (words.some((w) => SECRET_VALUE.some((re) => re.test(w)))) {
    return 'looks like it holds a secret token; never send a token value';
  }
  return undefined;
}

const ID_FIELD = /(^|\/)(id|org|owner|service_account|orgs\/\d+)$/;

function schemaIssue(e: ErrorObject): Issue {
  const at = e.instancePath || '/';
  switch (e.keyword) {
    case 'required':
      return {
        path: `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`,
        message: `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`,
      };
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      return { path: `${e.instancePath}/${key}`, message: `unknown field "${key}"` };
    }
    case 'type':
      if ((e.params as { type: string }).type === 'string' && ID_FIELD.test(at)) {
        return {
          path: at,
          message: 'ids are strings: send it quoted (JSON numbers beyond 2^53 lose digits)',
        };
      }
      return { path: at, message: `must be ${(e.params as { type: string }).type}` };
    case 'enum':
      return {
        path: at,
        message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'pattern':
    case 'format':
      if (/_at$/.test(at)) {
        return {
          path: at,
          message: 'must be an RFC 3339 timestamp with a time and an offset, e.g. 2026-03-01T00:00:00Z',
        };
      }
      return { path: at, message: `must be a valid ${(e.params as { format?: string }).format ?? 'value'}` };
    default:
      return { path: at, message: e.message ?? 'is invalid' };
  }
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Validates a decision request body (already parsed JSON) against SPEC §4's bad-input rules:
 * the schema (missing/wrong/unknown fields, ids as strings, RFC 3339 timestamps with time and
 * offset), per-action shapes, no caller-supplied evaluation time, no secret-looking field, a
 * bounded nesting depth.
 * @param body the parsed JSON body.
 * @param fieldPrefix prefix for issue paths (e.g. `/evaluations/3` in a batch).
 * @returns the request, typed.
 * @throws EngineError `invalid_input`; `issues[].path` is a JSON pointer to the field (first issue = most relevant).
 */
export function validateRequest(body: unknown, fieldPrefix = ''): DecisionRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new EngineError('invalid_input', [
      { path: fieldPrefix || '/', message: 'the request body must be a JSON object' },
    ]);
  }
  const issues: Issue[] = [];
  scan(body, [], issues, 0);
  if (issues.length === 0 && !validateSchema(body)) {
    for (const e of validateSchema.errors ?? []) issues.push(schemaIssue(e));
  }
  if (issues.length === 0) issues.push(...semanticIssues(body as DecisionRequest));
  if (issues.length > 0) {
    throw new EngineError(
      'invalid_input',
      dedupe(issues).map((i) => ({
        ...i,
        path: `${fieldPrefix}${i.path === '/' && fieldPrefix ? '' : i.path}`,
      })),
    );
  }
  return body as DecisionRequest;
}

function semanticIssues(req: DecisionRequest): Issue[] {
  const issues: Issue[] = [];
  const rule = ACTION_RULES[req.action.name];
  for (const key of Object.keys(req.context)) {
    if (TIME_KEYS.has(key.toLowerCase())) {
      issues.push({
        path: `/context/${key}`,
        message: 'the evaluation time is set by the server; remove this field',
      });
    }
  }
  if (req.resource.type !== rule.resource) {
    issues.push({
      path: '/resource/type',
      message: `${req.action.name} takes a resource of type "${rule.resource}"`,
    });
  }
  if (!rule.subjects.includes(req.subject.type)) {
    issues.push({
      path: '/subject/type',
      message: `${req.action.name} takes a subject of type ${rule.subjects.map((s) => `"${s}"`).join(' or ')}`,
    });
  }
  if (rule.needsId && req.resource.id === undefined) {
    issues.push({ path: '/resource/id', message: `missing required field "id" (${req.action.name})` });
  }
  const sp = req.subject.properties ?? {};
  if (req.subject.type === 'user') {
    for (const f of ['email', 'role']) {
      if (sp[f] === undefined)
        issues.push({
          path: `/subject/properties/${f}`,
          message: `missing required field "${f}" for a user subject`,
        });
    }
  }
  const rp = req.resource.properties ?? {};
  if (
    (req.action.name === 'token.create' || req.action.name === 'token.use') &&
    (req.resource.id === '.' || req.resource.id === '..')
  ) {
    // The registry's URL (…/tokens/{id}) normalizes dot segments away: such a token could never be revoked.
    issues.push({
      path: '/resource/id',
      message: `token id "${req.resource.id}" cannot be named in a URL; use another id`,
    });
  }
  if (req.action.name === 'token.create' || req.action.name === 'token.use') {
    const required = req.action.name === 'token.use' ? ['kind', 'created_at'] : ['kind'];
    if (rp.kind === 'personal_access' && req.action.name === 'token.use') required.push('owner');
    if (rp.kind === 'service_account') required.push('service_account');
    for (const f of required) {
      if (rp[f] === undefined) {
        issues.push({
          path: `/resource/properties/${f}`,
          message: `missing required field "${f}" (${req.action.name})`,
        });
      }
    }
    if (rp.kind === 'personal_access' && req.subject.type !== 'user') {
      issues.push({ path: '/subject/type', message: 'a personal access token belongs to a user subject' });
    }
    if (req.action.name === 'token.use' && rp.kind === 'service_account') {
      if (req.subject.type !== 'service_account') {
        issues.push({
          path: '/subject/type',
          message:
            'a service-account token is used by its service account: subject.type must be "service_account"',
        });
      } else if (rp.service_account !== undefined && req.subject.id !== rp.service_account) {
        issues.push({
          path: '/subject/id',
          message: `a service-account token is used by its own service account: subject.id must be "${String(rp.service_account)}"`,
        });
      }
    }
  }
  if (req.action.name === 'api.use' && req.context.via === undefined) {
    issues.push({
      path: '/context/via',
      message: 'missing required field "via" (api.use): "app" or "personal_access_token"',
    });
  }
  return issues;
}

function seconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  return parseRfc3339(value) ?? undefined;
}

/**
 * A token's creation time in whole seconds, rounded up when it has a fraction: SPEC §4 denies a
 * token created "more than 60 s" after the evaluation time, and 60.9 s is more than 60 s.
 */
function createdSeconds(value: unknown): number | undefined {
  const t = seconds(value);
  if (t === undefined || typeof value !== 'string') return t;
  return /\.\d*[1-9]\d*([Zz]|[+-])/.test(value) ? t + 1 : t;
}

/**
 * Builds the Rego input of DESIGN §2 from a validated request: only the fields the policy reads,
 * timestamps as integer epoch seconds UTC, and the server's facts.
 * @param req a request that passed {@link validateRequest}.
 * @param facts evaluation time (epoch seconds), settings epochs of `context.org`, registry facts.
 */
export function buildInput(req: DecisionRequest, facts: InputFacts): RegoInput {
  const sp = req.subject.properties ?? {};
  const rp = req.resource.properties ?? {};
  const subjectProps: Record<string, unknown> = {};
  if (typeof sp.email === 'string') subjectProps.email = sp.email.toLowerCase();
  if (sp.role !== undefined) subjectProps.role = sp.role;
  // Org ids are DNS names: case does not matter (SPEC §3 keeps them lower-case).
  if (Array.isArray(sp.orgs)) subjectProps.orgs = sp.orgs.map((o) => String(o).toLowerCase());
  const joined = seconds(sp.joined_at);
  if (joined !== undefined) subjectProps.joined_at = joined;

  const resourceProps: Record<string, unknown> = {};
  for (const k of ['name', 'scopes', 'kind', 'owner', 'service_account'] as const) {
    if (rp[k] !== undefined) resourceProps[k] = rp[k];
  }
  const created = createdSeconds(rp.created_at);
  if (created !== undefined) resourceProps.created_at = created;

  const context: RegoInput['context'] = { org: req.context.org.toLowerCase() };
  if (req.context.via !== undefined) context.via = req.context.via;

  const input: RegoInput = {
    subject: { type: req.subject.type, id: req.subject.id, properties: subjectProps },
    action: { name: req.action.name },
    resource: { type: req.resource.type, properties: resourceProps },
    context,
    facts,
  };
  if (req.resource.id !== undefined) input.resource.id = req.resource.id;
  return input;
}
