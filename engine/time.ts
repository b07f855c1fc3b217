// RFC 3339 timestamps <-> integer epoch seconds (UTC). Inside the engine and Rego every time is
// epoch seconds (SPEC §4: never nanoseconds, they exceed a double's exact range).

/** Seconds in a day; every duration of SPEC §4/§5 is an exact multiple of it, in UTC. */
export const DAY = 86_400;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 date-time that has a time and an offset (`2026-03-01T00:00:00Z`,
 * `2026-03-01T01:00:00+01:00`) into integer epoch seconds UTC; fractional seconds are dropped
 * (floor). Calendar ranges are checked exactly (no 2026-02-30, no hour 24; a leap second `:60`
 * counts as the next second's start).
 * @returns epoch seconds, or `null` when the text is not such a timestamp (a date alone, no offset, ...).
 */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return null;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > daysInMonth) return null;
  let offset = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offset = (oh * 60 + om) * 60 * (m[9] === '-' ? -1 : 1);
  }
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  if (!Number.isFinite(ms)) return null;
  return Math.floor(ms / 1000) - offset;
}

/** Formats epoch seconds as RFC 3339 UTC without fractions, e.g. `2026-03-31T00:00:00Z`. */
export function formatRfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The current time as integer epoch seconds UTC. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
