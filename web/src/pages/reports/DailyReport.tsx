import { dailyQuery, fetchDaily } from '../../api/endpoints';
import { Card } from '../../components/Card';
import { CsvLink } from '../../components/CsvLink';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Skeleton } from '../../components/Skeleton';
import { Histogram } from '../../components/Histogram';
import { formatBytes } from '../../format/bytes';
import { formatCalendarDate, formatShortCalendarDate } from '../../format/date';
import { formatDuration } from '../../format/duration';
import { formatInt } from '../../format/number';
import { useApi } from '../../hooks/useApi';
import { t } from '../../i18n';
import type { Bounds } from '../../time/range';

export interface ReportProps {
  bounds: Bounds;
  tz: string;
}

/** One row per calendar day in the chosen zone, with totals. */
export function DailyReport({ bounds, tz }: ReportProps) {
  const res = useApi((signal) => fetchDaily(bounds, tz, signal), [bounds, tz]);
  const rows = res.data?.rows ?? [];
  const total = rows.reduce(
    (a, r) => ({
      views: a.views + r.views,
      unique: a.unique + r.unique_viewers,
      peak: Math.max(a.peak, r.peak_viewers),
      bytes: a.bytes + r.bytes_out,
      time: a.time + r.view_time_s,
    }),
    { views: 0, unique: 0, peak: 0, bytes: 0, time: 0 },
  );
  const title = t('reports.daily.title');

  return (
    <Card title={title} actions={<CsvLink path="/stats/daily" query={dailyQuery(bounds, tz)} what={title} />}>
      {res.error && !res.data ? (
        <ErrorNotice error={res.error} onRetry={res.reload} />
      ) : !res.data ? (
        <Skeleton height={280} />
      ) : rows.length === 0 ? (
        <EmptyState icon="reports" title={t('reports.noData')} />
      ) : (
        <>
          {rows.length > 1 && (
            <Histogram
              label={t('chart.label', { metric: t('metric.views') })}
              height={160}
              bins={rows.map((r) => ({
                key: r.date,
                label: formatShortCalendarDate(r.date),
                value: r.views,
                display: formatInt(r.views),
              }))}
            />
          )}
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{t('reports.date')}</th>
                  <th scope="col" class="num">{t('metric.views')}</th>
                  <th scope="col" class="num">{t('metric.uniqueViewers')}</th>
                  <th scope="col" class="num">{t('metric.peakViewers')}</th>
                  <th scope="col" class="num">{t('metric.traffic')}</th>
                  <th scope="col" class="num">{t('metric.viewTime')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.date}>
                    <th scope="row">
                      <time dateTime={r.date}>{formatCalendarDate(r.date)}</time>
                    </th>
                    <td class="num">{formatInt(r.views)}</td>
                    <td class="num">{formatInt(r.unique_viewers)}</td>
                    <td class="num">{formatInt(r.peak_viewers)}</td>
                    <td class="num">{formatBytes(r.bytes_out)}</td>
                    <td class="num">{formatDuration(r.view_time_s)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">{t('reports.total')}</th>
                  <td class="num">{formatInt(total.views)}</td>
                  <td class="num" title={t('reports.unique.sumNote')}>{formatInt(total.unique)}</td>
                  <td class="num">{formatInt(total.peak)}</td>
                  <td class="num">{formatBytes(total.bytes)}</td>
                  <td class="num">{formatDuration(total.time)}</td>
                </tr>
              </tfoot>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}
