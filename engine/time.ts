// RFC 3339 timestamps <-> integer epoch seconds (UTC). Inside the engine and Rego every time is
// epoch seconds (SPEC §4: never nanoseconds, they exceed a double's exact range).

/** Seconds in a day; every duration of SPEC §4/§5 is an exact multiple of it, in UTC. */
export const DAY = 86_400;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** An exact instant: whole epoch seconds UTC (floor) and the fraction of a second as written. */
export interface Instant {
  /** Epoch seconds UTC, floor of the exact instant. */
  seconds: number;
  /** Decimal digits of the fraction of a second, trailing zeros removed (`''` for none). */
  fraction: string;
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parses an RFC 3339 date-time with a time and an offset into an exact {@link Instant}. Calendar
 * ranges are checked exactly (no 2026-02-30, no hour 24; a leap second `:60` counts as the next
 * second's start), and years 0000-0099 are those years, not 1900-1999.
 * @returns the instant, or `null` when the text is not such a timestamp.
 */
export function parseRfc3339Instant(text: string): Instant | null {
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
  const daysInMonth = mo === 2 && isLeapYear(y) ? 29 : (DAYS_IN_MONTH[mo - 1] as number);
  if (d > daysInMonth) return null;
  let offset = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offset = (oh * 60 + om) * 60 * (m[9] === '-' ? -1 : 1);
  }
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear takes the year as given.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  const ms = date.getTime();
  if (!Number.isFinite(ms)) return null;
  return { seconds: ms / 1000 - offset, fraction: (m[7] ?? '').replace(/0+$/, '') };
}

/**
 * Parses an RFC 3339 date-time that has a time and an offset (`2026-03-01T00:00:00Z`,
 * `2026-03-01T01:00:00+01:00`) into integer epoch seconds UTC; fractional seconds are dropped
 * (floor). See {@link parseRfc3339Instant} for the checks.
 * @returns epoch seconds, or `null` when the text is not such a timestamp (a date alone, no offset, ...).
 */
export function parseRfc3339(text: string): number | null {
  return parseRfc3339Instant(text)?.seconds ?? null;
}

/** Orders two instants exactly (fractions compared digit by digit): negative, 0 or positive. */
export function compareInstants(a: Instant, b: Instant): number {
  if (a.seconds !== b.seconds) return a.seconds - b.seconds;
  const width = Math.max(a.fraction.length, b.fraction.length);
  const fa = a.fraction.padEnd(width, '0');
  const fb = b.fraction.padEnd(width, '0');
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

/** Formats epoch seconds as RFC 3339 UTC without fractions, e.g. `2026-03-31T00:00:00Z`. */
export function formatRfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The current time as integer epoch seconds UTC. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
