// Restart-safety of the settings history (SPEC §5, §6): an engine over a SQLite file records each go-live,
// and a new engine on the same file (a restart) counts the live settings from when they first went live,
// not from the restart; imported PolicyHistory files join the timeline.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createEngine,
  DAY,
  type Engine,
  formatRfc3339,
  importHistoryFile,
  isEngineError,
  openStore,
  parseRfc3339,
  type Store,
} from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { main } from '../server/cli.ts';
import { loadConfig } from '../server/config.ts';

const t = (s: string) => parseRfc3339(s) as number;
const T0 = t('2026-03-01T00:00:00Z');
const dirs: string[] = [];

function org(tokens: string): string {
  return `apiVersion: appwarden/v1
kind: OrgPolicy
metadata:
  org: acme.example
spec:
  tokens:
${tokens}`;
}

function tempRepo(tokens: string): { dir: string; db: string; write: (tokens: string) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-restart-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'repo', 'orgs'), { recursive: true });
  const write = (tk: string) => writeFileSync(join(dir, 'repo', 'orgs', 'acme.yaml'), org(tk));
  write(tokens);
  return { dir: join(dir, 'repo'), db: join(dir, 'var', 'appwarden.db'), write };
}

const patUse = (created: number, id = 'tok_1') => ({
  subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
  action: { name: 'token.use' },
  resource: {
    type: 'token',
    id,
    properties: { kind: 'personal_access', created_at: formatRfc3339(created), owner: 'U1' },
  },
  context: { org: 'acme.example' },
});

/** A server process's life: a store on the file and an engine with a clock, loaded. */
async function boot(dir: string, db: string, clock: () => number): Promise<{ engine: Engine; store: Store }> {
  const store = openStore(db);
  const engine = createEngine({ policyDir: dir, clock, store });
  await engine.load();
  return { engine, store };
}

async function stop(p: { engine: Engine; store: Store }): Promise<void> {
  p.engine.close();
  await p.store.close();
}

test('a restart does not restart the expiry clock: 30d set at T0 still ends a year-old token at T0+30d', async () => {
  const { dir, db } = tempRepo('    expiration: 30d\n');
  let now = T0;
  const clock = () => now;
  await stop(await boot(dir, db, clock)); // 30d goes live at T0; the process ends.

  now = T0 + 20 * DAY; // restart
  const p = await boot(dir, db, clock);
  const yearOld = T0 - 365 * DAY;
  now = T0 + 25 * DAY;
  const d = p.engine.decide(patUse(yearOld));
  assert.is(d.decision, true);
  assert.is(d.context.advice?.expires_at, formatRfc3339(T0 + 30 * DAY));
  now = T0 + 30 * DAY;
  assert.is(p.engine.decide(patUse(yearOld)).context.reason.code, 'token_expired');
  await stop(p);

  // Without the store the same restart would count from the restart (what the store is for).
  now = T0 + 20 * DAY;
  const forgetful = createEngine({ policyDir: dir, clock });
  await forgetful.load();
  now = T0 + 30 * DAY;
  assert.is(forgetful.decide(patUse(yearOld)).context.reason.code, 'allowed');
  forgetful.close();
});

test('PATs turned off and on, then a restart: the swept PAT stays token_revoked, a new one works', async () => {
  const { dir, db, write } = tempRepo('    personal_access_tokens: enabled\n');
  let now = T0;
  const clock = () => now;
  const first = await boot(dir, db, clock);
  write('    personal_access_tokens: disabled\n');
  now = T0 + DAY;
  await first.engine.load();
  write('    personal_access_tokens: enabled\n');
  now = T0 + 2 * DAY;
  await first.engine.load();
  const swept = T0 - 10 * DAY;
  assert.is(first.engine.decide(patUse(swept)).context.reason.code, 'token_revoked');
  await stop(first);

  now = T0 + 3 * DAY;
  const second = await boot(dir, db, clock);
  assert.is(second.engine.decide(patUse(swept)).context.reason.code, 'token_revoked');
  assert.is(second.engine.decide(patUse(T0 + 3 * DAY, 'tok_2')).context.reason.code, 'allowed');
  // Each go-live is in the store; the restart added a row for the revision, not a new epoch.
  const rows = await second.store.goLives('acme.example');
  assert.equal(
    rows.map((r) => [r.at, r.personal_access_tokens]),
    [
      [T0, 'enabled'],
      [T0 + DAY, 'disabled'],
      [T0 + 2 * DAY, 'enabled'],
      [T0 + 3 * DAY, 'enabled'],
    ],
  );
  assert.is(rows[3]?.revision, second.engine.revision);
  assert.match(rows[3]?.settings_json ?? '', /"personal_access_tokens":"enabled"/);
  await stop(second);
});

test('a go-live the store cannot record does not go live: the previous revision keeps serving', async () => {
  const { dir, db, write } = tempRepo('    expiration: 30d\n');
  const p = await boot(dir, db, () => T0);
  const before = p.engine.revision;
  write('    expiration: 90d\n');
  await p.store.close();
  try {
    await p.engine.load();
    assert.unreachable('loaded');
  } catch (err) {
    assert.ok(isEngineError(err, 'io_error'), String(err));
  }
  assert.is(p.engine.revision, before);
  assert.is(p.engine.status.lastReload?.ok, false);
  p.engine.close();
});

function historyFile(dir: string, body: string): string {
  const file = join(dir, '..', 'east-history.yaml');
  writeFileSync(file, `apiVersion: appwarden/v1\nkind: PolicyHistory\norg: acme.example\n${body}`);
  return file;
}

test('an imported history joins the timeline and the revision; a history/ file for the org wins with a warning', async () => {
  const { dir, db } = tempRepo('    expiration: 90d\n');
  const file = historyFile(
    dir,
    'revisions:\n  - at: 2026-01-01T00:00:00Z\n    spec: {tokens: {expiration: 30d}}\n',
  );
  const store = openStore(db);
  const imported = await importHistoryFile(store, file, T0);
  assert.is(imported.org, 'acme.example');
  const plain = createEngine({ policyDir: dir, clock: () => T0 });
  const withImport = createEngine({ policyDir: dir, clock: () => T0, store });
  const a = await plain.load();
  const b = await withImport.load();
  assert.is.not(a.revision, b.revision, 'an imported history changes decisions, so it changes the revision');
  // 30d from 2026-01-01 ended a 2025 token on 2026-01-31, before 90d went live.
  const old = t('2025-06-01T00:00:00Z');
  assert.is(withImport.decide(patUse(old)).context.reason.code, 'token_expired');
  assert.is(plain.decide(patUse(old)).context.reason.code, 'allowed');
  withImport.close();
  plain.close();

  mkdirSync(join(dir, 'history'));
  writeFileSync(
    join(dir, 'history', 'acme.yaml'),
    'apiVersion: appwarden/v1\nkind: PolicyHistory\norg: acme.example\nrevisions: []\n',
  );
  // A second org keeps being served: the conflict is a warning, the repository's file wins for acme.
  writeFileSync(
    join(dir, 'orgs', 'east.yaml'),
    org('    expiration: 90d\n').replace('org: acme.example', 'org: east.example'),
  );
  const both = createEngine({ policyDir: dir, clock: () => T0, store });
  const loaded = await both.load();
  assert.equal(loaded.orgs, ['acme.example', 'east.example']);
  assert.match(String(loaded.warnings?.[0]?.message), /imported into the store .* is ignored/);
  assert.is(both.status.lastReload?.ok, true);
  assert.match(String(both.status.lastReload?.warnings?.[0]?.message), /history remove acme\.example/);
  // The repository's (empty) history wins: the 30d epoch of the import no longer expires the old token.
  assert.is(both.decide(patUse(old)).context.reason.code, 'allowed');
  assert.is(both.decide({ ...patUse(old), context: { org: 'east.example' } }).context.reason.code, 'allowed');
  // A restart with the conflict still serves every org, and /health shows the warning, not an error.
  const app = createApp({ engine: both, config: loadConfig(undefined, {}), store });
  const health = (await (await app.request('/health')).json()) as {
    status: string;
    last_reload: { ok: boolean; warnings?: unknown[]; issues?: unknown[] };
  };
  assert.is(health.status, 'ok');
  assert.is(health.last_reload.ok, true);
  assert.is(health.last_reload.warnings?.length, 1);
  assert.is(health.last_reload.issues, undefined);
  both.close();
  await store.close();
});

test('history import --policy refuses an org the repository has a history for (1); history remove drops an import', async () => {
  const { dir, db } = tempRepo('    expiration: 90d\n');
  const err: string[] = [];
  const out: string[] = [];
  const io = {
    stdout: (s: string) => void out.push(s),
    stderr: (s: string) => void err.push(s),
    readStdin: async () => '',
  };
  const file = historyFile(dir, 'revisions: []\n');
  assert.is(await main(['history', 'import', file, '--store', db, '--policy', dir], io), 0, err.join(''));
  mkdirSync(join(dir, 'history'));
  writeFileSync(
    join(dir, 'history', 'acme.yaml'),
    'apiVersion: appwarden/v1\nkind: PolicyHistory\norg: acme.example\nrevisions: []\n',
  );
  assert.is(await main(['history', 'import', file, '--store', db, '--policy', dir], io), 1);
  assert.match(err.join(''), /already has a history for org "acme\.example"/);
  err.length = 0;
  assert.is(await main(['history', 'remove', 'acme.example', '--store', db], io), 0, err.join(''));
  const store = openStore(db);
  assert.equal(await store.importedHistories(), []);
  await store.close();
  assert.is(await main(['history', 'remove', 'acme.example', '--store', db], io), 1);
  assert.match(err.join(''), /no history imported for org acme\.example/);
});

test('appwarden history import: stores a valid file (0), refuses an invalid one with its line (1)', async () => {
  const { dir, db } = tempRepo('    expiration: 90d\n');
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: (s: string) => void out.push(s),
    stderr: (s: string) => void err.push(s),
    readStdin: async () => '',
  };
  const good = historyFile(
    dir,
    'revisions:\n  - at: 2026-01-01T00:00:00Z\n    spec: {tokens: {expiration: 30d}}\n',
  );
  assert.is(await main(['history', 'import', good, '--store', db], io), 0, err.join(''));
  assert.match(out.join(''), /acme\.example/);
  const store = openStore(db);
  assert.equal(
    (await store.importedHistories()).map((h) => [h.org, h.revisions.length]),
    [['acme.example', 1]],
  );
  await store.close();

  const bad = historyFile(dir, 'revisions:\n  - at: 2026-01-01\n    spec: {tokens: {expiration: 30d}}\n');
  err.length = 0;
  assert.is(await main(['history', 'import', bad, '--store', db], io), 1);
  assert.match(err.join(''), /east-history\.yaml:5:/);
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
