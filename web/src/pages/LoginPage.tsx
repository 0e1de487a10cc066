import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { fetchMe, login } from '../api/endpoints';
import type { Me } from '../api/types';
import { BrandMark } from '../app/BrandMark';
import { PoweredBy } from '../app/PoweredBy';
import { Icon } from '../components/Icon';
import { ThemeToggle } from '../components/ThemeToggle';
import { useBranding } from '../branding/branding';
import { formatDuration } from '../format/duration';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import { t } from '../i18n';
import { Link } from '../router/Link';

interface Props {
  onLogin: (me: Me) => void;
  reason: 'expired' | 'signed-out' | null;
}

type FieldErrors = { email?: string; password?: string; code?: string; form?: string };

export function LoginPage({ onLogin, reason }: Props) {
  const brand = useBranding();
  const id = useId();
  useDocumentTitle(t('login.title'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // Asked for once the server says the account has a second factor (after the right password).
  const [needCode, setNeedCode] = useState(false);
  const [code, setCode] = useState('');
  const codeRef = useRef<HTMLInputElement>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [waitUntil, setWaitUntil] = useState(0);
  const [now, setNow] = useState(Date.now());
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  useEffect(() => emailRef.current?.focus(), []);
  useEffect(() => {
    if (needCode) codeRef.current?.focus();
  }, [needCode]);

  // Count the throttling delay down so the user sees when trying again makes sense.
  useEffect(() => {
    if (waitUntil <= Date.now()) return;
    const timer = window.setInterval(() => {
      setNow(Date.now());
      if (Date.now() >= waitUntil) window.clearInterval(timer);
    }, 1000);
    return () => window.clearInterval(timer);
  }, [waitUntil]);
  const waiting = Math.max(0, Math.ceil((waitUntil - now) / 1000));

  const submit = async (e: Event) => {
    e.preventDefault();
    const next: FieldErrors = {};
    if (!email.trim()) next.email = t('login.emailRequired');
    if (!password) next.password = t('login.passwordRequired');
    if (needCode && !/^\d{6}$/.test(code.trim())) next.code = t('login.codeRequired');
    setErrors(next);
    if (next.email) return emailRef.current?.focus();
    if (next.password) return passwordRef.current?.focus();
    if (next.code) return codeRef.current?.focus();
    setBusy(true);
    try {
      const res = await login(email.trim(), password, needCode ? code.trim() : undefined);
      onLogin(res.user ?? (await fetchMe()));
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : null;
      if (apiErr?.status === 429) {
        const secs = apiErr.retryAfter;
        if (secs) {
          setWaitUntil(Date.now() + secs * 1000);
          setNow(Date.now());
        }
        setErrors({ form: secs ? '' : t('login.throttledNoTime') });
      } else if (apiErr?.code === 'totp_required') {
        setNeedCode(true);
        setErrors({});
      } else if (apiErr?.code === 'totp_invalid') {
        setErrors({ code: t('login.codeInvalid') });
        setCode('');
        codeRef.current?.focus();
      } else if (apiErr?.status === 401 || apiErr?.status === 400) {
        setErrors({ form: t('login.invalid') });
        setPassword('');
        passwordRef.current?.focus();
      } else if (apiErr?.status === 0) {
        setErrors({ form: t('error.network') });
      } else {
        setErrors({ form: t('login.failed', { message: apiErr?.message || apiErr?.code || String(err) }) });
      }
    } finally {
      setBusy(false);
    }
  };

  const formError = waiting > 0 ? t('login.throttled', { time: formatDuration(waiting) }) : errors.form;

  return (
    <div class="login">
      <div class="login-theme">
        <ThemeToggle />
      </div>
      <main class="login-card" id="main">
        <div class="login-brand">
          <BrandMark large />
        </div>
        <h1 class="login-title">{t('login.title')}</h1>
        <p class="login-subtitle">{t('login.subtitle', { product: brand.product_name })}</p>
        {reason && !formError && (
          <p class="notice notice-info" role="status">
            {reason === 'expired' ? t('login.expired') : t('login.signedOut')}
          </p>
        )}
        <form onSubmit={submit} noValidate>
          <div class="field">
            <label for={`${id}-email`}>{t('login.email')}</label>
            <input
              ref={emailRef}
              id={`${id}-email`}
              class="input"
              type="email"
              name="email"
              autoComplete="username"
              inputMode="email"
              value={email}
              aria-invalid={errors.email ? true : undefined}
              aria-describedby={errors.email ? `${id}-email-error` : undefined}
              onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)}
            />
            {errors.email && (
              <div class="field-error" id={`${id}-email-error`}>
                {errors.email}
              </div>
            )}
          </div>
          <div class="field">
            <label for={`${id}-password`}>{t('login.password')}</label>
            <input
              ref={passwordRef}
              id={`${id}-password`}
              class="input"
              type="password"
              name="password"
              autoComplete="current-password"
              value={password}
              aria-invalid={errors.password ? true : undefined}
              aria-describedby={errors.password ? `${id}-password-error` : undefined}
              onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
            />
            {errors.password && (
              <div class="field-error" id={`${id}-password-error`}>
                {errors.password}
              </div>
            )}
          </div>
          {needCode && (
            <div class="field">
              <label for={`${id}-code`}>{t('login.code')}</label>
              <input
                ref={codeRef}
                id={`${id}-code`}
                class="input"
                type="text"
                name="code"
                autoComplete="one-time-code"
                inputMode="numeric"
                maxLength={6}
                value={code}
                aria-invalid={errors.code ? true : undefined}
                aria-describedby={`${id}-code-hint`}
                onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)}
              />
              <div class={errors.code ? 'field-error' : 'field-hint'} id={`${id}-code-hint`}>
                {errors.code ?? t('login.codeHint')}
              </div>
            </div>
          )}
          <div class="form-error" role="alert" aria-live="assertive">
            {formError && (
              <>
                <Icon name="alert" size={16} />
                <span>{formError}</span>
              </>
            )}
          </div>
          <button type="submit" class="button button-primary button-block" disabled={busy || waiting > 0}>
            {busy ? t('login.submitting') : t('login.submit')}
          </button>
        </form>
        {brand.support_contact && (
          <p class="login-help">{t('login.help', { contact: brand.support_contact })}</p>
        )}
      </main>
      <footer class="login-foot">
        <Link href="/privacy">{t('app.privacy')}</Link>
        <PoweredBy />
      </footer>
    </div>
  );
}
