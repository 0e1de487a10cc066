import { useId, useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { acceptInvitation, fetchInvitationInfo } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { Me } from '../api/types';
import { BrandMark } from '../app/BrandMark';
import { PoweredBy } from '../app/PoweredBy';
import { Icon } from '../components/Icon';
import { Skeleton } from '../components/Skeleton';
import { ThemeToggle } from '../components/ThemeToggle';
import { useApi } from '../hooks/useApi';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import { t } from '../i18n';
import { Link } from '../router/Link';
import { navigate } from '../router/router';

interface Props {
  token: string;
  /** Called with the new user once the invitation is accepted (the server set the session cookie). */
  onAccepted: (user: Me | null) => void;
}

const nameOf = (v: unknown): string =>
  typeof v === 'string' ? v : v && typeof v === 'object' ? String((v as { name?: string; email?: string }).name ?? (v as { email?: string }).email ?? '') : '';

/** The public page an invitation link opens: choose a password and join the account. */
export function InvitePage({ token, onAccepted }: Props) {
  const id = useId();
  useDocumentTitle(t('invite.title'));
  const info = useApi((signal) => fetchInvitationInfo(token, signal), [token]);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (password.length < 8) return setError(t('users.passwordShort'));
    setBusy(true);
    setError(null);
    try {
      const res = await acceptInvitation(token, password, name.trim());
      onAccepted(res.user ?? null);
      navigate('/', { replace: true });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const gone = info.error instanceof ApiError && info.error.status === 404;
  return (
    <div class="login">
      <div class="login-theme">
        <ThemeToggle />
      </div>
      <main class="login-card" id="main">
        <div class="login-brand">
          <BrandMark large />
        </div>
        <h1 class="login-title">{t('invite.title')}</h1>
        {info.error && !info.data ? (
          <p class="notice notice-error" role="alert">
            <Icon name="alert" />
            <span>{gone ? t('invite.gone') : errorText(info.error)}</span>
          </p>
        ) : !info.data ? (
          <Skeleton height={160} />
        ) : (
          <>
            <p class="login-subtitle">
              {t('invite.body', {
                account: nameOf(info.data.account),
                role: t(`role.${info.data.role}`),
              })}
            </p>
            <form onSubmit={submit} noValidate>
              <div class="field">
                <label for={`${id}-email`}>{t('users.email')}</label>
                <input id={`${id}-email`} class="input" type="email" autoComplete="username" value={info.data.email} readOnly />
              </div>
              <div class="field">
                <label for={`${id}-name`}>{t('invite.name')}</label>
                <input
                  id={`${id}-name`}
                  class="input"
                  type="text"
                  autoComplete="name"
                  value={name}
                  onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
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
                  {t('users.passwordShort')}
                </div>
              </div>
              <div class="form-error" role="alert" aria-live="assertive">
                {error && (
                  <>
                    <Icon name="alert" size={16} />
                    <span>{error}</span>
                  </>
                )}
              </div>
              <button type="submit" class="button button-primary button-block" disabled={busy}>
                {t('invite.accept')}
              </button>
            </form>
          </>
        )}
      </main>
      <footer class="login-foot">
        <Link href="/privacy">{t('app.privacy')}</Link>
        <PoweredBy />
      </footer>
    </div>
  );
}
