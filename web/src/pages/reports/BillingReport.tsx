import { useMemo } from 'preact/hooks';
import { fetchBilling } from '../../api/endpoints';
import { Card } from '../../components/Card';
import { CsvLink } from '../../components/CsvLink';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Skeleton } from '../../components/Skeleton';
import { StatCard } from '../../components/StatCard';
import { TimeChart, type ChartLine } from '../../components/TimeChart';
import { formatBitrate, formatBytes } from '../../format/bytes';
import { useApi } from '../../hooks/useApi';
import { t } from '../../i18n';
import { alignSeries } from '../../time/series';
import type { ReportProps } from './DailyReport';

/** 5-minute bandwidth with its peak and 95th percentile: the numbers transit is billed on. */
export function BillingReport({ bounds, tz }: ReportProps) {
  const res = useApi((signal) => fetchBilling(bounds, signal), [bounds]);
  const b = res.data;
  const data = useMemo(() => {
    if (!b) return null;
    const aligned = alignSeries([b.points], bounds, b.step || 300);
    const flat = (v: number) => aligned.times.map(() => v);
    return { times: aligned.times, values: [aligned.values[0] ?? [], flat(b.p95_bps), flat(b.peak_bps)] };
  }, [b, bounds]);
  // Bandwidth is bytes × 8 / step, so the traffic of the range is the sum back (no audience query,
  // which the billing role may not make).
  const traffic = useMemo(
    () => b && b.points.reduce((sum, [, bps]) => sum + ((bps ?? 0) * (b.step || 300)) / 8, 0),
    [b],
  );
  const lines = useMemo<ChartLine[]>(
    () => [
      { label: t('metric.bandwidth'), area: true },
      { label: t('reports.billing.p95'), colorVar: '--chart-warn', dashed: true },
      { label: t('reports.billing.peak'), colorVar: '--chart-danger', dashed: true },
    ],
    [],
  );
  const title = t('reports.billing.chart');

  return (
    <div class="stack">
      <div class="stats-grid stats-grid-3">
        <StatCard label={t('reports.billing.p95')} value={b && formatBitrate(b.p95_bps)} tone="accent" />
        <StatCard label={t('reports.billing.peak')} value={b && formatBitrate(b.peak_bps)} />
        <StatCard label={t('metric.traffic')} value={traffic != null ? formatBytes(traffic) : undefined} />
      </div>
      <Card
        title={title}
        actions={<CsvLink path="/stats/billing" query={{ from: bounds.from, to: bounds.to }} what={title} />}
        footer={<span class="muted small">{t('reports.billing.help')}</span>}
      >
        {res.error && !b ? (
          <ErrorNotice error={res.error} onRetry={res.reload} />
        ) : !data ? (
          <Skeleton height={280} />
        ) : b && b.points.length === 0 ? (
          <EmptyState icon="reports" title={t('reports.noData')} />
        ) : (
          <TimeChart data={data} lines={lines} format={formatBitrate} tz={tz} height={280} label={title} />
        )}
      </Card>
    </div>
  );
}
