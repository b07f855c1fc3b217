// The server config file (appwarden.config.yaml): schema errors as file:line:col, YAML hazards, env overrides,
// precedence, `config check` / `config print --effective`, the example file, and `serve --config` alone.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, isEngineError } from '../engine/index.ts';
import { freePort, ROOT, startProcess } from '../examples/support.ts';
import { CONFIG_KEYS, resolveConfig, resolveServe, SERVER_CONFIG_SCHEMA } from '../server/config.ts';
import { runCli } from './support/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'appwarden-config-test-'));
const DIGEST_A = 'a'.repeat(64);
const DIGEST_B = 'b'.repeat(64);
let n = 0;

/** Writes a config file into the temp dir and returns its path. */
function file(text: string): string {
  n += 1;
  const path = join(tmp, `c${n}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** The problems of resolving, each formatted as the CLI prints it. */
function problems(opts: Parameters<typeof resolveConfig>[0]): string[] {
  try {
    resolveConfig({ env: {}, ...opts });
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_config'), String(err));
    return err.issues.map(formatIssue);
  }
  assert.unreachable('the configuration was accepted');
  return [];
}

/** Runs the CLI in-process with captured output; `env` is set on process.env for the call. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('APPWARDEN_')) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return await runCli(args);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('schema errors point at file:line:col with the field path and a did-you-mean', () => {
  const f = file('server:\n  prot: 9000\nstore:\n  sync: ful\nlimits:\n  max_body_bytes: 0\n');
  const out = problems({ file: f });
  assert.equal(out, [
    `${f}:2:3: unknown key \`prot\` (at server.prot; did you mean "port"?)`,
    `${f}:4:9: \`sync\` must be one of full, normal, not the string "ful" (at store.sync; did you mean "full"?)`,
    `${f}:6:19: \`max_body_bytes\` must be at least 1, not number 0 (at limits.max_body_bytes)`,
  ]);
  const section = problems({ file: file('sever:\n  port: 1\n') });
  assert.match(section[0] ?? '', /:1:1: unknown key `sever` \(at sever; did you mean "server"\?\)/);
});

test('a token where a digest belongs is refused without being echoed', () => {
  const out = problems({ file: file('auth:\n  token_sha256: [my-plain-secret]\n') }).join('\n');
  assert.match(out, ':2:18: token_sha256 must be a SHA-256 hex digest (64 hex digits), not a token');
  assert.not.match(out, 'my-plain-secret');
});

test('YAML hazards: duplicate keys, %YAML 1.1, unquoted on, aliases', () => {
  assert.equal(problems({ file: file('server:\n  port: 1\n  port: 2\n') }).length, 1);
  assert.match(
    problems({ file: file('server:\n  port: 1\n  port: 2\n') })[0] ?? '',
    ':3:3: duplicate key `port`',
  );
  assert.match(
    problems({ file: file('%YAML 1.1\n---\nsmtp:\n  secure: on\n') })[0] ?? '',
    ':1:1: unsupported %YAML 1.1 directive',
  );
  const on = problems({ file: file('smtp:\n  secure: on\n') });
  assert.equal(on, [
    `${join(tmp, `c${n}.yaml`)}:2:11: \`secure\` must be true or false, not the string "on" (at smtp.secure; write true or false (YAML 1.2 reads yes, no, on and off as strings))`,
  ]);
  assert.match(
    problems({ file: file('server:\n  host: &h 127.0.0.1\nsmtp:\n  host: *x\n') })[0] ?? '',
    'alias `*x` has no anchor before it',
  );
});

test('an empty file (or only comments) means the defaults', () => {
  const { config } = resolveConfig({ file: file('# nothing set yet\n'), env: {} });
  assert.is(config.port, 8181);
  assert.is(config.store.path, 'var/appwarden.db');
});

test('every key has an env variable; values are typed by the schema', () => {
  // One variable per key, named APPWARDEN_<SECTION>_<KEY>, and every key of the schema is covered.
  const schemaKeys = Object.entries(
    (SERVER_CONFIG_SCHEMA as unknown as { properties: Record<string, { properties: object }> }).properties,
  ).flatMap(([section, s]) => Object.keys(s.properties).map((k) => `${section}.${k}`));
  assert.equal(CONFIG_KEYS.map((k) => k.key).sort(), schemaKeys.sort());
  const { config, sources } = resolveConfig({
    env: {
      APPWARDEN_SERVER_PORT: '9001',
      APPWARDEN_SERVER_PUBLIC_URL: 'https://appwarden.example.com',
      APPWARDEN_SMTP_SECURE: 'TRUE',
      APPWARDEN_SMTP_HOST: 'mail.example.com',
      APPWARDEN_LOG_LEVEL: 'debug',
      APPWARDEN_STORE_SYNC: 'normal',
      APPWARDEN_STORE_PATH: ':memory:',
      APPWARDEN_AUTH_TOKEN_SHA256: ` ${DIGEST_A} ,`,
      APPWARDEN_SHUTDOWN_GRACE_MS: '2500',
      APPWARDEN_NOTIFICATIONS_POLL_MS: '50',
    },
  });
  assert.is(config.port, 9001);
  assert.is(config.publicUrl, 'https://appwarden.example.com');
  assert.is(config.smtp.secure, true);
  assert.is(config.smtp.host, 'mail.example.com');
  assert.is(config.logLevel, 'debug');
  assert.equal(config.store, { path: ':memory:', sync: 'normal' });
  assert.equal(config.tokenSha256, [DIGEST_A]);
  assert.is(config.shutdownGraceMs, 2500);
  assert.is(config.notifications.pollMs, 50);
  assert.is(sources['server.port'], 'env APPWARDEN_SERVER_PORT');
  assert.is(sources['server.host'], 'default');
});

test('every key is set through its own variable: each one takes effect and is named as the source', () => {
  // A valid value for every key (policy.dir and policy.bundle exclude each other: two passes).
  const sample: Record<string, string> = {
    'server.host': '127.0.0.2',
    'server.port': '9002',
    'server.public_url': 'https://warden.example.com',
    'policy.dir': 'examples/policy-repo',
    'store.path': ':memory:',
    'store.sync': 'normal',
    'auth.token_sha256': DIGEST_A,
    'auth.admin_tokens': `dana@acme.example=${DIGEST_B}`,
    'limits.max_body_bytes': '1234',
    'limits.max_batch_items': '7',
    'reload.debounce_ms': '11',
    'log.level': 'warn',
    'smtp.url': 'smtp://mailer@mail.example.com:2525',
    'smtp.host': 'relay.example.com',
    'smtp.port': '2526',
    'smtp.secure': 'true',
    'smtp.user': 'mailer',
    'smtp.password': 'pw-from-env',
    'smtp.from': 'warden <warden@example.com>',
    'notifications.outbox_dir': '/tmp/appwarden-outbox-test',
    'notifications.max_attempts': '3',
    'notifications.retry_base_seconds': '5',
    'notifications.poll_ms': '25',
    'shutdown.grace_ms': '1500',
  };
  const keys = CONFIG_KEYS.map((k) => k.key).filter((k) => k !== 'policy.bundle');
  assert.equal(Object.keys(sample).sort(), keys.sort(), 'a sample for every key');
  const env = Object.fromEntries(
    CONFIG_KEYS.filter((k) => k.key in sample).map((k) => [k.env, sample[k.key]]),
  );
  const { config, sources } = resolveConfig({ env });
  for (const k of keys) {
    const expected = k === 'auth.token_sha256' || k === 'auth.admin_tokens' ? /^env / : /^env APPWARDEN_/;
    assert.match(String(sources[k]), expected, k);
  }
  assert.equal(
    [
      config.host,
      config.port,
      config.publicUrl,
      config.maxBodyBytes,
      config.maxBatchItems,
      config.reloadDebounceMs,
    ],
    ['127.0.0.2', 9002, 'https://warden.example.com', 1234, 7, 11],
  );
  assert.equal(config.adminTokens, [{ email: 'dana@acme.example', tokenSha256: DIGEST_B }]);
  assert.equal(config.smtp, {
    url: 'smtp://mailer@mail.example.com:2525',
    host: 'relay.example.com',
    port: 2526,
    secure: true,
    user: 'mailer',
    password: 'pw-from-env',
    from: 'warden <warden@example.com>',
  });
  assert.equal(config.notifications, {
    outboxDir: '/tmp/appwarden-outbox-test',
    maxAttempts: 3,
    retryBaseSeconds: 5,
    pollMs: 25,
  });
  assert.is(config.logLevel, 'warn');
  assert.is(config.shutdownGraceMs, 1500);
  assert.match(String(config.policy.dir), /examples\/policy-repo$/);
  const bundle = CONFIG_KEYS.find((k) => k.key === 'policy.bundle')?.env as string;
  const second = resolveConfig({ env: { [bundle]: 'bundle.tar.gz' } });
  assert.match(String(second.config.policy.bundle), /bundle\.tar\.gz$/);
  assert.is(second.sources['policy.bundle'], `env ${bundle}`);
});

test('a bad env value names the variable, and a secret one is not echoed', () => {
  const out = problems({
    env: {
      APPWARDEN_SERVER_PORT: '80x',
      APPWARDEN_LIMITS_MAX_BATCH_ITEMS: '0',
      APPWARDEN_SMTP_SECURE: 'yes',
      APPWARDEN_LOG_LEVEL: 'loud',
      APPWARDEN_SMTP_URL: 'http://bob:hunter2@mail.example.com',
    },
  });
  assert.equal(out.sort(), [
    '`level` must be one of fatal, error, warn, info, debug, trace, silent, not the string "loud" (at APPWARDEN_LOG_LEVEL)',
    '`max_batch_items` must be at least 1, not number 0 (at APPWARDEN_LIMITS_MAX_BATCH_ITEMS)',
    '`port` must be an integer, not "80x" (at APPWARDEN_SERVER_PORT)',
    '`secure` must be true or false, not "yes" (at APPWARDEN_SMTP_SECURE)',
    'smtp.url must be an smtp:// or smtps:// URL (its value is not shown: it may hold a password) (at APPWARDEN_SMTP_URL; e.g. smtps://user@mail.example.com:465, with the password in APPWARDEN_SMTP_PASSWORD)',
  ]);
  assert.match(problems({ env: { APPWARDEN_SERVER_PORT: '70000' } })[0] ?? '', 'must be at most 65535');
});

test('the old variable names still work as aliases and add to the lists of the file', () => {
  const f = file(`auth:\n  token_sha256: [${DIGEST_A}]\n`);
  const { config, sources } = resolveConfig({
    file: f,
    env: { APPWARDEN_TOKEN_SHA256: DIGEST_B, APPWARDEN_ADMIN_TOKENS: `Dana@acme.example=${'c'.repeat(64)}` },
  });
  assert.equal(config.tokenSha256, [DIGEST_A, DIGEST_B]);
  assert.equal(config.adminTokens, [{ email: 'dana@acme.example', tokenSha256: 'c'.repeat(64) }]);
  assert.is(sources['auth.token_sha256'], `file ${f}:2:3 + env APPWARDEN_TOKEN_SHA256`);
});

test('precedence: defaults < file < env < flags; relative paths of the file are relative to it', () => {
  const f = file(
    'server:\n  port: 7000\n  host: localhost\nstore:\n  path: data/app.db\nlog:\n  level: warn\n',
  );
  const fileOnly = resolveConfig({ file: f, env: {} });
  assert.is(fileOnly.config.port, 7000);
  assert.is(fileOnly.config.store.path, join(tmp, 'data', 'app.db'));
  assert.is(fileOnly.sources['server.port'], `file ${f}:2:3`);
  const withEnv = resolveConfig({
    file: f,
    env: { APPWARDEN_SERVER_PORT: '7001', APPWARDEN_LOG_LEVEL: 'error' },
  });
  assert.is(withEnv.config.port, 7001);
  assert.is(withEnv.config.host, 'localhost');
  assert.is(withEnv.config.logLevel, 'error');
  const withFlags = resolveConfig({
    file: f,
    env: { APPWARDEN_SERVER_PORT: '7001', APPWARDEN_STORE_PATH: 'env.db' },
    flags: { port: 7002, store: ':memory:' },
  });
  assert.is(withFlags.config.port, 7002);
  assert.is(withFlags.sources['server.port'], 'flag --port');
  assert.is(withFlags.config.store.path, ':memory:');
  assert.is(withFlags.config.logLevel, 'warn');
});

test('the policy source: a flag replaces the file source; dir and bundle together are refused', () => {
  const policyRepo = join(ROOT, 'examples', 'policy-repo');
  const f = file(`policy:\n  bundle: ${join(tmp, 'missing.tar.gz')}\n`);
  const r = resolveServe({ config: f, policy: policyRepo }, {});
  assert.is(r.source, policyRepo);
  assert.is(r.config.policy.bundle, null);
  assert.match(
    problems({ file: file('policy:\n  dir: a\n  bundle: b.tar.gz\n') })[0] ?? '',
    /:3:3: policy\.dir and policy\.bundle are both set/,
  );
  assert.throws(() => resolveServe({}, {}), /no policy source/);
  assert.throws(
    () => resolveServe({ config: f }, {}),
    /policy\.bundle \(file .*\) .*missing\.tar\.gz does not exist/,
  );
});

test('config check: exit 0 valid, 1 invalid with every problem, 2 unreadable', async () => {
  const ok = await cli(['config', 'check', '--config', file('server:\n  port: 9000\n')]);
  assert.is(ok.code, 0, ok.stderr);
  const badFile = file('server:\n  prot: 9000\nsmtp:\n  secure: on\n');
  const bad = await cli(['config', 'check', '--config', badFile], { APPWARDEN_SMTP_PORT: 'x' });
  assert.is(bad.code, 1);
  assert.match(bad.stderr, `${badFile}:2:3: unknown key \`prot\``);
  assert.match(bad.stderr, `${badFile}:4:11: \`secure\` must be true or false`);
  assert.match(bad.stderr, 'APPWARDEN_SMTP_PORT');
  assert.match(bad.stderr, '3 problems');
  const missing = await cli(['config', 'check', '--config', join(tmp, 'nope.yaml')]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, 'cannot read config file');
});

test('config check warns about a secret in the file and a mistyped variable, and still passes', async () => {
  const r = await cli(['config', 'check', '--config', file('smtp:\n  user: mailer\n  password: hunter2\n')], {
    APPWARDEN_SERVR_PORT: '1',
  });
  assert.is(r.code, 0);
  assert.match(r.stderr, 'smtp.password holds a secret in the config file');
  assert.match(r.stderr, 'did you mean APPWARDEN_SERVER_PORT?');
  assert.not.match(r.stderr + r.stdout, 'hunter2');
});

test('config check refuses what serve would: a bad smtp.url, a password with no user, a From with no address', async () => {
  const r = await cli(['config', 'check'], {
    APPWARDEN_SMTP_URL: 'smtp://mailer:se#cret@mail.example.com:25',
    APPWARDEN_SMTP_FROM: 'not an address',
  });
  assert.is(r.code, 1);
  assert.match(r.stderr, 'smtp.url is not an smtp:// or smtps:// URL with a host');
  assert.match(r.stderr, 'percent-encode');
  assert.match(r.stderr, 'smtp.from must be an address');
  assert.not.match(r.stderr, 'se#cret');
  for (const url of [
    'smtp://mail.example.com:587/?requireTLS=false',
    'smtp://us%ZZer:pw@mail.example.com:587',
    'smtp://:only-a-password@mail.example.com:587',
  ]) {
    const bad = await cli(['config', 'check'], { APPWARDEN_SMTP_URL: url });
    assert.is(bad.code, 1, url);
    assert.match(
      bad.stderr,
      /smtp\.url takes no query parameters|smtp\.url is not an smtp|no user to log in as/,
      url,
    );
    assert.not.match(bad.stderr, /only-a-password/);
  }
  const noUser = await cli(['config', 'check'], {
    APPWARDEN_SMTP_HOST: 'mail.example.com',
    APPWARDEN_SMTP_PASSWORD: 'x-secret',
  });
  assert.is(noUser.code, 1);
  assert.match(noUser.stderr, 'an SMTP password is set but no user to log in as');
  const withUser = await cli(['config', 'check'], {
    APPWARDEN_SMTP_URL: 'smtp://mailer@mail.example.com:587',
    APPWARDEN_SMTP_PASSWORD: 'x-secret',
  });
  assert.is(withUser.code, 0, withUser.stderr);
});

test('links in emails follow the port the server listens on unless public_url is set', async () => {
  const byPort = await cli(['config', 'print', '--effective', '--format', 'json'], {
    APPWARDEN_SERVER_PORT: '18431',
  });
  assert.is(
    (JSON.parse(byPort.stdout) as { config: { server: { public_url: string } } }).config.server.public_url,
    'http://127.0.0.1:18431',
  );
  const slash = await cli(['config', 'check'], {
    APPWARDEN_SERVER_PUBLIC_URL: 'https://warden.example.com/',
  });
  assert.is(slash.code, 1);
  assert.match(slash.stderr, 'public_url must be an http:// or https:// URL without a trailing slash');
  const set = await cli(['config', 'print', '--effective', '--format', 'json'], {
    APPWARDEN_SERVER_PORT: '18431',
    APPWARDEN_SERVER_PUBLIC_URL: 'https://warden.example.com',
  });
  assert.is(
    (JSON.parse(set.stdout) as { config: { server: { public_url: string } } }).config.server.public_url,
    'https://warden.example.com',
  );
});

test('config print --effective: sources shown, the password masked from the file and from env', async () => {
  const f = file(
    'server:\n  port: 9000\nsmtp:\n  url: smtp://bob:pa55word@mail.example.com:587\n  password: hunter2\n',
  );
  const yaml = await cli(['config', 'print', '--effective', '--config', f], { APPWARDEN_LOG_LEVEL: 'debug' });
  assert.is(yaml.code, 0, yaml.stderr);
  assert.match(yaml.stdout, `port: 9000 # file ${f}:2:3`);
  assert.match(yaml.stdout, 'level: debug # env APPWARDEN_LOG_LEVEL');
  assert.match(yaml.stdout, 'host: 127.0.0.1 # default (APPWARDEN_SERVER_HOST)');
  assert.match(yaml.stdout, 'url: smtp://bob:********@mail.example.com:587');
  assert.match(yaml.stdout, 'password: "********"');
  assert.not.match(yaml.stdout + yaml.stderr, 'hunter2');
  assert.not.match(yaml.stdout + yaml.stderr, 'pa55word');

  const json = await cli(['config', 'print', '--effective', '--format', 'json'], {
    APPWARDEN_SMTP_PASSWORD: 'env-secret-42',
    APPWARDEN_SMTP_USER: 'mailer',
  });
  assert.is(json.code, 0, json.stderr);
  assert.not.match(json.stdout, 'env-secret-42');
  const doc = JSON.parse(json.stdout) as {
    config: { smtp: { password: string; user: string } };
    sources: Record<string, string>;
  };
  assert.is(doc.config.smtp.password, '********');
  assert.is(doc.config.smtp.user, 'mailer');
  assert.is(doc.sources['smtp.password'], 'env APPWARDEN_SMTP_PASSWORD');
});

test('the example file passes config check and names every key', async () => {
  const example = join(ROOT, 'examples', 'appwarden.config.yaml');
  const r = await cli(['config', 'check', '--config', example]);
  assert.is(r.code, 0, r.stderr);
  const { sources } = resolveConfig({ file: example, env: {} });
  const unset = Object.entries(sources)
    .filter(([key, source]) => source === 'default' && key !== 'policy.bundle')
    .map(([key]) => key);
  assert.equal(unset, [], 'every key but the alternative policy.bundle is written out');
});

test('serve --config alone: policy dir, store and port from the file', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmp, 'serve-'));
  const policy = relative(dir, join(ROOT, 'examples', 'policy-repo'));
  const cfg = join(dir, 'appwarden.config.yaml');
  writeFileSync(cfg, `server:\n  port: ${port}\npolicy:\n  dir: ${policy}\nstore:\n  path: state/app.db\n`);
  const env: NodeJS.ProcessEnv = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('APPWARDEN_')) env[k] = '';
  const server = await startProcess(
    process.execPath,
    [join(ROOT, 'bin', 'appwarden.js'), 'serve', '--config', cfg],
    {
      url: `http://127.0.0.1:${port}`,
      readyPath: '/ready',
      env,
    },
  );
  try {
    const res = await fetch(`${server.url}/health`);
    const body = (await res.json()) as { status: string };
    assert.is(body.status, 'ok');
    assert.ok(existsSync(resolve(dir, 'state', 'app.db')), 'the store file is created where the file says');
  } finally {
    await server.stop();
  }
});

test.run();
