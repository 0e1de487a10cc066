import { useEffect, useId, useState } from 'preact/hooks';
import type { Query } from '../api/client';
import { fetchActivity } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { ActivityEntry } from '../api/types';
import { Card } from '../components/Card';
import { CsvLink } from '../components/CsvLink';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { TimeZoneSelect } from '../components/TimeZoneSelect';
import { formatDateTime } from '../format/date';
import { useApi } from '../hooks/useApi';
import { t, type MessageKey } from '../i18n';
import { meStore } from '../state/me';
import { useStore } from '../state/store';
import { useTimeZone } from '../state/timeZone';
import { addDays, parseIsoDate, startOfDay } from '../time/zone';

/** Every action the log records (docs/api.md, "Activity log"). */
export const ACTIONS = [
  'login',
  'login_failed',
  'logout',
  'password_changed',
  'password_reset',
  'totp_enabled',
  'totp_disabled',
  'session_revoked',
  'server_added',
  'server_removed',
  'token_created',
  'token_revoked',
  'user_added',
  'user_removed',
  'user_role_changed',
  'user_updated',
  'invitation_created',
  'invitation_accepted',
  'invitation_revoked',
  'account_created',
  'account_updated',
  'settings_changed',
  'branding_changed',
  'slice_created',
  'slice_updated',
  'slice_deleted',
  'export',
  'deletion',
  'retention_changed',
] as const;

const PAGE = 50;

/** An action in words; an action this version does not know shows its API name. */
export function actionName(action: string): string {
  return message(`activity.action.${action}`) ?? action.replace(/_/g, ' ');
}

function message(key: string): string | null {
  const text = t(key as MessageKey);
  return text && text !== key ? text : null;
}

/** Who did what in the panel: filter by action and day, page back in time, download as CSV. */
export function ActivityPage() {
  const id = useId();
  const me = useStore(meStore);
  const tz = useTimeZone();
  const [action, setAction] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');

  // Dates are calendar days in the chosen time zone; `to` includes its whole day.
  const fromDay = parseIsoDate(from);
  const toDay = parseIsoDate(to);
  const query: Query = {
    action: action || undefined,
    from: fromDay ? startOfDay(tz, fromDay) : undefined,
    to: toDay ? startOfDay(tz, addDays(toDay, 1)) : undefined,
  };
  const key = JSON.stringify(query);
  const first = useApi((signal) => fetchActivity({ ...query, limit: PAGE }, signal), [key]);
  const [more, setMore] = useState<ActivityEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);

  useEffect(() => {
    setMore([]);
    setMoreError(null);
    setCursor(first.data?.next_cursor ?? null);
  }, [first.data]);

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await fetchActivity({ ...query, limit: PAGE, cursor });
      setMore((old) => [...old, ...page.entries]);
      setCursor(page.next_cursor);
    } catch (err) {
      setMoreError(errorText(err));
    } finally {
      setLoadingMore(false);
    }
  };

  const entries = [...(first.data?.entries ?? []), ...more];
  const filtered = !!(action || from || to);

  return (
    <>
      <PageHeader title={t('activity.title')} subtitle={t('activity.subtitle')}>
        <TimeZoneSelect />
      </PageHeader>
      <div class="stack">
        <Card
          title={t('activity.heading')}
          actions={<CsvLink path="/activity" query={{ ...query, limit: 1000 }} what={t('activity.title')} />}
        >
          <div class="filters" role="group" aria-label={t('activity.filters')}>
            <div class="field">
              <label for={`${id}-action`}>{t('activity.action')}</label>
              <select
                id={`${id}-action`}
                class="select"
                value={action}
                onChange={(e) => setAction((e.currentTarget as HTMLSelectElement).value)}
              >
                <option value="">{t('activity.allActions')}</option>
                {ACTIONS.map((a) => (
                  <option key={a} value={a}>
                    {actionName(a)}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for={`${id}-from`}>{t('range.from')}</label>
              <input
                id={`${id}-from`}
                class="input"
                type="date"
                value={from}
                max={to || undefined}
                onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)}
              />
            </div>
            <div class="field">
              <label for={`${id}-to`}>{t('range.to')}</label>
              <input
                id={`${id}-to`}
                class="input"
                type="date"
                value={to}
                min={from || undefined}
                onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)}
              />
            </div>
            {filtered && (
              <button
                type="button"
                class="button button-ghost"
                onClick={() => {
                  setAction('');
                  setFrom('');
                  setTo('');
                }}
              >
                {t('activity.clear')}
              </button>
            )}
          </div>
        </Card>
        {first.error && !first.data ? (
          <ErrorNotice error={first.error} onRetry={first.reload} />
        ) : !first.data ? (
          <Skeleton height={320} />
        ) : entries.length === 0 ? (
          <div class="card">
            <EmptyState icon="activity" title={filtered ? t('activity.noMatch') : t('activity.emptyTitle')}>
              {filtered ? t('activity.noMatchBody') : t('activity.emptyBody')}
            </EmptyState>
          </div>
        ) : (
          <Card>
            <div class="table-wrap">
              <table class="table" aria-busy={first.loading || loadingMore}>
                <thead>
                  <tr>
                    <th scope="col">{t('activity.col.time')}</th>
                    <th scope="col">{t('activity.col.actor')}</th>
                    <th scope="col">{t('activity.col.action')}</th>
                    <th scope="col">{t('activity.col.target')}</th>
                    <th scope="col">{t('activity.col.from')}</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((e, i) => (
                    <tr key={`${e.time}-${i}`}>
                      <td class="nowrap">{formatDateTime(e.time, tz)}</td>
                      <td>{e.actor}</td>
                      <td>
                        <span class="badge">{actionName(e.action)}</span>
                        {me?.operator && e.scope === 'instance' && (
                          <div class="muted small">{t('activity.instance')}</div>
                        )}
                      </td>
                      <td class="wrap-anywhere">{e.target}</td>
                      <td class="nowrap">
                        {e.ip ?? '–'}
                        {e.country && <span class="muted"> · {e.country}</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {moreError && (
              <p class="field-error" role="alert">
                {moreError}
              </p>
            )}
            {cursor && (
              <div class="load-more">
                <button type="button" class="button" onClick={() => void loadMore()} disabled={loadingMore}>
                  {loadingMore ? t('app.loading') : t('activity.more')}
                </button>
              </div>
            )}
          </Card>
        )}
      </div>
    </>
  );
}
