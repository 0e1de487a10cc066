// Lengths of time: view time totals and session durations.
import { locale } from '../i18n';

const cache = new Map<string, Intl.NumberFormat>();

function unit(name: 'second' | 'minute' | 'hour' | 'day', digits = 0): Intl.NumberFormat {
  const key = `${name}:${digits}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, {
      style: 'unit',
      unit: name,
      unitDisplay: 'narrow',
      maximumFractionDigits: digits,
    });
    cache.set(key, f);
  }
  return f;
}

/**
 * Compact and readable at every scale: 45s, 12m, 3h 20m, and plain hours past 100 h because
 * view time is usually compared in hours.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return unit('second').format(s);
  if (s < 3600) return unit('minute').format(Math.floor(s / 60));
  const hours = s / 3600;
  if (hours >= 100) return unit('hour').format(Math.round(hours));
  const h = Math.floor(hours);
  const m = Math.floor((s % 3600) / 60);
  return m === 0
    ? unit('hour').format(h)
    : `${unit('hour').format(h)} ${unit('minute').format(m)}`;
}
