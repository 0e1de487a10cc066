import type { ComponentChildren } from 'preact';
import { breakdownQuery, fetchBreakdown } from '../api/endpoints';
import type { BreakdownRow, Dimension, Scope } from '../api/types';
import { BarList } from '../components/BarList';
import { Card } from '../components/Card';
import { CsvLink } from '../components/CsvLink';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Skeleton } from '../components/Skeleton';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import type { Bounds } from '../time/range';
import { BREAKDOWN_VALUES, type BreakdownValue } from './breakdownValue';

interface Props {
  title: string;
  dimension: Dimension;
  bounds: Bounds;
  scope?: Scope;
  limit?: number;
  value?: BreakdownValue;
  /** How a row's name is shown (a link, a country name with code on hover). */
  renderLabel?: (row: BreakdownRow) => ComponentChildren;
  footer?: ComponentChildren;
}

/** The top rows of one breakdown as a ranked bar list. */
export function TopList({ title, dimension, bounds, scope = {}, limit = 6, value = 'views', renderLabel, footer }: Props) {
  const key = JSON.stringify(scope);
  const res = useApi((signal) => fetchBreakdown(dimension, bounds, scope, limit, signal), [dimension, bounds, key, limit]);
  const v = BREAKDOWN_VALUES[value];
  const rows = res.data?.rows ?? [];
  return (
    <Card
      title={title}
      actions={<CsvLink path="/stats/breakdown" query={breakdownQuery(dimension, bounds, scope)} what={title} />}
      footer={footer}
    >
      {res.error && !res.data ? (
        <ErrorNotice error={res.error} onRetry={res.reload} />
      ) : !res.data ? (
        <Skeleton height={180} />
      ) : rows.length === 0 ? (
        <EmptyState compact icon="reports" title={t('common.noData')} />
      ) : (
        <BarList
          labelHeader={title}
          valueHeader={t(v.label)}
          items={rows.map((r) => ({
            key: r.key,
            label: renderLabel ? renderLabel(r) : r.label || r.key,
            value: v.get(r),
            display: v.format(v.get(r)),
          }))}
        />
      )}
    </Card>
  );
}
