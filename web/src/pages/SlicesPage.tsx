import { useState } from 'preact/hooks';
import { deleteSlice, fetchServers, fetchSlices } from '../api/endpoints';
import type { Slice } from '../api/types';
import { Card } from '../components/Card';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { useApi } from '../hooks/useApi';
import { t, tp } from '../i18n';
import { SliceDialog } from '../slices/SliceDialog';
import { useCanWrite } from '../state/me';

/** Named subsets of servers, apps and streams that users can be limited to. */
export function SlicesPage() {
  const slices = useApi((signal) => fetchSlices(signal), []);
  const servers = useApi((signal) => fetchServers(signal), []);
  const canWrite = useCanWrite();
  const [editing, setEditing] = useState<Slice | null | undefined>(undefined);
  const [deleting, setDeleting] = useState<Slice | null>(null);
  const list = [...(slices.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const serverName = (id: string) => servers.data?.find((s) => s.id === id)?.name ?? id;

  const create = canWrite && (
    <button type="button" class="button button-primary" onClick={() => setEditing(null)}>
      <Icon name="plus" />
      <span>{t('slices.create')}</span>
    </button>
  );

  return (
    <>
      <PageHeader title={t('slices.title')} subtitle={slices.data && tp('slices.count', list.length)}>
        {create}
      </PageHeader>
      {slices.error && !slices.data ? (
        <ErrorNotice error={slices.error} onRetry={slices.reload} />
      ) : !slices.data ? (
        <Skeleton height={200} />
      ) : list.length === 0 ? (
        <div class="card">
          <EmptyState icon="slices" title={t('slices.emptyTitle')} action={create || undefined}>
            {t('slices.emptyBody')}
          </EmptyState>
        </div>
      ) : (
        <Card>
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{t('slices.name')}</th>
                  <th scope="col">{t('slices.servers')}</th>
                  <th scope="col">{t('slices.app')}</th>
                  <th scope="col">{t('slices.stream')}</th>
                  <th scope="col">{t('slices.timezone')}</th>
                  {canWrite && (
                    <th scope="col">
                      <span class="visually-hidden">{t('common.actions')}</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <tr key={s.id}>
                    <th scope="row" class="strong">
                      {s.name}
                    </th>
                    <td>
                      {s.servers.length === 0 ? (
                        <span class="muted">{t('slices.allServers')}</span>
                      ) : (
                        s.servers.map(serverName).join(', ')
                      )}
                    </td>
                    <td>{s.app_regex ? <code>{s.app_regex}</code> : <span class="muted">{t('slices.any')}</span>}</td>
                    <td>
                      {s.stream_regex ? <code>{s.stream_regex}</code> : <span class="muted">{t('slices.any')}</span>}
                    </td>
                    <td>{s.timezone.replace(/_/g, ' ')}</td>
                    {canWrite && (
                      <td class="actions">
                        <button
                          type="button"
                          class="icon-button"
                          onClick={() => setEditing(s)}
                          aria-label={t('slices.editNamed', { name: s.name })}
                          title={t('slices.edit')}
                        >
                          <Icon name="edit" />
                        </button>
                        <button
                          type="button"
                          class="icon-button"
                          onClick={() => setDeleting(s)}
                          aria-label={t('slices.deleteNamed', { name: s.name })}
                          title={t('slices.delete')}
                        >
                          <Icon name="trash" />
                        </button>
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
        <SliceDialog
          open={editing !== undefined}
          slice={editing ?? null}
          servers={servers.data ?? []}
          onClose={() => setEditing(undefined)}
          onSaved={slices.reload}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={t('slices.deleteTitle', { name: deleting?.name ?? '' })}
        confirmLabel={t('slices.delete')}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (deleting) await deleteSlice(deleting.id);
          slices.reload();
        }}
      >
        <p>{t('slices.deleteBody')}</p>
      </ConfirmDialog>
    </>
  );
}
