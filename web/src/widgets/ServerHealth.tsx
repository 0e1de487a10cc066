import { fetchServers } from '../api/endpoints';
import { Card } from '../components/Card';
import { ErrorNotice } from '../components/ErrorNotice';
import { Meter } from '../components/Meter';
import { Skeleton } from '../components/Skeleton';
import { StatusBadge } from '../components/StatusBadge';
import { formatPercent } from '../format/number';
import { useApi } from '../hooks/useApi';
import { useInterval } from '../hooks/useInterval';
import { t } from '../i18n';
import { Link } from '../router/Link';

const ORDER = { offline: 0, late: 1, online: 2, never: 3 } as const;

/** Every server's state at a glance, troubled ones first. */
export function ServerHealth() {
  const res = useApi((signal) => fetchServers(signal), []);
  useInterval(res.reload, 30_000);
  const servers = [...(res.data ?? [])].sort(
    (a, b) => ORDER[a.status] - ORDER[b.status] || a.name.localeCompare(b.name),
  );
  return (
    <Card
      title={t('overview.health')}
      actions={
        <Link href="/servers" class="button button-small button-ghost">
          {t('overview.allServers')}
        </Link>
      }
    >
      {res.error && !res.data ? (
        <ErrorNotice error={res.error} onRetry={res.reload} />
      ) : !res.data ? (
        <Skeleton height={160} />
      ) : (
        <ul class="health-list">
          {servers.slice(0, 8).map((s) => {
            const ram = s.ram_used_bytes != null && s.ram_total_bytes ? s.ram_used_bytes / s.ram_total_bytes : null;
            const cpu = s.cpu_pct != null ? s.cpu_pct / 100 : null;
            return (
              <li key={s.id} class="health-item">
                <div class="health-name">
                  <span class="strong">{s.name}</span>
                  <StatusBadge status={s.status} />
                </div>
                <div class="health-meters">
                  <span class="health-meter">
                    <span class="muted small">{t('servers.cpu')}</span>
                    <Meter fraction={cpu} label={t('servers.cpuOf', { name: s.name })} text={formatPercent(cpu)} />
                  </span>
                  <span class="health-meter">
                    <span class="muted small">{t('servers.ram')}</span>
                    <Meter fraction={ram} label={t('servers.ramOf', { name: s.name })} />
                  </span>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Card>
  );
}
