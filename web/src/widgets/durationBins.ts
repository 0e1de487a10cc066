// View-duration buckets ("5s" … "3h", ">3h") in order, with readable labels.
import type { BreakdownRow } from '../api/types';
import { formatDuration } from '../format/duration';

const UNIT: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600 };

/** Upper bound of a bucket in seconds; Infinity for the open-ended last bucket. */
export function bucketSeconds(key: string): number {
  const m = /^(>)?\s*(\d+)\s*(s|sec|min|m|h)$/i.exec(key.trim());
  if (!m) return Number.POSITIVE_INFINITY;
  const secs = Number(m[2]) * (UNIT[(m[3] ?? 's').toLowerCase()] ?? 1);
  return m[1] ? secs + 0.5 : secs;
}

export function bucketLabel(key: string): string {
  const m = /^(>)?\s*(\d+)\s*(s|sec|min|m|h)$/i.exec(key.trim());
  if (!m) return key;
  const secs = Number(m[2]) * (UNIT[(m[3] ?? 's').toLowerCase()] ?? 1);
  // Each bucket is named by its upper bound; only the open last one needs a sign.
  return `${m[1] ? '>' : ''}${formatDuration(secs)}`;
}

/** The buckets the server counts, in order, so empty ones still get their place on the axis. */
const BUCKETS = ['5s', '10s', '15s', '20s', '25s', '30s', '5m', '15m', '30m', '1h', '2h', '3h', '>3h'];

/** Every bucket in order of duration, zero where the server sent no row. */
export function sortBuckets(rows: BreakdownRow[]): BreakdownRow[] {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const all = [
    ...BUCKETS.map((key) => byKey.get(key) ?? { key, label: key, views: 0, viewers: 0, bytes_out: 0, view_time_s: 0 }),
    ...rows.filter((r) => !BUCKETS.includes(r.key)),
  ];
  return all.sort((a, b) => bucketSeconds(a.key) - bucketSeconds(b.key));
}
