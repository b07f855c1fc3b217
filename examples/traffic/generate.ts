// Seeded generator of realistic AuthZEN evaluation requests against the example policy repository:
// a fixed population of people, memberships, tokens and service accounts, and a weighted stream of
// checks (mostly app.use and token.use), reproducible for a seed. Also a CLI writing JSON lines.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { parse } from 'yaml';
import { ACTIONS, type ActionName, type DecisionRequest } from '../../engine/index.ts';
import { APPS, type CatalogApp } from './apps.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** The example policy repository this traffic is written for (`orgs/`, and `history/` which the engine reads too). */
export const EXAMPLE_POLICY_DIR: string = resolve(here, '../policy-repo');
/** Default seed: the same seed always gives the same trace. */
export const DEFAULT_SEED = 20261115;
/** Default evaluation time for offline use: 2026-11-15T12:00:00Z, epoch seconds UTC. */
export const BASE_TIME: number = Date.UTC(2026, 10, 15, 12, 0, 0) / 1000;
/** Default number of requests in a trace. */
export const DEFAULT_COUNT = 10_000;

/** The six actions of SPEC §4 (the engine's list). */
export { ACTIONS, type ActionName };
/** An AuthZEN evaluation request exactly as a platform service sends it (SPEC §4). */
export type EvaluationRequest = DecisionRequest;

/** What the generator needs to know about one org (read from an org policy file, or invented). */
export interface WorldOrg {
  id: string;
  /** False for orgs the server has no policy for (traffic to them answers `org_unknown`). */
  known: boolean;
  /** Declared service accounts (SPEC §3 `service_accounts`). */
  serviceAccounts: { id: string; owner: string; enabled: boolean }[];
  /** Super admins and admins: the people who create service-account tokens. */
  admins: string[];
  /** Share of the population whose home org this is. */
  weight: number;
}

/** Options of {@link generateTraffic}. */
export interface GenerateOptions {
  /** PRNG seed (xoroshiro128+); default {@link DEFAULT_SEED}. */
  seed?: number;
  /** Number of requests; default {@link DEFAULT_COUNT}. */
  count?: number;
  /**
   * The time the requests are meant for, epoch seconds UTC; token and membership ages are counted
   * back from it. Default {@link BASE_TIME} (deterministic); the demo passes the real clock.
   */
  now?: number;
  /** The orgs; default {@link loadWorld} of the example repository. */
  orgs?: WorldOrg[];
}

const DAY = 86_400;
/** Orgs that appear in people's memberships but that the example server has no policy for. */
const UNKNOWN_ORGS: readonly string[] = ['hooli.example', 'piedpiper.example'];
/** Home-org shares of the population, by org id; unlisted known orgs get 10. */
const HOME_WEIGHTS: Readonly<Record<string, number>> = {
  'acme.example': 36,
  'globex.example': 26,
  'initech.example': 18,
  'umbrella.example': 10,
  'hooli.example': 2,
  'piedpiper.example': 1,
};
/** Share of each action in the trace: most checks are an app acting or a token being used. */
const ACTION_WEIGHTS: Readonly<Record<ActionName, number>> = {
  'app.use': 42,
  'token.use': 33,
  'api.use': 10,
  'app.connect': 7,
  'token.create': 4,
  'rule.trigger': 4,
};
const EXTERNAL_SERVICES: readonly string[] = [
  'github-webhooks',
  'pagerduty',
  'stripe-events',
  'jira-automation',
  'zendesk-triggers',
  'typeform-webhooks',
];
// biome-ignore format: a table of names reads better wrapped
const FIRST_NAMES: readonly string[] = [
  'ada', 'alan', 'amara', 'ben', 'carla', 'chen', 'diego', 'elif', 'emma', 'farah', 'felix', 'grace',
  'hana', 'ivan', 'jade', 'jonas', 'kofi', 'lena', 'liam', 'maya', 'mei', 'nadia', 'noah', 'olga',
  'omar', 'priya', 'quinn', 'rosa', 'sam', 'sofia', 'tariq', 'uma', 'victor', 'wen', 'yusuf', 'zoe',
];
// biome-ignore format: a table of names reads better wrapped
const LAST_NAMES: readonly string[] = [
  'abe', 'berg', 'costa', 'dubois', 'eriksen', 'fischer', 'garcia', 'haddad', 'ito', 'jensen', 'kim',
  'lopez', 'mensah', 'novak', 'okafor', 'park', 'rossi', 'silva', 'tanaka', 'ueda', 'vargas', 'weber',
  'xu', 'yilmaz', 'zhou',
];

interface Token {
  id: string;
  createdAt: number;
}
interface Membership {
  org: string;
  role: 'member' | 'guest';
  joinedAt: number;
}
interface Person {
  id: string;
  email: string;
  memberships: Membership[];
  pats: Token[];
}
interface ServiceAccountTokens {
  org: string;
  id: string;
  owner: string;
  enabled: boolean;
  tokens: Token[];
}
interface Population {
  people: Person[];
  /** People by org id (members and guests of that org). */
  byOrg: Map<string, Person[]>;
  guestsByOrg: Map<string, Person[]>;
  serviceAccounts: Map<string, ServiceAccountTokens[]>;
  /** Ids of the service accounts each org declares (the others are unknown to the server). */
  declaredServiceAccounts: Map<string, string[]>;
  admins: Map<string, string[]>;
}

/**
 * Reads the orgs (ids, service accounts, admins) from a policy repository's `orgs/*.yaml` and adds
 * the orgs the population belongs to that the repository does not declare. Reads YAML directly
 * (no validation: the engine's loader is the judge of the files).
 * @param policyDir repository root holding `orgs/` (SPEC §3); default the example repository
 * @throws Error when a file cannot be read or parsed (not an EngineError: this is example tooling)
 */
export function loadWorld(policyDir: string = EXAMPLE_POLICY_DIR): WorldOrg[] {
  const dir = join(policyDir, 'orgs');
  const orgs: WorldOrg[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    const doc = parse(readFileSync(join(dir, file), 'utf8')) as {
      metadata: { org: string };
      spec?: {
        service_accounts?: { id: string; owner: string; enabled?: boolean }[];
        admins?: { super_admins?: string[]; admins?: string[] };
      };
    };
    const id = doc.metadata.org;
    orgs.push({
      id,
      known: true,
      serviceAccounts: (doc.spec?.service_accounts ?? []).map((s) => ({
        id: s.id,
        owner: s.owner,
        enabled: s.enabled ?? true,
      })),
      admins: [...(doc.spec?.admins?.super_admins ?? []), ...(doc.spec?.admins?.admins ?? [])],
      weight: HOME_WEIGHTS[id] ?? 10,
    });
  }
  for (const id of UNKNOWN_ORGS) {
    orgs.push({ id, known: false, serviceAccounts: [], admins: [], weight: HOME_WEIGHTS[id] ?? 1 });
  }
  return orgs;
}

/** Small helpers over one seeded generator; every draw goes through here so a seed fixes the trace. */
class Dice {
  constructor(private readonly rng: RandomGenerator) {}
  int(min: number, max: number): number {
    return uniformInt(this.rng, min, max);
  }
  float(): number {
    return uniformFloat64(this.rng);
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  weighted<T>(items: readonly T[], weight: (t: T) => number): T {
    const total = items.reduce((s, t) => s + weight(t), 0);
    let x = this.float() * total;
    for (const t of items) {
      x -= weight(t);
      if (x < 0) return t;
    }
    return this.pick(items);
  }
  /** A token age in seconds: mostly days to months, a tail of years (tokens people forgot). */
  tokenAge(): number {
    const band = this.float();
    if (band < 0.4) return this.int(1 * DAY, 30 * DAY);
    if (band < 0.7) return this.int(30 * DAY, 180 * DAY);
    if (band < 0.9) return this.int(180 * DAY, 730 * DAY);
    return this.int(730 * DAY, 8 * 365 * DAY);
  }
}

function buildPopulation(dice: Dice, orgs: readonly WorldOrg[], now: number): Population {
  const people: Person[] = [];
  const byOrg = new Map<string, Person[]>(orgs.map((o) => [o.id, []]));
  const guestsByOrg = new Map<string, Person[]>(orgs.map((o) => [o.id, []]));
  const usedEmails = new Set<string>();
  const size = 600;
  for (let i = 0; i < size; i++) {
    const home = dice.weighted(orgs, (o) => o.weight);
    const base = `${dice.pick(FIRST_NAMES)}.${dice.pick(LAST_NAMES)}`;
    let local = base;
    for (let n = 2; usedEmails.has(`${local}@${home.id}`); n++) local = `${base}${n}`;
    usedEmails.add(`${local}@${home.id}`);
    const homeJoined = now - dice.int(20 * DAY, 7 * 365 * DAY);
    const memberships: Membership[] = [{ org: home.id, role: 'member', joinedAt: homeJoined }];
    const extra = dice.weighted([0, 1, 2], (k) => [60, 30, 10][k] ?? 0);
    for (let k = 0; k < extra; k++) {
      const other = dice.weighted(orgs, (o) => o.weight);
      if (memberships.some((m) => m.org === other.id)) continue;
      memberships.push({
        org: other.id,
        role: dice.chance(0.65) ? 'guest' : 'member',
        joinedAt: dice.int(homeJoined, now - DAY),
      });
    }
    const pats: Token[] = [];
    const patCount = dice.weighted([0, 1, 2, 3], (k) => [25, 40, 25, 10][k] ?? 0);
    for (let k = 0; k < patCount; k++) {
      // Nobody holds a token of this platform from before they had an account on it.
      const createdAt = Math.max(now - dice.tokenAge(), homeJoined + dice.int(3600, 30 * DAY));
      pats.push({
        id: `pat-${String(i).padStart(5, '0')}-${k + 1}`,
        createdAt: Math.min(createdAt, now - 60),
      });
    }
    const person: Person = {
      id: `u-${String(i).padStart(5, '0')}`,
      email: `${local}@${home.id}`,
      memberships,
      pats,
    };
    people.push(person);
    for (const m of memberships) {
      byOrg.get(m.org)?.push(person);
      if (m.role === 'guest') guestsByOrg.get(m.org)?.push(person);
    }
  }
  const serviceAccounts = new Map<string, ServiceAccountTokens[]>();
  const declaredServiceAccounts = new Map<string, string[]>();
  const admins = new Map<string, string[]>();
  for (const org of orgs) {
    const accounts: ServiceAccountTokens[] = org.serviceAccounts.map((sa) => ({
      org: org.id,
      id: sa.id,
      owner: sa.owner,
      enabled: sa.enabled,
      tokens: [],
    }));
    declaredServiceAccounts.set(
      org.id,
      org.serviceAccounts.map((sa) => sa.id),
    );
    // Tokens of service accounts nobody declared (deleted from the YAML, or never added).
    for (const ghost of ['jenkins-legacy', 'zap-sync']) {
      accounts.push({ org: org.id, id: ghost, owner: `it-ops@${org.id}`, enabled: true, tokens: [] });
    }
    for (const sa of accounts) {
      const n = dice.int(1, 3);
      for (let k = 0; k < n; k++)
        sa.tokens.push({ id: `sat-${sa.id}-${k + 1}`, createdAt: now - dice.tokenAge() });
    }
    serviceAccounts.set(org.id, accounts);
    admins.set(org.id, org.admins.length > 0 ? org.admins : [`admin@${org.id}`]);
  }
  return { people, byOrg, guestsByOrg, serviceAccounts, declaredServiceAccounts, admins };
}

/** RFC 3339 UTC with second precision, as platform services send timestamps (SPEC §4). */
function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function userSubject(person: Person, m: Membership, withJoin: boolean): EvaluationRequest['subject'] {
  const properties: Record<string, unknown> = {
    email: person.email,
    role: m.role,
    orgs: person.memberships.map((x) => x.org),
  };
  if (withJoin) properties.joined_at = rfc3339(m.joinedAt);
  return { type: 'user', id: person.id, properties };
}

/** Picks a person and one of their memberships, mostly in their home org. */
function pickMember(dice: Dice, pop: Population): [Person, Membership] {
  const person = dice.pick(pop.people);
  const home = person.memberships[0];
  if (home === undefined) throw new Error('person without a home org');
  const m = person.memberships.length > 1 && dice.chance(0.3) ? dice.pick(person.memberships.slice(1)) : home;
  return [person, m];
}

/**
 * Most service-account calls come from enabled, declared accounts; a disabled or undeclared one
 * keeps trying now and then (a forgotten cron job), which is what an admin wants to see.
 */
function pickServiceAccount(dice: Dice, pop: Population, org: string): ServiceAccountTokens {
  const declared = new Set(pop.declaredServiceAccounts.get(org) ?? []);
  const accounts = pop.serviceAccounts.get(org) ?? [];
  return dice.weighted(accounts, (a) => (declared.has(a.id) ? (a.enabled ? 12 : 1.5) : 1));
}

function membershipIn(person: Person, org: string): Membership {
  const m = person.memberships.find((x) => x.org === org);
  if (m === undefined) throw new Error(`${person.id} is not in ${org}`);
  return m;
}

function appResource(app: CatalogApp, withScopes: boolean): EvaluationRequest['resource'] {
  return {
    type: 'app',
    id: app.id,
    properties: withScopes ? { name: app.name, scopes: [...app.scopes] } : { name: app.name },
  };
}

function oneRequest(
  dice: Dice,
  pop: Population,
  knownOrgs: readonly string[],
  now: number,
): EvaluationRequest {
  const action = dice.weighted(ACTIONS, (a) => ACTION_WEIGHTS[a]);
  switch (action) {
    case 'app.connect':
    case 'app.use': {
      const [person, m] = pickMember(dice, pop);
      const app = dice.weighted(APPS, (a) => a.weight);
      return {
        subject: userSubject(person, m, dice.chance(0.5)),
        action: { name: action },
        resource: appResource(app, action === 'app.connect'),
        context: { org: m.org },
      };
    }
    case 'token.use': {
      const [person, m] = pickMember(dice, pop);
      const accounts = pop.serviceAccounts.get(m.org) ?? [];
      const useSa = person.pats.length === 0 || (accounts.length > 0 && dice.chance(0.22));
      if (useSa && accounts.length > 0) {
        const sa = pickServiceAccount(dice, pop, m.org);
        const token = dice.pick(sa.tokens);
        return {
          subject: { type: 'service_account', id: sa.id },
          action: { name: 'token.use' },
          resource: {
            type: 'token',
            id: token.id,
            properties: {
              kind: 'service_account',
              created_at: rfc3339(token.createdAt),
              owner: sa.owner,
              service_account: sa.id,
            },
          },
          context: { org: m.org },
        };
      }
      const token =
        person.pats.length > 0 ? dice.pick(person.pats) : { id: `pat-${person.id}-new`, createdAt: now };
      // A client with a fast clock, or a token minted by a misconfigured issuer.
      const createdAt = dice.chance(0.006) ? now + dice.int(5 * 60, 6 * 3600) : token.createdAt;
      return {
        subject: userSubject(person, m, dice.chance(0.6)),
        action: { name: 'token.use' },
        resource: {
          type: 'token',
          id: token.id,
          properties: { kind: 'personal_access', created_at: rfc3339(createdAt), owner: person.id },
        },
        context: { org: m.org },
      };
    }
    case 'token.create': {
      if (dice.chance(0.15)) {
        const org = dice.pick(knownOrgs);
        const admin = dice.pick(pop.admins.get(org) ?? [`admin@${org}`]);
        const sa = pickServiceAccount(dice, pop, org);
        return {
          subject: {
            type: 'user',
            id: `u-admin-${admin.split('@')[0] ?? 'admin'}`,
            properties: { email: admin, role: 'member', orgs: [org] },
          },
          action: { name: 'token.create' },
          resource: { type: 'token', properties: { kind: 'service_account', service_account: sa.id } },
          context: { org },
        };
      }
      const [person, m] = pickMember(dice, pop);
      return {
        subject: userSubject(person, m, false),
        action: { name: 'token.create' },
        resource: { type: 'token', properties: { kind: 'personal_access' } },
        context: { org: m.org },
      };
    }
    case 'api.use': {
      // Guest API checks mostly concern guests; members pass through the same check.
      let person: Person;
      let m: Membership;
      const org = dice.pick(knownOrgs);
      const guests = pop.guestsByOrg.get(org) ?? [];
      if (guests.length > 0 && dice.chance(0.7)) {
        person = dice.pick(guests);
        m = membershipIn(person, org);
      } else {
        [person, m] = pickMember(dice, pop);
      }
      return {
        subject: userSubject(person, m, false),
        action: { name: 'api.use' },
        resource: { type: 'api' },
        context: { org: m.org, via: dice.chance(0.6) ? 'app' : 'personal_access_token' },
      };
    }
    case 'rule.trigger': {
      const org = dice.chance(0.97) ? dice.pick(knownOrgs) : dice.pick(UNKNOWN_ORGS);
      return {
        subject: { type: 'external_service', id: dice.pick(EXTERNAL_SERVICES) },
        action: { name: 'rule.trigger' },
        resource: { type: 'rule', id: `rule-${org.split('.')[0] ?? org}-${dice.int(1, 40)}` },
        context: { org },
      };
    }
  }
}

/**
 * Generates a realistic trace of AuthZEN evaluation requests (SPEC §4 shapes), the same for the
 * same options: all six actions weighted like production traffic (mostly `app.use` and
 * `token.use`), members and guests of several orgs (people belong to 1-3 orgs, so blocks follow
 * them across orgs), PATs and service-account tokens from days to years old, a few requests for
 * unknown orgs, undeclared service accounts and tokens created in the future.
 * Timestamps in the requests are RFC 3339 UTC, counted back from `now` (epoch seconds).
 * @throws Error when the example repository cannot be read (only without `orgs`)
 */
export function generateTraffic(options: GenerateOptions = {}): EvaluationRequest[] {
  const seed = options.seed ?? DEFAULT_SEED;
  const count = options.count ?? DEFAULT_COUNT;
  const now = Math.floor(options.now ?? BASE_TIME);
  const orgs = options.orgs ?? loadWorld();
  const dice = new Dice(xoroshiro128plus(seed));
  const pop = buildPopulation(dice, orgs, now);
  const knownOrgs = orgs.filter((o) => o.known).map((o) => o.id);
  if (knownOrgs.length === 0) throw new Error('no known org to send traffic to');
  const out: EvaluationRequest[] = [];
  for (let i = 0; i < count; i++) out.push(oneRequest(dice, pop, knownOrgs, now));
  return out;
}

/** Serializes a trace as JSON lines (one request per line, newline-terminated). */
export function toJsonLines(requests: readonly EvaluationRequest[]): string {
  return requests.map((r) => JSON.stringify(r)).join('\n') + (requests.length > 0 ? '\n' : '');
}

/** Reads a JSON-lines trace written by {@link toJsonLines}. */
export function readJsonLines(file: string): EvaluationRequest[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EvaluationRequest);
}

function cli(argv: string[]): number {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--help' || a === '-h') {
      console.log(
        'usage: tsx examples/traffic/generate.ts [--seed N] [--count N] [--now ISO|real] [--out var/traffic/trace.jsonl]',
      );
      return 0;
    }
    if (a.startsWith('--')) args.set(a.slice(2), argv[++i] ?? '');
  }
  const nowArg = args.get('now');
  const now =
    nowArg === undefined ? BASE_TIME : nowArg === 'real' ? Date.now() / 1000 : Date.parse(nowArg) / 1000;
  if (!Number.isFinite(now)) {
    console.error(`--now must be an RFC 3339 time or "real", got ${JSON.stringify(nowArg)}`);
    return 2;
  }
  const out = resolve(args.get('out') ?? join(here, '../../var/traffic/trace.jsonl'));
  const requests = generateTraffic({
    seed: Number(args.get('seed') ?? DEFAULT_SEED),
    count: Number(args.get('count') ?? DEFAULT_COUNT),
    now,
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, toJsonLines(requests));
  const perAction = new Map<string, number>();
  for (const r of requests) perAction.set(r.action.name, (perAction.get(r.action.name) ?? 0) + 1);
  console.log(`wrote ${requests.length} requests for ${rfc3339(Math.floor(now))} to ${out}`);
  for (const [a, n] of [...perAction].sort((x, y) => y[1] - x[1])) console.log(`  ${a.padEnd(13)} ${n}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = cli(process.argv.slice(2));
}
