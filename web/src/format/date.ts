// Dates and times, always in the time zone the user chose for reports.
import { locale } from '../i18n';
import { toUnixSeconds, type Instant } from '../time/instant';

const cache = new Map<string, Intl.DateTimeFormat>();

function dateTimeFormat(tz: string, options: Intl.DateTimeFormatOptions, name: string) {
  const key = `${name}:${tz}`;
  let f = cache.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(locale, { ...options, timeZone: tz });
    } catch {
      f = new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC' });
    }
    cache.set(key, f);
  }
  return f;
}

/** 25 Nov 2026, 14:05 */
export function formatDateTime(instant: Instant | null | undefined, tz: string): string {
  const s = toUnixSeconds(instant);
  return s == null ? '–' : dateTimeFormat(tz, { dateStyle: 'medium', timeStyle: 'short' }, 'dt').format(s * 1000);
}

/** 14:05:09 */
export function formatTime(instant: Instant | null | undefined, tz: string): string {
  const s = toUnixSeconds(instant);
  return s == null ? '–' : dateTimeFormat(tz, { timeStyle: 'medium' }, 't').format(s * 1000);
}

/** 14:05 — chart axis ticks. */
export function formatClock(unixSeconds: number, tz: string): string {
  return dateTimeFormat(tz, { hour: 'numeric', minute: '2-digit' }, 'clock').format(unixSeconds * 1000);
}

/** 25 Nov — chart axis ticks. */
export function formatDayMonth(unixSeconds: number, tz: string): string {
  return dateTimeFormat(tz, { day: 'numeric', month: 'short' }, 'dm').format(unixSeconds * 1000);
}

/** A calendar date given as `YYYY-MM-DD` (no time zone involved): Tue, 24 Nov 2026. */
export function formatCalendarDate(isoDate: string): string {
  const [y, m, d] = isoDate.split('-').map(Number);
  if (!y || !m || !d) return isoDate;
  return dateTimeFormat(
    'UTC',
    { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' },
    'cal',
  ).format(Date.UTC(y, m - 1, d));
}

/** A calendar date (`YYYY-MM-DD`) in short form: 24 Nov. */
export function formatShortCalendarDate(isoDate: string): string {
  const [y, m, d] = isoDate.split('-').map(Number);
  if (!y || !m || !d) return isoDate;
  return dateTimeFormat('UTC', { day: 'numeric', month: 'short' }, 'calshort').format(Date.UTC(y, m - 1, d));
}

const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style: 'long' });

/** "2 minutes ago", relative to `now` (both Unix seconds). */
export function formatRelative(instant: Instant | null | undefined, now: number): string {
  const s = toUnixSeconds(instant);
  if (s == null) return '–';
  const diff = s - now;
  const abs = Math.abs(diff);
  if (abs < 45) return relative.format(Math.round(diff), 'second');
  if (abs < 45 * 60) return relative.format(Math.round(diff / 60), 'minute');
  if (abs < 36 * 3600) return relative.format(Math.round(diff / 3600), 'hour');
  return relative.format(Math.round(diff / 86400), 'day');
}
