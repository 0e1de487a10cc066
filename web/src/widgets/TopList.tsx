import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { breakdownQuery, fetchBreakdown } from '../api/endpoints';
import type { BreakdownRow, Dimension, Scope } from '../api/types';
import { BarList } from '../components/BarList';
import { Card } from '../components/Card';
import { CsvLink } from '../components/CsvLink';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Segmented } from '../components/Segmented';
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
  /** Explains an empty list better than "no data" (e.g. a database that is not configured). */
  emptyText?: string;
  /** Other dimensions the card can switch to (players ↔ devices); the first is `dimension`. */
  alternatives?: { dimension: Dimension; label: string }[];
}

/** The top rows of one breakdown as a ranked bar list. */
export function TopList({
  title,
  dimension,
  bounds,
  scope = {},
  limit = 6,
  value = 'views',
  renderLabel,
  footer,
  emptyText,
  alternatives,
}: Props) {
  const [chosen, setChosen] = useState<Dimension>(dimension);
  const key = JSON.stringify(scope);
  const res = useApi((signal) => fetchBreakdown(chosen, bounds, scope, limit, signal), [chosen, bounds, key, limit]);
  const v = BREAKDOWN_VALUES[value];
  const rows = res.data?.rows ?? [];
  return (
    <Card
      title={title}
      actions={<CsvLink path="/stats/breakdown" query={breakdownQuery(chosen, bounds, scope)} what={title} />}
      footer={footer}
    >
      {alternatives && (
        <div class="card-tools">
          <Segmented
            label={title}
            value={chosen}
            onChange={setChosen}
            options={alternatives.map((a) => ({ value: a.dimension, label: a.label }))}
          />
        </div>
      )}
      {res.error && !res.data ? (
        <ErrorNotice error={res.error} onRetry={res.reload} />
      ) : !res.data ? (
        <Skeleton height={180} />
      ) : rows.length === 0 ? (
        <EmptyState compact icon="reports" title={t('common.noData')}>
          {emptyText}
        </EmptyState>
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
