import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { deleteServer } from '../api/endpoints';
import type { Server } from '../api/types';
import { Dialog } from '../components/Dialog';
import { t } from '../i18n';

interface Props {
  server: Server | null;
  onClose: () => void;
  onRemoved: () => void;
}

/** Confirms removing a server, saying what happens to its token and its statistics. */
export function RemoveServerDialog({ server, onClose, onRemoved }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    if (!server) return;
    setBusy(true);
    setError(null);
    try {
      await deleteServer(server.id);
      onRemoved();
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
      open={server !== null}
      onClose={onClose}
      title={t('servers.removeTitle', { name: server?.name ?? '' })}
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="button" class="button button-danger" onClick={remove} disabled={busy}>
            {t('servers.removeConfirm')}
          </button>
        </>
      }
    >
      <p>{t('servers.removeBody')}</p>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
