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

export function sortBuckets(rows: BreakdownRow[]): BreakdownRow[] {
  return [...rows].sort((a, b) => bucketSeconds(a.key) - bucketSeconds(b.key));
}
