// Date-range presets resolved to Unix-second bounds in the chosen time zone.
import { addDays, civilDateAt, parseIsoDate, startOfDay, toIsoDate, type CivilDate } from './zone';

export const PRESETS = ['today', 'yesterday', '7d', '30d', 'month', 'custom'] as const;
export type Preset = (typeof PRESETS)[number];

/** What the user picked; custom dates are inclusive calendar days. */
export interface RangeChoice {
  preset: Preset;
  from?: string;
  to?: string;
}

/** Half-open interval `[from, to)` in Unix seconds. */
export interface Bounds {
  from: number;
  to: number;
}

export function isPreset(value: string | null): value is Preset {
  return value != null && (PRESETS as readonly string[]).includes(value);
}

export function resolveRange(choice: RangeChoice, tz: string, nowSeconds: number): Bounds {
  const now = Math.floor(nowSeconds);
  const today = civilDateAt(tz, now);
  const from = (date: CivilDate) => startOfDay(tz, date);
  switch (choice.preset) {
    case 'today':
      return { from: from(today), to: now };
    case 'yesterday':
      return { from: from(addDays(today, -1)), to: from(today) };
    case '7d':
      return { from: from(addDays(today, -6)), to: now };
    case '30d':
      return { from: from(addDays(today, -29)), to: now };
    case 'month':
      return { from: from({ ...today, d: 1 }), to: now };
    case 'custom': {
      const start = parseIsoDate(choice.from) ?? today;
      const endDay = parseIsoDate(choice.to) ?? start;
      const end = Math.min(from(addDays(endDay, 1)), now);
      return { from: from(start), to: Math.max(end, from(start) + 1) };
    }
  }
}

/** Today's date in `tz` as `YYYY-MM-DD`, the default and upper bound of the custom inputs. */
export function todayIso(tz: string, nowSeconds: number): string {
  return toIsoDate(civilDateAt(tz, nowSeconds));
}

const STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400];

/** A chart step that gives at most ~360 points over the range, from the API's resolutions. */
export function stepFor(bounds: Bounds): number {
  const span = Math.max(1, bounds.to - bounds.from);
  return STEPS.find((s) => span / s <= 360) ?? 86400;
}
