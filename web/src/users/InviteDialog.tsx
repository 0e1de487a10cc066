import { useId, useState } from 'preact/hooks';
import { createInvitation, fetchSlices } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { Invitation, Role } from '../api/types';
import { CopyField } from '../components/CopyField';
import { Dialog } from '../components/Dialog';
import { SecretDialog } from '../components/SecretDialog';
import { t } from '../i18n';
import { useApi } from '../hooks/useApi';
import { RoleSelect } from './RoleSelect';
import { SliceChoices } from './SliceChoices';

interface Props {
  open: boolean;
  onClose: () => void;
  onCreated: () => void;
}

/** Invites someone by e-mail address, then shows the one-time link to send them. */
export function InviteDialog({ open, onClose, onCreated }: Props) {
  const id = useId();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<Invitation | null>(null);
  const [chosen, setChosen] = useState<string[]>([]);
  const slices = useApi((signal) => (open ? fetchSlices(signal) : Promise.resolve([])), [open]);
  const limitable = role === 'viewer' || role === 'billing';

  const close = () => {
    setEmail('');
    setRole('viewer');
    setChosen([]);
    setError(null);
    setCreated(null);
    onClose();
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!email.includes('@')) return setError(t('users.emailRequired'));
    setBusy(true);
    setError(null);
    try {
      setCreated(await createInvitation(email.trim(), role, limitable ? chosen : []));
      onCreated();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <SecretDialog open={open} onClose={close} title={t('invites.readyTitle', { email: created.email })} once={t('invites.once')}>
        <CopyField label={t('invites.link')} value={`${location.origin}${created.link ?? ''}`} />
      </SecretDialog>
    );
  }
  return (
    <Dialog
      open={open}
      onClose={close}
      title={t('invites.title')}
      footer={
        <>
          <button type="button" class="button" onClick={close}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-primary" disabled={busy}>
            {t('invites.create')}
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
        <RoleSelect label={t('users.role')} value={role} onChange={setRole} />
        {limitable && (slices.data?.length ?? 0) > 0 && (
          <SliceChoices slices={slices.data ?? []} chosen={chosen} onChange={setChosen} />
        )}
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Dialog>
  );
}
