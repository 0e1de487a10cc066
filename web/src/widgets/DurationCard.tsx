import { breakdownQuery, fetchBreakdown } from '../api/endpoints';
import type { Scope } from '../api/types';
import { Card } from '../components/Card';
import { CsvLink } from '../components/CsvLink';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Histogram } from '../components/Histogram';
import { Skeleton } from '../components/Skeleton';
import { formatInt } from '../format/number';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import type { Bounds } from '../time/range';
import { bucketLabel, sortBuckets } from './durationBins';

/** How long views lasted, as a histogram over the 13 duration buckets. */
export function DurationCard({ bounds, scope = {} }: { bounds: Bounds; scope?: Scope }) {
  const key = JSON.stringify(scope);
  const res = useApi((signal) => fetchBreakdown('duration', bounds, scope, 50, signal), [bounds, key]);
  const rows = sortBuckets(res.data?.rows ?? []);
  const title = t('stream.durations');
  return (
    <Card title={title} actions={<CsvLink path="/stats/breakdown" query={breakdownQuery('duration', bounds, scope)} what={title} />}>
      {res.error && !res.data ? (
        <ErrorNotice error={res.error} onRetry={res.reload} />
      ) : !res.data ? (
        <Skeleton height={180} />
      ) : rows.every((r) => r.views === 0) ? (
        <EmptyState compact icon="retention" title={t('common.noData')} />
      ) : (
        <Histogram
          label={title}
          bins={rows.map((r) => ({
            key: r.key,
            label: bucketLabel(r.key),
            value: r.views,
            display: formatInt(r.views),
          }))}
        />
      )}
    </Card>
  );
}
