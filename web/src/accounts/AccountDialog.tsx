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

/** A limit as typed: empty is none (null), a whole number is the limit, anything else undefined. */
export function parseLimit(text: string): number | null | undefined {
  const v = text.trim();
  if (!v) return null;
  if (!/^\d{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 4_294_967_295 ? n : undefined;
}

/** Creates an account, or renames one and changes its custom domains, time zone and limits (operator). */
export function AccountDialog({ open, account, onClose, onSaved }: Props) {
  const id = useId();
  const [name, setName] = useState('');
  const [domains, setDomains] = useState('');
  const [timezone, setTimezone] = useState('UTC');
  const [maxServers, setMaxServers] = useState('');
  const [maxUsers, setMaxUsers] = useState('');
  const [error, setError] = useState<{ field: string | null; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const zones = useMemo(() => (open ? allTimeZones() : []), [open]);

  useEffect(() => {
    if (!open) return;
    setName(account?.name ?? '');
    setDomains(account?.domains.join('\n') ?? '');
    setTimezone(account?.timezone ?? 'UTC');
    setMaxServers(account?.limits.max_servers?.toString() ?? '');
    setMaxUsers(account?.limits.max_users?.toString() ?? '');
    setError(null);
  }, [open, account]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) return setError({ field: 'name', text: t('accounts.nameRequired') });
    const max_servers = parseLimit(maxServers);
    if (max_servers === undefined) return setError({ field: 'limits.max_servers', text: t('accounts.limitInvalid') });
    const max_users = parseLimit(maxUsers);
    if (max_users === undefined) return setError({ field: 'limits.max_users', text: t('accounts.limitInvalid') });
    setBusy(true);
    setError(null);
    try {
      const body = {
        name: name.trim(),
        domains: parseDomains(domains),
        timezone,
        limits: { max_servers, max_users },
      };
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
  const formError =
    error && !['name', 'domains', 'timezone', 'limits'].some((f) => error.field?.startsWith(f)) ? error.text : null;
  const limitField = (key: 'max_servers' | 'max_users', label: string, value: string, set: (v: string) => void) => (
    <div class="field">
      <label for={`${id}-${key}`}>{label}</label>
      <input
        id={`${id}-${key}`}
        class="input"
        type="text"
        inputMode="numeric"
        autoComplete="off"
        value={value}
        aria-invalid={fieldError(`limits.${key}`) ? true : undefined}
        aria-describedby={`${id}-${key}-hint`}
        onInput={(e) => set((e.currentTarget as HTMLInputElement).value)}
      />
      <div id={`${id}-${key}-hint`} class={fieldError(`limits.${key}`) ? 'field-error' : 'field-hint'}>
        {fieldError(`limits.${key}`) ?? t('accounts.limitsHint')}
      </div>
    </div>
  );

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
        <div class="field-row">
          {limitField('max_servers', t('accounts.maxServers'), maxServers, setMaxServers)}
          {limitField('max_users', t('accounts.maxUsers'), maxUsers, setMaxUsers)}
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
