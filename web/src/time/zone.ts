// Calendar arithmetic in an arbitrary IANA time zone with nothing but Intl: reports are cut at
// midnight in the zone the user picked, which need not be the browser's own.

/** A civil date: year, month 1–12, day 1–31. */
export interface CivilDate {
  y: number;
  m: number;
  d: number;
}

const partsCache = new Map<string, Intl.DateTimeFormat>();

function partsFormat(tz: string): Intl.DateTimeFormat {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsCache.set(tz, f);
  }
  return f;
}

function wallClock(tz: string, unixSeconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of partsFormat(tz).formatToParts(unixSeconds * 1000)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out;
}

/** The zone's offset from UTC at the given instant, in seconds (east positive). */
export function offsetSeconds(tz: string, unixSeconds: number): number {
  const w = wallClock(tz, unixSeconds);
  const asUtc = Date.UTC(w.year ?? 1970, (w.month ?? 1) - 1, w.day ?? 1, w.hour ?? 0, w.minute ?? 0, w.second ?? 0) / 1000;
  return asUtc - Math.floor(unixSeconds);
}

/** The date it is in `tz` at the given instant. */
export function civilDateAt(tz: string, unixSeconds: number): CivilDate {
  const w = wallClock(tz, unixSeconds);
  return { y: w.year ?? 1970, m: w.month ?? 1, d: w.day ?? 1 };
}

/** Adds days to a civil date (negative goes back), normalising month and year. */
export function addDays(date: CivilDate, days: number): CivilDate {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/**
 * The instant midnight starts `date` in `tz`. Two refinements of the offset are enough for
 * every real zone, including days on which the clocks change.
 */
export function startOfDay(tz: string, date: CivilDate): number {
  const guess = Date.UTC(date.y, date.m - 1, date.d) / 1000;
  let t = guess - offsetSeconds(tz, guess);
  t = guess - offsetSeconds(tz, t);
  return t;
}

/** `YYYY-MM-DD` */
export function toIsoDate(date: CivilDate): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.y}-${pad(date.m)}-${pad(date.d)}`;
}

/** Parses `YYYY-MM-DD`; null when malformed. */
export function parseIsoDate(text: string | null | undefined): CivilDate | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? '');
  if (!m) return null;
  const date = { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
  const check = addDays(date, 0);
  return check.y === date.y && check.m === date.m && check.d === date.d ? date : null;
}

/** The browser's own zone, or UTC when it cannot tell. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Whether `tz` is an IANA zone this browser knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Every zone the browser knows, for the time-zone picker. */
export function allTimeZones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: string) => string[] };
  const zones = intl.supportedValuesOf?.('timeZone') ?? [];
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}
