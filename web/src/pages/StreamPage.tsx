import { useMemo } from 'preact/hooks';
import { fetchServers } from '../api/endpoints';
import type { Scope } from '../api/types';
import { Icon } from '../components/Icon';
import { PageHeader } from '../components/PageHeader';
import { RangeTools } from '../components/RangeTools';
import { hasGeoDatabase, useAbout } from '../hooks/useAbout';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import { Link } from '../router/Link';
import { useQuery } from '../router/router';
import { useRange } from '../state/range';
import { CountryMapCard } from '../widgets/CountryMapCard';
import { DurationCard } from '../widgets/DurationCard';
import { GeoCard } from '../widgets/GeoCard';
import { MetricChart } from '../widgets/MetricChart';
import { SummaryCards } from '../widgets/SummaryCards';
import { TopList } from '../widgets/TopList';
import { LiveCard } from './overview/LiveCard';

/** Everything about one stream (app + stream name), on all servers or on one. */
export function StreamPage({ app, stream }: { app: string; stream: string }) {
  const { bounds, tz } = useRange();
  const asnDb = hasGeoDatabase(useAbout(), 'asn');
  const serverId = useQuery().get('server') ?? undefined;
  const scope: Scope = useMemo(() => ({ app, stream, server: serverId }), [app, stream, serverId]);
  const servers = useApi((signal) => (serverId ? fetchServers(signal) : Promise.resolve([])), [serverId]);
  const serverName = serverId ? (servers.data?.find((s) => s.id === serverId)?.name ?? serverId) : null;

  return (
    <>
      <PageHeader
        title={`${app}/${stream}`}
        back={
          <Link href="/streams" class="back-link">
            <Icon name="back" size={16} />
            <span>{t('stream.back')}</span>
          </Link>
        }
        subtitle={
          serverName ? (
            <>
              {t('stream.onServer', { server: serverName })} ·{' '}
              <Link href={location.pathname}>{t('stream.allServersLink')}</Link>
            </>
          ) : (
            t('stream.allServers')
          )
        }
      >
        <RangeTools />
      </PageHeader>
      <div class="stack">
        <LiveCard scope={scope} />
        <SummaryCards bounds={bounds} scope={scope} />
        <MetricChart title={t('stream.overTime')} bounds={bounds} tz={tz} scope={scope} metrics={['viewers', 'bandwidth', 'views']} />
        <div class="grid grid-2">
          <TopList title={t('stream.protocols')} dimension="protocol" bounds={bounds} scope={scope} renderLabel={(r) => (r.label || r.key).toUpperCase()} />
          <DurationCard bounds={bounds} scope={scope} />
        </div>
        <div class="grid grid-map">
          <CountryMapCard bounds={bounds} scope={scope} title={t('overview.map')} />
          <GeoCard bounds={bounds} scope={scope} />
        </div>
        <div class="grid grid-2">
          <TopList
            title={t('stream.asns')}
            dimension="asn"
            bounds={bounds}
            scope={scope}
            limit={10}
            renderLabel={(r) => <span title={`AS${r.key}`}>{r.label || `AS${r.key}`}</span>}
            emptyText={asnDb ? undefined : t('geo.noAsnDb')}
          />
          <TopList
            title={t('stream.players')}
            dimension="player"
            bounds={bounds}
            scope={scope}
            limit={10}
            alternatives={[
              { dimension: 'player', label: t('stream.byPlayer') },
              { dimension: 'device', label: t('stream.byDevice') },
            ]}
          />
        </div>
      </div>
    </>
  );
}
