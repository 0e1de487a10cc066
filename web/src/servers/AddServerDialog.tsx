import { useId, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { createServer } from '../api/endpoints';
import type { NewServer } from '../api/types';
import { CopyField } from '../components/CopyField';
import { Dialog } from '../components/Dialog';
import { SecretDialog } from '../components/SecretDialog';
import { t } from '../i18n';
import { agentCommand } from './agentCommand';

interface Props {
  open: boolean;
  onClose: () => void;
  onCreated: () => void;
}

/** Registers a server, then shows its ingest token (once) and the agent command to run. */
export function AddServerDialog({ open, onClose, onCreated }: Props) {
  const id = useId();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<NewServer | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const close = () => {
    setName('');
    setError(null);
    setCreated(null);
    onClose();
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) {
      setError(t('addServer.nameRequired'));
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const server = await createServer(name.trim());
      setCreated(server);
      onCreated();
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : null;
      setError(
        apiErr?.status === 403
          ? t('error.forbidden')
          : apiErr?.message || t('error.generic', { code: apiErr?.code ?? 'client' }),
      );
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <SecretDialog open={open} onClose={close} title={t('addServer.readyTitle', { name: created.name })} once={t('addServer.tokenOnce')}>
        <CopyField label={t('addServer.token')} value={created.ingest_token} />
        <CopyField
          label={t('addServer.command')}
          value={agentCommand(location.origin, created.ingest_token)}
          multiline
          hint={t('addServer.commandHint')}
        />
      </SecretDialog>
    );
  }

  return (
    <Dialog
      open={open}
      onClose={close}
      title={t('addServer.title')}
      footer={
        <>
          <button type="button" class="button" onClick={close}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-primary" disabled={busy}>
            {busy ? t('addServer.creating') : t('addServer.create')}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} onSubmit={submit} noValidate>
        <div class="field">
          <label for={`${id}-name`}>{t('addServer.name')}</label>
          <input
            ref={input}
            id={`${id}-name`}
            class="input"
            type="text"
            autoComplete="off"
            maxLength={100}
            value={name}
            autoFocus
            aria-invalid={error ? true : undefined}
            aria-describedby={`${id}-hint`}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
          <div id={`${id}-hint`} class={error ? 'field-error' : 'field-hint'} role={error ? 'alert' : undefined}>
            {error ?? t('addServer.nameHint')}
          </div>
        </div>
      </form>
    </Dialog>
  );
}
