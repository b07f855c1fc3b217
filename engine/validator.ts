// Validates parsed policy files: JSON Schema (ajv 2020) with every error mapped back to
// file:line:column, then the SPEC §3 checks a schema cannot express (repeats, blocked and approved).

import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import appCatalogSchema from '../schemas/app-catalog.schema.json' with { type: 'json' };
import decisionRequestSchema from '../schemas/decision-request.schema.json' with { type: 'json' };
import type { OrgPolicy } from '../schemas/org-policy.gen.ts';
import orgPolicySchema from '../schemas/org-policy.schema.json' with { type: 'json' };
import policyHistorySchema from '../schemas/policy-history.schema.json' with { type: 'json' };
import type { Issue } from './errors.ts';
import { escapePointer, unescapePointer } from './pointer.ts';
import { formatRfc3339 } from './time.ts';
import {
  formatPath,
  hasInvisible,
  type ParsedYaml,
  type PathSegment,
  parseYaml,
  quote,
  stripInvisible,
  truncate,
} from './yaml.ts';

/** `$id` of the OrgPolicy schema. */
export const ORG_POLICY_SCHEMA_ID = 'https://appwarden.dev/schemas/org-policy.schema.json';
/** `$id` of the PolicyHistory schema. */
export const POLICY_HISTORY_SCHEMA_ID = 'https://appwarden.dev/schemas/policy-history.schema.json';
/** `$id` of the AppCatalog schema (`apps/*.yaml`, optional). */
export const APP_CATALOG_SCHEMA_ID = 'https://appwarden.dev/schemas/app-catalog.schema.json';

let ajv: Ajv2020 | undefined;

/** The one ajv instance (both schemas registered so that history can `$ref` the OrgPolicy spec). */
function getAjv(): Ajv2020 {
  if (!ajv) {
    // verbose: errors carry parentSchema, which lists the keys allowed where an unknown key sits.
    ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    addFormats.default(ajv);
    ajv.addSchema(orgPolicySchema);
    ajv.addSchema(policyHistorySchema);
    ajv.addSchema(appCatalogSchema);
    // Request-body schemas (schemas/*-body.schema.json, the batch and OPA wrappers) $ref its parts.
    ajv.addSchema(decisionRequestSchema);
  }
  return ajv;
}

function validatorFor(id: string): ValidateFunction {
  const fn = getAjv().getSchema(id);
  if (!fn) throw new Error(`schema ${id} is not registered`);
  return fn;
}

/**
 * Checks one value against a schema and maps every ajv error to an issue at its line:column.
 * Several errors on one value are reduced to the clearest one (a wrong type hides its enum error).
 *
 * @param schemaId {@link ORG_POLICY_SCHEMA_ID} or {@link POLICY_HISTORY_SCHEMA_ID}
 * @param parsed the parsed file (value and positions)
 * @returns the issues, empty when valid (SPEC §3)
 */
export function schemaIssues(schemaId: string, parsed: ParsedYaml): Issue[] {
  const validate = validatorFor(schemaId);
  if (validate(parsed.value)) return [];
  return mapAjvErrors(validate.errors ?? [], parsed);
}

/** Lower rank wins when several errors concern one value. */
const RANK: Record<string, number> = {
  type: 0,
  const: 1,
  enum: 1,
  anyOf: 2,
  pattern: 3,
  format: 4,
  minLength: 5,
  maxLength: 5,
};

/**
 * Maps ajv errors to issues with file, line, column, field path, a lower-case message and a hint.
 * Exported for other validators of YAML-sourced documents (decision cases).
 */
export function mapAjvErrors(errors: readonly ErrorObject[], parsed: ParsedYaml): Issue[] {
  const issues: Issue[] = [];
  const valueErrors = new Map<string, ErrorObject>();
  for (const err of errors) {
    // The branches of an anyOf explain nothing on their own; the anyOf error says what is allowed.
    if (err.schemaPath.includes('/anyOf/')) continue;
    const path = toPath(err.instancePath, parsed.value);
    if (err.keyword === 'additionalProperties') {
      const key = String((err.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(
        (err.parentSchema as { properties?: object } | undefined)?.properties ?? {},
      );
      const full = [...path, key];
      const suggestion = didYouMean(key, allowed);
      issues.push({
        file: parsed.file,
        ...parsed.positionOf(full, 'key'),
        path: formatPath(full),
        message: `unknown key ${showKey(key)}`,
        hint: suggestion ? `did you mean "${suggestion}"?` : `allowed here: ${allowed.join(', ')}`,
      });
    } else if (err.keyword === 'required') {
      const key = String((err.params as { missingProperty: string }).missingProperty);
      const full = [...path, key];
      issues.push({
        file: parsed.file,
        ...parsed.positionOf(path, 'key'),
        path: formatPath(full),
        message: `missing required key \`${key}\``,
      });
    } else {
      const prev = valueErrors.get(err.instancePath);
      if (!prev || (RANK[err.keyword] ?? 9) < (RANK[prev.keyword] ?? 9))
        valueErrors.set(err.instancePath, err);
    }
  }
  for (const err of valueErrors.values()) {
    const path = toPath(err.instancePath, parsed.value);
    issues.push({
      file: parsed.file,
      ...parsed.positionOf(path, 'value'),
      path: formatPath(path),
      ...describeValueError(err, path, parsed),
    });
  }
  return issues;
}

/** Turns an ajv instancePath (`/spec/apps/blocked/2/id`) into path segments, indexes as numbers. */
function toPath(instancePath: string, root: unknown): PathSegment[] {
  const out: PathSegment[] = [];
  let cur: unknown = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = unescapePointer(raw);
    if (Array.isArray(cur)) {
      out.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      out.push(seg);
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

/** What a field is called in messages: `app id`, `owner email`, or the key in backticks. */
export function fieldLabel(path: readonly PathSegment[]): string {
  const [a, b, c] = path.slice(-3).reverse();
  if (a === 'id' && typeof b === 'number' && (c === 'blocked' || c === 'approved')) return 'app id';
  if (a === 'id' && typeof b === 'number' && c === 'service_accounts') return 'service account id';
  if (a === 'org' && (b === 'metadata' || path.length === 1)) return 'org id';
  if (a === 'owner' && typeof b === 'number' && c === 'service_accounts') return 'owner email';
  if (typeof a === 'number' && (b === 'super_admins' || b === 'admins') && c === 'admins')
    return 'admin email';
  if (typeof a === 'number' && b === 'notify') return 'notify recipient';
  if (a === 'at' && typeof b === 'number' && c === 'revisions') return 'timestamp';
  const last = [...path].reverse().find((s) => typeof s === 'string');
  return last === undefined ? 'the document' : `\`${last}\``;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of keys to values',
  integer: 'an integer',
  number: 'a number',
};

function describeValue(value: unknown): string {
  if (value === null) return 'empty (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return `${typeof value} ${truncate(String(value))}`;
}

function describeValueError(
  err: ErrorObject,
  path: readonly PathSegment[],
  parsed: ParsedYaml,
): { message: string; hint?: string } {
  const label = fieldLabel(path);
  const value = err.data;
  const schema = err.parentSchema as { enum?: unknown[]; const?: unknown; type?: string } | undefined;
  switch (err.keyword) {
    case 'type': {
      // An enum field is best explained by its allowed values (`expiration: 30` -> did you mean "30d"?).
      if (schema?.enum) return enumError(label, schema.enum, value);
      if (label === 'timestamp') return timestampError(label, value);
      const want = String((err.params as { type: string }).type);
      const tag = parsed.tagOf(path);
      if (tag && value !== null && typeof value !== 'object') {
        // `id: !!int "123"`: the tag made the number; quoting it again would change nothing.
        return {
          message: `${label} must be ${TYPE_WORDS[want] ?? want}, not ${describeValue(value)} (the \`${tag}\` tag makes it one)`,
          hint: `remove the \`${tag}\` tag`,
        };
      }
      if (value === null && (want === 'array' || want === 'object')) {
        return {
          message: `${label} is empty (null), but must be ${TYPE_WORDS[want]}`,
          hint:
            want === 'array'
              ? 'write [] or remove the key'
              : 'write the settings under it, or remove the key',
        };
      }
      const isScalar = value === null || ['number', 'boolean', 'bigint'].includes(typeof value);
      if (want === 'string' && isScalar) {
        const source = parsed.sourceOf(path);
        if (value === null || source === undefined || source === '') {
          return { message: `${label} is empty`, hint: 'write a value in quotes' };
        }
        // The source text, not the parsed number: large ids lose digits and leading zeros vanish.
        return { message: `${label} must be a string`, hint: `quote it (${quote(source.trim())})` };
      }
      if (want === 'boolean' && typeof value === 'string') {
        return {
          message: `${label} must be true or false, not ${describeValue(value)}`,
          hint: 'write true or false (YAML 1.2 reads yes, no, on and off as strings)',
        };
      }
      if (want === 'array' && (typeof value === 'string' || typeof value === 'number')) {
        const item = truncate(String(value));
        return {
          message: `${label} must be a list, not ${describeValue(value)}`,
          hint: `write it as a list: [${/^[\w.@+-]+$/.test(item) ? item : quote(item)}]`,
        };
      }
      // A nullable field's type is `string,null`: both named in words.
      const words = want
        .split(',')
        .map((w) => TYPE_WORDS[w] ?? w)
        .join(' or ');
      return { message: `${label} must be ${words}, not ${describeValue(value)}` };
    }
    case 'minimum':
    case 'maximum': {
      const limit = Number((err.params as { limit: number }).limit);
      return {
        message: `${label} must be ${err.keyword === 'minimum' ? 'at least' : 'at most'} ${limit}, not ${describeValue(value)}`,
      };
    }
    case 'enum':
      return enumError(label, schema?.enum ?? [], value);
    case 'const':
      return constError(label, String(schema?.const), value);
    case 'anyOf':
      if (label === 'notify recipient') {
        const email = typeof value === 'string' && value.includes('@');
        return {
          message: `notify recipient must be super_admins or an email address, not ${describeValue(value)}`,
          ...(email ? { hint: 'expected name@domain.tld' } : {}),
          ...(!email && typeof value === 'string' && didYouMean(value, ['super_admins'])
            ? { hint: 'did you mean "super_admins"?' }
            : {}),
        };
      }
      return { message: `${label} does not match any allowed form` };
    case 'format': {
      const format = String((err.params as { format: string }).format);
      if (format === 'email') {
        const trimmed = typeof value === 'string' ? stripInvisible(value).trim() : '';
        const fixed = trimmed !== value && EMAIL.test(trimmed);
        return {
          message: `${label} is not a valid email address: ${typeof value === 'string' ? quote(value) : describeValue(value)}`,
          hint: fixed ? `did you mean ${quote(trimmed)}?` : 'expected name@domain.tld',
        };
      }
      if (format === 'date-time') return timestampError(label, value);
      return { message: `${label} is not a valid ${format}: ${describeValue(value)}` };
    }
    case 'pattern':
      if (label === 'org id') {
        const candidate =
          typeof value === 'string' ? stripInvisible(value).trim().toLowerCase().replace(/\.+$/, '') : '';
        const fixable = ORG_ID.test(candidate) && candidate.length <= 253;
        return {
          message: `org id must be a lower-case DNS name, not ${describeValue(value)}`,
          ...(fixable && candidate !== value
            ? { hint: `did you mean ${quote(candidate)}?` }
            : { hint: 'e.g. acme.example: letters a-z, digits and hyphens, labels joined by dots' }),
        };
      }
      if (label === 'timestamp') return timestampError(label, value);
      return { message: `${label} has a form that is not allowed: ${describeValue(value)}` };
    case 'minLength':
      return { message: `${label} must not be empty` };
    case 'maxLength': {
      const limit = Number((err.params as { limit: number }).limit);
      return {
        message: `${label} is longer than ${limit} characters`,
        hint:
          label === 'org id' ? 'a DNS name has at most 253 characters' : `shorten it to ${limit} characters`,
      };
    }
    default:
      // Never ajv's own English ("must NOT have ..."): a generic message in the house style.
      return { message: `${label} is not allowed here: ${describeValue(value)}` };
  }
}

/** The org id pattern of the schema (`$defs.orgId`), for suggesting a fixed id. */
const ORG_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A plain shape check, only to decide whether a cleaned-up email is worth suggesting. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Words YAML 1.1 read as booleans; YAML 1.2 core keeps them as strings. */
const YAML11_BOOLEANS = /^(y|yes|n|no|on|off|true|false)$/i;

function constError(label: string, expected: string, value: unknown): { message: string; hint?: string } {
  const message = `${label} must be ${expected}, not ${describeValue(value)}`;
  if (typeof value !== 'string') return { message };
  const clean = stripInvisible(value).trim();
  if (clean === expected)
    return { message, hint: `write ${expected} without the invisible characters or spaces` };
  if (clean.toLowerCase() === expected.toLowerCase())
    return { message, hint: `write ${expected} (the case matters)` };
  if (label === '`apiVersion`' && /^appwarden\//i.test(clean)) {
    return { message, hint: `this version of appwarden reads ${expected} only` };
  }
  if (label === '`kind`' && ['OrgPolicy', 'PolicyHistory'].includes(clean)) {
    return {
      message,
      hint: clean === 'PolicyHistory' ? 'history files go in history/' : 'org policy files go in orgs/',
    };
  }
  const suggestion = didYouMean(value, [expected]);
  return suggestion ? { message, hint: `did you mean "${suggestion}"?` } : { message };
}

function enumError(
  label: string,
  allowedValues: readonly unknown[],
  value: unknown,
): { message: string; hint?: string } {
  const allowed = allowedValues.map(String);
  // `30 days`, `30 Days`, `30D`: the number of days written another way.
  const days = typeof value === 'string' ? /^\s*(\d+)\s*(d|days?)\s*$/i.exec(stripInvisible(value)) : null;
  const asDays = days && allowed.includes(`${Number(days[1])}d`) ? `${Number(days[1])}d` : undefined;
  const suggestion =
    asDays ??
    (typeof value === 'string' || typeof value === 'number' ? didYouMean(String(value), allowed) : undefined);
  const hint = suggestion
    ? `did you mean "${suggestion}"?`
    : typeof value === 'string' && YAML11_BOOLEANS.test(value)
      ? `${value} is read as the string "${value}", not a boolean; write ${allowed.join(' or ')}`
      : undefined;
  return {
    message: `${label} must be one of ${allowed.join(', ')}, not ${describeValue(value)}`,
    ...(hint ? { hint } : {}),
  };
}

function timestampError(label: string, value: unknown): { message: string; hint: string } {
  // Shaped right but not on the calendar (2026-02-30, 25:00): say so rather than "add a time".
  const shaped = typeof value === 'string' && RFC3339_SHAPE.test(value);
  // A number is most likely epoch seconds (or milliseconds) copied from a log: show it as RFC 3339.
  const epoch =
    typeof value === 'number' && Number.isInteger(value) && value > 0
      ? value >= 1e11 && value < 1e14
        ? Math.floor(value / 1000)
        : value < 1e11
          ? value
          : undefined
      : undefined;
  return {
    message: shaped
      ? `${label} is not a real date and time: ${quote(value as string)}`
      : `${label} must be RFC 3339 with a time and an offset, not ${describeValue(value)}`,
    hint:
      epoch === undefined
        ? 'e.g. 2026-03-01T00:00:00Z'
        : `if ${value} is epoch ${epoch === value ? 'seconds' : 'milliseconds'}, write ${formatRfc3339(epoch)}`,
  };
}

const RFC3339_SHAPE =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$/;

/** Shows a key for a message: `` `expiraton` ``, or `"expi\u200bration"` when it holds invisible characters. */
export function showKey(key: string): string {
  return hasInvisible(key) ? quote(key) : `\`${truncate(key, 40)}\``;
}

/**
 * The closest allowed word if it is close enough to be a typo (invisible characters ignored,
 * case ignored). Distance counts a swap of two neighbouring letters as one edit (`nmae` -> `name`).
 */
export function didYouMean(word: string, allowed: readonly string[]): string | undefined {
  const clean = stripInvisible(word).toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const d = editDistance(clean, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  if (Math.abs(x.length - y.length) > 10) return Math.abs(x.length - y.length);
  let prev2: number[] = [];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i += 1) {
    const cur = [i];
    for (let j = 1; j <= y.length; j += 1) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        d = Math.min(d, (prev2[j - 2] as number) + 1);
      }
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[y.length] as number;
}

/** Where an id was first seen, for "first at line N" hints. */
interface Seen {
  line: number;
  index: number;
}

/**
 * The SPEC §3 checks of one org policy beyond the schema: an app both blocked and approved; an id
 * repeated within `apps.blocked`, `apps.approved` or `service_accounts`; an email repeated within
 * `admins.super_admins` or `admins.admins` (compared lower-cased). Defensive: runs on whatever
 * shape the file has, so these issues come together with the schema's.
 *
 * @returns the issues, empty when none
 */
export function semanticIssues(parsed: ParsedYaml): Issue[] {
  return specIssues(parsed, ['spec']);
}

/**
 * The SPEC §3 checks of {@link semanticIssues} on the spec found at `specPath` of the file: an
 * org policy's `spec`, or a history revision's partial spec (`revisions[2].spec`, SPEC §5).
 *
 * @returns the issues, empty when none
 */
export function specIssues(parsed: ParsedYaml, specPath: readonly PathSegment[]): Issue[] {
  const issues: Issue[] = [];
  let node: unknown = parsed.value;
  for (const seg of specPath) {
    node = Array.isArray(node) ? node[seg as number] : asRecord(node)?.[seg as string];
  }
  const spec = asRecord(node);
  const apps = asRecord(spec?.apps);
  const admins = asRecord(spec?.admins);
  const under = (...rest: PathSegment[]): PathSegment[] => [...specPath, ...rest];

  const uniqueIn = (
    listPath: PathSegment[],
    list: unknown,
    keyOf: (item: unknown) => string | undefined,
    idPath: (i: number) => PathSegment[],
    what: string,
  ): Map<string, Seen> => {
    const seen = new Map<string, Seen>();
    if (!Array.isArray(list)) return seen;
    list.forEach((item, index) => {
      const key = keyOf(item);
      if (key === undefined) return;
      const shown = asRecord(item) ? key : String(item);
      const at = parsed.positionOf(idPath(index));
      const first = seen.get(key);
      if (first) {
        issues.push({
          file: parsed.file,
          ...at,
          path: formatPath(idPath(index)),
          message: `${what} ${quote(shown)} is listed twice in ${formatPath(listPath)}`,
          hint: `first at line ${first.line}; remove one`,
        });
      } else {
        seen.set(key, { line: at.line, index });
      }
    });
    return seen;
  };
  const idOf = (item: unknown): string | undefined => {
    const id = asRecord(item)?.id;
    return typeof id === 'string' ? id : undefined;
  };
  const emailOf = (item: unknown): string | undefined =>
    typeof item === 'string' ? item.toLowerCase() : undefined;

  const blocked = uniqueIn(
    under('apps', 'blocked'),
    apps?.blocked,
    idOf,
    (i) => under('apps', 'blocked', i, 'id'),
    'app',
  );
  const approved = uniqueIn(
    under('apps', 'approved'),
    apps?.approved,
    idOf,
    (i) => under('apps', 'approved', i, 'id'),
    'app',
  );
  uniqueIn(
    under('service_accounts'),
    spec?.service_accounts,
    idOf,
    (i) => under('service_accounts', i, 'id'),
    'service account',
  );
  for (const list of ['super_admins', 'admins'] as const) {
    uniqueIn(under('admins', list), admins?.[list], emailOf, (i) => under('admins', list, i), 'email');
  }
  for (const [id, seen] of approved) {
    const block = blocked.get(id);
    if (!block) continue;
    const path = under('apps', 'approved', seen.index, 'id');
    issues.push({
      file: parsed.file,
      ...parsed.positionOf(path),
      path: formatPath(path),
      message: `app ${quote(id)} is both blocked and approved`,
      hint: `blocked at line ${block.line}; remove it from one list`,
    });
  }
  return issues;
}

/**
 * Validates one parsed org policy file: schema, then SPEC §3 checks. All issues at once.
 *
 * @returns the policy when valid, and the issues (empty when valid)
 */
export function validateOrgPolicy(parsed: ParsedYaml): { policy?: OrgPolicy; issues: Issue[] } {
  const issues = [...schemaIssues(ORG_POLICY_SCHEMA_ID, parsed), ...semanticIssues(parsed)];
  return issues.length === 0 ? { policy: parsed.value as OrgPolicy, issues } : { issues };
}

/**
 * The cross-file check of SPEC §3: two files may not declare the same `metadata.org`. Each file
 * of a clash gets an issue naming the other location(s).
 *
 * @param files parsed org policy files (any shape; those without a string `metadata.org` are skipped)
 */
export function duplicateOrgIssues(files: readonly ParsedYaml[]): Issue[] {
  const byOrg = new Map<string, { file: string; line: number; column: number }[]>();
  for (const parsed of files) {
    const org = asRecord(asRecord(parsed.value)?.metadata)?.org;
    if (typeof org !== 'string') continue;
    const at = { file: parsed.file, ...parsed.positionOf(['metadata', 'org']) };
    byOrg.set(org, [...(byOrg.get(org) ?? []), at]);
  }
  const issues: Issue[] = [];
  for (const [org, places] of byOrg) {
    if (places.length < 2) continue;
    for (const place of places) {
      const others = places.filter((p) => p !== place).map((p) => `${p.file}:${p.line}:${p.column}`);
      issues.push({
        ...place,
        path: 'metadata.org',
        message: `org ${quote(org)} is declared in more than one file`,
        hint: `also in ${others.join(', ')}; keep one file per org`,
      });
    }
  }
  return issues;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A JSON Schema (draft 2020-12) with an `$id`, by which it is compiled once and cached. */
export type IdentifiedSchema = { $id: string } & Record<string, unknown>;

function compiled(schema: IdentifiedSchema): ValidateFunction {
  const ajv = getAjv();
  const known = ajv.getSchema(schema.$id);
  if (known) return known;
  ajv.addSchema(schema);
  return validatorFor(schema.$id);
}

/**
 * Parses and validates one YAML document of any kind against `schema` with the same rules and
 * messages as org policy files: the hardened YAML 1.2 core reader ({@link parseYaml}: duplicate
 * keys, `%YAML` directives, aliases, tags, control characters) and ajv 2020 with every error at
 * file:line:column, the field path, and a did-you-mean for unknown keys. Used for the server's config
 * file (schemas/server-config.schema.json).
 *
 * @param text the file's text
 * @param file the path reported in issues (as the user gave it)
 * @param schema the JSON Schema, with an `$id` (compiled once per `$id`)
 * @param options.emptyAs the value of a file with no document (only comments or nothing); without it an
 *   empty file is an issue
 * @returns the value and the parsed file (positions) when the YAML could be read, and every issue (empty when
 *   valid); problems in the text never throw
 */
export function validateYamlDocument(
  text: string,
  file: string,
  schema: IdentifiedSchema,
  options: { emptyAs?: unknown } = {},
): { value?: unknown; parsed?: ParsedYaml; issues: Issue[] } {
  const result = parseYaml(file, text);
  if (!result.parsed) {
    const empty = result.issues.length === 1 && result.issues[0]?.message === 'file is empty';
    if (empty && 'emptyAs' in options) return { value: options.emptyAs, issues: [] };
    return { issues: result.issues };
  }
  const validate = compiled(schema);
  const issues = validate(result.parsed.value) ? [] : mapAjvErrors(validate.errors ?? [], result.parsed);
  return { value: result.parsed.value, parsed: result.parsed, issues };
}

/**
 * Validates a value that has no source file (e.g. built from environment variables) against `schema`,
 * with the messages of {@link validateYamlDocument}. The issues carry `path` (`server.port`) and no
 * file, line or column.
 *
 * @returns the issues, empty when valid
 */
export function validateValue(value: unknown, schema: IdentifiedSchema): Issue[] {
  const validate = compiled(schema);
  if (validate(value)) return [];
  const nowhere: ParsedYaml = {
    file: '',
    value,
    positionOf: () => ({ line: 0, column: 0 }),
    sourceOf: () => undefined,
    tagOf: () => undefined,
  };
  return mapAjvErrors(validate.errors ?? [], nowhere).map(
    ({ file: _f, line: _l, column: _c, ...rest }) => rest,
  );
}

/** How a field of a JSON body is called in messages: `/app/id` → `app.id`, `/apps/0` → `apps[0]`, `` → `the body`. */
export function pointerLabel(pointer: string): string {
  if (pointer === '' || pointer === '/') return 'the body';
  return pointer
    .split('/')
    .slice(1)
    .map(unescapePointer)
    .reduce((out, seg) => (/^\d+$/.test(seg) ? `${out}[${seg}]` : out ? `${out}.${seg}` : seg), '');
}

/** One ajv error as the JSON-body validators see it, for {@link validateJsonBody}'s `ignore`. */
export interface BodyError {
  /** JSON pointer of the value at fault (for a missing or unknown field: the field's own pointer). */
  path: string;
  keyword: string;
  schemaPath: string;
}

/**
 * Validates a parsed JSON request body against its JSON Schema (schemas/*.schema.json, draft 2020-12, compiled
 * once per `$id` by the ajv the policy files use; `$ref`s into decision-request.schema.json resolve) and says
 * what is wrong in the HTTP API's style (SPEC §4): every problem at once, at most one per field, each `path` a
 * JSON pointer (`/app/id`) and each message naming the field (`app.id must be a non-empty string of at most 256
 * characters`, `unknown field "nmae"; did you mean "name"?`, `app.id is a string: send it quoted …`). Unknown
 * fields come first: they often explain a missing one. Only the shape: checks a schema cannot express
 * (control characters, secret-looking text) are the caller's.
 *
 * @param options.ignore drops the errors it returns true for (e.g. those another validator reports better)
 * @returns the issues, empty when the body matches the schema
 */
export function validateJsonBody(
  value: unknown,
  schema: IdentifiedSchema,
  options: { ignore?: (e: BodyError) => boolean } = {},
): Issue[] {
  const validate = compiled(schema);
  if (validate(value)) return [];
  const unknown: Issue[] = [];
  const others: Issue[] = [];
  const seen = new Set<string>();
  for (const err of validate.errors ?? []) {
    // The branch errors of if/then explain nothing on their own; the `then` branch's errors do.
    if (err.keyword === 'if') continue;
    let path = err.instancePath;
    if (err.keyword === 'additionalProperties')
      path += `/${escapePointer(String((err.params as { additionalProperty: string }).additionalProperty))}`;
    else if (err.keyword === 'required')
      path += `/${escapePointer(String((err.params as { missingProperty: string }).missingProperty))}`;
    if (options.ignore?.({ path, keyword: err.keyword, schemaPath: err.schemaPath })) continue;
    if (seen.has(path)) continue;
    seen.add(path);
    const issue = { path, message: bodyMessage(err, path) };
    (err.keyword === 'additionalProperties' ? unknown : others).push(issue);
  }
  return [...unknown, ...others];
}

const BODY_TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  integer: 'an integer',
  number: 'a number',
  null: 'null',
};

function bodyMessage(err: ErrorObject, path: string): string {
  const label = pointerLabel(path);
  const schema = (err.parentSchema ?? {}) as {
    type?: string;
    minLength?: number;
    maxLength?: number;
    maxItems?: number;
    format?: string;
    enum?: unknown[];
    const?: unknown;
    properties?: Record<string, unknown>;
  };
  const lengths = () =>
    `${label} must be a ${(schema.minLength ?? 0) > 0 ? 'non-empty ' : ''}string of at most ${schema.maxLength} characters`;
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String((err.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(schema.properties ?? {});
      if (allowed.length === 0)
        return `unknown field "${key}": this request takes no body (send none, or {})`;
      const suggestion = didYouMean(key, allowed);
      return suggestion
        ? `unknown field "${key}"; did you mean "${suggestion}"?`
        : `unknown field "${key}"; expected ${allowed.join(', ')}`;
    }
    case 'required':
      return `missing required field "${label}"`;
    case 'maxProperties':
      return `${label} must be empty: this request takes no body (send none, or {})`;
    case 'type': {
      const want = String((err.params as { type: string }).type);
      // Ids above all: a JSON number beyond 2^53 has already lost digits when it is parsed.
      if (want === 'string' && typeof err.data === 'number')
        return `${label} is a string: send it quoted (JSON numbers beyond 2^53 lose digits)`;
      if (want === 'string' && schema.maxLength !== undefined) return lengths();
      if (want === 'string' && schema.format === 'email') return `${label} must be an email address`;
      return `${label} must be ${BODY_TYPE_WORDS[want] ?? want}`;
    }
    case 'minLength':
    case 'maxLength':
      return schema.maxLength !== undefined ? lengths() : `${label} must not be empty`;
    case 'pattern':
    case 'format':
      if (schema.format === 'date-time')
        return `${label} must be an RFC 3339 timestamp with a time and an offset, e.g. 2026-03-01T09:00:00Z`;
      if (schema.format === 'email') return `${label} must be an email address`;
      if (schema.maxLength !== undefined) return lengths();
      return `${label} has a form that is not allowed`;
    case 'enum':
      return `${label} must be one of ${(schema.enum ?? []).map(String).join(', ')}`;
    case 'const':
      return `${label} must be ${JSON.stringify(schema.const)}`;
    case 'maxItems':
      return `${label} must be an array of at most ${schema.maxItems} items`;
    case 'minItems':
      return `${label} must not be empty`;
    default:
      return `${label} is not allowed here`;
  }
}
