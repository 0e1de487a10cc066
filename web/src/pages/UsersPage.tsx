import { useState } from 'preact/hooks';
import { deleteUser, fetchSlices, fetchUsers, updateUserRole } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { AccountUser, Role } from '../api/types';
import { Card } from '../components/Card';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { formatDateTime } from '../format/date';
import { useApi } from '../hooks/useApi';
import { t, tp } from '../i18n';
import { meStore } from '../state/me';
import { useStore } from '../state/store';
import { useTimeZone } from '../state/timeZone';
import { AddUserDialog } from '../users/AddUserDialog';
import { InvitationsCard } from '../users/InvitationsCard';
import { RoleSelect } from '../users/RoleSelect';
import { UserSlicesDialog } from '../users/UserSlicesDialog';

/** The users of the signed-in account; owners add, re-role and remove them and send invitations. */
export function UsersPage() {
  const me = useStore(meStore);
  const account = me?.account.id ?? '';
  const users = useApi((signal) => fetchUsers(account, signal), [account]);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<AccountUser | null>(null);
  const [limiting, setLimiting] = useState<AccountUser | null>(null);
  const slices = useApi((signal) => fetchSlices(signal), []);
  const sliceName = (id: string) => slices.data?.find((s) => s.id === id)?.name ?? id;
  const [rowError, setRowError] = useState<string | null>(null);
  const tz = useTimeZone();
  const isOwner = !!me && (me.role === 'owner' || me.operator);
  const list = [...(users.data ?? [])].sort((a, b) => a.email.localeCompare(b.email));

  const changeRole = async (user: AccountUser, role: Role) => {
    setRowError(null);
    try {
      await updateUserRole(account, user.id, role);
    } catch (err) {
      setRowError(errorText(err));
    }
    users.reload();
  };

  return (
    <>
      <PageHeader title={t('users.title')} subtitle={users.data && `${me?.account.name ?? ''} · ${tp('users.count', list.length)}`}>
        {isOwner && (
          <button type="button" class="button button-primary" onClick={() => setAdding(true)}>
            <Icon name="plus" />
            <span>{t('users.add')}</span>
          </button>
        )}
      </PageHeader>
      <div class="stack">
        {rowError && (
          <div class="notice notice-error" role="alert">
            <Icon name="alert" />
            <span>{rowError}</span>
          </div>
        )}
        {users.error && !users.data ? (
          <ErrorNotice error={users.error} onRetry={users.reload} />
        ) : !users.data ? (
          <Skeleton height={200} />
        ) : list.length === 0 ? (
          <div class="card">
            <EmptyState icon="users" title={t('users.emptyTitle')} />
          </div>
        ) : (
          <Card>
            <div class="table-wrap">
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">{t('users.email')}</th>
                    <th scope="col">{t('users.role')}</th>
                    <th scope="col">{t('users.col.access')}</th>
                    <th scope="col">{t('users.col.created')}</th>
                    <th scope="col">
                      <span class="visually-hidden">{t('common.actions')}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((u) => (
                    <tr key={u.id}>
                      <th scope="row">
                        <div class="strong">{u.name || u.email}</div>
                        {u.name && <div class="muted small">{u.email}</div>}
                        {u.id === me?.id && <div class="muted small">{t('users.you')}</div>}
                      </th>
                      <td>
                        {isOwner ? (
                          <RoleSelect
                            hiddenLabel
                            label={t('users.roleOf', { email: u.email })}
                            value={u.role}
                            onChange={(role) => changeRole(u, role)}
                          />
                        ) : (
                          t(`role.${u.role}`)
                        )}
                      </td>
                      <td>
                        <div class="row-actions">
                          <span>
                            {u.slices?.length ? u.slices.map(sliceName).join(', ') : t('users.wholeAccount')}
                          </span>
                          {isOwner && (u.role === 'viewer' || u.role === 'billing') && (
                            <button
                              type="button"
                              class="button button-small button-ghost"
                              onClick={() => setLimiting(u)}
                              aria-label={t('users.limitNamed', { email: u.email })}
                            >
                              {t('users.limit')}
                            </button>
                          )}
                        </div>
                      </td>
                      <td>{formatDateTime(u.created_at, tz)}</td>
                      <td class="actions">
                        {isOwner && u.id !== me?.id && (
                          <button
                            type="button"
                            class="icon-button"
                            onClick={() => setRemoving(u)}
                            aria-label={t('users.removeNamed', { email: u.email })}
                            title={t('users.remove')}
                          >
                            <Icon name="trash" />
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        )}
        {isOwner && <InvitationsCard />}
      </div>
      {isOwner && (
        <AddUserDialog account={account} open={adding} onClose={() => setAdding(false)} onCreated={users.reload} />
      )}
      {isOwner && (
        <UserSlicesDialog
          account={account}
          user={limiting}
          slices={slices.data ?? []}
          onClose={() => setLimiting(null)}
          onSaved={users.reload}
        />
      )}
      <ConfirmDialog
        open={removing !== null}
        title={t('users.removeTitle', { email: removing?.email ?? '' })}
        confirmLabel={t('users.remove')}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          if (removing) await deleteUser(account, removing.id);
          users.reload();
        }}
      >
        <p>{t('users.removeBody')}</p>
      </ConfirmDialog>
    </>
  );
}
