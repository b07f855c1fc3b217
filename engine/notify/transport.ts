// How rendered emails leave the process (SPEC §6 notification outbox): SMTP through nodemailer, or, with no
// SMTP server configured, `.eml` files in a directory (so `npm start` needs no mail server). No password ever
// reaches an error message or a log line from here.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { EngineError } from '../errors.ts';
import type { NotificationAttachment } from './types.ts';

/**
 * The SMTP settings a transport is built from (the server config's `smtp`, SPEC §6). With `url` set it wins;
 * with neither `url` nor `host` the file transport is used.
 */
export interface SmtpSettings {
  /** `smtp://user:pass@host:587` or `smtps://user:pass@host:465`, or null. */
  url: string | null;
  host: string | null;
  port: number;
  /** TLS from the first byte (465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  user: string | null;
  /** Never logged: errors are rewritten without it (see {@link redactSmtpSecrets}). */
  password: string | null;
}

/** One email ready to send: what the worker built from an outbox row and its rendering. */
export interface OutgoingEmail {
  /** The outbox row's id: the file transport's file name, the Message-ID's local part. */
  id: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** `<id@domain>`, the same on every attempt, so receivers can drop a re-sent duplicate. */
  messageId: string;
  /** Extra header lines, e.g. `X-Appwarden-Notification`. */
  headers: Record<string, string>;
  attachments: readonly NotificationAttachment[];
}

/** Where emails go. */
export interface MailTransport {
  /** `smtp` or `file`. */
  readonly kind: 'smtp' | 'file';
  /** For the start-up log line: `smtp://host:port` (never a user or password) or the directory. */
  readonly target: string;
  /**
   * Sends one email; resolves once the SMTP server accepted it (or the file is in place), with the
   * recipients the server refused while accepting the others (an all-refused message throws).
   * @throws Error whose message names the failure (SMTP reply or connection error) without any secret
   */
  send(email: OutgoingEmail, opts?: { signal?: AbortSignal }): Promise<{ rejected: string[] }>;
  /** Closes open connections. */
  close(): void;
}

/** Options of {@link createMailTransport}. */
export interface MailTransportOptions {
  /** The file transport's directory (config `notifications.outbox_dir`), created when missing. */
  outboxDir: string;
  /** SMTP timeouts, ms: connecting, the greeting, and socket inactivity. Defaults 10,000 / 10,000 / 30,000. */
  timeouts?: { connection?: number; greeting?: number; socket?: number };
}

/** True when the settings name an SMTP server (a url or a host); false means the file transport. */
export function hasSmtpServer(smtp: SmtpSettings): boolean {
  return Boolean(smtp.url) || Boolean(smtp.host);
}

/**
 * Builds the transport the settings ask for: SMTP (nodemailer) when `url` or `host` is set, else the file
 * transport writing `<outboxDir>/<id>.eml` (RFC 5322, CRLF), each file written to a temporary name and renamed,
 * so a reader never sees half a message.
 * @throws EngineError `invalid_config` when `url` is not an `smtp:` / `smtps:` URL
 */
export function createMailTransport(smtp: SmtpSettings, opts: MailTransportOptions): MailTransport {
  if (!hasSmtpServer(smtp)) return createFileTransport(opts.outboxDir);
  return createSmtpTransport(smtp, opts);
}

function toNodemailer(email: OutgoingEmail): SendMailOptions {
  return {
    from: email.from,
    to: email.to,
    subject: email.subject,
    text: email.text,
    html: email.html,
    messageId: email.messageId,
    headers: email.headers,
    attachments: email.attachments.map((a) => ({
      filename: a.filename,
      content: a.content,
      contentType: a.content_type,
    })),
  };
}

/** `localhost`, 127.0.0.0/8 or ::1: a mail relay on this machine, where STARTTLS protects nothing. */
function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  // Only IP literals: a DNS name like 127.mail.example.com resolves wherever its owner says.
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

// A password with no user to log in as would be dropped without a word, and every email would then fail.
function passwordWithoutUser(): EngineError {
  return new EngineError('invalid_config', [
    {
      path: 'smtp.user',
      message: 'an SMTP password is set but no user to log in as',
      hint: 'set smtp.user (APPWARDEN_SMTP_USER) or put the user in smtp.url (smtp://user@host:587)',
    },
  ]);
}

function createSmtpTransport(smtp: SmtpSettings, opts: MailTransportOptions): MailTransport {
  const t = {
    connectionTimeout: opts.timeouts?.connection ?? 10_000,
    greetingTimeout: opts.timeouts?.greeting ?? 10_000,
    socketTimeout: opts.timeouts?.socket ?? 30_000,
    // After our side closes, a server gets 1 s (not nodemailer's 5) to close its own before the socket is
    // destroyed: an aborted send to a tarpit is gone quickly.
    socketCloseTimeout: 1_000,
  };
  let target: string;
  let transporter: Transporter;
  if (smtp.url) {
    let u: URL;
    try {
      u = new URL(smtp.url);
    } catch {
      throw new EngineError('invalid_config', [
        { path: 'smtp.url', message: 'smtp.url is not a URL; write smtp://user:password@host:587' },
      ]);
    }
    if (u.search !== '') {
      // nodemailer lets URL parameters override the options given with it (requireTLS=false, tls settings):
      // every setting goes through the smtp.* keys, where the rules above hold.
      throw new EngineError('invalid_config', [
        { path: 'smtp.url', message: 'smtp.url takes no query parameters; use the smtp.* settings' },
      ]);
    }
    if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
      throw new EngineError('invalid_config', [
        { path: 'smtp.url', message: `smtp.url must start with smtp:// or smtps://, not ${u.protocol}//` },
      ]);
    }
    target = `${u.protocol}//${u.host}`;
    // The URL may leave its credentials out (the documented way: the password in APPWARDEN_SMTP_PASSWORD,
    // never in a file): then smtp.user / smtp.password log in. Credentials in the URL win.
    let user: string | null;
    let pass: string | null;
    try {
      user = u.username === '' ? smtp.user : decodeURIComponent(u.username);
      pass = u.password === '' ? smtp.password : decodeURIComponent(u.password);
    } catch {
      throw new EngineError('invalid_config', [
        {
          path: 'smtp.url',
          message: 'smtp.url has a malformed percent-escape in its user or password (its value is not shown)',
          hint: 'percent-encode # / ? @ % as %23 %2F %3F %40 %25, or set the password in APPWARDEN_SMTP_PASSWORD',
        },
      ]);
    }
    if (pass && !user) throw passwordWithoutUser();
    // nodemailer lets the URL's own user win over `auth`: hand it the URL without credentials.
    const bare = new URL(u.href);
    bare.username = '';
    bare.password = '';
    transporter = nodemailer.createTransport({
      url: bare.href,
      requireTLS: Boolean(user) && u.protocol === 'smtp:' && !isLocalHost(u.hostname),
      ...(user ? { auth: { user, pass: pass ?? '' } } : {}),
      ...t,
    });
  } else {
    if (smtp.password && !smtp.user) throw passwordWithoutUser();
    target = `${smtp.secure ? 'smtps' : 'smtp'}://${smtp.host}:${smtp.port}`;
    transporter = nodemailer.createTransport({
      host: smtp.host as string,
      port: smtp.port,
      secure: smtp.secure,
      // A login over plain text would hand the password to whoever strips STARTTLS on the way: with
      // credentials, STARTTLS is required (a server on this machine is exempt).
      requireTLS: Boolean(smtp.user) && !smtp.secure && !isLocalHost(smtp.host as string),
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      ...t,
    });
  }
  return {
    kind: 'smtp',
    target,
    async send(email, sendOpts) {
      let info: { rejected?: unknown[] };
      try {
        // An abort (the worker's deadline) closes the connection: a trickling server cannot keep it open.
        const message = { ...toNodemailer(email), ...(sendOpts?.signal ? { signal: sendOpts.signal } : {}) };
        info = (await transporter.sendMail(message as SendMailOptions)) as { rejected?: unknown[] };
      } catch (err) {
        // A new error without the original attached: nodemailer's carries the AUTH command (base64 of the
        // user and password) and the connection options.
        throw new Error(redactSmtpSecrets(describeSmtpError(err), smtp));
      }
      const rejected = (info.rejected ?? []).map((r) =>
        typeof r === 'string' ? r : String((r as { address?: unknown }).address ?? r),
      );
      return { rejected };
    },
    close() {
      transporter.close();
    },
  };
}

/** `EAUTH 535: Invalid login: …` from a nodemailer error: its code, reply code and message. */
function describeSmtpError(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown; message?: unknown };
  const parts = [
    typeof e?.code === 'string' ? e.code : null,
    typeof e?.responseCode === 'number' ? String(e.responseCode) : null,
  ].filter((p): p is string => p !== null);
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return parts.length > 0 ? `${parts.join(' ')}: ${message}` : message;
}

/**
 * Removes every form the SMTP password could take in a text: as is, URL-encoded, base64 alone and in the AUTH
 * PLAIN / LOGIN payloads, and any `user:password@` of a URL. What is left is safe to log and to keep as an
 * outbox row's `last_error`.
 */
export function redactSmtpSecrets(text: string, smtp: SmtpSettings): string {
  const secrets = new Set<string>();
  let user = smtp.user ?? '';
  let password = smtp.password ?? '';
  if (smtp.url) {
    try {
      const u = new URL(smtp.url);
      user = decodeURIComponent(u.username) || user;
      password = decodeURIComponent(u.password) || password;
      if (u.password) secrets.add(u.password);
    } catch {
      // Not a URL: the URL pattern below still removes user-info.
    }
  }
  if (password !== '') {
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    secrets.add(password);
    secrets.add(encodeURIComponent(password));
    secrets.add(b64(password));
    secrets.add(b64(`\u0000${user}\u0000${password}`));
    secrets.add(b64(`${user}\u0000${user}\u0000${password}`));
  }
  let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, '$1[REDACTED]@');
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[REDACTED]');
  return out;
}

function createFileTransport(dir: string): MailTransport {
  // nodemailer's stream transport builds the same MIME message SMTP would carry, into a buffer.
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  return {
    kind: 'file',
    target: dir,
    async send(email) {
      const info = (await builder.sendMail(toNodemailer(email))) as { message: Buffer };
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${email.id}.eml`);
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, info.message);
        await rename(tmp, file);
      } catch (err) {
        await rm(tmp, { force: true });
        throw new Error(`cannot write ${file}: ${(err as Error)?.message ?? err}`);
      }
      return { rejected: [] };
    },
    close() {
      builder.close();
    },
  };
}
