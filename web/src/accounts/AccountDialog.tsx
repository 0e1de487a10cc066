import { useEffect, useId, useMemo, useState } from 'preact/hooks';
import { createAccount, updateAccount } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { Account } from '../api/types';
import { Dialog } from '../components/Dialog';
import { t } from '../i18n';
import { allTimeZones } from '../time/zone';

interface Props {
  open: boolean;
  /** The account to edit; a new one when null. */
  account: Account | null;
  onClose: () => void;
  onSaved: () => void;
}

/** Domains typed one per line or separated by commas or spaces. */
export function parseDomains(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);
}

/** Creates an account, or renames one and changes its custom domains and time zone (operator). */
export function AccountDialog({ open, account, onClose, onSaved }: Props) {
  const id = useId();
  const [name, setName] = useState('');
  const [domains, setDomains] = useState('');
  const [timezone, setTimezone] = useState('UTC');
  const [error, setError] = useState<{ field: string | null; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const zones = useMemo(() => (open ? allTimeZones() : []), [open]);

  useEffect(() => {
    if (!open) return;
    setName(account?.name ?? '');
    setDomains(account?.domains.join('\n') ?? '');
    setTimezone(account?.timezone ?? 'UTC');
    setError(null);
  }, [open, account]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) return setError({ field: 'name', text: t('accounts.nameRequired') });
    setBusy(true);
    setError(null);
    try {
      const body = { name: name.trim(), domains: parseDomains(domains), timezone };
      if (account) await updateAccount(account.id, body);
      else await createAccount(body);
      onSaved();
      onClose();
    } catch (err) {
      const field = (err as { field?: string | null }).field ?? null;
      setError({ field, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };
  const fieldError = (f: string) => (error && error.field?.startsWith(f) ? error.text : null);
  const formError = error && !['name', 'domains', 'timezone'].some((f) => error.field?.startsWith(f)) ? error.text : null;

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={account ? t('accounts.editTitle', { name: account.name }) : t('accounts.createTitle')}
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-primary" disabled={busy}>
            {account ? t('common.save') : t('accounts.create')}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} onSubmit={submit} noValidate>
        <div class="field">
          <label for={`${id}-name`}>{t('accounts.name')}</label>
          <input
            id={`${id}-name`}
            class="input"
            type="text"
            maxLength={200}
            autoComplete="off"
            value={name}
            autoFocus
            aria-invalid={fieldError('name') ? true : undefined}
            aria-describedby={`${id}-name-error`}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
          <div id={`${id}-name-error`} class="field-error" role="alert">
            {fieldError('name')}
          </div>
        </div>
        <div class="field">
          <label for={`${id}-domains`}>{t('accounts.domains')}</label>
          <textarea
            id={`${id}-domains`}
            class="input"
            rows={3}
            spellcheck={false}
            autoComplete="off"
            value={domains}
            aria-invalid={fieldError('domains') ? true : undefined}
            aria-describedby={`${id}-domains-hint`}
            onInput={(e) => setDomains((e.currentTarget as HTMLTextAreaElement).value)}
          />
          <div id={`${id}-domains-hint`} class={fieldError('domains') ? 'field-error' : 'field-hint'}>
            {fieldError('domains') ?? t('accounts.domainsHint')}
          </div>
        </div>
        <div class="field">
          <label for={`${id}-tz`}>{t('accounts.timezone')}</label>
          <select
            id={`${id}-tz`}
            class="select"
            value={timezone}
            aria-describedby={`${id}-tz-hint`}
            onChange={(e) => setTimezone((e.currentTarget as HTMLSelectElement).value)}
          >
            {(zones.includes(timezone) ? zones : [timezone, ...zones]).map((z) => (
              <option key={z} value={z}>
                {z.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
          <div id={`${id}-tz-hint`} class="field-hint">
            {t('accounts.timezoneHint')}
          </div>
        </div>
        {formError && (
          <p class="field-error" role="alert">
            {formError}
          </p>
        )}
      </form>
    </Dialog>
  );
}
