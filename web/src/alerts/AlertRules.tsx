import { useState } from 'preact/hooks';
import { deleteAlert, fetchAlerts, fetchServers, testAlert, updateAlert } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { AlertRule } from '../api/types';
import { Card } from '../components/Card';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { Skeleton } from '../components/Skeleton';
import { useApi } from '../hooks/useApi';
import { t, tp } from '../i18n';
import { useCanWrite } from '../state/me';
import { describeChannel, describeCondition, describeScope } from './kinds';
import { RuleDialog } from './RuleDialog';

type Outcome = { ok: boolean; text: string };

/** The account's alert rules: create, edit, mute, test, delete. */
export function AlertRules() {
  const rules = useApi((signal) => fetchAlerts(signal), []);
  const servers = useApi((signal) => fetchServers(signal), []);
  const canWrite = useCanWrite();
  const [editing, setEditing] = useState<AlertRule | null | undefined>(undefined);
  const [deleting, setDeleting] = useState<AlertRule | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const list = [...(rules.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const serverName = (id: string) => servers.data?.find((s) => s.id === id)?.name ?? id;

  const act = async (rule: AlertRule, what: 'mute' | 'test') => {
    setOutcome(null);
    setBusy(`${what}-${rule.id}`);
    try {
      if (what === 'mute') {
        await updateAlert(rule.id, { muted: !rule.muted });
        rules.reload();
      } else {
        const r = await testAlert(rule.id);
        setOutcome(
          r.delivered
            ? { ok: true, text: t('alerts.testOk', { name: rule.name, status: r.status ?? '–' }) }
            : { ok: false, text: t('alerts.testFailed', { name: rule.name, error: r.error ?? `HTTP ${r.status ?? '?'}` }) },
        );
      }
    } catch (err) {
      setOutcome({ ok: false, text: errorText(err) });
    } finally {
      setBusy(null);
    }
  };

  const create = canWrite && (
    <button type="button" class="button button-primary" onClick={() => setEditing(null)}>
      <Icon name="plus" />
      <span>{t('alerts.create')}</span>
    </button>
  );

  return (
    <div class="stack">
      <div class="form-actions">
        <span class="muted">{rules.data && tp('alerts.count', list.length)}</span>
        <span class="spacer" />
        {create}
      </div>
      <div role="status">
        {outcome && (
          <div class={outcome.ok ? 'notice notice-info' : 'notice notice-warning'}>
            <Icon name={outcome.ok ? 'check' : 'alert'} />
            <span>{outcome.text}</span>
          </div>
        )}
      </div>
      {rules.error && !rules.data ? (
        <ErrorNotice error={rules.error} onRetry={rules.reload} />
      ) : !rules.data ? (
        <Skeleton height={200} />
      ) : list.length === 0 ? (
        <div class="card">
          <EmptyState icon="alerts" title={t('alerts.emptyTitle')} action={create || undefined}>
            {t('alerts.emptyBody')}
          </EmptyState>
        </div>
      ) : (
        <Card>
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{t('alerts.name')}</th>
                  <th scope="col">{t('alerts.col.condition')}</th>
                  <th scope="col">{t('alerts.col.scope')}</th>
                  <th scope="col">{t('alerts.channel')}</th>
                  <th scope="col">{t('alerts.col.state')}</th>
                  {canWrite && (
                    <th scope="col">
                      <span class="visually-hidden">{t('common.actions')}</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {list.map((r) => (
                  <tr key={r.id}>
                    <th scope="row" class="strong">
                      {r.name}
                    </th>
                    <td>{describeCondition(r)}</td>
                    <td>{describeScope(r, serverName)}</td>
                    <td class="wrap-anywhere">{describeChannel(r)}</td>
                    <td>
                      <div class="row-actions">
                        {r.firing > 0 ? (
                          <span class="badge badge-offline">
                            <span class="badge-dot" aria-hidden="true" />
                            {tp('alerts.firing', r.firing)}
                          </span>
                        ) : (
                          <span class="badge badge-online">
                            <span class="badge-dot" aria-hidden="true" />
                            {t('alerts.ok')}
                          </span>
                        )}
                        {r.muted && <span class="badge">{t('alerts.muted')}</span>}
                      </div>
                    </td>
                    {canWrite && (
                      <td class="actions">
                        <div class="row-actions">
                          <button
                            type="button"
                            class="button button-small"
                            disabled={busy === `test-${r.id}`}
                            onClick={() => void act(r, 'test')}
                            aria-label={t('alerts.testNamed', { name: r.name })}
                          >
                            <Icon name="send" size={16} />
                            <span>{t('alerts.test')}</span>
                          </button>
                          <button
                            type="button"
                            class="icon-button"
                            aria-pressed={r.muted}
                            disabled={busy === `mute-${r.id}`}
                            onClick={() => void act(r, 'mute')}
                            aria-label={t('alerts.muteNamed', { name: r.name })}
                            title={r.muted ? t('alerts.unmute') : t('alerts.mute')}
                          >
                            <Icon name={r.muted ? 'mute' : 'alerts'} />
                          </button>
                          <button
                            type="button"
                            class="icon-button"
                            onClick={() => setEditing(r)}
                            aria-label={t('alerts.editNamed', { name: r.name })}
                            title={t('alerts.edit')}
                          >
                            <Icon name="edit" />
                          </button>
                          <button
                            type="button"
                            class="icon-button"
                            onClick={() => setDeleting(r)}
                            aria-label={t('alerts.deleteNamed', { name: r.name })}
                            title={t('alerts.delete')}
                          >
                            <Icon name="trash" />
                          </button>
                        </div>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      {canWrite && (
        <RuleDialog
          open={editing !== undefined}
          rule={editing ?? null}
          servers={servers.data ?? []}
          onClose={() => setEditing(undefined)}
          onSaved={rules.reload}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={t('alerts.deleteTitle', { name: deleting?.name ?? '' })}
        confirmLabel={t('alerts.delete')}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (deleting) await deleteAlert(deleting.id);
          rules.reload();
        }}
      >
        <p>{t('alerts.deleteBody')}</p>
      </ConfirmDialog>
    </div>
  );
}
