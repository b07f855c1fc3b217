// The CLI as users run it: `node bin/appwarden.js ...` in a child process; exit codes 0 ok / 1 invalid / 2 error.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadAndValidate } from '../engine/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'appwarden.js');
const tmp = mkdtempSync(join(tmpdir(), 'appwarden-cli-'));

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
    env: { ...process.env, APPWARDEN_TOKEN_SHA256: '' },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function repo(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const ACME = (expiration: string, blocked = 'bad-app') =>
  `apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata:\n  org: acme.example\nspec:\n  apps:\n    blocked:\n      - id: ${blocked}\n  tokens:\n    expiration: ${expiration}\n`;
const good = repo('good', { 'orgs/acme.yaml': ACME('30d') });
const bad = repo('bad', {
  'orgs/acme.yaml': ACME('30d').replace('  tokens:', '    mdoe: allow_all\n  tokens:'),
  'orgs/beta.yaml':
    'apiVersion: appwarden/v1\nkind: OrgPolicy\nmetadata:\n  org: beta.example\nspec:\n  apps:\n    blocked:\n      - id: 1204567890123456789\n',
});
const history = join(tmp, 'history.yaml');
writeFileSync(
  history,
  'apiVersion: appwarden/v1\nkind: PolicyHistory\norg: acme.example\nrevisions:\n  - at: 2026-03-01T00:00:00Z\n    spec: {tokens: {expiration: 30d}}\n',
);
const tokenUse = join(tmp, 'token-use.json');
writeFileSync(
  tokenUse,
  JSON.stringify({
    subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
    action: { name: 'token.use' },
    resource: {
      type: 'token',
      id: 'tok_1',
      properties: { kind: 'personal_access', created_at: '2026-01-10T00:00:00Z', owner: 'U1' },
    },
    context: { org: 'acme.example' },
  }),
);
const connect = (appId: string) =>
  JSON.stringify({
    subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
    action: { name: 'app.connect' },
    resource: { type: 'app', id: appId },
    context: { org: 'acme.example' },
  });

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('--help works on every command and exits 0; no command or an unknown one is a usage error (2)', () => {
  for (const cmd of [[], ['validate'], ['eval'], ['serve'], ['build']]) {
    const r = cli([...cmd, '--help']);
    assert.is(r.code, 0, cmd.join(' '));
    assert.match(r.stdout, new RegExp(`Usage: appwarden${cmd.length ? ` ${cmd[0]}` : ''}`));
  }
  assert.is(cli([]).code, 2);
  assert.is(cli(['frobnicate']).code, 2);
  assert.is(cli(['validate']).code, 2, 'missing <dir>');
  assert.is(cli(['validate', good, '--format', 'xml']).code, 2);
});

test('validate: a valid repository exits 0 with its revision (text and json)', async () => {
  const { revision, orgs } = await loadAndValidate(good);
  const text = cli(['validate', good]);
  assert.is(text.code, 0);
  assert.match(text.stdout, `revision ${revision}`);
  const json = cli(['validate', good, '--format', 'json']);
  assert.is(json.code, 0);
  assert.equal(JSON.parse(json.stdout), { valid: true, revision, orgs, issues: [] });
});

test('validate: an invalid repository exits 1 listing every problem as file:line:col: message', () => {
  const text = cli(['validate', bad]);
  assert.is(text.code, 1);
  const lines = text.stderr.trim().split('\n');
  const issues = lines.filter((l) => /^\S+\.yaml:\d+:\d+: /.test(l));
  assert.is(issues.length, 2, text.stderr);
  assert.ok(issues.some((l) => l.startsWith(join(bad, 'orgs/acme.yaml')) && l.includes('mdoe')));
  assert.ok(
    issues.some((l) => l.startsWith(join(bad, 'orgs/beta.yaml')) && l.includes('1204567890123456789')),
  );
  assert.match(lines[lines.length - 1] ?? '', /^2 problems/);
  const json = cli(['validate', bad, '--format', 'json']);
  assert.is(json.code, 1);
  const body = JSON.parse(json.stdout) as { valid: boolean; issues: { line: number; column: number }[] };
  assert.is(body.valid, false);
  assert.is(body.issues.length, 2);
  assert.ok(body.issues.every((i) => i.line > 0 && i.column > 0));
  const gone = cli(['validate', join(tmp, 'does-not-exist')]);
  assert.is(gone.code, 2);
  assert.match(gone.stderr, /does not exist/);
});

test('eval: prints the decision; --at and --history decide the token expiry (SPEC §5 worked example)', () => {
  const soon = cli([
    'eval',
    '--policy',
    good,
    '--input',
    tokenUse,
    '--at',
    '2026-03-28T00:00:00Z',
    '--history',
    history,
  ]);
  assert.is(soon.code, 0, soon.stderr);
  const d = JSON.parse(soon.stdout) as {
    decision: boolean;
    context: { advice?: { expires_at: string; warning?: string } };
  };
  assert.is(d.decision, true);
  assert.equal(d.context.advice, { expires_at: '2026-03-31T00:00:00Z', warning: 'token_expires_soon' });
  const later = cli([
    'eval',
    '--policy',
    good,
    '--input',
    tokenUse,
    '--at',
    '2026-04-01T00:00:00Z',
    '--history',
    history,
  ]);
  assert.is(later.code, 0, 'a deny is still a decision');
  const l = JSON.parse(later.stdout) as { decision: boolean; context: { reason: { code: string } } };
  assert.is(l.decision, false);
  assert.is(l.context.reason.code, 'token_expired');
  const noHistory = cli(['eval', '--policy', good, '--input', tokenUse, '--at', '2026-04-01T00:00:00Z']);
  assert.is(
    (JSON.parse(noHistory.stdout) as { decision: boolean }).decision,
    true,
    'without the history 30d starts at --at',
  );
});

test('eval: reads stdin with --input -, defaults --at to now, refuses a bad --at (2) and a bad request (1)', () => {
  const r = cli(['eval', '--policy', good, '--input', '-'], connect('bad-app'));
  assert.is(r.code, 0, r.stderr);
  assert.is(
    (JSON.parse(r.stdout) as { context: { reason: { code: string } } }).context.reason.code,
    'app_blocked',
  );
  for (const at of ['2026-03-01', '2026-03-01T00:00:00', '2026-02-30T00:00:00Z', 'yesterday']) {
    const bad = cli(['eval', '--policy', good, '--input', tokenUse, '--at', at]);
    assert.is(bad.code, 2, at);
    assert.match(bad.stderr, /RFC 3339/);
    assert.is(bad.stdout, '');
  }
  const badInput = cli(
    ['eval', '--policy', good, '--input', '-'],
    connect('x').replace('"id":"x"', '"id":7'),
  );
  assert.is(badInput.code, 1);
  assert.match(badInput.stderr, /\/resource\/id/);
  const notJson = cli(['eval', '--policy', good, '--input', '-'], '{"subject":');
  assert.is(notJson.code, 1);
  assert.is(cli(['eval', '--policy', good]).code, 2, '--input is required');
  assert.is(cli(['eval', '--policy', bad, '--input', tokenUse]).code, 1, 'invalid policy');
});

test('build writes a bundle with the repository revision; an invalid repository exits 1', async () => {
  const out = join(tmp, 'bundle.tar.gz');
  const r = cli(['build', '--policy', good, '-o', out]);
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
  assert.match(r.stdout, (await loadAndValidate(good)).revision);
  assert.is(cli(['build', '--policy', bad, '-o', join(tmp, 'bad.tar.gz')]).code, 1);
  assert.not.ok(existsSync(join(tmp, 'bad.tar.gz')));
});

test('serve refuses a non-loopback host without tokens (exit 2) and needs exactly one source', () => {
  const r = cli(['serve', '--policy', good, '--host', '0.0.0.0', '--port', '0']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /without authentication/);
  assert.is(cli(['serve', '--port', '0']).code, 2);
  assert.is(cli(['serve', '--policy', good, '--bundle', 'x.tar.gz']).code, 2);
  assert.is(cli(['serve', '--policy', good, '--port', 'http']).code, 2);
  const config = join(tmp, 'typo.yaml');
  writeFileSync(config, 'auth:\n  tokens: [abc]\n');
  const typo = cli(['serve', '--policy', good, '--port', '0', '--config', config]);
  assert.is(typo.code, 2);
  assert.match(typo.stderr, /typo.yaml:2:3: unknown key `tokens`/);
});

/** Starts `serve` and resolves with its base URL (read from the JSON log line) once it listens. */
function startServe(
  args: string[],
): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  // An in-memory store: a test server must not write go-live history into the repository's var/.
  const child = spawn(process.execPath, [bin, 'serve', '--store', ':memory:', ...args], {
    cwd: root,
    env: { ...process.env, APPWARDEN_TOKEN_SHA256: '' },
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 20_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      out += d;
      const m = /"url":"(http:\/\/[^"]+)".*"decision server listening"/.exec(out);
      if (m?.[1] && /"startup"/.test(out)) {
        clearTimeout(timer);
        resolve({ child, url: m[1], exited });
      }
    });
    child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
}

test('serve: SIGHUP reloads the policy (file events are slowed right down here), SIGTERM exits 0', async () => {
  const dir = repo('hup', { 'orgs/acme.yaml': ACME('30d', 'first-app') });
  const config = join(tmp, 'slow-reload.yaml');
  writeFileSync(config, 'reload:\n  debounce_ms: 600000\n');
  const { child, url, exited } = await startServe(['--policy', dir, '--port', '0', '--config', config]);
  try {
    const decide = async (app: string) => {
      const res = await fetch(`${url}/access/v1/evaluation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: connect(app),
      });
      return ((await res.json()) as { decision: boolean }).decision;
    };
    assert.is(await decide('second-app'), true);
    writeFileSync(join(dir, 'orgs', 'acme.yaml'), ACME('30d', 'second-app'));
    await new Promise((r) => setTimeout(r, 300));
    assert.is(await decide('second-app'), true, 'not reloaded by the file event yet');
    child.kill('SIGHUP');
    const end = Date.now() + 10_000;
    while (Date.now() < end && (await decide('second-app'))) await new Promise((r) => setTimeout(r, 50));
    assert.is(await decide('second-app'), false, 'SIGHUP loaded the new policy');
    assert.is(await decide('first-app'), true);
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0);
});

test.run();
