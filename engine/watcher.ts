// Hot reload: watches the policy directory (or bundle), debounces file events and reloads the engine,
// one load at a time, keeping the last good revision live when a change is invalid (SPEC §3, §7).
import { basename, dirname, resolve, sep } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { formatIssue, type Issue, isEngineError, isRejectedSource } from './errors.ts';

/** The part of the engine the watcher drives: `load()` rebuilds and swaps atomically, or throws and keeps the old. */
export interface Reloadable {
  load(): Promise<unknown>;
  readonly revision: string | null;
}

/** pino-compatible logger (object first, message second). */
export interface WatchLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of {@link createWatcher}. */
export interface WatcherOptions {
  engine: Reloadable;
  /** A policy repository directory (watched recursively) or a bundle file (its directory is watched). */
  path: string;
  /** Quiet time after the last event before reloading, ms (default 200). */
  debounceMs?: number;
  /** Longest a steady stream of events can delay a reload, ms (default 10 × debounce, at least 1000). */
  maxWaitMs?: number;
  logger?: WatchLogger;
  /** Called after every load attempt (tests and metrics). */
  onReload?: (outcome: ReloadOutcome) => void;
}

/** What one load attempt did. `revision` is the live revision afterwards (unchanged when `ok` is false). */
export interface ReloadOutcome {
  ok: boolean;
  reason: string;
  revision: string | null;
  previous: string | null;
  error?: unknown;
}

/** A running watcher. */
export interface PolicyWatcher {
  /** Resolves once the initial scan is done and events are being delivered. */
  readonly ready: Promise<void>;
  /**
   * Reloads now (SIGHUP, tests). Loads never overlap: a request during a load is coalesced into one more
   * load after it. Resolves when the live state reflects everything asked for so far; never rejects.
   */
  reload(reason?: string): Promise<void>;
  /** Stops watching; a pending debounced reload is dropped, a running one finishes. */
  close(): Promise<void>;
}

/**
 * Watches `path` and reloads `engine` after file changes. The directory itself is watched rather than a glob
 * so that editors' write-then-rename, delete + re-add and Kubernetes ConfigMap `..data` symlink swaps all
 * produce events (nothing starting with `..` is ignored; symlinks are followed). Half-written files are not
 * waited for: the last event of a write always triggers the load of the final state, but a prefix that is
 * valid on its own can be live until then (docs/api.md "Hot reload": write files atomically).
 * `.git` and `node_modules` are ignored.
 */
export function createWatcher(opts: WatcherOptions): PolicyWatcher {
  const { engine, logger } = opts;
  const debounceMs = opts.debounceMs ?? 200;
  const maxWaitMs = opts.maxWaitMs ?? Math.max(1000, debounceMs * 10);
  const target = resolve(opts.path);
  // A bundle is one file: watch its directory (ConfigMap swaps replace the directory's `..data`), but only
  // react to the bundle itself and to `..`-prefixed ConfigMap machinery.
  const isBundle = /\.(tar\.gz|tgz)$/.test(target);
  const root = isBundle ? dirname(target) : target;
  const relevant = (p: string): boolean => {
    if (!isBundle) return true;
    const rel = p.startsWith(root + sep) ? p.slice(root.length + 1) : p;
    const top = rel.split(sep)[0] ?? '';
    return rel === basename(target) || top.startsWith('..') || rel === '';
  };

  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let firstEventAt = 0;
  let running: Promise<void> | null = null;
  let again = false;
  let pendingReasons: string[] = [];

  async function loadOnce(reason: string): Promise<void> {
    const previous = engine.revision;
    const started = performance.now();
    const ms = () => Math.round((performance.now() - started) * 100) / 100;
    try {
      // A full engine's LoadResult carries warnings (e.g. an ignored imported history) and orgs; other loaders none.
      const result = (await engine.load()) as { warnings?: Issue[]; orgs?: string[] } | null | undefined;
      const outcome: ReloadOutcome = { ok: true, reason, revision: engine.revision, previous };
      logger?.info(
        {
          event: 'reload',
          outcome: 'ok',
          reason,
          revision: engine.revision,
          previous,
          changed: engine.revision !== previous,
          ...(result?.orgs ? { orgs: result.orgs } : {}),
          ms: ms(),
        },
        engine.revision !== previous
          ? 'policy reloaded; new revision live'
          : 'policy reloaded; revision unchanged',
      );
      const warnings = result?.warnings ?? [];
      if (warnings.length > 0) {
        logger?.warn({ reason, warnings: warnings.map(formatIssue) }, 'policy reloaded with warnings');
      }
      opts.onReload?.(outcome);
    } catch (error) {
      const issues = isEngineError(error)
        ? error.issues
        : [{ message: String((error as Error)?.message ?? error) }];
      // Invalid sources are `rejected`; sources that could not be read or loaded are an `error`.
      const rejected = isRejectedSource(error);
      logger?.error(
        {
          event: 'reload',
          outcome: rejected ? 'rejected' : 'error',
          reason,
          ms: ms(),
          code: isEngineError(error) ? error.code : 'internal_error',
          live_revision: engine.revision,
          errors: issues.map(formatIssue),
        },
        `reload ${rejected ? 'rejected' : 'failed'} (${issues.length} problem${issues.length === 1 ? '' : 's'}); revision ${engine.revision ?? '(none)'} stays live`,
      );
      opts.onReload?.({ ok: false, reason, revision: engine.revision, previous, error });
    }
  }

  async function loop(): Promise<void> {
    try {
      do {
        again = false;
        const reason = pendingReasons.join(', ') || 'reload';
        pendingReasons = [];
        await loadOnce(reason);
      } while (again && !closed);
    } finally {
      running = null;
    }
  }

  function reload(reason = 'requested'): Promise<void> {
    pendingReasons.push(reason);
    if (running) {
      again = true;
      return running;
    }
    running = loop();
    return running;
  }

  function schedule(event: string, path: string): void {
    if (closed || !relevant(path)) return;
    const now = Date.now();
    if (timer === null) firstEventAt = now;
    else clearTimeout(timer);
    const wait = Math.max(0, Math.min(debounceMs, firstEventAt + maxWaitMs - now));
    const rel = path.startsWith(root) ? path.slice(root.length + 1) || '.' : path;
    timer = setTimeout(() => {
      timer = null;
      void reload(`${event} ${rel}`);
    }, wait);
  }

  const skip = (p: string): boolean => p.split(sep).some((s) => s === '.git' || s === 'node_modules');
  const watcher: FSWatcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: true,
    // A bundle's directory may be anything (/tmp, /etc/appwarden): never descend into it.
    ...(isBundle ? { depth: 0 } : {}),
    ignored: (p: string) => p !== root && (skip(p) || !relevant(p)),
  });
  watcher.on('all', (event, path) => schedule(event, path));
  watcher.on('error', (error) => logger?.warn({ err: error, path: root }, 'file watcher error'));
  const ready = new Promise<void>((res) => watcher.once('ready', () => res()));

  return {
    ready,
    reload,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await watcher.close();
      if (running) await running;
    },
  };
}
