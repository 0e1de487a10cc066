import { fetchSummary } from '../api/endpoints';
import type { Scope } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { StatCard } from '../components/StatCard';
import { formatBitrate, formatBytes } from '../format/bytes';
import { formatDuration } from '../format/duration';
import { formatCompact, formatInt } from '../format/number';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import type { Bounds } from '../time/range';

/** The range's headline numbers: views, uniques, peak, traffic, view time, peak bandwidth. */
export function SummaryCards({ bounds, scope = {} }: { bounds: Bounds; scope?: Scope }) {
  const key = JSON.stringify(scope);
  const { data: s, error, reload } = useApi((signal) => fetchSummary(bounds, scope, signal), [bounds, key]);
  if (error && !s) return <ErrorNotice error={error} onRetry={reload} />;
  const avg = s && s.views > 0 ? s.view_time_s / s.views : null;
  return (
    <div class="stats-grid">
      <StatCard label={t('metric.views')} value={s && formatCompact(s.views)} exact={s && formatInt(s.views)} />
      <StatCard
        label={t('metric.uniqueViewers')}
        value={s && formatCompact(s.unique_viewers)}
        exact={s && formatInt(s.unique_viewers)}
      />
      <StatCard
        label={t('metric.peakViewers')}
        value={s && formatCompact(s.peak_viewers)}
        exact={s && formatInt(s.peak_viewers)}
      />
      <StatCard
        label={t('metric.traffic')}
        value={s && formatBytes(s.bytes_out)}
        hint={s && s.bytes_in > 0 ? t('summary.ingest', { value: formatBytes(s.bytes_in) }) : undefined}
      />
      <StatCard
        label={t('metric.viewTime')}
        value={s && formatDuration(s.view_time_s)}
        hint={avg != null ? t('summary.avgView', { value: formatDuration(avg) }) : undefined}
      />
      <StatCard
        label={t('metric.peakBandwidth')}
        value={s && formatBitrate(s.peak_bandwidth_bps)}
        hint={s ? t('summary.p95', { value: formatBitrate(s.p95_bandwidth_bps) }) : undefined}
      />
    </div>
  );
}
