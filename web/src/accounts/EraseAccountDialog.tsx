import { useId, useState } from 'preact/hooks';
import { eraseAccount } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { Account } from '../api/types';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { t, tp } from '../i18n';

interface Props {
  account: Account | null;
  onClose: () => void;
  onErased: () => void;
}

/** Erases a whole account for good, once its name has been typed as confirmation. */
export function EraseAccountDialog({ account, onClose, onErased }: Props) {
  const id = useId();
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const matches = !!account && typed.trim() === account.name.trim();
  const close = () => {
    setTyped('');
    setError(null);
    onClose();
  };
  const erase = async (e: Event) => {
    e.preventDefault();
    if (!account || !matches) return;
    setBusy(true);
    setError(null);
    try {
      await eraseAccount(account.id);
      onErased();
      close();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={account !== null}
      onClose={close}
      title={t('accounts.eraseTitle', { name: account?.name ?? '' })}
      footer={
        <>
          <button type="button" class="button" onClick={close}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-danger" disabled={busy || !matches}>
            {t('accounts.eraseConfirm')}
          </button>
        </>
      }
    >
      <div class="notice notice-warning">
        <Icon name="alert" />
        <span>
          {t('accounts.eraseBody', {
            servers: tp('accounts.servers', account?.servers ?? 0),
            users: tp('accounts.users', account?.users ?? 0),
          })}
        </span>
      </div>
      <form id={`${id}-form`} onSubmit={erase} noValidate>
        <div class="field">
          <label for={`${id}-confirm`}>{t('accounts.eraseType', { name: account?.name ?? '' })}</label>
          <input
            id={`${id}-confirm`}
            class="input"
            type="text"
            autoComplete="off"
            spellcheck={false}
            value={typed}
            autoFocus
            onInput={(e) => setTyped((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Dialog>
  );
}
