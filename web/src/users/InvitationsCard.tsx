import { useState } from 'preact/hooks';
import { deleteInvitation, fetchInvitations } from '../api/endpoints';
import type { Invitation } from '../api/types';
import { Card } from '../components/Card';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { Skeleton } from '../components/Skeleton';
import { formatDateTime } from '../format/date';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import { useTimeZone } from '../state/timeZone';
import { InviteDialog } from './InviteDialog';

/** Pending invitations: invite (one-time link), list, withdraw. */
export function InvitationsCard() {
  const invites = useApi((signal) => fetchInvitations(signal), []);
  const [inviting, setInviting] = useState(false);
  const [deleting, setDeleting] = useState<Invitation | null>(null);
  const tz = useTimeZone();
  const list = invites.data ?? [];
  const invite = (
    <button type="button" class="button" onClick={() => setInviting(true)}>
      <Icon name="plus" />
      <span>{t('invites.create')}</span>
    </button>
  );
  return (
    <Card title={t('invites.heading')} actions={invite}>
      {invites.error && !invites.data ? (
        <ErrorNotice error={invites.error} onRetry={invites.reload} />
      ) : !invites.data ? (
        <Skeleton height={120} />
      ) : list.length === 0 ? (
        <EmptyState compact icon="users" title={t('invites.emptyTitle')}>
          {t('invites.emptyBody')}
        </EmptyState>
      ) : (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t('users.email')}</th>
                <th scope="col">{t('users.role')}</th>
                <th scope="col">{t('invites.col.expires')}</th>
                <th scope="col">
                  <span class="visually-hidden">{t('common.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((inv) => (
                <tr key={inv.id}>
                  <th scope="row">{inv.email}</th>
                  <td>{t(`role.${inv.role}`)}</td>
                  <td>{formatDateTime(inv.expires_at, tz)}</td>
                  <td class="actions">
                    <button
                      type="button"
                      class="icon-button"
                      onClick={() => setDeleting(inv)}
                      aria-label={t('invites.deleteNamed', { email: inv.email })}
                      title={t('invites.delete')}
                    >
                      <Icon name="trash" />
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <InviteDialog open={inviting} onClose={() => setInviting(false)} onCreated={invites.reload} />
      <ConfirmDialog
        open={deleting !== null}
        title={t('invites.deleteTitle', { email: deleting?.email ?? '' })}
        confirmLabel={t('invites.delete')}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (deleting) await deleteInvitation(deleting.id);
          invites.reload();
        }}
      >
        <p>{t('invites.deleteBody')}</p>
      </ConfirmDialog>
    </Card>
  );
}
