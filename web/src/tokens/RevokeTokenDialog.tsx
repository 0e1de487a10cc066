import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { deleteToken } from '../api/endpoints';
import type { ApiToken } from '../api/types';
import { Dialog } from '../components/Dialog';
import { t } from '../i18n';

interface Props {
  token: ApiToken | null;
  onClose: () => void;
  onRevoked: () => void;
}

/** Confirms revoking an API token: programs using it stop working at once. */
export function RevokeTokenDialog({ token, onClose, onRevoked }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const revoke = async () => {
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      await deleteToken(token.id);
      onRevoked();
      onClose();
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : null;
      setError(apiErr?.status === 403 ? t('error.forbidden') : apiErr?.message || t('error.generic', { code: apiErr?.code ?? 'client' }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={token !== null}
      onClose={onClose}
      title={t('tokens.revokeTitle', { name: token?.name ?? '' })}
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="button" class="button button-danger" onClick={revoke} disabled={busy}>
            {t('tokens.revokeConfirm')}
          </button>
        </>
      }
    >
      <p>{t('tokens.revokeBody')}</p>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
