// Admin authentication and roles (SPEC §1) through app.request(): admin tokens stand for an email, the org's
// admins lists give the role; decision and admin tokens never cross; the config reads admin tokens.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine, isEngineError } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig, loadConfig, type ServerConfig } from '../server/config.ts';

const root = join(import.meta.dirname, '..');
let engine: Engine;
test.before(async () => {
  engine = createEngine({ policyDir: join(root, 'examples', 'policy-repo') });
  await engine.load();
});
test.after(() => engine.close());

/** Who calls, per examples/policy-repo/orgs/acme.yaml and globex.yaml. */
const PEOPLE = {
  super_admin: 'dana.whitfield@acme.example',
  admin: 'helpdesk@acme.example',
  division_admin: 'division.lead@acme.example',
  member: 'ann@acme.example',
  guest: 'visitor@partner.example',
  other_org_admin: 'hank.scorpio@globex.example',
} as const;
type Who = keyof typeof PEOPLE;
const tokenOf = (who: Who) => `token-of-${who}-0123456789`;
const ADMIN_TOKENS = Object.entries(PEOPLE).map(([who, email]) => ({
  email,
  tokenSha256: sha256Hex(tokenOf(who as Who)),
}));
const DECISION_TOKEN = 'decision-token-0123456789';

function setup(config: Partial<ServerConfig> = {}) {
  const app = createApp({ engine, config: { ...defaultConfig, adminTokens: ADMIN_TOKENS, ...config } });
  const as = (who: Who | string) => ({
    authorization: `Bearer ${who in PEOPLE ? tokenOf(who as Who) : who}`,
  });
  return { app, as };
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

const decisions = '/admin/v1/orgs/acme.example/decisions';

test('role matrix on a read endpoint: super admins and admins read; everyone else is 403 naming org and role', async () => {
  const { app, as } = setup();
  const want: Record<Who, number> = {
    super_admin: 200,
    admin: 200,
    division_admin: 403,
    member: 403,
    guest: 403,
    other_org_admin: 403,
  };
  for (const who of Object.keys(want) as Who[]) {
    const res = await app.request(decisions, { headers: as(who) });
    assert.is(res.status, want[who], who);
    if (res.status === 403) {
      const e = await errorOf(res);
      assert.is(e.code, 'forbidden', who);
      assert.match(e.message, 'acme.example', `${who}: names the org`);
      assert.match(e.message, PEOPLE[who], `${who}: names the caller`);
      assert.match(e.message, /neither a super admin nor an admin/, who);
    }
  }
  // The other org's admin is at home in their own org.
  const home = await app.request('/admin/v1/orgs/globex.example/decisions', {
    headers: as('other_org_admin'),
  });
  assert.is(home.status, 200);
  const unknown = await app.request('/admin/v1/orgs/nowhere.example/decisions', {
    headers: as('super_admin'),
  });
  assert.is(unknown.status, 403);
  assert.match((await errorOf(unknown)).message, 'nowhere.example');
});

test('the org in the path is compared lower-cased', async () => {
  const { app, as } = setup();
  const res = await app.request('/admin/v1/orgs/ACME.Example/decisions', { headers: as('admin') });
  assert.is(res.status, 200);
});

test('decision tokens cannot call the admin API, nor admin tokens the decision API', async () => {
  const { app, as } = setup({ tokenSha256: [sha256Hex(DECISION_TOKEN)] });
  const adminWithDecisionToken = await app.request(decisions, { headers: as(DECISION_TOKEN) });
  assert.is(adminWithDecisionToken.status, 403);
  assert.match(
    (await errorOf(adminWithDecisionToken)).message,
    'decision-API token cannot call the admin API',
  );
  const body = JSON.stringify({
    subject: { type: 'external_service', id: 'zapier' },
    action: { name: 'rule.trigger' },
    resource: { type: 'rule', id: 'r1' },
    context: { org: 'acme.example' },
  });
  const post = (headers: Record<string, string>) =>
    app.request('/access/v1/evaluation', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const decisionWithAdminToken = await post(as('super_admin'));
  assert.is(decisionWithAdminToken.status, 403);
  assert.match((await errorOf(decisionWithAdminToken)).message, 'admin token cannot call the decision API');
  assert.is((await post(as(DECISION_TOKEN))).status, 200);
  // Also with decision auth off (loopback, no decision tokens): an admin token is still not a decision token.
  const open = setup();
  const res = await open.app.request('/access/v1/evaluation', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...open.as('super_admin') },
    body,
  });
  assert.is(res.status, 403);
});

test('missing, malformed and unknown admin tokens are 401 with a Bearer challenge', async () => {
  const { app } = setup();
  for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer not-a-known-token' }]) {
    const res = await app.request(decisions, { headers });
    assert.is(res.status, 401, JSON.stringify(headers));
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  }
});

test('with no admin tokens configured the admin API is off: 401 saying how to configure one', async () => {
  const app = createApp({ engine, config: { ...defaultConfig } });
  const res = await app.request(decisions, {
    headers: { authorization: `Bearer ${tokenOf('super_admin')}` },
  });
  assert.is(res.status, 401);
  const e = await errorOf(res);
  assert.is(e.code, 'unauthorized');
  assert.match(e.message, 'APPWARDEN_ADMIN_TOKENS');
});

test('before any policy is live the admin API answers 503 (no org has admins yet)', async () => {
  const idle = createEngine({ policyDir: join(root, 'examples', 'policy-repo') });
  const app = createApp({ engine: idle, config: { ...defaultConfig, adminTokens: ADMIN_TOKENS } });
  const res = await app.request(decisions, {
    headers: { authorization: `Bearer ${tokenOf('super_admin')}` },
  });
  assert.is(res.status, 503);
});

test('config: admin tokens from the file and APPWARDEN_ADMIN_TOKENS add up; emails lower-cased; digests only', () => {
  const a = sha256Hex('a');
  const b = sha256Hex('b');
  const dir = mkdtempSync(join(tmpdir(), 'appwarden-config-'));
  const file = join(dir, 'server.yaml');
  writeFileSync(
    file,
    `auth:\n  admin_tokens:\n    - email: Dana.Whitfield@acme.example\n      token_sha256: ${a}\n`,
  );
  const config = loadConfig(file, { APPWARDEN_ADMIN_TOKENS: ` Root@Acme.example=${b.toUpperCase()} ,` });
  writeFileSync(file, `auth:\n  admin_tokens:\n    - email: x@acme.example\n      token: secret\n`);
  try {
    loadConfig(file, {});
    assert.unreachable('accepted a token in the file');
  } catch (err) {
    assert.ok(isEngineError(err, 'invalid_config'), String(err));
    assert.equal(err.issues.map((i) => i.path).sort(), [
      'auth.admin_tokens[0]',
      'auth.admin_tokens[0].token',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(config.adminTokens, [
    { email: 'dana.whitfield@acme.example', tokenSha256: a },
    { email: 'root@acme.example', tokenSha256: b },
  ]);
  const bad = (env: Record<string, string>): string => {
    try {
      loadConfig(undefined, env);
    } catch (err) {
      assert.ok(isEngineError(err, 'invalid_config'), String(err));
      return err.issues.map((i) => i.message).join('\n');
    }
    assert.unreachable('accepted');
    return '';
  };
  assert.match(bad({ APPWARDEN_ADMIN_TOKENS: 'root@acme.example=plain-token' }), 'not a token');
  assert.match(bad({ APPWARDEN_ADMIN_TOKENS: `${a}` }), 'email');
  assert.match(
    bad({ APPWARDEN_ADMIN_TOKENS: `x@acme.example=${a}`, APPWARDEN_TOKEN_SHA256: a }),
    'also a decision-API token',
  );
  assert.match(
    bad({ APPWARDEN_ADMIN_TOKENS: `x@acme.example=${a},y@acme.example=${a}` }),
    'give each admin their own token',
  );
});

test.run();
