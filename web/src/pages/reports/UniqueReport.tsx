import { dailyQuery, fetchDaily, fetchSummary } from '../../api/endpoints';
import { Card } from '../../components/Card';
import { CsvLink } from '../../components/CsvLink';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Skeleton } from '../../components/Skeleton';
import { StatCard } from '../../components/StatCard';
import { Histogram } from '../../components/Histogram';
import { formatCalendarDate, formatShortCalendarDate } from '../../format/date';
import { formatCompact, formatDecimal, formatInt } from '../../format/number';
import { useApi } from '../../hooks/useApi';
import { t } from '../../i18n';
import type { ReportProps } from './DailyReport';

/** Unique viewers per day, from privacy-preserving daily sketches. */
export function UniqueReport({ bounds, tz }: ReportProps) {
  const daily = useApi((signal) => fetchDaily(bounds, tz, signal), [bounds, tz]);
  const summary = useApi((signal) => fetchSummary(bounds, {}, signal), [bounds]);
  const rows = daily.data?.rows ?? [];
  const s = summary.data;
  const perViewer = s && s.unique_viewers > 0 ? s.views / s.unique_viewers : null;
  const busiest = rows.reduce<(typeof rows)[number] | null>((a, r) => (!a || r.unique_viewers > a.unique_viewers ? r : a), null);
  const title = t('reports.unique');

  return (
    <div class="stack">
      <div class="stats-grid stats-grid-3">
        <StatCard label={t('metric.uniqueViewers')} value={s && formatCompact(s.unique_viewers)} exact={s && formatInt(s.unique_viewers)} tone="accent" />
        <StatCard label={t('reports.unique.viewsPer')} value={s && (perViewer != null ? formatDecimal(perViewer) : '–')} />
        <StatCard
          label={t('reports.unique.busiest')}
          value={daily.data && (busiest ? formatInt(busiest.unique_viewers) : '–')}
          hint={busiest ? formatCalendarDate(busiest.date) : undefined}
        />
      </div>
      <Card
        title={title}
        actions={<CsvLink path="/stats/daily" query={dailyQuery(bounds, tz)} what={title} />}
        footer={<span class="muted small">{t('reports.unique.help')}</span>}
      >
        {daily.error && !daily.data ? (
          <ErrorNotice error={daily.error} onRetry={daily.reload} />
        ) : !daily.data ? (
          <Skeleton height={240} />
        ) : rows.length === 0 ? (
          <EmptyState icon="users" title={t('reports.noData')} />
        ) : (
          <Histogram
            label={t('chart.label', { metric: title })}
            height={240}
            bins={rows.map((r) => ({
              key: r.date,
              label: formatShortCalendarDate(r.date),
              value: r.unique_viewers,
              display: formatInt(r.unique_viewers),
            }))}
          />
        )}
      </Card>
    </div>
  );
}
