import { deleteToken } from '../api/endpoints';
import type { ApiToken } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { t } from '../i18n';

interface Props {
  token: ApiToken | null;
  onClose: () => void;
  onRevoked: () => void;
}

/** Confirms revoking an API token: programs using it stop working at once. */
export function RevokeTokenDialog({ token, onClose, onRevoked }: Props) {
  return (
    <ConfirmDialog
      open={token !== null}
      title={t('tokens.revokeTitle', { name: token?.name ?? '' })}
      confirmLabel={t('tokens.revokeConfirm')}
      onConfirm={async () => {
        if (!token) return;
        await deleteToken(token.id);
        onRevoked();
      }}
      onClose={onClose}
    >
      <p>{t('tokens.revokeBody')}</p>
    </ConfirmDialog>
  );
}
