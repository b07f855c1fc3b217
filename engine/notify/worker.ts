// The outbox worker (SPEC §6 emails): claims due rows from the store, renders and sends each, and records the
// outcome: sent, retried later with exponential backoff and jitter, or dead after the last attempt.
//
// Delivery is at least once. A row is marked sent only after the SMTP server accepted the message; a crash
// (or a store failure) between that accept and the mark leaves the row `sending`, and once its lease runs out
// another worker sends it again, with the same Message-ID (derived from the row id), so receivers can drop the
// duplicate. An email is never dropped: every row ends `sent`, or `dead` where an admin sees and retries it.
import type { Store } from '../store/store.ts';
import { formatRfc3339 } from '../time.ts';
import type { RenderContext, RenderedEmail } from './templates.ts';
import type { MailTransport, OutgoingEmail } from './transport.ts';
import type { Notification } from './types.ts';

/** pino-compatible logger (object first, message second). */
export interface WorkerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Options of {@link createNotificationWorker}. */
export interface NotificationWorkerOptions {
  store: Store;
  transport: MailTransport;
  /** The renderer (templates.ts `renderNotification`; tests may pass another). */
  render: (n: Notification, ctx: RenderContext) => RenderedEmail;
  /** The From address (config `smtp.from`); its domain is the Message-ID's. */
  from: string;
  /** Base URL of links in emails (config `public_url`). */
  publicUrl: string;
  /** An org's display name, or its id. */
  orgName: (org: string) => string;
  /** Attempts before a row is dead (config `notifications.max_attempts`), at least 1. */
  maxAttempts: number;
  /** The first retry's delay, seconds; doubled each attempt, with jitter, capped at {@link MAX_RETRY_SECONDS}. */
  retryBaseSeconds: number;
  /** How often `start()` looks for due rows, ms. */
  pollMs: number;
  logger?: WorkerLogger;
  /** The clock, epoch seconds UTC (tests move it). */
  now?: () => number;
  /** Rows sent per `runOnce()` at most (default 50). */
  batchSize?: number;
  /**
   * How long a claimed row stays reserved for this worker, seconds (default 120). Longer than one send can
   * take (the SMTP timeouts: 10 s to connect, 10 s for the greeting, 30 s of silence), so a live worker is
   * never overtaken; a crashed worker's row is sent again by another once it runs out.
   */
  leaseSeconds?: number;
  /**
   * Longest one send may take, ms, however the server trickles its replies (default 60,000, at most half the
   * lease); a send past it is a failed attempt, retried with backoff.
   */
  sendTimeoutMs?: number;
  /**
   * False while nothing may be sent yet (the server's first policy is not live: the templates need the org's
   * display name); the worker then leaves the outbox alone until a later poll. Default: always ready.
   */
  isReady?: () => boolean;
  /** Random numbers in [0, 1) for the jitter (tests pin it). */
  random?: () => number;
}

/** What one {@link NotificationWorker.runOnce} did. */
export interface WorkerRunResult {
  /** Accepted by the transport and marked sent. */
  sent: number;
  /** Failed and scheduled for another attempt. */
  failed: number;
  /** Failed for the last time (or could not be rendered): now `dead`. */
  dead: number;
}

/** A running (or startable) outbox worker. */
export interface NotificationWorker {
  /** Polls every `pollMs` (at once again after a full batch). Idempotent. */
  start(): void;
  /** Stops polling and resolves once the batch in flight is done. Idempotent. */
  stop(): Promise<void>;
  /** Sends what is due now, up to `batchSize` rows (one batch at a time: a second call waits for the first). */
  runOnce(): Promise<WorkerRunResult>;
}

/** The longest wait between two attempts, seconds (one hour). */
export const MAX_RETRY_SECONDS = 3_600;

/**
 * The delay before the next attempt after `attempts` failed ones: `base × 2^(attempts-1)` capped at one hour,
 * then "equal jitter" (between half and all of it), so many emails failing together do not retry together.
 * @param random a number in [0, 1)
 * @returns seconds, at least 1
 */
export function retryDelaySeconds(attempts: number, baseSeconds: number, random: number): number {
  const exp = Math.min(MAX_RETRY_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1));
  return Math.max(1, Math.ceil(exp / 2 + (exp / 2) * random));
}

/** The domain of a From address (`appwarden <noreply@example.com>` → `example.com`); `appwarden.invalid` when none. */
export function fromDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return m?.[1]?.toLowerCase() ?? 'appwarden.invalid';
}

/** The Message-ID of a row: `<id@domain-of-from>`, the same on every attempt. */
export function notificationMessageId(id: string, from: string): string {
  return `<${id}@${fromDomain(from)}>`;
}

/** The header naming the email's kind, for filters and support (`X-Appwarden-Notification: token_revoked`). */
export const KIND_HEADER = 'X-Appwarden-Notification';

/**
 * Creates the outbox worker (not started). Each claimed row is rendered, sent with its stable Message-ID, the
 * {@link KIND_HEADER} header, `Auto-Submitted: auto-generated` (RFC 3834: no auto-replies) and its attachments,
 * then marked sent; a failed send is retried after {@link retryDelaySeconds}, or made `dead` once `attempts`
 * reaches `maxAttempts`. A row that cannot be rendered (a kind or data this version does not know) is made
 * `dead` at once: retrying would not help; an admin retries it after an upgrade.
 */
export function createNotificationWorker(opts: NotificationWorkerOptions): NotificationWorker {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const random = opts.random ?? Math.random;
  const batchSize = opts.batchSize ?? 50;
  const leaseSeconds = opts.leaseSeconds ?? 120;
  const sendTimeoutMs = opts.sendTimeoutMs ?? Math.min(60_000, (leaseSeconds * 1000) / 2);
  const maxAttempts = Math.max(1, opts.maxAttempts);
  const { store, transport, logger } = opts;
  const ctx: RenderContext = { publicUrl: opts.publicUrl, orgName: opts.orgName };

  let inFlight: Promise<WorkerRunResult> | null = null;
  let started = false;
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;

  function build(n: Notification, r: RenderedEmail): OutgoingEmail {
    return {
      id: n.id,
      from: opts.from,
      to: n.to,
      subject: r.subject,
      text: r.text,
      html: r.html,
      messageId: notificationMessageId(n.id, opts.from),
      headers: { [KIND_HEADER]: n.kind, 'Auto-Submitted': 'auto-generated' },
      attachments: n.attachments ?? [],
    };
  }

  async function deliver(n: Notification, result: WorkerRunResult): Promise<void> {
    const log = { notification_id: n.id, kind: n.kind, org: n.org, attempt: n.attempts };
    let email: OutgoingEmail;
    try {
      email = build(n, opts.render(n, ctx));
    } catch (err) {
      const error = `cannot render: ${(err as Error)?.message ?? String(err)}`;
      await store.markNotificationFailed(n.id, now(), error, null);
      result.dead += 1;
      logger?.error({ ...log, error }, 'email cannot be rendered; it is dead (retry it after an upgrade)');
      return;
    }
    let refused: string[];
    try {
      // A server that trickles bytes never trips the socket's idle timeout: bound the whole send below the
      // claim, so the row is retried (never held for good) and no other worker sends it meanwhile.
      const abort = new AbortController();
      refused = (await withDeadline(transport.send(email, { signal: abort.signal }), sendTimeoutMs, abort))
        .rejected;
    } catch (err) {
      // The transport's errors carry no secret (transport.ts rewrites them).
      const error = (err as Error)?.message ?? String(err);
      const at = now();
      if (n.attempts >= maxAttempts) {
        await store.markNotificationFailed(n.id, at, error, null);
        result.dead += 1;
        logger?.error(
          { ...log, error },
          'email failed its last attempt; it is dead (see appwarden notifications)',
        );
      } else {
        const retryAt = at + retryDelaySeconds(n.attempts, opts.retryBaseSeconds, random());
        await store.markNotificationFailed(n.id, at, error, retryAt);
        result.failed += 1;
        logger?.warn({ ...log, error, retry_at: retryAt }, 'email not sent; will retry');
      }
      return;
    }
    // Accepted: from here until the mark commits, a crash means one re-send (same Message-ID), never a loss.
    if (refused.length > 0) {
      // Some recipients were refused while the others got it: they get a row of their own, retried and, if
      // the refusal is for good, dead where an admin sees it (never silently dropped).
      const {
        id: _id,
        status: _s,
        attempts: _a,
        created_at: _c,
        next_attempt_at: _n,
        sent_at: _t,
        last_error: _e,
        ...rest
      } = n;
      await store.enqueueNotifications(
        [{ ...rest, to: refused, dedupe_key: `${n.dedupe_key}#refused:${n.id}:${n.attempts}` }],
        now(),
      );
      logger?.warn(
        { ...log, refused: refused.length },
        'email refused for some recipients; queued again for them',
      );
    }
    await store.markNotificationSent(n.id, now());
    result.sent += 1;
    logger?.info({ ...log, to: n.to.length - refused.length, via: transport.kind }, 'email sent');
  }

  async function batch(): Promise<WorkerRunResult> {
    const result: WorkerRunResult = { sent: 0, failed: 0, dead: 0 };
    // Nothing is rendered before the first policy is live: emails name the org by its display name.
    if (opts.isReady && !opts.isReady()) return result;
    // One row per claim: each lease covers one send, so a slow server cannot make a later row's lease run
    // out while it waits its turn (another worker would send it too).
    for (let i = 0; i < batchSize && !stopping; i++) {
      const [n] = await store.claimNotifications(now(), 1, leaseSeconds);
      if (!n) break;
      await deliver(n, result);
    }
    return result;
  }

  function runOnce(): Promise<WorkerRunResult> {
    const previous = inFlight ?? Promise.resolve(null);
    const run = previous.then(
      () => batch(),
      () => batch(),
    );
    inFlight = run;
    const clear = () => {
      if (inFlight === run) inFlight = null;
    };
    run.then(clear, clear);
    return run;
  }

  function schedule(ms: number): void {
    if (stopping) return;
    timer = setTimeout(tick, ms);
    // The HTTP server keeps the process alive; a forgotten worker must not.
    timer.unref();
  }

  async function tick(): Promise<void> {
    timer = null;
    let full = false;
    try {
      const r = await runOnce();
      full = r.sent + r.failed + r.dead >= batchSize;
    } catch (err) {
      logger?.error({ err }, 'notification worker: cannot read or update the outbox; will try again');
    }
    schedule(full ? 0 : opts.pollMs);
  }

  return {
    start() {
      if (started) return;
      started = true;
      stopping = false;
      schedule(0);
    },
    async stop() {
      stopping = true;
      started = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await inFlight?.catch(() => undefined);
    },
    runOnce,
  };
}

/** `p`, or a rejection naming the deadline once `ms` pass first. */
function withDeadline<T>(p: Promise<T>, ms: number, abort: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => {
      // Closes the transport's connection (nodemailer honours the signal), so nothing keeps sending behind
      // the row's back once it is retried.
      abort.abort();
      fail(new Error(`the send took longer than ${ms / 1000} s; gave up`));
    }, ms);
    timer.unref();
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Why an admin's retry of `n` must be refused at `now` (epoch seconds UTC), or null when it may go ahead
 * (SPEC §6 "retried until delivered"): a `sent` email would be sent twice; a `sending` one is in a live
 * worker's hands until its claim runs out (`next_attempt_at`). A `sending` row whose claim ran out (its worker
 * died) may be retried, like `pending` and `dead` ones. The admin API (409) and the CLI (exit 1) both ask this.
 */
export function retryRefusal(n: Notification, now: number): string | null {
  if (n.status === 'sent')
    return `email ${n.id} was sent at ${formatRfc3339(n.sent_at ?? n.created_at)}; a retry would send it twice`;
  if (n.status === 'sending' && n.next_attempt_at > now)
    return `email ${n.id} is being sent now; if its worker died it may be retried after ${formatRfc3339(n.next_attempt_at)}`;
  return null;
}
