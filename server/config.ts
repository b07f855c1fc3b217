// Server configuration: defaults < appwarden.config.yaml (schemas/server-config.schema.json) < APPWARDEN_* env
// variables < CLI flags, with where each value came from, secrets masked for printing, and the loopback rule.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import {
  DEFAULT_STORE_PATH,
  didYouMean,
  EngineError,
  type IdentifiedSchema,
  type Issue,
  type ParsedYaml,
  validateValue,
  validateYamlDocument,
} from '../engine/index.ts';
import configSchema from '../schemas/server-config.schema.json' with { type: 'json' };

/** The decision server's settings (README "Configuration"; the file's keys in snake_case). */
export interface ServerConfig {
  /** Interface to bind; auth may be off only on a loopback host. */
  host: string;
  /** TCP port. */
  port: number;
  /** SHA-256 hex digests (lower-case) of the accepted bearer tokens; empty means auth is off. */
  tokenSha256: string[];
  /**
   * Admin API callers (SPEC §1): each bearer token's SHA-256 hex digest and the email it stands for; the
   * org's `admins` lists give the role. Empty: the admin API answers 401 (it is never open).
   */
  adminTokens: AdminToken[];
  /** Largest accepted request body in bytes (SPEC §4: over the limit → 413). */
  maxBodyBytes: number;
  /** Most items accepted in one `/access/v1/evaluations` request. */
  maxBatchItems: number;
  /** Quiet time after the last file event before a reload, in milliseconds. */
  reloadDebounceMs: number;
  /** pino level of the server's log (`info` by default; `debug` adds one line per request). */
  logLevel: LogLevel;
  /**
   * Base URL that links in emails point at (the admin API / UI), without a trailing slash, e.g.
   * `https://appwarden.example.com`. Default `http://127.0.0.1:8181`.
   */
  publicUrl: string;
  /** Outgoing email (SPEC §6 notification outbox). */
  smtp: SmtpConfig;
  /** The notification worker (SPEC §6 "retried until delivered"). */
  notifications: NotificationsConfig;
  /** The policy source `appwarden serve` loads when no `--policy` / `--bundle` flag is given. */
  policy: PolicySourceConfig;
  /** The SQLite store `appwarden serve` opens (`--store`, `--store-sync` win). */
  store: StoreConfig;
  /** Longest wait for in-flight requests on SIGTERM / SIGINT before every connection is closed, ms. Default 10,000. */
  shutdownGraceMs: number;
}

/** pino's levels. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * SMTP settings. With neither `url` nor `host` set, emails are written as `.eml` files into
 * {@link NotificationsConfig.outboxDir} instead of being sent (so `npm start` needs no mail server).
 */
export interface SmtpConfig {
  /**
   * `smtp://user@host:587` or `smtps://…:465`; when set, wins over host/port/secure. Credentials missing from
   * the URL come from `user` / `password` (the password best from `APPWARDEN_SMTP_PASSWORD`).
   */
  url: string | null;
  host: string | null;
  /** Default 587 (465 when `secure`). */
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  user: string | null;
  /** Never logged nor printed: `config print` masks it. */
  password: string | null;
  /** The From address, e.g. `appwarden <appwarden@example.com>`. */
  from: string;
}

/** How the outbox worker sends (SPEC §6). */
export interface NotificationsConfig {
  /** Where the file transport writes `.eml` files when no SMTP server is configured. Default `var/outbox`. */
  outboxDir: string;
  /** Attempts before a message goes to the dead-letter state. Default 8. */
  maxAttempts: number;
  /** Delay before the first retry, seconds; doubled each attempt (with jitter), capped at one hour. Default 30. */
  retryBaseSeconds: number;
  /** How often the worker looks for due messages, milliseconds. Default 1,000. */
  pollMs: number;
}

/** Where the policy comes from: a repository directory or a bundle file; at most one is set. */
export interface PolicySourceConfig {
  /** Policy repository directory (watched, hot-reloaded), or null. */
  dir: string | null;
  /** Bundle file built by `appwarden build` (watched), or null. */
  bundle: string | null;
}

/** The store of `appwarden serve`. */
export interface StoreConfig {
  /** SQLite file (created with its directory), or `:memory:`. Default `var/appwarden.db`. */
  path: string;
  /** `full`: every commit fsynced (survives power loss); `normal`: survives a process crash only. Default `full`. */
  sync: 'full' | 'normal';
}

/** One admin API caller: who (an email, lower-cased) and the SHA-256 hex digest of their token (never the token). */
export interface AdminToken {
  email: string;
  tokenSha256: string;
}

/** The default shutdown grace period, milliseconds. */
export const DEFAULT_GRACE_MS = 10_000;

/**
 * The defaults: loopback on 8181, no tokens, 64 KiB bodies, 100 batch items, 200 ms debounce, log level
 * info, emails as files in var/outbox, no policy source, store var/appwarden.db synced fully, 10 s grace.
 */
export const defaultConfig: Readonly<ServerConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 8181,
  tokenSha256: [],
  adminTokens: [],
  maxBodyBytes: 64 * 1024,
  maxBatchItems: 100,
  reloadDebounceMs: 200,
  logLevel: 'info',
  publicUrl: 'http://127.0.0.1:8181',
  smtp: Object.freeze({
    url: null,
    host: null,
    port: 587,
    secure: false,
    user: null,
    password: null,
    from: 'appwarden <appwarden@localhost>',
  }),
  notifications: Object.freeze({
    outboxDir: 'var/outbox',
    maxAttempts: 8,
    retryBaseSeconds: 30,
    pollMs: 1000,
  }),
  policy: Object.freeze({ dir: null, bundle: null }),
  store: Object.freeze({ path: DEFAULT_STORE_PATH, sync: 'full' as const }),
  shutdownGraceMs: DEFAULT_GRACE_MS,
});

/** The config file's JSON Schema (schemas/server-config.schema.json). */
export const SERVER_CONFIG_SCHEMA = configSchema as unknown as IdentifiedSchema;

/** How a key's value is read from an environment variable. */
type Kind = 'string' | 'nullable' | 'integer' | 'boolean' | 'digests' | 'admins';

/** One key of the file: where it lives in {@link ServerConfig}, how env spells it, whether it is a path or a secret. */
interface Setting {
  /** `server.port`. */
  key: string;
  kind: Kind;
  get(c: ServerConfig): unknown;
  set(c: ServerConfig, v: unknown): void;
  /** A file system path: relative values in the file are relative to the file's directory. */
  path?: true;
  /** Masked by `config print`; never quoted in a message. */
  secret?: true;
  /** CLI flag that wins over it. */
  flag?: string;
}

/** Every key of the config file, in the schema's order. */
const SETTINGS: readonly Setting[] = [
  {
    key: 'server.host',
    kind: 'string',
    get: (c) => c.host,
    set: (c, v) => {
      c.host = v as string;
    },
    flag: '--host',
  },
  {
    key: 'server.port',
    kind: 'integer',
    get: (c) => c.port,
    set: (c, v) => {
      c.port = v as number;
    },
    flag: '--port',
  },
  {
    key: 'server.public_url',
    kind: 'string',
    get: (c) => c.publicUrl,
    set: (c, v) => {
      c.publicUrl = v as string;
    },
  },
  {
    key: 'policy.dir',
    kind: 'nullable',
    get: (c) => c.policy.dir,
    set: (c, v) => {
      c.policy.dir = v as string;
    },
    path: true,
    flag: '--policy',
  },
  {
    key: 'policy.bundle',
    kind: 'nullable',
    get: (c) => c.policy.bundle,
    set: (c, v) => {
      c.policy.bundle = v as string;
    },
    path: true,
    flag: '--bundle',
  },
  {
    key: 'store.path',
    kind: 'string',
    get: (c) => c.store.path,
    set: (c, v) => {
      c.store.path = v as string;
    },
    path: true,
    flag: '--store',
  },
  {
    key: 'store.sync',
    kind: 'string',
    get: (c) => c.store.sync,
    set: (c, v) => {
      c.store.sync = v as 'full' | 'normal';
    },
    flag: '--store-sync',
  },
  {
    key: 'auth.token_sha256',
    kind: 'digests',
    get: (c) => c.tokenSha256,
    set: (c, v) => void c.tokenSha256.push(...(v as string[]).map((h) => h.toLowerCase())),
  },
  {
    key: 'auth.admin_tokens',
    kind: 'admins',
    get: (c) => c.adminTokens.map((a) => ({ email: a.email, token_sha256: a.tokenSha256 })),
    set: (c, v) => {
      for (const a of v as { email: string; token_sha256: string }[]) {
        c.adminTokens.push({ email: a.email.toLowerCase(), tokenSha256: a.token_sha256.toLowerCase() });
      }
    },
  },
  {
    key: 'limits.max_body_bytes',
    kind: 'integer',
    get: (c) => c.maxBodyBytes,
    set: (c, v) => {
      c.maxBodyBytes = v as number;
    },
  },
  {
    key: 'limits.max_batch_items',
    kind: 'integer',
    get: (c) => c.maxBatchItems,
    set: (c, v) => {
      c.maxBatchItems = v as number;
    },
  },
  {
    key: 'reload.debounce_ms',
    kind: 'integer',
    get: (c) => c.reloadDebounceMs,
    set: (c, v) => {
      c.reloadDebounceMs = v as number;
    },
  },
  {
    key: 'log.level',
    kind: 'string',
    get: (c) => c.logLevel,
    set: (c, v) => {
      c.logLevel = v as LogLevel;
    },
  },
  {
    key: 'smtp.url',
    kind: 'nullable',
    get: (c) => c.smtp.url,
    set: (c, v) => {
      c.smtp.url = v as string | null;
    },
    secret: true,
  },
  {
    key: 'smtp.host',
    kind: 'nullable',
    get: (c) => c.smtp.host,
    set: (c, v) => {
      c.smtp.host = v as string | null;
    },
  },
  {
    key: 'smtp.port',
    kind: 'integer',
    get: (c) => c.smtp.port,
    set: (c, v) => {
      c.smtp.port = v as number;
    },
  },
  {
    key: 'smtp.secure',
    kind: 'boolean',
    get: (c) => c.smtp.secure,
    set: (c, v) => {
      c.smtp.secure = v as boolean;
    },
  },
  {
    key: 'smtp.user',
    kind: 'nullable',
    get: (c) => c.smtp.user,
    set: (c, v) => {
      c.smtp.user = v as string | null;
    },
  },
  {
    key: 'smtp.password',
    kind: 'nullable',
    get: (c) => c.smtp.password,
    set: (c, v) => {
      c.smtp.password = v as string | null;
    },
    secret: true,
  },
  {
    key: 'smtp.from',
    kind: 'string',
    get: (c) => c.smtp.from,
    set: (c, v) => {
      c.smtp.from = v as string;
    },
  },
  {
    key: 'notifications.outbox_dir',
    kind: 'string',
    get: (c) => c.notifications.outboxDir,
    set: (c, v) => {
      c.notifications.outboxDir = v as string;
    },
    path: true,
  },
  {
    key: 'notifications.max_attempts',
    kind: 'integer',
    get: (c) => c.notifications.maxAttempts,
    set: (c, v) => {
      c.notifications.maxAttempts = v as number;
    },
  },
  {
    key: 'notifications.retry_base_seconds',
    kind: 'integer',
    get: (c) => c.notifications.retryBaseSeconds,
    set: (c, v) => {
      c.notifications.retryBaseSeconds = v as number;
    },
  },
  {
    key: 'notifications.poll_ms',
    kind: 'integer',
    get: (c) => c.notifications.pollMs,
    set: (c, v) => {
      c.notifications.pollMs = v as number;
    },
  },
  {
    key: 'shutdown.grace_ms',
    kind: 'integer',
    get: (c) => c.shutdownGraceMs,
    set: (c, v) => {
      c.shutdownGraceMs = v as number;
    },
  },
];

/** The environment variable of a key: `server.public_url` → `APPWARDEN_SERVER_PUBLIC_URL`. */
export function envName(key: string): string {
  return `APPWARDEN_${key.replace('.', '_').toUpperCase()}`;
}

/** Older variable names that still work, and the key each sets (README "Configuration"). */
export const ENV_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  APPWARDEN_TOKEN_SHA256: 'auth.token_sha256',
  APPWARDEN_ADMIN_TOKENS: 'auth.admin_tokens',
});

/** `APPWARDEN_*` variables that are not config keys (the operator CLI's admin token), never reported as typos. */
const OTHER_ENV = new Set(['APPWARDEN_ADMIN_TOKEN']);

/** Every config key with its environment variable, CLI flag, and whether it is a path or a secret. */
export const CONFIG_KEYS: readonly {
  key: string;
  env: string;
  flag?: string;
  secret: boolean;
  path: boolean;
}[] = SETTINGS.map((s) => ({
  key: s.key,
  env: envName(s.key),
  ...(s.flag ? { flag: s.flag } : {}),
  secret: s.secret === true,
  path: s.path === true,
}));

/** Values given on the command line; they win over the environment and the file. */
export interface ConfigFlags {
  host?: string;
  port?: number;
  /** `--policy`: replaces the whole policy source (a `policy.bundle` of the file or env is dropped). */
  policyDir?: string;
  /** `--bundle`: replaces the whole policy source. */
  bundle?: string;
  store?: string;
  storeSync?: 'full' | 'normal';
}

/** The merged configuration and where each value came from. */
export interface ResolvedConfig {
  config: ServerConfig;
  /**
   * Where each key's value came from, by file key (`server.port`): `default`, `file <path>:<line>:<col>`,
   * `env APPWARDEN_SERVER_PORT`, `flag --port`; lists that add up name every source joined by ` + `.
   */
  sources: Record<string, string>;
  /** Things that work but should change (a secret in the file, an unknown APPWARDEN_* variable). */
  warnings: Issue[];
}

const MASK = '********';

/**
 * Builds the server configuration: defaults < the YAML config file (validated against
 * schemas/server-config.schema.json with the org-policy reader and messages) < environment variables
 * (`APPWARDEN_<SECTION>_<KEY>`; the aliases {@link ENV_ALIASES}; empty values count as unset; the token lists
 * `auth.token_sha256` / `auth.admin_tokens` add up across file and env instead of replacing) < CLI flags.
 * Relative paths from the file are resolved against the file's directory; from env and flags against the
 * working directory.
 *
 * @param options.file the config file, or none
 * @param options.env the environment (default `process.env`)
 * @param options.flags the CLI flags
 * @returns the config, the source of every key, and warnings
 * @throws EngineError `invalid_config` listing every problem (file ones at file:line:col, env ones naming the
 *   variable); `io_error` when the file cannot be read
 */
export function resolveConfig(
  options: { file?: string; env?: NodeJS.ProcessEnv; flags?: ConfigFlags } = {},
): ResolvedConfig {
  const { file, env = process.env, flags = {} } = options;
  const config = freshDefaults();
  const sources: Record<string, string> = Object.fromEntries(SETTINGS.map((s) => [s.key, 'default']));
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const listSources = new Map<string, string[]>();
  const addSource = (key: string, source: string, list: boolean): void => {
    if (!list) {
      sources[key] = source;
      return;
    }
    const all = [...(listSources.get(key) ?? []), source];
    listSources.set(key, all);
    sources[key] = all.join(' + ');
  };

  // 1. The file.
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new EngineError('io_error', `cannot read config file ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const checked = validateYamlDocument(text, file, SERVER_CONFIG_SCHEMA, { emptyAs: {} });
    issues.push(...checked.issues.map(cleanIssue));
    const doc = asRecord(checked.value);
    // The cross-key checks run on whatever shape the file has, so their issues come with the schema's.
    if (doc) issues.push(...fileChecks(doc, file, checked.parsed));
    if (doc && checked.issues.length === 0) {
      const base = dirname(resolve(file));
      for (const s of SETTINGS) {
        const [section, key] = s.key.split('.') as [string, string];
        const body = asRecord(doc[section]);
        if (!body || !(key in body)) continue;
        let value = body[key];
        if (s.path && typeof value === 'string' && value !== ':memory:') value = resolve(base, value);
        s.set(config, value);
        const at = checked.parsed?.positionOf([section, key], 'key');
        addSource(s.key, `file ${file}${at ? `:${at.line}:${at.column}` : ''}`, isList(s));
      }
      for (const s of SETTINGS.filter((x) => x.secret)) {
        const [section, key] = s.key.split('.') as [string, string];
        const value = asRecord(doc[section])?.[key];
        if (typeof value === 'string' && (s.key === 'smtp.password' || urlPassword(value) !== null)) {
          const at = checked.parsed?.positionOf([section, key], 'key');
          warnings.push({
            file,
            ...(at ?? {}),
            path: s.key,
            message: `${s.key} holds a secret in the config file`,
            hint: `set it in the environment instead (${envName(s.key)}), from your secret manager`,
          });
        }
      }
    }
  }

  // 2. The environment.
  const fromEnv = readEnv(env, issues, warnings);
  for (const { setting, value, variable } of fromEnv) {
    setting.set(config, value);
    addSource(setting.key, `env ${variable}`, isList(setting));
  }
  if (fromEnv.some((e) => e.setting.key === 'policy.dir' || e.setting.key === 'policy.bundle')) {
    // The environment names the policy source: one given there replaces the file's whole source.
    for (const key of ['policy.dir', 'policy.bundle'] as const) {
      if (!fromEnv.some((e) => e.setting.key === key) && sources[key] !== 'default') {
        setting(key).set(config, null);
        sources[key] = 'default';
      }
    }
  }

  // 3. The flags.
  const flagged: [string, unknown][] = [
    ['server.host', flags.host],
    ['server.port', flags.port],
    ['store.path', flags.store],
    ['store.sync', flags.storeSync],
  ];
  if (flags.policyDir !== undefined || flags.bundle !== undefined) {
    flagged.push(['policy.dir', flags.policyDir ?? null], ['policy.bundle', flags.bundle ?? null]);
  }
  for (const [key, value] of flagged) {
    if (value === undefined) continue;
    const s = setting(key);
    s.set(config, value);
    sources[key] = value === null ? 'default' : `flag ${s.flag}`;
  }

  // Checks across keys.
  const reported = issues.some((i) => i.path === 'policy.bundle');
  if (config.policy.dir !== null && config.policy.bundle !== null && !reported) {
    issues.push({
      path: 'policy',
      message: `both policy.dir (${sources['policy.dir']}) and policy.bundle (${sources['policy.bundle']}) are set`,
      hint: 'give one policy source',
    });
  }
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    issues.push({
      path: 'server.port',
      message: `port must be an integer from 0 to 65535, not ${config.port}`,
    });
  }
  issues.push(...smtpChecks(config.smtp));
  // Links in emails point at this server unless told otherwise: follow the port it really listens on.
  if (sources['server.public_url'] === 'default' && config.port !== 0) {
    const host = isLoopbackHost(config.host) ? '127.0.0.1' : config.host;
    config.publicUrl = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${config.port}`;
  }
  if (issues.length > 0) throw new EngineError('invalid_config', issues);
  config.tokenSha256 = [...new Set(config.tokenSha256)];
  const seen = new Map<string, string>();
  const deduped: AdminToken[] = [];
  for (const a of config.adminTokens) {
    const other = seen.get(a.tokenSha256);
    if (other !== undefined && other !== a.email) {
      issues.push({
        path: 'auth.admin_tokens',
        message: `one token digest stands for both ${other} and ${a.email}; give each admin their own token`,
      });
    }
    if (other === undefined) deduped.push(a);
    seen.set(a.tokenSha256, a.email);
  }
  config.adminTokens = deduped;
  for (const a of config.adminTokens.filter((x) => config.tokenSha256.includes(x.tokenSha256))) {
    issues.push({
      path: 'auth.admin_tokens',
      message: `the admin token of ${a.email} is also a decision-API token; admin and decision tokens must differ`,
    });
  }
  if (issues.length > 0) throw new EngineError('invalid_config', issues);
  return { config, sources, warnings };
}

// Deliberately loose, like the admin token emails: one address, optionally with a display name.
const FROM_ADDRESS = /^(?:[^<>]*<\s*)?[^\s@<>,;]+@[^\s@<>,;]+\s*>?$/;

/**
 * What `serve` would refuse about the SMTP settings, said by `config check` as well (values never echoed:
 * a URL may hold a password): a URL that does not parse or is not smtp(s)://, a password without a user to
 * log in as, a From without an address.
 */
function smtpChecks(smtp: SmtpConfig): Issue[] {
  const out: Issue[] = [];
  let urlUser = '';
  if (smtp.url !== null) {
    let u: URL | null = null;
    try {
      u = new URL(smtp.url);
    } catch {
      // reported below
    }
    let malformed = false;
    try {
      if (u) decodeURIComponent(`${u.username}${u.password}`);
    } catch {
      malformed = true;
    }
    if (u && u.search !== '') {
      out.push({ path: 'smtp.url', message: 'smtp.url takes no query parameters; use the smtp.* settings' });
    } else if (!u || malformed || (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || u.hostname === '') {
      out.push({
        path: 'smtp.url',
        message:
          'smtp.url is not an smtp:// or smtps:// URL with a host (its value is not shown: it may hold a password)',
        hint: 'e.g. smtps://mailer@mail.example.com:465; percent-encode # / ? @ % in a user or password, or set the password in APPWARDEN_SMTP_PASSWORD',
      });
    } else urlUser = u.username;
  }
  const urlPassword = smtp.url !== null && URL.canParse(smtp.url) ? new URL(smtp.url).password : '';
  if ((smtp.password || urlPassword) && !smtp.user && urlUser === '') {
    out.push({
      path: 'smtp.user',
      message: 'an SMTP password is set but no user to log in as',
      hint: 'set smtp.user (APPWARDEN_SMTP_USER) or put the user in smtp.url (smtp://user@host:587)',
    });
  }
  if (!FROM_ADDRESS.test(smtp.from.trim())) {
    out.push({
      path: 'smtp.from',
      message: `smtp.from must be an address, optionally with a name: "appwarden <appwarden@example.com>", not ${JSON.stringify(smtp.from)}`,
    });
  }
  return out;
}

/**
 * The configuration of {@link resolveConfig} without its sources (kept for callers of the first API).
 * @param overrides CLI flags, which win over everything
 * @throws EngineError `invalid_config` listing every problem; `io_error` when the file cannot be read.
 */
export function loadConfig(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: ConfigFlags = {},
): ServerConfig {
  return resolveConfig({ ...(file !== undefined ? { file } : {}), env, flags: overrides }).config;
}

/** The options of `appwarden serve` that configure it (commander's names). */
export interface ServeFlags {
  policy?: string;
  bundle?: string;
  port?: number;
  host?: string;
  /** The config file. */
  config?: string;
  store?: string;
  storeSync?: 'full' | 'normal';
}

/**
 * What `appwarden serve` runs with: {@link resolveConfig} of `--config`, the environment and the flags, and the
 * policy source (`--policy` / `--bundle`, else `policy.dir` / `policy.bundle` of env or file), which must exist.
 *
 * @returns the resolved config and `source`, the directory or bundle path to load and watch
 * @throws EngineError `invalid_config` for an invalid config, no policy source, or one that does not exist;
 *   `io_error` when the config file cannot be read
 */
export function resolveServe(
  opts: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConfig & { source: string } {
  const flags: ConfigFlags = {
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.policy !== undefined ? { policyDir: opts.policy } : {}),
    ...(opts.bundle !== undefined ? { bundle: opts.bundle } : {}),
    ...(opts.store !== undefined ? { store: opts.store } : {}),
    ...(opts.storeSync !== undefined ? { storeSync: opts.storeSync } : {}),
  };
  const resolved = resolveConfig({ ...(opts.config !== undefined ? { file: opts.config } : {}), env, flags });
  const { dir, bundle } = resolved.config.policy;
  const source = dir ?? bundle;
  if (source === null) {
    throw new EngineError('invalid_config', [
      {
        path: 'policy',
        message: 'no policy source: give --policy <dir> or --bundle <file>',
        hint: 'or set policy.dir / policy.bundle in --config, or APPWARDEN_POLICY_DIR / APPWARDEN_POLICY_BUNDLE',
      },
    ]);
  }
  const key = dir !== null ? 'policy.dir' : 'policy.bundle';
  if (!existsSync(source)) {
    const from = resolved.sources[key] ?? '';
    const label = from.startsWith('flag ') ? from.slice('flag '.length) : `${key} (${from})`;
    throw new EngineError('invalid_config', `${label} ${source} does not exist`);
  }
  return { ...resolved, source };
}

/**
 * The configuration in the file's shape (snake_case sections), every key present, secrets masked as
 * `********` (an SMTP URL keeps all but its password). What `appwarden config print --effective` shows.
 */
export function effectiveDocument(config: ServerConfig): Record<string, Record<string, unknown>> {
  const doc: Record<string, Record<string, unknown>> = {};
  for (const s of SETTINGS) {
    const [section, key] = s.key.split('.') as [string, string];
    doc[section] ??= {};
    doc[section][key] = s.secret ? maskSecret(s.key, s.get(config)) : s.get(config);
  }
  return doc;
}

/** A secret for display: the password `********`, an SMTP URL with its password replaced; null stays null. */
export function maskSecret(key: string, value: unknown): unknown {
  if (value === null || value === undefined || value === '') return value ?? null;
  if (key === 'smtp.url' && typeof value === 'string') {
    try {
      const url = new URL(value);
      if (url.password === '') return value;
      url.password = MASK;
      return url.toString().replace(encodeURIComponent(MASK), MASK);
    } catch {
      return MASK;
    }
  }
  return MASK;
}

/** True for hosts that only this machine can reach: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || h === '0:0:0:0:0:0:0:1';
  return false;
}

function freshDefaults(): ServerConfig {
  return {
    ...defaultConfig,
    tokenSha256: [],
    adminTokens: [],
    smtp: { ...defaultConfig.smtp },
    notifications: { ...defaultConfig.notifications },
    policy: { ...defaultConfig.policy },
    store: { ...defaultConfig.store },
  };
}

function setting(key: string): Setting {
  const s = SETTINGS.find((x) => x.key === key);
  if (!s) throw new Error(`no config key ${key}`);
  return s;
}

function isList(s: Setting): boolean {
  return s.kind === 'digests' || s.kind === 'admins';
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function urlPassword(value: string): string | null {
  try {
    return new URL(value).password || null;
  } catch {
    return null;
  }
}

const DIGEST_MESSAGE = 'must be a SHA-256 hex digest (64 hex digits), not a token';
const DIGEST_HINT = 'hash the token: printf %s "$TOKEN" | sha256sum';

/**
 * Rewrites schema messages that would quote a secret or say too little: a token where a digest belongs is
 * never echoed, nor an SMTP password or URL.
 */
function cleanIssue(issue: Issue): Issue {
  const path = issue.path ?? '';
  if (/^unknown key|^missing required/.test(issue.message)) return issue;
  if (/(^|\.)token_sha256(\[\d+\])?$/.test(path))
    return { ...issue, message: `token_sha256 ${DIGEST_MESSAGE}`, hint: DIGEST_HINT };
  if (/^auth\.admin_tokens\[\d+\]\.email$/.test(path)) {
    return { ...issue, message: 'the email must be an email address (the admin the token stands for)' };
  }
  if (path === 'smtp.password') {
    const { hint: _h, ...rest } = issue;
    return { ...rest, message: 'smtp.password must be a string (its value is not shown)', hint: 'quote it' };
  }
  if (path === 'server.public_url' && /form|pattern/.test(issue.message)) {
    return {
      ...issue,
      message: 'public_url must be an http:// or https:// URL without a trailing slash',
      hint: 'e.g. https://appwarden.example.com or https://example.com/appwarden',
    };
  }
  if (path === 'smtp.url') {
    const { hint: _h, ...rest } = issue;
    return {
      ...rest,
      message: 'smtp.url must be an smtp:// or smtps:// URL (its value is not shown: it may hold a password)',
      hint: 'e.g. smtps://user@mail.example.com:465, with the password in APPWARDEN_SMTP_PASSWORD',
    };
  }
  return issue;
}

/** Checks the schema cannot express: one policy source; an admin token entry has both its keys. */
function fileChecks(doc: Record<string, unknown>, file: string, parsed: ParsedYaml | undefined): Issue[] {
  const issues: Issue[] = [];
  const policy = asRecord(doc.policy);
  if (policy && typeof policy.dir === 'string' && typeof policy.bundle === 'string') {
    issues.push({
      file,
      ...(parsed?.positionOf(['policy', 'bundle'], 'key') ?? {}),
      path: 'policy.bundle',
      message: 'policy.dir and policy.bundle are both set; the policy source is one of them',
      hint: 'remove one',
    });
  }
  const admins = asRecord(doc.auth)?.admin_tokens;
  if (Array.isArray(admins)) {
    admins.forEach((entry, i) => {
      const e = asRecord(entry);
      if (!e) return;
      const missing = ['email', 'token_sha256'].filter((k) => !(k in e));
      if (missing.length === 0) return;
      issues.push({
        file,
        ...(parsed?.positionOf(['auth', 'admin_tokens', i], 'value') ?? {}),
        path: `auth.admin_tokens[${i}]`,
        message: `an admin token entry needs both email and token_sha256; ${missing.join(' and ')} missing`,
        hint: DIGEST_HINT,
      });
    });
  }
  return issues;
}

/** One value read from the environment. */
interface EnvValue {
  setting: Setting;
  value: unknown;
  variable: string;
}

/** Reads every config variable (and alias) of `env`, typed, validated against the schema; problems name the variable. */
function readEnv(env: NodeJS.ProcessEnv, issues: Issue[], warnings: Issue[]): EnvValue[] {
  const out: EnvValue[] = [];
  const names = new Map<string, Setting>();
  for (const s of SETTINGS) names.set(envName(s.key), s);
  for (const [alias, key] of Object.entries(ENV_ALIASES)) names.set(alias, setting(key));
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith('APPWARDEN_') || raw === undefined) continue;
    const s = names.get(variable);
    if (!s) {
      if (OTHER_ENV.has(variable)) continue;
      const near = didYouMean(variable, [...names.keys()]);
      if (near) {
        warnings.push({
          path: variable,
          message: `${variable} is not a config variable and is ignored`,
          hint: `did you mean ${near}?`,
        });
      }
      continue;
    }
    if (raw.trim() === '') continue;
    const problem = (message: string, hint?: string): void => {
      issues.push({ path: variable, message, ...(hint ? { hint } : {}) });
    };
    const shown = s.secret
      ? '(value not shown)'
      : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 79)}…` : raw);
    let value: unknown;
    switch (s.kind) {
      case 'integer':
        if (!/^\s*[+-]?\d+\s*$/.test(raw)) {
          problem(`\`${s.key.split('.')[1]}\` must be an integer, not ${shown}`);
          continue;
        }
        value = Number(raw);
        break;
      case 'boolean':
        if (!/^\s*(true|false)\s*$/i.test(raw)) {
          problem(`\`${s.key.split('.')[1]}\` must be true or false, not ${shown}`);
          continue;
        }
        value = raw.trim().toLowerCase() === 'true';
        break;
      case 'digests':
        value = raw
          .split(',')
          .map((h) => h.trim())
          .filter((h) => h !== '');
        break;
      case 'admins': {
        const entries: { email: string; token_sha256: string }[] = [];
        for (const pair of raw.split(',').map((p) => p.trim())) {
          if (pair === '') continue;
          const eq = pair.lastIndexOf('=');
          if (eq < 0) {
            problem(
              'every entry must be an email and a digest: email=sha256hex, comma-separated',
              DIGEST_HINT,
            );
            continue;
          }
          entries.push({ email: pair.slice(0, eq).trim(), token_sha256: pair.slice(eq + 1).trim() });
        }
        value = entries;
        break;
      }
      default:
        value = s.path && raw !== ':memory:' ? resolve(raw) : raw;
    }
    const [section, key] = s.key.split('.') as [string, string];
    const schemaIssues = validateValue({ [section]: { [key]: value } }, SERVER_CONFIG_SCHEMA).map(cleanIssue);
    if (schemaIssues.length > 0) {
      for (const i of schemaIssues) {
        const hint = i.hint && !(s.secret && i.hint.includes(raw)) ? i.hint : undefined;
        issues.push({
          path: variable,
          message: i.message,
          ...(hint
            ? { hint }
            : s.kind === 'admins'
              ? { hint: 'entries are email=sha256hex, comma-separated' }
              : {}),
        });
      }
      continue;
    }
    out.push({ setting: s, value, variable });
  }
  return out;
}
