import { useState } from 'preact/hooks';
import { fetchTokens } from '../api/endpoints';
import type { ApiToken } from '../api/types';
import { Card } from '../components/Card';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { formatDateTime } from '../format/date';
import { useApi } from '../hooks/useApi';
import { t, tp } from '../i18n';
import { useTimeZone } from '../state/timeZone';
import { CreateTokenDialog } from '../tokens/CreateTokenDialog';
import { RevokeTokenDialog } from '../tokens/RevokeTokenDialog';

/** The caller's API tokens: list, create (secret shown once), revoke. */
export function TokensPage() {
  const tokens = useApi((signal) => fetchTokens(signal), []);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const tz = useTimeZone();
  const list = [...(tokens.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const create = (
    <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
      <Icon name="plus" />
      <span>{t('tokens.create')}</span>
    </button>
  );

  return (
    <>
      <PageHeader title={t('tokens.title')} subtitle={tokens.data && tp('tokens.count', list.length)}>
        {create}
      </PageHeader>
      {tokens.error && !tokens.data ? (
        <ErrorNotice error={tokens.error} onRetry={tokens.reload} />
      ) : !tokens.data ? (
        <Skeleton height={200} />
      ) : list.length === 0 ? (
        <div class="card">
          <EmptyState icon="tokens" title={t('tokens.emptyTitle')} action={create}>
            {t('tokens.emptyBody')}
          </EmptyState>
        </div>
      ) : (
        <Card>
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{t('tokens.name')}</th>
                  <th scope="col">{t('tokens.scope')}</th>
                  <th scope="col">{t('tokens.col.created')}</th>
                  <th scope="col">{t('tokens.col.expires')}</th>
                  <th scope="col">
                    <span class="visually-hidden">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((tok) => (
                  <tr key={tok.id}>
                    <th scope="row" class="strong">
                      {tok.name}
                    </th>
                    <td>
                      <span class="badge">{t(`tokens.scope.${tok.scope}`)}</span>
                    </td>
                    <td>{formatDateTime(tok.created_at, tz)}</td>
                    <td>{tok.expires_at ? formatDateTime(tok.expires_at, tz) : <span class="muted">{t('tokens.never')}</span>}</td>
                    <td class="actions">
                      <button
                        type="button"
                        class="icon-button"
                        onClick={() => setRevoking(tok)}
                        aria-label={t('tokens.revokeNamed', { name: tok.name })}
                        title={t('tokens.revoke')}
                      >
                        <Icon name="trash" />
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      <CreateTokenDialog open={creating} onClose={() => setCreating(false)} onCreated={tokens.reload} />
      <RevokeTokenDialog token={revoking} onClose={() => setRevoking(null)} onRevoked={tokens.reload} />
    </>
  );
}
