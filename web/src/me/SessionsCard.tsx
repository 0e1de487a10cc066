import { useState } from 'preact/hooks';
import { fetchSessions, revokeSession } from '../api/endpoints';
import type { LoginSession } from '../api/types';
import { rememberSignedIn } from '../app/session';
import { Card } from '../components/Card';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Skeleton } from '../components/Skeleton';
import { formatDateTime } from '../format/date';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import { useTimeZone } from '../state/timeZone';

// First match wins: Edge and Opera also say Chrome, Chrome also says Safari.
const BROWSERS: [RegExp, string][] = [
  [/Edg\//, 'Edge'],
  [/OPR\//, 'Opera'],
  [/Firefox\//, 'Firefox'],
  [/Chrom(e|ium)\//, 'Chrome'],
  [/Safari\//, 'Safari'],
];
const SYSTEMS: [RegExp, string][] = [
  [/Android/, 'Android'],
  [/iPhone|iPad/, 'iOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux/, 'Linux'],
];

/** "Firefox on Linux" from a user-agent string; the raw text when nothing is recognised. */
export function describeAgent(ua: string | null): string {
  if (!ua) return t('sessions.unknownAgent');
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const os = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  if (browser && os) return t('sessions.agent', { browser, os });
  return browser ?? (ua.length > 60 ? `${ua.slice(0, 57)}…` : ua);
}

/** The user's own sign-in sessions, each of which can be ended. */
export function SessionsCard() {
  const sessions = useApi((signal) => fetchSessions(signal), []);
  const [ending, setEnding] = useState<LoginSession | null>(null);
  const tz = useTimeZone();
  const list = [...(sessions.data ?? [])].sort((a, b) => Number(b.current) - Number(a.current));
  return (
    <Card title={t('sessions.heading')}>
      <p class="muted">{t('sessions.body')}</p>
      {sessions.error && !sessions.data ? (
        <ErrorNotice error={sessions.error} onRetry={sessions.reload} />
      ) : !sessions.data ? (
        <Skeleton height={120} />
      ) : list.length === 0 ? (
        <EmptyState compact icon="privacy" title={t('sessions.empty')} />
      ) : (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t('sessions.col.device')}</th>
                <th scope="col">{t('sessions.col.address')}</th>
                <th scope="col">{t('sessions.col.started')}</th>
                <th scope="col">{t('sessions.col.expires')}</th>
                <th scope="col">
                  <span class="visually-hidden">{t('common.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => (
                <tr key={s.id}>
                  <th scope="row">
                    <div class="strong" title={s.user_agent ?? undefined}>
                      {describeAgent(s.user_agent)}
                    </div>
                    {s.current && <span class="badge badge-online">{t('sessions.current')}</span>}
                  </th>
                  <td>{s.ip ?? '–'}</td>
                  <td>{formatDateTime(s.created_at, tz)}</td>
                  <td>{formatDateTime(s.expires_at, tz)}</td>
                  <td class="actions">
                    <button
                      type="button"
                      class="button button-small"
                      onClick={() => setEnding(s)}
                      aria-label={t('sessions.endNamed', {
                        device: describeAgent(s.user_agent),
                        started: formatDateTime(s.created_at, tz),
                      })}
                    >
                      {s.current ? t('sessions.endCurrent') : t('sessions.end')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={ending !== null}
        title={ending?.current ? t('sessions.endCurrentTitle') : t('sessions.endTitle')}
        confirmLabel={ending?.current ? t('sessions.endCurrent') : t('sessions.end')}
        onClose={() => setEnding(null)}
        onConfirm={async () => {
          if (!ending) return;
          await revokeSession(ending.id);
          if (ending.current) {
            rememberSignedIn(false);
            location.assign('/login');
            return;
          }
          sessions.reload();
        }}
      >
        <p>{ending?.current ? t('sessions.endCurrentBody') : t('sessions.endBody')}</p>
      </ConfirmDialog>
    </Card>
  );
}
