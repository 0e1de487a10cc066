import { deleteServer } from '../api/endpoints';
import type { Server } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { t } from '../i18n';

interface Props {
  server: Server | null;
  onClose: () => void;
  onRemoved: () => void;
}

/** Confirms removing a server, saying what happens to its token and its statistics. */
export function RemoveServerDialog({ server, onClose, onRemoved }: Props) {
  return (
    <ConfirmDialog
      open={server !== null}
      title={t('servers.removeTitle', { name: server?.name ?? '' })}
      confirmLabel={t('servers.removeConfirm')}
      onConfirm={async () => {
        if (!server) return;
        await deleteServer(server.id);
        onRemoved();
      }}
      onClose={onClose}
    >
      <p>{t('servers.removeBody')}</p>
    </ConfirmDialog>
  );
}
