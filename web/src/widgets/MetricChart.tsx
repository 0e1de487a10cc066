import { useMemo, useState } from 'preact/hooks';
import { timeseriesQuery, fetchTimeseries } from '../api/endpoints';
import type { Metric, Scope } from '../api/types';
import { Card } from '../components/Card';
import { CsvLink } from '../components/CsvLink';
import { ErrorNotice } from '../components/ErrorNotice';
import { Segmented } from '../components/Segmented';
import { Skeleton } from '../components/Skeleton';
import { TimeChart } from '../components/TimeChart';
import { formatBitrate } from '../format/bytes';
import { formatCompact } from '../format/number';
import { useApi } from '../hooks/useApi';
import { t, type MessageKey } from '../i18n';
import { stepFor, type Bounds } from '../time/range';
import { alignSeries } from '../time/series';

interface MetricInfo {
  label: MessageKey;
  format: (n: number) => string;
  bars?: boolean;
}

const METRICS: Partial<Record<Metric, MetricInfo>> = {
  viewers: { label: 'metric.viewers', format: formatCompact },
  bandwidth: { label: 'metric.bandwidth', format: formatBitrate },
  views: { label: 'metric.views', format: formatCompact, bars: true },
};

interface Props {
  title: string;
  bounds: Bounds;
  tz: string;
  scope?: Scope;
  metrics: Metric[];
}

/** One time series at a time, switchable between the given metrics, with CSV export. */
export function MetricChart({ title, bounds, tz, scope = {}, metrics }: Props) {
  const [metric, setMetric] = useState<Metric>(metrics[0] ?? 'viewers');
  const step = stepFor(bounds);
  const key = JSON.stringify(scope);
  const series = useApi(
    (signal) => fetchTimeseries(metric, step, bounds, scope, signal),
    [metric, step, bounds, key],
  );
  const info = METRICS[metric] ?? { label: 'metric.viewers', format: formatCompact };
  const data = useMemo(
    () => (series.data ? alignSeries([series.data.points], bounds, series.data.step || step) : null),
    [series.data, bounds, step],
  );
  const lines = useMemo(() => [{ label: t(info.label), area: !info.bars }], [info]);

  return (
    <Card
      title={title}
      class="card-chart"
      actions={
        <>
          {metrics.length > 1 && (
            <Segmented
              label={t('chart.metric')}
              value={metric}
              onChange={setMetric}
              options={metrics.map((m) => ({ value: m, label: t(METRICS[m]?.label ?? 'metric.viewers') }))}
            />
          )}
          <CsvLink path="/stats/timeseries" query={timeseriesQuery(metric, step, bounds, scope)} what={t(info.label)} />
        </>
      }
    >
      {series.error && !series.data ? (
        <ErrorNotice error={series.error} onRetry={series.reload} />
      ) : data ? (
        <TimeChart
          data={data}
          lines={lines}
          format={info.format}
          tz={tz}
          bars={info.bars}
          label={t('chart.label', { metric: t(info.label) })}
        />
      ) : (
        <Skeleton height={250} />
      )}
    </Card>
  );
}
