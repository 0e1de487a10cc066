import { fetchAlertEvents } from '../api/endpoints';
import { Card } from '../components/Card';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Skeleton } from '../components/Skeleton';
import { TimeZoneSelect } from '../components/TimeZoneSelect';
import { formatDateTime, formatTime } from '../format/date';
import { useApi } from '../hooks/useApi';
import { t, tp } from '../i18n';
import { useTimeZone } from '../state/timeZone';

/** Notifications sent (and test notifications), newest first, with every delivery attempt. */
export function AlertHistory() {
  const events = useApi((signal) => fetchAlertEvents(signal), []);
  const tz = useTimeZone();
  const list = events.data?.events ?? [];
  return (
    <div class="stack">
      <div class="form-actions">
        <span class="muted">{t('alerts.historyBody')}</span>
        <span class="spacer" />
        <TimeZoneSelect />
      </div>
      {events.error && !events.data ? (
        <ErrorNotice error={events.error} onRetry={events.reload} />
      ) : !events.data ? (
        <Skeleton height={240} />
      ) : list.length === 0 ? (
        <div class="card">
          <EmptyState icon="alerts" title={t('alerts.historyEmpty')}>
            {t('alerts.historyEmptyBody')}
          </EmptyState>
        </div>
      ) : (
        <Card>
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{t('activity.col.time')}</th>
                  <th scope="col">{t('alerts.col.notices')}</th>
                  <th scope="col">{t('alerts.channel')}</th>
                  <th scope="col">{t('alerts.col.delivery')}</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.id}>
                    <td class="nowrap">{formatDateTime(e.time, tz)}</td>
                    <td>
                      <ul class="notice-lines">
                        {e.alerts.map((n, i) => (
                          <li key={i}>
                            <span class={n.state === 'firing' ? 'badge badge-offline' : 'badge badge-online'}>
                              {e.test ? t('alerts.testBadge') : t(`alerts.state.${n.state}`)}
                            </span>{' '}
                            <span class="strong">{n.alert}</span>: {n.message}
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>{t(`alerts.channel.${e.channel}`)}</td>
                    <td>
                      <details>
                        <summary>
                          {e.delivered ? (
                            <span class="badge badge-online">{t('alerts.delivered')}</span>
                          ) : (
                            <span class="badge badge-offline">{t('alerts.notDelivered')}</span>
                          )}{' '}
                          <span class="muted small">{tp('alerts.attempts', e.deliveries.length)}</span>
                        </summary>
                        <ol class="deliveries small">
                          {e.deliveries.map((d) => (
                            <li key={d.attempt}>
                              {formatTime(d.time, tz)} ·{' '}
                              {d.ok
                                ? t('alerts.attemptOk', { status: d.status ?? '–' })
                                : t('alerts.attemptFailed', { error: d.error ?? `HTTP ${d.status ?? '?'}` })}
                            </li>
                          ))}
                        </ol>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </div>
  );
}
