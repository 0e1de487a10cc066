import { useState } from 'preact/hooks';
import { breakdownQuery, fetchBreakdown } from '../api/endpoints';
import type { Scope } from '../api/types';
import { Card } from '../components/Card';
import { CsvLink } from '../components/CsvLink';
import { ErrorNotice } from '../components/ErrorNotice';
import { Segmented } from '../components/Segmented';
import { Skeleton } from '../components/Skeleton';
import { WorldMap } from '../components/WorldMap';
import { geoCredits, useAbout } from '../hooks/useAbout';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import type { Bounds } from '../time/range';
import { BREAKDOWN_VALUES, type BreakdownValue } from './breakdownValue';

/** World map of the audience by country, switchable between viewers, views and traffic. */
export function CountryMapCard({ bounds, scope = {}, title }: { bounds: Bounds; scope?: Scope; title: string }) {
  const [value, setValue] = useState<BreakdownValue>('views');
  const key = JSON.stringify(scope);
  const res = useApi((signal) => fetchBreakdown('country', bounds, scope, 300, signal), [bounds, key]);
  const credits = geoCredits(useAbout());
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
            options={(['views', 'viewers', 'bytes_out'] as const).map((m) => ({
              value: m,
              label: t(BREAKDOWN_VALUES[m].label),
            }))}
          />
          <CsvLink path="/stats/breakdown" query={breakdownQuery('country', bounds, scope)} what={title} />
        </>
      }
      footer={
        credits.length > 0 && <span class="muted small">{t('map.attribution', { credits: credits.join(' · ') })}</span>
      }
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
