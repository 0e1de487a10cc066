import { useState } from 'preact/hooks';
import { breakdownQuery, fetchAbout, fetchBreakdown } from '../api/endpoints';
import type { Scope } from '../api/types';
import { Card } from '../components/Card';
import { CsvLink } from '../components/CsvLink';
import { ErrorNotice } from '../components/ErrorNotice';
import { Segmented } from '../components/Segmented';
import { Skeleton } from '../components/Skeleton';
import { WorldMap } from '../components/WorldMap';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import type { Bounds } from '../time/range';
import { BREAKDOWN_VALUES, type BreakdownValue } from './breakdownValue';
import { GeoAttribution } from './GeoAttribution';

/** World map of the audience by country, switchable between viewers, views and traffic. */
export function CountryMapCard({ bounds, scope = {}, title }: { bounds: Bounds; scope?: Scope; title: string }) {
  const [value, setValue] = useState<BreakdownValue>('viewers');
  const key = JSON.stringify(scope);
  const res = useApi((signal) => fetchBreakdown('country', bounds, scope, 300, signal), [bounds, key]);
  const about = useApi((signal) => fetchAbout(signal).catch(() => null), []);
  const v = BREAKDOWN_VALUES[value];
  return (
    <Card
      title={title}
      class="card-map"
      actions={
        <>
          <Segmented
            label={t('chart.metric')}
            value={value}
            onChange={setValue}
            options={(['viewers', 'views', 'bytes_out'] as const).map((m) => ({
              value: m,
              label: t(BREAKDOWN_VALUES[m].label),
            }))}
          />
          <CsvLink path="/stats/breakdown" query={breakdownQuery('country', bounds, scope)} what={title} />
        </>
      }
      footer={<GeoAttribution about={about.data ?? null} />}
    >
      {res.error && !res.data ? (
        <ErrorNotice error={res.error} onRetry={res.reload} />
      ) : res.data ? (
        <WorldMap rows={res.data.rows} value={v.get} format={v.format} metricLabel={t(v.label)} />
      ) : (
        <Skeleton height={260} />
      )}
    </Card>
  );
}
