// A 5-second smoke of `npm run soak` (examples/soak/soak.ts), so the script cannot rot: it starts its
// server, drives it, sees valid reloads go live and an invalid one rejected, samples memory and prints a verdict.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main, parseDuration, runSoak } from '../examples/soak/soak.ts';

test('parseDuration reads ms, s, m, h and refuses anything else', () => {
  assert.is(parseDuration('500ms'), 500);
  assert.is(parseDuration('5s'), 5_000);
  assert.is(parseDuration('10m'), 600_000);
  assert.is(parseDuration('1h'), 3_600_000);
  assert.is(parseDuration('2'), 2_000);
  assert.throws(() => parseDuration('10 minutes'), /not a duration/);
  assert.throws(() => parseDuration('-5s'), /not a duration/);
});

test('a usage error exits 2 before starting anything', async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (line: string) => errors.push(line);
  try {
    assert.is(await main(['--rate', 'fast']), 2);
    assert.is(await main(['--durtion', '5s']), 2);
  } finally {
    console.error = original;
  }
  assert.match(errors.join('\n'), '--rate must be a positive integer');
  assert.match(errors.join('\n'), 'unknown option --durtion');
});

test('--duration 5s: zero errors, reloads checked both ways, a sample per second and a verdict', async () => {
  const lines: string[] = [];
  const r = await runSoak({
    rate: 100,
    durationMs: 5_000,
    reloadEveryMs: 1_000,
    invalidEvery: 2,
    connections: 4,
    sampleMs: 1_000,
    warmupMs: 1_000,
    print: (line) => lines.push(line),
  });
  const out = lines.join('\n');
  assert.is(r.totals.non2xx, 0, out);
  assert.is(r.totals.conn_errors, 0, out);
  assert.ok(r.totals.requests > 0, out);
  assert.equal(r.reloads.wrong, [], out);
  assert.ok(r.reloads.ok >= 1, `a valid rewrite went live\n${out}`);
  assert.ok(r.reloads.rejected >= 1, `an invalid rewrite was rejected\n${out}`);
  assert.ok(r.samples.length >= 4, out);
  for (const s of r.samples) assert.ok(s.rss_mib > 0, `RSS read from /proc\n${out}`);
  assert.match(out, /p99 ms/);
  assert.match(out, /^verdict: (PASS|FAIL)/m);
  // 5 s is too short for the memory rule to mean anything; nothing else may fail the verdict.
  assert.equal(
    r.verdict.reasons.filter((reason) => !reason.startsWith('RSS')),
    [],
    out,
  );
});

test.run();
