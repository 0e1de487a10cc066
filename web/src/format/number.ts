// Plain numbers in the user's locale.
import { locale } from '../i18n';

const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 });
const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const twoDigits = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });

/** 12,345 — counts shown in tables. */
export function formatInt(value: number | null | undefined): string {
  return value == null || !Number.isFinite(value) ? '–' : integer.format(value);
}

/** 12.3K — counts in cards and chart axes where space is short. */
export function formatCompact(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return '–';
  return Math.abs(value) < 10_000 ? integer.format(value) : compact.format(value);
}

/** 12.3 — one decimal at most. */
export function formatDecimal(value: number | null | undefined): string {
  return value == null || !Number.isFinite(value) ? '–' : decimal.format(value);
}

/** An average that may be fractional: 0.64, 12.5, 1,234, 45.6K. */
export function formatAverage(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return '–';
  if (Math.abs(value) < 10) return twoDigits.format(value);
  return Math.abs(value) < 100 ? decimal.format(value) : formatCompact(value);
}

/** A fraction (0.25) as a percentage (25%). */
export function formatPercent(fraction: number | null | undefined): string {
  return fraction == null || !Number.isFinite(fraction) ? '–' : percent.format(fraction);
}
