// SPEC §7 "nothing accepted is lost": a real server process under concurrent load is killed with SIGKILL;
// the store it leaves behind holds every decision it had answered, found by decision_id.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.ts';
import { ROOT, startAppwarden } from '../examples/support.ts';

const dir = mkdtempSync(join(tmpdir(), 'appwarden-crash-'));

test.after(() => rmSync(dir, { recursive: true, force: true }));

const body = (i: number) =>
  JSON.stringify({
    subject: { type: 'user', id: `U${i}`, properties: { email: `u${i}@acme.example`, role: 'member' } },
    action: { name: 'app.connect' },
    resource: { type: 'app', id: i % 5 === 0 ? '1204567890123456789' : `A${i}` },
    context: { org: 'acme.example' },
  });

test('SIGKILL mid-load: every answered decision is in the log', async () => {
  const db = join(dir, 'var', 'appwarden.db');
  const server = await startAppwarden(join(ROOT, 'examples', 'policy-repo'), ['--store', db], {
    env: { APPWARDEN_LOG_LEVEL: 'warn' },
  });
  const total = 600;
  const killAfter = 250;
  const answered: string[] = [];
  let failed = 0;
  let next = 0;
  let killed = false;
  const exited = new Promise<void>((done) => server.child.once('exit', () => done()));
  async function worker(): Promise<void> {
    for (let i = next++; i < total; i = next++) {
      try {
        const res = await fetch(`${server.url}/access/v1/evaluation`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(i),
        });
        const d = (await res.json()) as { context?: { decision_id?: string } };
        if (res.status === 200 && d.context?.decision_id) answered.push(d.context.decision_id);
      } catch {
        failed++;
      }
      if (!killed && answered.length >= killAfter) {
        killed = true;
        server.child.kill('SIGKILL');
      }
    }
  }
  await Promise.all(Array.from({ length: 32 }, worker));
  await exited;
  assert.ok(killed, 'the server was killed under load');
  assert.ok(answered.length >= killAfter, `${answered.length} answered`);
  assert.ok(failed > 0, 'requests were in flight or still to come when it died');

  const store = openStore(db);
  const missing: string[] = [];
  for (const id of answered) if ((await store.getDecision(id)) === null) missing.push(id);
  await store.close();
  assert.equal(missing, [], `${missing.length} of ${answered.length} answered decisions are not in the log`);
});

test.run();
