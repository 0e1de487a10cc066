import { useId, useState } from 'preact/hooks';
import { confirmTotp, disableTotp, startTotp } from '../api/endpoints';
import { errorText } from '../api/errorText';
import { Card } from '../components/Card';
import { CopyField } from '../components/CopyField';
import { Dialog } from '../components/Dialog';
import { t } from '../i18n';
import { meStore } from '../state/me';
import { useStore } from '../state/store';

/** Turns the TOTP second factor on (key shown, first code confirms) and off (with the password). */
export function TwoFactorCard() {
  const id = useId();
  const me = useStore(meStore);
  const [setup, setSetup] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [disabling, setDisabling] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  if (!me) return null;
  const on = !!me.totp_enabled;

  const guard = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setStatus('');
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const start = () => guard(async () => setSetup(await startTotp()));
  const confirm = (e: Event) => {
    e.preventDefault();
    if (!/^\d{6}$/.test(code.trim())) return setError(t('totp.codeInvalid'));
    return guard(async () => {
      await confirmTotp(code.trim());
      meStore.set({ ...me, totp_enabled: true });
      setSetup(null);
      setCode('');
      setStatus(t('totp.enabled'));
    });
  };
  const disable = (e: Event) => {
    e.preventDefault();
    return guard(async () => {
      await disableTotp(password);
      meStore.set({ ...me, totp_enabled: false });
      setPassword('');
      setDisabling(false);
    });
  };

  return (
    <Card title={t('totp.heading')}>
      <p class="muted">{on ? t('totp.on') : t('totp.off')}</p>
      {setup && !on ? (
        <form onSubmit={confirm} noValidate>
          <p>{t('totp.scan')}</p>
          <CopyField label={t('totp.secret')} value={setup.secret} />
          <CopyField label={t('totp.uri')} value={setup.otpauth_uri} />
          <div class="field">
            <label for={`${id}-code`}>{t('totp.code')}</label>
            <input
              id={`${id}-code`}
              class="input"
              type="text"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              value={code}
              aria-invalid={error ? true : undefined}
              onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)}
            />
          </div>
          {error && (
            <p class="field-error" role="alert">
              {error}
            </p>
          )}
          <div class="form-actions">
            <button type="submit" class="button button-primary" disabled={busy}>
              {t('totp.confirm')}
            </button>
            <button type="button" class="button" onClick={() => setSetup(null)}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      ) : (
        <>
          {error && !disabling && (
            <p class="field-error" role="alert">
              {error}
            </p>
          )}
          <div class="form-actions">
            {on ? (
              <button type="button" class="button" onClick={() => setDisabling(true)}>
                {t('totp.disable')}
              </button>
            ) : (
              <button type="button" class="button button-primary" disabled={busy} onClick={() => void start()}>
                {t('totp.start')}
              </button>
            )}
            <span class="muted small" role="status">
              {status}
            </span>
          </div>
        </>
      )}
      <Dialog
        open={disabling}
        onClose={() => {
          setDisabling(false);
          setError(null);
        }}
        title={t('totp.disableTitle')}
        footer={
          <>
            <button type="button" class="button" onClick={() => setDisabling(false)}>
              {t('common.cancel')}
            </button>
            <button type="submit" form={`${id}-off`} class="button button-danger" disabled={busy || !password}>
              {t('totp.disable')}
            </button>
          </>
        }
      >
        <form id={`${id}-off`} onSubmit={disable} noValidate>
          <p>{t('totp.disableBody')}</p>
          <div class="field">
            <label for={`${id}-password`}>{t('totp.password')}</label>
            <input
              id={`${id}-password`}
              class="input"
              type="password"
              autoComplete="current-password"
              value={password}
              onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
            />
          </div>
          {error && (
            <p class="field-error" role="alert">
              {error}
            </p>
          )}
        </form>
      </Dialog>
    </Card>
  );
}
