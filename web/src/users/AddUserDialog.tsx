import { useId, useState } from 'preact/hooks';
import { createUser } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { Role } from '../api/types';
import { Dialog } from '../components/Dialog';
import { t } from '../i18n';
import { RoleSelect } from './RoleSelect';

interface Props {
  account: string;
  open: boolean;
  onClose: () => void;
  onCreated: () => void;
}

/** Adds a user to the account directly, with a password the owner passes on. */
export function AddUserDialog({ account, open, onClose, onCreated }: Props) {
  const id = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const close = () => {
    setEmail('');
    setPassword('');
    setRole('viewer');
    setError(null);
    onClose();
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!email.includes('@')) return setError(t('users.emailRequired'));
    if (password.length < 8) return setError(t('users.passwordShort'));
    setBusy(true);
    setError(null);
    try {
      await createUser(account, { email: email.trim(), password, role });
      onCreated();
      close();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={open}
      onClose={close}
      title={t('users.addTitle')}
      footer={
        <>
          <button type="button" class="button" onClick={close}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-primary" disabled={busy}>
            {t('users.add')}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} onSubmit={submit} noValidate>
        <div class="field">
          <label for={`${id}-email`}>{t('users.email')}</label>
          <input
            id={`${id}-email`}
            class="input"
            type="email"
            autoComplete="off"
            value={email}
            autoFocus
            onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for={`${id}-password`}>{t('users.password')}</label>
          <input
            id={`${id}-password`}
            class="input"
            type="password"
            autoComplete="new-password"
            value={password}
            aria-describedby={`${id}-password-hint`}
            onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
          />
          <div id={`${id}-password-hint`} class="field-hint">
            {t('users.passwordHint')}
          </div>
        </div>
        <RoleSelect label={t('users.role')} value={role} onChange={setRole} />
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Dialog>
  );
}
