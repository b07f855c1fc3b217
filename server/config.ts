// Server configuration: defaults, the YAML config file, APPWARDEN_TOKEN_SHA256 / APPWARDEN_ADMIN_TOKENS, and
// the loopback rule for auth.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { EngineError, type Issue } from '../engine/index.ts';

/** The decision server's settings (docs/api.md "Configuration"). */
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
}

/** pino's levels. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * SMTP settings. With neither `url` nor `host` set, emails are written as `.eml` files into
 * {@link NotificationsConfig.outboxDir} instead of being sent (so `npm start` needs no mail server).
 */
export interface SmtpConfig {
  /** `smtp://user:pass@host:587` or `smtps://…:465`; when set, wins over host/port/secure/user/password. */
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

/** One admin API caller: who (an email, lower-cased) and the SHA-256 hex digest of their token (never the token). */
export interface AdminToken {
  email: string;
  tokenSha256: string;
}

/**
 * The defaults: loopback on 8181, no tokens, 64 KiB bodies, 100 batch items, 200 ms debounce, log level
 * info, emails as files in var/outbox.
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
  notifications: Object.freeze({ outboxDir: 'var/outbox', maxAttempts: 8, retryBaseSeconds: 30, pollMs: 1000 }),
});

const HEX64 = /^[0-9a-f]{64}$/;
// Deliberately loose: one @, no spaces, a dot in the domain. The org's admins lists are checked as emails.
const EMAIL = /^[^\s@=,]+@[^\s@=,]+\.[^\s@=,]+$/;

/** Adds an admin token entry, or reports why it is not one. */
function addAdminToken(
  config: ServerConfig,
  email: unknown,
  digest: unknown,
  path: string,
  fail: (path: string, message: string) => void,
): void {
  const okEmail = typeof email === 'string' && EMAIL.test(email);
  const okDigest = typeof digest === 'string' && HEX64.test(digest.toLowerCase());
  if (!okEmail) fail(path, 'the email must be an email address (the admin the token stands for)');
  if (!okDigest) fail(path, 'token_sha256 must be a SHA-256 hex digest (64 hex digits), not a token');
  if (okEmail && okDigest) {
    config.adminTokens.push({ email: email.toLowerCase(), tokenSha256: digest.toLowerCase() });
  }
}

/** True for hosts that only this machine can reach: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || h === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Builds the server configuration from the defaults, an optional YAML file, the environment
 * (`APPWARDEN_TOKEN_SHA256`: comma-separated SHA-256 hex digests, added to the file's;
 * `APPWARDEN_ADMIN_TOKENS`: comma-separated `email=sha256hex` pairs, added to the file's admin tokens) and CLI
 * overrides. The file's shape: `auth: {token_sha256: [hex], admin_tokens: [{email, token_sha256}]}`, `server: {host, port}`, `limits: {max_body_bytes,
 * max_batch_items}`, `reload: {debounce_ms}`; unknown keys are errors.
 * @throws EngineError `invalid_config` listing every problem; `io_error` when the file cannot be read.
 */
export function loadConfig(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: { host?: string; port?: number } = {},
): ServerConfig {
  const config: ServerConfig = {
    ...defaultConfig,
    tokenSha256: [],
    adminTokens: [],
    smtp: { ...defaultConfig.smtp },
    notifications: { ...defaultConfig.notifications },
  };
  const issues: Issue[] = [];
  const where = file ? { file } : {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new EngineError('io_error', `cannot read config file ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text, { version: '1.2', schema: 'core', uniqueKeys: true, merge: false }) ?? {};
    } catch (err) {
      throw new EngineError('invalid_config', [
        { ...where, message: `not valid YAML: ${(err as Error).message}` },
      ]);
    }
    applyFile(doc, config, (path, message) => issues.push({ ...where, path, message }));
  }
  const fromEnv = env.APPWARDEN_TOKEN_SHA256;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    for (const raw of fromEnv.split(',')) {
      const h = raw.trim().toLowerCase();
      if (h === '') continue;
      if (!HEX64.test(h)) {
        issues.push({
          path: 'APPWARDEN_TOKEN_SHA256',
          message: 'every entry must be a SHA-256 hex digest (64 hex digits), not a token',
          hint: 'hash the token: printf %s "$TOKEN" | sha256sum',
        });
      } else config.tokenSha256.push(h);
    }
  }
  const admins = env.APPWARDEN_ADMIN_TOKENS;
  if (admins !== undefined && admins.trim() !== '') {
    for (const raw of admins.split(',')) {
      const pair = raw.trim();
      if (pair === '') continue;
      const eq = pair.lastIndexOf('=');
      addAdminToken(
        config,
        eq < 0 ? pair : pair.slice(0, eq).trim(),
        eq < 0 ? '' : pair.slice(eq + 1).trim(),
        'APPWARDEN_ADMIN_TOKENS',
        (path, message) =>
          issues.push({
            path,
            message: `${message}; entries are email=sha256hex, comma-separated`,
            hint: 'hash the token: printf %s "$TOKEN" | sha256sum',
          }),
      );
    }
  }
  if (overrides.host !== undefined) config.host = overrides.host;
  if (overrides.port !== undefined) config.port = overrides.port;
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    issues.push({
      path: 'server.port',
      message: `port must be an integer from 0 to 65535, not ${config.port}`,
    });
  }
  if (issues.length > 0) throw new EngineError('invalid_config', issues);
  config.tokenSha256 = [...new Set(config.tokenSha256)];
  const shared = config.adminTokens.filter((a) => config.tokenSha256.includes(a.tokenSha256));
  const seen = new Map<string, string>();
  for (const a of config.adminTokens) {
    const other = seen.get(a.tokenSha256);
    if (other !== undefined && other !== a.email) {
      issues.push({
        path: 'auth.admin_tokens',
        message: `one token digest stands for both ${other} and ${a.email}; give each admin their own token`,
      });
    }
    seen.set(a.tokenSha256, a.email);
  }
  for (const a of shared) {
    issues.push({
      path: 'auth.admin_tokens',
      message: `the admin token of ${a.email} is also a decision-API token; admin and decision tokens must differ`,
    });
  }
  if (issues.length > 0) throw new EngineError('invalid_config', issues);
  return config;
}

function applyFile(doc: unknown, config: ServerConfig, fail: (path: string, message: string) => void): void {
  const isInt = (v: unknown, min: number): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= min;
  const sections: Record<string, Record<string, (v: unknown, path: string) => void>> = {
    auth: {
      admin_tokens: (v, path) => {
        if (!Array.isArray(v)) {
          fail(path, 'must be a list of {email, token_sha256}');
          return;
        }
        v.forEach((entry, i) => {
          const at = `${path}[${i}]`;
          if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
            fail(at, 'must be a mapping {email, token_sha256}');
            return;
          }
          const extra = Object.keys(entry).filter((k) => k !== 'email' && k !== 'token_sha256');
          for (const k of extra) fail(`${at}.${k}`, `unknown key "${k}"; expected email, token_sha256`);
          const e = entry as Record<string, unknown>;
          addAdminToken(config, e.email, e.token_sha256, at, fail);
        });
      },
      token_sha256: (v, path) => {
        if (!Array.isArray(v)) {
          fail(path, 'must be a list of SHA-256 hex digests');
          return;
        }
        v.forEach((h, i) => {
          if (typeof h !== 'string' || !HEX64.test(h.toLowerCase())) {
            fail(`${path}[${i}]`, 'must be a SHA-256 hex digest (64 hex digits), not a token');
          } else config.tokenSha256.push(h.toLowerCase());
        });
      },
    },
    server: {
      host: (v, path) => {
        if (typeof v === 'string' && v !== '') config.host = v;
        else fail(path, 'must be a host name or IP');
      },
      port: (v, path) => {
        if (typeof v === 'number') config.port = v;
        else fail(path, 'must be a number');
      },
    },
    limits: {
      max_body_bytes: (v, path) => {
        if (isInt(v, 1)) config.maxBodyBytes = v;
        else fail(path, 'must be a positive integer (bytes)');
      },
      max_batch_items: (v, path) => {
        if (isInt(v, 1)) config.maxBatchItems = v;
        else fail(path, 'must be a positive integer');
      },
    },
    reload: {
      debounce_ms: (v, path) => {
        if (isInt(v, 0)) config.reloadDebounceMs = v;
        else fail(path, 'must be an integer number of milliseconds, 0 or more');
      },
    },
  };
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    fail('', 'the config file must be a mapping');
    return;
  }
  for (const [section, body] of Object.entries(doc)) {
    const fields = sections[section];
    if (!fields) {
      fail(section, `unknown key "${section}"; expected one of ${Object.keys(sections).join(', ')}`);
      continue;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      fail(section, 'must be a mapping');
      continue;
    }
    for (const [key, value] of Object.entries(body)) {
      const set = fields[key];
      if (set) set(value, `${section}.${key}`);
      else
        fail(`${section}.${key}`, `unknown key "${key}"; expected one of ${Object.keys(fields).join(', ')}`);
    }
  }
}
