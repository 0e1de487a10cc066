import { useState } from 'preact/hooks';
import { breakdownQuery, fetchBreakdown } from '../../api/endpoints';
import { BreakdownTable } from '../../components/BreakdownTable';
import { Card } from '../../components/Card';
import { CountryName } from '../../components/CountryName';
import { CsvLink } from '../../components/CsvLink';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Segmented } from '../../components/Segmented';
import { Skeleton } from '../../components/Skeleton';
import { useApi } from '../../hooks/useApi';
import { t, type MessageKey } from '../../i18n';
import { CountryMapCard } from '../../widgets/CountryMapCard';
import type { ReportProps } from './DailyReport';

type Level = 'country' | 'region' | 'city';
const LEVELS: Record<Level, MessageKey> = { country: 'geo.countries', region: 'geo.regions', city: 'geo.cities' };

/** The audience by country, region or city, on a map and in full. */
export function GeoReport({ bounds }: ReportProps) {
  const [level, setLevel] = useState<Level>('country');
  const res = useApi((signal) => fetchBreakdown(level, bounds, {}, 500, signal), [level, bounds]);
  const rows = res.data?.dimension && res.data.dimension !== level ? [] : (res.data?.rows ?? []);
  const title = t(LEVELS[level]);
  return (
    <div class="stack">
      <CountryMapCard bounds={bounds} title={t('overview.map')} />
      <Card
        title={title}
        actions={
          <>
            <Segmented
              label={t('geo.level')}
              value={level}
              onChange={setLevel}
              options={(Object.keys(LEVELS) as Level[]).map((l) => ({ value: l, label: t(LEVELS[l]) }))}
            />
            <CsvLink path="/stats/breakdown" query={breakdownQuery(level, bounds)} what={title} />
          </>
        }
      >
        {res.error && !res.data ? (
          <ErrorNotice error={res.error} onRetry={res.reload} />
        ) : !res.data ? (
          <Skeleton height={280} />
        ) : rows.length === 0 ? (
          <EmptyState icon="globe" title={t('reports.noData')} />
        ) : (
          <BreakdownTable
            rows={rows}
            nameHeader={title}
            renderName={(r) => (level === 'country' ? <CountryName code={r.key} label={r.label} /> : <span title={r.key}>{r.label || r.key}</span>)}
          />
        )}
      </Card>
    </div>
  );
}
