import { fetchServers } from '../api/endpoints';
import { CountryName } from '../components/CountryName';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageHeader } from '../components/PageHeader';
import { RangeTools } from '../components/RangeTools';
import { Skeleton } from '../components/Skeleton';
import { hasGeoDatabase, useAbout } from '../hooks/useAbout';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import { Link } from '../router/Link';
import { useRange } from '../state/range';
import { streamKeyPath } from '../streams/streamPath';
import { CountryMapCard } from '../widgets/CountryMapCard';
import { MetricChart } from '../widgets/MetricChart';
import { ServerHealth } from '../widgets/ServerHealth';
import { SummaryCards } from '../widgets/SummaryCards';
import { TopList } from '../widgets/TopList';
import { GettingStarted } from './overview/GettingStarted';
import { LiveCard } from './overview/LiveCard';

export function OverviewPage() {
  const { bounds, tz } = useRange();
  const asnDb = hasGeoDatabase(useAbout(), 'asn');
  const servers = useApi((signal) => fetchServers(signal), []);
  const list = servers.data ?? [];
  const none = servers.data !== undefined && list.length === 0;
  const silent = list.length > 0 && list.every((s) => s.status === 'never');

  return (
    <>
      <PageHeader title={t('overview.title')}>
        <RangeTools />
      </PageHeader>
      {servers.error && !servers.data && <ErrorNotice error={servers.error} onRetry={servers.reload} />}
      {!servers.data && !servers.error ? (
        <Skeleton height={120} />
      ) : none ? (
        <GettingStarted servers={list} />
      ) : (
        <div class="stack">
          {silent && <GettingStarted servers={list} />}
          <LiveCard />
          <SummaryCards bounds={bounds} />
          <MetricChart title={t('overview.audience')} bounds={bounds} tz={tz} metrics={['viewers', 'bandwidth', 'views']} />
          <div class="grid grid-map">
            <CountryMapCard bounds={bounds} title={t('overview.map')} />
            <TopList
              title={t('overview.topCountries')}
              dimension="country"
              bounds={bounds}
              limit={8}
              renderLabel={(r) => <CountryName code={r.key} label={r.label} />}
            />
          </div>
          <div class="grid grid-3">
            <TopList
              title={t('overview.topStreams')}
              dimension="stream"
              bounds={bounds}
              renderLabel={(r) => <Link href={streamKeyPath(r.key)}>{r.label || r.key}</Link>}
              footer={
                <Link href="/streams" class="muted small">
                  {t('overview.allStreams')}
                </Link>
              }
            />
            <TopList
              title={t('overview.topAsns')}
              dimension="asn"
              bounds={bounds}
              renderLabel={(r) => <span title={`AS${r.key}`}>{r.label || `AS${r.key}`}</span>}
            emptyText={asnDb ? undefined : t('geo.noAsnDb')}
            />
            <ServerHealth />
          </div>
        </div>
      )}
    </>
  );
}
