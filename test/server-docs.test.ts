// docs/api.md and the README stay true: every curl example runs against a real server on the example
// repository, and every reason or error code it answers is one the text around the example names
// (the prose above it, and the answer shown right below it).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine } from '../engine/index.ts';
import { sha256Hex } from '../server/auth.ts';
import { defaultConfig } from '../server/config.ts';
import { type RunningServer, startServer } from '../server/main.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docs = ['docs/api.md', 'README.md'].map((f) => ({
  file: f,
  text: readFileSync(join(root, f), 'utf8'),
}));
let server: RunningServer;
const run = promisify(execFile);

/**
 * Each ```sh block that calls the `npm start` server, with the prose between it and the previous block
 * and the text after it up to the next ```sh block (where an example's answer is shown).
 */
function examples(doc: string): { prose: string; script: string }[] {
  const out: { prose: string; script: string }[] = [];
  const re = /```sh\n([\s\S]*?)```/g;
  const blocks = [...doc.matchAll(re)];
  blocks.forEach((m, i) => {
    const script = m[1] ?? '';
    const start = m.index ?? 0;
    const before = i === 0 ? 0 : (blocks[i - 1]?.index ?? 0) + (blocks[i - 1]?.[0].length ?? 0);
    const after = blocks[i + 1]?.index ?? doc.length;
    // Only requests: a block that installs or starts anything (the quick start) is not run here.
    const isRequest =
      script.includes('http://127.0.0.1:8181') &&
      /^\s*curl /m.test(script) &&
      !/\bnpm\b|\bnode\b/.test(script);
    if (isRequest) {
      out.push({ prose: doc.slice(before, start) + doc.slice(start + m[0].length, after), script });
    }
  });
  return out;
}

test.before(async () => {
  const engine = createEngine({ policyDir: join(root, 'examples', 'policy-repo') });
  await engine.load();
  server = await startServer({
    engine,
    // The admin tokens docs/api.md tells readers to configure (super admins of Acme and Globex).
    config: {
      ...defaultConfig,
      port: 0,
      adminTokens: [
        { email: 'dana.whitfield@acme.example', tokenSha256: sha256Hex('dana-example-token') },
        { email: 'hank.scorpio@globex.example', tokenSha256: sha256Hex('hank-example-token') },
      ],
    },
    logger: pino({ level: 'silent' }),
  });
});

test.after(async () => {
  await server?.close();
});

test('every curl example in docs/api.md and the README answers what its text says', async () => {
  const all = docs.flatMap((d) => examples(d.text));
  assert.ok(examples(docs[1]?.text ?? '').length >= 1, 'the README quick start example is checked');
  assert.ok(all.length >= 10, `found ${all.length} examples`);
  for (const { prose, script } of all) {
    // Async: the server runs in this process, a blocking spawn would starve it.
    const r = await run('bash', ['-c', script.replaceAll('http://127.0.0.1:8181', server.url)], {
      cwd: root,
      timeout: 20_000,
    }).then(
      (o) => ({ status: 0, stdout: o.stdout, stderr: o.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        status: e.code ?? 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );
    const name = script.split('\n')[0] ?? script;
    assert.is(r.status, 0, `${name}: ${r.stderr}`);
    assert.ok(r.stdout.trim().length > 0, `${name}: no output`);
    const codes = [...r.stdout.matchAll(/"code":"([a-z_]+)"/g)].map((c) => c[1]);
    for (const code of codes)
      assert.ok(prose.includes(code ?? '?'), `${name}: answered ${code}, not named in the text`);
    if (/-w '%\{http_code\}/.test(script)) assert.is(r.stdout.trim(), '200');
  }
});

test.run();
