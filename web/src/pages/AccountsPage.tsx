import { useState } from 'preact/hooks';
import { fetchAccounts, updateAccount } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { Account } from '../api/types';
import { AccountDialog } from '../accounts/AccountDialog';
import { EraseAccountDialog } from '../accounts/EraseAccountDialog';
import { Card } from '../components/Card';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { formatInt } from '../format/number';
import { useApi } from '../hooks/useApi';
import { t, tp } from '../i18n';
import { ExportLinks } from '../retention/ExportLinks';
import { actAs, actingStore } from '../state/acting';
import { meStore } from '../state/me';
import { useStore } from '../state/store';

/** The operator's customers: create, rename, custom domains, processing restriction, export, erase. */
export function AccountsPage() {
  const me = useStore(meStore);
  const acting = useStore(actingStore);
  const accounts = useApi((signal) => fetchAccounts(signal), []);
  const [editing, setEditing] = useState<Account | null | undefined>(undefined);
  const [erasing, setErasing] = useState<Account | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  // The switch shows the wanted state at once, while the change is saved.
  const [pending, setPending] = useState<Record<string, boolean>>({});
  const list = [...(accounts.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const restricted = (a: Account) => pending[a.id] ?? a.processing_restricted;

  const restrict = async (a: Account, on: boolean) => {
    setRowError(null);
    setPending((old) => ({ ...old, [a.id]: on }));
    try {
      await updateAccount(a.id, { processing_restricted: on });
    } catch (err) {
      setRowError(errorText(err));
      setPending(({ [a.id]: _, ...rest }) => rest);
    } finally {
      accounts.reload();
    }
  };

  const create = (
    <button type="button" class="button button-primary" onClick={() => setEditing(null)}>
      <Icon name="plus" />
      <span>{t('accounts.create')}</span>
    </button>
  );

  return (
    <>
      <PageHeader title={t('accounts.title')} subtitle={accounts.data && tp('accounts.count', list.length)}>
        {me?.operator && create}
      </PageHeader>
      <div class="stack">
        {rowError && (
          <div class="notice notice-error" role="alert">
            <Icon name="alert" />
            <span>{rowError}</span>
          </div>
        )}
        {accounts.error && !accounts.data ? (
          <ErrorNotice error={accounts.error} onRetry={accounts.reload} />
        ) : !accounts.data ? (
          <Skeleton height={200} />
        ) : list.length === 0 ? (
          <div class="card">
            <EmptyState icon="accounts" title={t('accounts.emptyTitle')} action={create}>
              {t('accounts.emptyBody')}
            </EmptyState>
          </div>
        ) : (
          <Card>
            <div class="table-wrap">
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">{t('accounts.name')}</th>
                    <th scope="col">{t('accounts.domains')}</th>
                    <th scope="col" class="num">
                      {t('accounts.col.servers')}
                    </th>
                    <th scope="col" class="num">
                      {t('accounts.col.users')}
                    </th>
                    <th scope="col">{t('accounts.col.restricted')}</th>
                    <th scope="col">{t('accounts.col.export')}</th>
                    <th scope="col">
                      <span class="visually-hidden">{t('common.actions')}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((a) => {
                    const own = a.id === (acting?.home ?? me?.account.id);
                    const current = a.id === (acting?.id ?? me?.account.id);
                    return (
                      <tr key={a.id}>
                        <th scope="row">
                          <div class="strong">{a.name}</div>
                          <div class="muted small">
                            {own ? t('accounts.own') : `${a.timezone.replace(/_/g, ' ')} · ${a.id}`}
                          </div>
                        </th>
                        <td>
                          {a.domains.length === 0 ? (
                            <span class="muted">{t('accounts.noDomains')}</span>
                          ) : (
                            a.domains.map((d) => (
                              <div key={d} class="mono small">
                                {d}
                              </div>
                            ))
                          )}
                        </td>
                        <td class="num">{ofLimit(a.servers, a.limits.max_servers)}</td>
                        <td class="num">{ofLimit(a.users, a.limits.max_users)}</td>
                        <td>
                          <div class="check-field">
                            <input
                              id={`restrict-${a.id}`}
                              type="checkbox"
                              role="switch"
                              checked={restricted(a)}
                              disabled={a.id in pending && pending[a.id] !== a.processing_restricted}
                              aria-describedby="restrict-help"
                              onChange={(e) => void restrict(a, (e.currentTarget as HTMLInputElement).checked)}
                            />
                            <label for={`restrict-${a.id}`}>
                              <span class="visually-hidden">{t('accounts.restrictNamed', { name: a.name })}</span>
                              <span aria-hidden="true">
                                {restricted(a) ? t('accounts.restricted') : t('accounts.active')}
                              </span>
                            </label>
                          </div>
                        </td>
                        <td>
                          <div class="row-actions">
                            {!current && me && (
                              <button
                                type="button"
                                class="button button-small"
                                onClick={() => actAs(own ? null : { id: a.id, name: a.name, home: acting?.home ?? me.account.id })}
                                aria-label={t('acting.openNamed', { name: a.name })}
                              >
                                {t('acting.open')}
                              </button>
                            )}
                            <ExportLinks account={a.id} name={a.name} />
                          </div>
                        </td>
                        <td class="actions">
                          <button
                            type="button"
                            class="icon-button"
                            onClick={() => setEditing(a)}
                            aria-label={t('accounts.editNamed', { name: a.name })}
                            title={t('accounts.edit')}
                          >
                            <Icon name="edit" />
                          </button>
                          {!own && !current && (
                            <button
                              type="button"
                              class="icon-button"
                              onClick={() => setErasing(a)}
                              aria-label={t('accounts.eraseNamed', { name: a.name })}
                              title={t('accounts.erase')}
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
            <p id="restrict-help" class="muted small">
              {t('accounts.restrictHelp')}
            </p>
          </Card>
        )}
      </div>
      <AccountDialog
        open={editing !== undefined}
        account={editing ?? null}
        onClose={() => setEditing(undefined)}
        onSaved={accounts.reload}
      />
      <EraseAccountDialog account={erasing} onClose={() => setErasing(null)} onErased={accounts.reload} />
    </>
  );
}

/** A count and, when the account has one, its limit ("3 of 5"). */
function ofLimit(count: number, limit: number | null): string {
  return limit == null ? formatInt(count) : t('accounts.ofLimit', { count: formatInt(count), limit: formatInt(limit) });
}
