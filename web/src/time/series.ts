// Puts API time series on one regular time axis so several series can share a chart.
import type { Point } from '../api/types';
import type { Bounds } from './range';

export interface Aligned {
  times: number[];
  values: (number | null)[][];
}

/**
 * Buckets start at multiples of `step` since the epoch, as the API labels them. Buckets the API
 * left out had no activity, so they become `missing` (0 for counts, null for gauges such as CPU).
 * The bucket still in progress is left out: its average would read as a sudden drop.
 */
export function alignSeries(
  series: Point[][],
  bounds: Bounds,
  step: number,
  missing: 0 | null = 0,
  nowSeconds: number = Date.now() / 1000,
): Aligned {
  const start = Math.floor(bounds.from / step) * step;
  const end = Math.min(bounds.to, Math.floor(nowSeconds / step) * step);
  const times: number[] = [];
  for (let t = start; t < end; t += step) times.push(t);
  if (times.length === 0) times.push(start);
  if (times.length > 5000) times.length = 5000;
  const index = new Map(times.map((t, i) => [t, i]));
  const values = series.map((points) => {
    const out: (number | null)[] = times.map(() => missing);
    for (const [t, v] of points) {
      const i = index.get(Math.floor(t / step) * step);
      if (i !== undefined) out[i] = v;
    }
    return out;
  });
  return { times, values };
}
