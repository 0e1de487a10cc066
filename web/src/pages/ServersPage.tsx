import { useState } from 'preact/hooks';
import { fetchServers } from '../api/endpoints';
import type { Server } from '../api/types';
import { Card } from '../components/Card';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { Meter } from '../components/Meter';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { StatusBadge } from '../components/StatusBadge';
import { formatBitrate, formatBytes } from '../format/bytes';
import { formatDateTime, formatRelative } from '../format/date';
import { formatInt, formatPercent } from '../format/number';
import { useApi } from '../hooks/useApi';
import { useInterval } from '../hooks/useInterval';
import { useNow } from '../hooks/useNow';
import { t, tp } from '../i18n';
import { navigate, useQuery } from '../router/router';
import { AddServerDialog } from '../servers/AddServerDialog';
import { HooksDialog } from '../servers/HooksDialog';
import { RemoveServerDialog } from '../servers/RemoveServerDialog';
import { useCanWrite } from '../state/me';
import { useTimeZone } from '../state/timeZone';

export function ServersPage() {
  const servers = useApi((signal) => fetchServers(signal), []);
  useInterval(servers.reload, 15_000);
  const query = useQuery();
  const [adding, setAdding] = useState(query.get('add') === '1');
  const [removing, setRemoving] = useState<Server | null>(null);
  const [hooksOf, setHooksOf] = useState<string | null>(null);
  const now = useNow();
  const tz = useTimeZone();
  const canWrite = useCanWrite();

  const openAdd = () => setAdding(true);
  const closeAdd = () => {
    setAdding(false);
    if (query.has('add')) navigate('/servers', { replace: true });
  };
  const list = [...(servers.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const counts = list.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});

  return (
    <>
      <PageHeader
        title={t('servers.title')}
        subtitle={
          servers.data &&
          [
            tp('servers.count', list.length),
            counts.online ? `${formatInt(counts.online)} ${t('servers.status.online').toLowerCase()}` : null,
          ]
            .filter(Boolean)
            .join(' · ')
        }
      >
        {canWrite && (
          <button type="button" class="button button-primary" onClick={openAdd}>
            <Icon name="plus" />
            <span>{t('servers.add')}</span>
          </button>
        )}
      </PageHeader>

      {servers.error && !servers.data ? (
        <ErrorNotice error={servers.error} onRetry={servers.reload} />
      ) : !servers.data ? (
        <Skeleton height={240} />
      ) : list.length === 0 ? (
        <div class="card">
          <EmptyState
            icon="servers"
            title={t('empty.noServers.title')}
            action={
              canWrite && (
                <button type="button" class="button button-primary" onClick={openAdd}>
                  {t('empty.noServers.action')}
                </button>
              )
            }
          >
            {t('empty.noServers.body')}
          </EmptyState>
        </div>
      ) : (
        <Card footer={<span class="muted small">{t('servers.statusHelp')}</span>}>
          <div class="table-wrap">
            <table class="table table-servers">
              <thead>
                <tr>
                  <th scope="col">{t('servers.col.name')}</th>
                  <th scope="col">{t('servers.col.status')}</th>
                  <th scope="col">{t('servers.col.lastReport')}</th>
                  <th scope="col">{t('servers.cpu')}</th>
                  <th scope="col">{t('servers.ram')}</th>
                  <th scope="col">{t('servers.col.net')}</th>
                  <th scope="col" class="num">
                    {t('metric.viewers')}
                  </th>
                  <th scope="col">
                    <span class="visually-hidden">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((s) => {
                  const cpu = s.cpu_pct != null ? s.cpu_pct / 100 : null;
                  const ram = s.ram_used_bytes != null && s.ram_total_bytes ? s.ram_used_bytes / s.ram_total_bytes : null;
                  const software = [s.software, s.version].filter(Boolean).join(' ');
                  return (
                    <tr key={s.id}>
                      <th scope="row">
                        <div class="strong">{s.name}</div>
                        <div class="muted small">{software || t('servers.unknownSoftware')}</div>
                      </th>
                      <td>
                        <StatusBadge status={s.status} />
                      </td>
                      <td>
                        {s.last_report_at ? (
                          <span title={formatDateTime(s.last_report_at, tz)}>{formatRelative(s.last_report_at, now)}</span>
                        ) : (
                          <span class="muted">{t('servers.never')}</span>
                        )}
                      </td>
                      <td>
                        <Meter fraction={cpu} label={t('servers.cpuOf', { name: s.name })} text={formatPercent(cpu)} />
                      </td>
                      <td>
                        <Meter
                          fraction={ram}
                          label={t('servers.ramOf', { name: s.name })}
                          text={ram != null ? `${formatBytes(s.ram_used_bytes)} / ${formatBytes(s.ram_total_bytes)}` : undefined}
                        />
                      </td>
                      <td class="small">
                        {s.net_out_bps == null && s.net_in_bps == null ? (
                          <span class="muted">–</span>
                        ) : (
                          <>
                            <div>{t('servers.netOut', { value: formatBitrate(s.net_out_bps) })}</div>
                            <div class="muted">{t('servers.netIn', { value: formatBitrate(s.net_in_bps) })}</div>
                          </>
                        )}
                      </td>
                      <td class="num">{formatInt(s.viewers)}</td>
                      <td class="actions">
                        <button
                          type="button"
                          class={s.hooks?.enabled ? 'icon-button icon-button-on' : 'icon-button'}
                          onClick={() => setHooksOf(s.id)}
                          aria-label={t('servers.hooksNamed', { name: s.name })}
                          title={s.hooks?.enabled ? t('servers.hooksOn') : t('servers.hooks')}
                        >
                          <Icon name="link" />
                        </button>
                        {canWrite && (
                          <button
                            type="button"
                            class="icon-button"
                            onClick={() => setRemoving(s)}
                            aria-label={t('servers.removeNamed', { name: s.name })}
                            title={t('servers.remove')}
                          >
                            <Icon name="trash" />
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      <AddServerDialog open={adding} onClose={closeAdd} onCreated={servers.reload} />
      <HooksDialog
        server={list.find((s) => s.id === hooksOf) ?? null}
        canWrite={canWrite}
        onClose={() => setHooksOf(null)}
        onChanged={servers.reload}
      />
      <RemoveServerDialog server={removing} onClose={() => setRemoving(null)} onRemoved={servers.reload} />
    </>
  );
}
