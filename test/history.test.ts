// Token-setting epochs from PolicyHistory revisions and live revisions (SPEC §5, DESIGN §2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { epochsForEvaluation, epochsFromHistory, HistoryTimeline, withLive } from '../engine/history.ts';
import { parseRfc3339 } from '../engine/time.ts';
import type { DataDocument, OrgData } from '../engine/types.ts';

const t = (s: string) => parseRfc3339(s) as number;

test('no history: defaults since ever', () => {
  assert.equal(epochsFromHistory(undefined), [
    { start: null, expiration_days: null, personal_access_tokens: 'enabled' },
  ]);
});

test('each change opens an epoch; a revision that changes nothing of the tokens does not', () => {
  const epochs = epochsFromHistory({
    org: 'east.example',
    revisions: [
      { at: t('2026-03-01T00:00:00Z'), spec: { tokens: { expiration: '30d' } } },
      { at: t('2026-03-05T00:00:00Z'), spec: { guests: { api_via_apps: 'deny' } } },
      {
        at: t('2026-03-10T00:00:00Z'),
        spec: { tokens: { expiration: '90d', personal_access_tokens: 'disabled' } },
      },
      { at: t('2026-04-10T00:00:00Z'), spec: { tokens: { personal_access_tokens: 'enabled' } } },
    ],
  });
  assert.equal(epochs, [
    { start: null, expiration_days: null, personal_access_tokens: 'enabled' },
    { start: t('2026-03-01T00:00:00Z'), expiration_days: 30, personal_access_tokens: 'enabled' },
    { start: t('2026-03-10T00:00:00Z'), expiration_days: 90, personal_access_tokens: 'disabled' },
    { start: t('2026-04-10T00:00:00Z'), expiration_days: 90, personal_access_tokens: 'enabled' },
  ]);
});

test('live settings that differ from the end of the history count as set when they went live', () => {
  const base = epochsFromHistory(undefined);
  assert.is(withLive(base, { expiration_days: null, personal_access_tokens: 'enabled' }, 100), base);
  assert.equal(withLive(base, { expiration_days: 30, personal_access_tokens: 'enabled' }, 100).at(-1), {
    start: 100,
    expiration_days: 30,
    personal_access_tokens: 'enabled',
  });
});

function data(expiration_days: number | null, pats: 'enabled' | 'disabled'): DataDocument {
  const org = {
    tokens: {
      expiration: expiration_days ? `${expiration_days}d` : 'default',
      expiration_days,
      personal_access_tokens: pats,
    },
  } as unknown as OrgData;
  return { orgs: { 'acme.example': org } };
}

test('the timeline appends an epoch per go-live that changes token settings, and only then', () => {
  const tl = new HistoryTimeline();
  tl.recordLive(data(null, 'enabled'), 1000);
  assert.is(tl.epochs('acme.example').length, 1);
  tl.recordLive(data(30, 'enabled'), 2000);
  tl.recordLive(data(30, 'enabled'), 3000);
  tl.recordLive(data(30, 'disabled'), 4000);
  assert.equal(
    tl.epochs('acme.example').map((e) => e.start),
    [null, 2000, 4000],
  );
  assert.equal(tl.epochs('other.example'), epochsFromHistory(undefined));
});

test('evaluating before the history ends: live settings that differ count from the evaluation time (SPEC §5)', () => {
  const h90 = {
    org: 'x.example',
    revisions: [{ at: t('2026-03-01T00:00:00Z'), spec: { tokens: { expiration: '90d' } } }],
  };
  // Live 30d differs from the history's end (90d): 30d counts from --at, the later 90d never happened.
  assert.equal(
    epochsForEvaluation(
      h90,
      { expiration_days: 30, personal_access_tokens: 'enabled' },
      t('2026-02-01T00:00:00Z'),
    ),
    [
      { start: null, expiration_days: null, personal_access_tokens: 'enabled' },
      { start: t('2026-02-01T00:00:00Z'), expiration_days: 30, personal_access_tokens: 'enabled' },
    ],
  );
  // Live equal to the end: the history stands as written (Rego ignores epochs after the evaluation time).
  assert.equal(
    epochsForEvaluation(
      h90,
      { expiration_days: 90, personal_access_tokens: 'enabled' },
      t('2026-02-01T00:00:00Z'),
    ),
    epochsFromHistory(h90),
  );
});

test.run();
