// The numbers a breakdown row carries, with their labels and formats, so every breakdown view
// offers the same choices.
import type { BreakdownRow } from '../api/types';
import { formatBytes } from '../format/bytes';
import { formatDuration } from '../format/duration';
import { formatAverage, formatInt } from '../format/number';
import type { MessageKey } from '../i18n';

export type BreakdownValue = 'views' | 'viewers' | 'bytes_out' | 'view_time_s';

export const BREAKDOWN_VALUES: Record<
  BreakdownValue,
  { label: MessageKey; format: (n: number) => string; get: (r: BreakdownRow) => number }
> = {
  views: { label: 'metric.views', format: formatInt, get: (r) => r.views },
  // Average concurrent viewers over the range, so usually fractional.
  viewers: { label: 'metric.avgViewers', format: formatAverage, get: (r) => r.viewers },
  bytes_out: { label: 'metric.traffic', format: formatBytes, get: (r) => r.bytes_out },
  view_time_s: { label: 'metric.viewTime', format: formatDuration, get: (r) => r.view_time_s },
};
