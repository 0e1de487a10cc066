import { useState } from 'preact/hooks';
import { breakdownQuery, fetchBreakdown } from '../api/endpoints';
import type { BreakdownRow, Scope } from '../api/types';
import { BarList } from '../components/BarList';
import { Card } from '../components/Card';
import { CountryName } from '../components/CountryName';
import { CsvLink } from '../components/CsvLink';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Segmented } from '../components/Segmented';
import { Skeleton } from '../components/Skeleton';
import { hasGeoDatabase, useAbout } from '../hooks/useAbout';
import { useApi } from '../hooks/useApi';
import { t, type MessageKey } from '../i18n';
import type { Bounds } from '../time/range';
import { BREAKDOWN_VALUES } from './breakdownValue';

type Level = 'country' | 'region' | 'city';
const LEVELS: Record<Level, MessageKey> = { country: 'geo.countries', region: 'geo.regions', city: 'geo.cities' };

function label(level: Level, row: BreakdownRow) {
  if (level === 'country') return <CountryName code={row.key} label={row.label} />;
  return <span title={row.key}>{row.label || row.key}</span>;
}

/** Where the audience is, by country, region or city. */
export function GeoCard({ bounds, scope = {}, limit = 10 }: { bounds: Bounds; scope?: Scope; limit?: number }) {
  const [level, setLevel] = useState<Level>('country');
  const key = JSON.stringify(scope);
  const res = useApi((signal) => fetchBreakdown(level, bounds, scope, limit, signal), [level, bounds, key, limit]);
  const title = t('stream.geo');
  const noCityDb = level !== 'country' && !hasGeoDatabase(useAbout(), 'city');
  const v = BREAKDOWN_VALUES.views;
  const rows = res.data?.dimension === level || res.data?.dimension === undefined ? (res.data?.rows ?? []) : [];
  return (
    <Card
      title={title}
      actions={<CsvLink path="/stats/breakdown" query={breakdownQuery(level, bounds, scope)} what={t(LEVELS[level])} />}
    >
      <div class="card-tools">
        <Segmented
          label={t('geo.level')}
          value={level}
          onChange={setLevel}
          options={(Object.keys(LEVELS) as Level[]).map((l) => ({ value: l, label: t(LEVELS[l]) }))}
        />
      </div>
      {res.error && !res.data ? (
        <ErrorNotice error={res.error} onRetry={res.reload} />
      ) : !res.data ? (
        <Skeleton height={200} />
      ) : rows.length === 0 ? (
        <EmptyState compact icon="globe" title={t('common.noData')}>
          {noCityDb && t('geo.noCityDb')}
        </EmptyState>
      ) : (
        <BarList
          labelHeader={title}
          valueHeader={t(v.label)}
          items={rows.map((r) => ({ key: r.key, label: label(level, r), value: v.get(r), display: v.format(v.get(r)) }))}
        />
      )}
    </Card>
  );
}
