// The server's one logger (pino, JSON lines on stdout): level, RFC 3339 times, and redaction of every secret
// (tokens, cookies, passwords, credentials in URLs) before a line is written. Used by `appwarden serve` and tests.
import { format } from 'node:util';
import { type DestinationStream, type Logger, type LoggerOptions, pino, stdSerializers } from 'pino';
import { EngineError } from '../engine/index.ts';
import type { LogLevel } from './config.ts';

/** What replaces a secret in a log line. */
export const REDACTED = '[REDACTED]';

/** pino's level names, lowest first, plus `silent`. */
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Lowest level written (default `info`; `debug` adds one line per request). */
  level?: LogLevel | string;
  /** Where lines go (default stdout). Tests pass `{ write(line) {...} }` to capture them. */
  destination?: DestinationStream;
}

/**
 * Fixed redaction paths, given to pino's `redact` (fast-redact) as a second net behind {@link scrub}:
 * the places a header or credential would sit in a request-shaped or config-shaped object.
 */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  'cookie',
  'token',
  'password',
  'secret',
  'api_key',
  '*.authorization',
  '*.cookie',
  '*.token',
  '*.password',
  '*.secret',
  '*.api_key',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'smtp.password',
  'config.smtp.password',
];

// Key names whose value is a secret, after camelCase → snake_case: token, *_token, password, *_password,
// secret, *_secret, api_key, private_key, authorization, cookies, credentials. `token_id`, `token_sha256`
// (a digest) and `tokens` are not secrets and stay.
const SECRET_KEY =
  /^(?:authorization|proxy_authorization|cookie|set_cookie|cookies|password|passwd|pwd|pass|secret|token|bearer|api_key|apikey|access_key|secret_key|private_key|credential|credentials|.+_token|.+_secret|.+_password|.+_passwd)$/;
// `scheme://user:password@host`: the whole user-info goes (greedy to the last @ before the path).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/gi;
// An Authorization header value written into a message.
const AUTH_SCHEME = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}/g;
// A secret in a query string: `?token=…`, `&access_token=…`, `password=…`, `api_key=…`.
const QUERY_SECRET = /([?&;](?:[a-z0-9_-]*token|password|passwd|secret|api_?key)=)[^&;\s#"]*/gi;

/**
 * True when a key names a secret value (`token`, `*_token`, `password`, `secret`, `api_key`, `authorization`,
 * `cookie`…; camelCase too: `accessToken`).
 */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(
    key
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/-/g, '_')
      .toLowerCase(),
  );
}

/**
 * A text with its secrets hidden: credentials in URLs (`smtp://user:pass@host` → `smtp://[REDACTED]@host`),
 * `Bearer …` / `Basic …` values, and secret query parameters (`?token=…`).
 */
export function scrubText(text: string): string {
  return text
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(QUERY_SECRET, `$1${REDACTED}`);
}

const MAX_DEPTH = 12;

/**
 * A copy of `value` safe to log: values under a secret-named key ({@link isSecretKey}) at any depth become
 * `[REDACTED]`, every string goes through {@link scrubText}, and an Error becomes pino's serialized error
 * (type, message, stack, cause, own fields) scrubbed the same way (a transport error's message can carry
 * `smtp://user:pass@host`). Plain objects and arrays are walked; other objects (Date, Buffer, Map) are kept.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '[too deep]';
  if (value instanceof Error) return scrub({ ...stdSerializers.err(value) }, depth + 1);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // pino's serialized errors have their own prototype; anything else (Date, URL, Buffer) is kept as it is.
    if (!('message' in value && 'stack' in value)) return value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : scrub(v, depth + 1);
  return out;
}

/**
 * Creates the server's logger: pino JSON lines with `level` as a name (`"level":"info"`), `time` as RFC 3339
 * UTC, `name: "appwarden"`, `pid`, `hostname`. Before a line is written its object, message, format
 * arguments and child bindings go through {@link scrub} / {@link scrubText}; pino's `redact` covers
 * {@link REDACT_PATHS} as well; errors are logged under `err` with their message scrubbed. What is logged at
 * which level: docs/operations.md "Logs".
 * @throws EngineError `invalid_config` when `level` is not one of {@link LOG_LEVELS}
 */
export function createLogger({ level = 'info', destination }: CreateLoggerOptions = {}): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new EngineError('invalid_config', [
      {
        path: 'log_level',
        message: `log level must be one of ${LOG_LEVELS.join(', ')}, not "${level}"`,
      },
    ]);
  }
  const options: LoggerOptions = {
    name: 'appwarden',
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
    },
    serializers: { err: (err: unknown) => scrub(err) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    hooks: {
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        // A format string is filled in before scrubbing: `'Bearer %s', token` is a secret only once joined.
        const [msg, ...fmt] = rest;
        const tail =
          typeof msg === 'string' && fmt.length > 0
            ? [scrubText(format(msg, ...fmt))]
            : rest.map((a) => (typeof a === 'string' ? scrubText(a) : a));
        // logger.error(err[, msg]): keep the error under `err` and its (scrubbed) message as the line's msg.
        if (typeof first === 'string') {
          // logger.info('text %s', value): the whole call is the message.
          return method.apply(this, [scrubText(format(first, ...rest))] as never);
        }
        if (first instanceof Error) {
          const msg = typeof tail[0] === 'string' ? tail.shift() : scrubText(first.message);
          return method.apply(this, [{ err: scrub(first) }, msg, ...tail] as never);
        }
        return method.apply(this, [scrub(first), ...tail] as never);
      },
    },
  };
  const logger = destination ? pino(options, destination) : pino(options);
  // pino resets the bindings formatter for children: scrub child bindings here (children inherit this method).
  const child = logger.child;
  logger.child = function (this: Logger, bindings, opts) {
    return child.call(this, scrub(bindings) as typeof bindings, opts);
  } as typeof logger.child;
  return logger;
}
