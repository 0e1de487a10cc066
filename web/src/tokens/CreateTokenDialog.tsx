import { useId, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { createToken } from '../api/endpoints';
import type { NewApiToken, TokenScope } from '../api/types';
import { CopyField } from '../components/CopyField';
import { Dialog } from '../components/Dialog';
import { SecretDialog } from '../components/SecretDialog';
import { t } from '../i18n';

interface Props {
  open: boolean;
  onClose: () => void;
  onCreated: () => void;
}

const SCOPES: TokenScope[] = ['read', 'write', 'admin'];

/** Creates an API token (name, scope, optional expiry), then shows its secret once. */
export function CreateTokenDialog({ open, onClose, onCreated }: Props) {
  const id = useId();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('read');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<NewApiToken | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const close = () => {
    setName('');
    setScope('read');
    setExpires('');
    setError(null);
    setCreated(null);
    onClose();
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) {
      setError(t('tokens.nameRequired'));
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // The date input gives a calendar day; the token lasts to the end of that day (UTC).
      const expiresAt = expires ? `${expires}T23:59:59Z` : null;
      setCreated(await createToken(name.trim(), scope, expiresAt));
      onCreated();
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : null;
      setError(
        apiErr?.status === 403
          ? t('error.forbidden')
          : apiErr?.message || t('error.generic', { code: apiErr?.code ?? 'client' }),
      );
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <SecretDialog open={open} onClose={close} title={t('tokens.readyTitle', { name: created.name })} once={t('tokens.once')}>
        <CopyField label={t('tokens.secret')} value={created.token} hint={t('tokens.secretHint')} />
      </SecretDialog>
    );
  }

  return (
    <Dialog
      open={open}
      onClose={close}
      title={t('tokens.createTitle')}
      footer={
        <>
          <button type="button" class="button" onClick={close}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-primary" disabled={busy}>
            {busy ? t('tokens.creating') : t('tokens.create')}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} onSubmit={submit} noValidate>
        <div class="field">
          <label for={`${id}-name`}>{t('tokens.name')}</label>
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
            {error ?? t('tokens.nameHint')}
          </div>
        </div>
        <div class="field">
          <label for={`${id}-scope`}>{t('tokens.scope')}</label>
          <select
            id={`${id}-scope`}
            class="select"
            value={scope}
            aria-describedby={`${id}-scope-hint`}
            onChange={(e) => setScope((e.currentTarget as HTMLSelectElement).value as TokenScope)}
          >
            {SCOPES.map((s) => (
              <option key={s} value={s}>
                {t(`tokens.scope.${s}`)}
              </option>
            ))}
          </select>
          <div id={`${id}-scope-hint`} class="field-hint">
            {t(`tokens.scopeHint.${scope}`)}
          </div>
        </div>
        <div class="field">
          <label for={`${id}-expires`}>{t('tokens.expires')}</label>
          <input
            id={`${id}-expires`}
            class="input"
            type="date"
            value={expires}
            min={new Date().toISOString().slice(0, 10)}
            aria-describedby={`${id}-expires-hint`}
            onInput={(e) => setExpires((e.currentTarget as HTMLInputElement).value)}
          />
          <div id={`${id}-expires-hint`} class="field-hint">
            {t('tokens.expiresHint')}
          </div>
        </div>
      </form>
    </Dialog>
  );
}
