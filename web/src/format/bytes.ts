// Traffic volumes and bit rates, in decimal (SI) units as transit and CDN bills use them.
import { locale } from '../i18n';

const BYTE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte', 'petabyte'] as const;
const BIT_UNITS = [
  'bit-per-second',
  'kilobit-per-second',
  'megabit-per-second',
  'gigabit-per-second',
  'terabit-per-second',
] as const;

const cache = new Map<string, Intl.NumberFormat>();

function unitFormat(unit: string, digits: number): Intl.NumberFormat {
  const key = `${unit}:${digits}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, {
      style: 'unit',
      unit,
      unitDisplay: 'short',
      maximumFractionDigits: digits,
    });
    cache.set(key, f);
  }
  return f;
}

function scaled(value: number, units: readonly string[]): string {
  let i = 0;
  let v = Math.abs(value);
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  const digits = i === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return unitFormat(units[i] ?? 'byte', digits).format(Math.sign(value) * v);
}

const plainBytes = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });

/** 1.25 GB */
export function formatBytes(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return '–';
  // Intl spells the base unit out ("0 byte"); "B" matches kB, MB… beside it.
  if (Math.abs(value) < 1000) return `${plainBytes.format(value)} B`;
  return scaled(value, BYTE_UNITS);
}

/** 12.5 Mb/s */
export function formatBitrate(bitsPerSecond: number | null | undefined): string {
  return bitsPerSecond == null || !Number.isFinite(bitsPerSecond)
    ? '–'
    : scaled(bitsPerSecond, BIT_UNITS);
}
