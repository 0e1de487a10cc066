import { useId, useState } from 'preact/hooks';
import { changePassword, updateProfile } from '../api/endpoints';
import { errorText } from '../api/errorText';
import { Card } from '../components/Card';
import { t } from '../i18n';
import { meStore } from '../state/me';
import { useStore } from '../state/store';

type Errors = Partial<Record<'name' | 'email' | 'current_password' | 'new_password' | 'form', string>>;

function fieldOf(err: unknown): keyof Errors {
  const f = (err as { field?: string | null }).field;
  return f === 'name' || f === 'email' || f === 'current_password' || f === 'new_password' ? f : 'form';
}

/** Corrects one's own name and e-mail address (rectification), and changes the password. */
export function ProfileCard() {
  const id = useId();
  const me = useStore(meStore);
  const [name, setName] = useState(me?.name ?? '');
  const [email, setEmail] = useState(me?.email ?? '');
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  if (!me) return null;
  const emailChanged = email.trim().toLowerCase() !== me.email.toLowerCase();

  const run = async (what: 'profile' | 'password', e: Event) => {
    e.preventDefault();
    setErrors({});
    setStatus('');
    if (what === 'profile' && emailChanged && !current) {
      return setErrors({ current_password: t('profile.currentNeeded') });
    }
    if (what === 'password') {
      if (!current) return setErrors({ current_password: t('profile.currentNeeded') });
      if (next.length < 8) return setErrors({ new_password: t('users.passwordShort') });
    }
    setBusy(true);
    try {
      if (what === 'profile') {
        const body: { name: string; email?: string; current_password?: string } = { name: name.trim() };
        if (emailChanged) Object.assign(body, { email: email.trim(), current_password: current });
        const user = await updateProfile(body);
        meStore.set({ ...me, name: user.name ?? null, email: user.email ?? me.email });
        setStatus(t('profile.saved'));
      } else {
        await changePassword(current, next);
        setNext('');
        setStatus(t('profile.passwordChanged'));
      }
      setCurrent('');
    } catch (err) {
      setErrors({ [fieldOf(err)]: errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  const hint = (key: keyof Errors, text?: string) =>
    errors[key] || text ? (
      <div
        id={`${id}-${key}-hint`}
        class={errors[key] ? 'field-error' : 'field-hint'}
        role={errors[key] ? 'alert' : undefined}
      >
        {errors[key] ?? text}
      </div>
    ) : null;
  const input = (
    key: 'name' | 'email' | 'current_password' | 'new_password',
    label: string,
    value: string,
    set: (v: string) => void,
    type: 'text' | 'email' | 'password',
    autoComplete: string,
    help?: string,
  ) => (
    <div class="field">
      <label for={`${id}-${key}`}>{label}</label>
      <input
        id={`${id}-${key}`}
        class="input"
        type={type as 'text'}
        autoComplete={autoComplete}
        value={value}
        aria-invalid={errors[key] ? true : undefined}
        aria-describedby={errors[key] || help ? `${id}-${key}-hint` : undefined}
        onInput={(e) => set((e.currentTarget as HTMLInputElement).value)}
      />
      {hint(key, help)}
    </div>
  );

  return (
    <Card title={t('profile.heading')}>
      <p class="muted">{t('profile.body')}</p>
      <form onSubmit={(e) => void run('profile', e)} noValidate>
        <div class="field-row">
          {input('name', t('profile.name'), name, setName, 'text', 'name')}
          {input('email', t('users.email'), email, setEmail, 'email', 'email')}
        </div>
        <div class="field-row">
          {input(
            'current_password',
            t('profile.current'),
            current,
            setCurrent,
            'password',
            'current-password',
            t('profile.currentHint'),
          )}
          {input('new_password', t('profile.new'), next, setNext, 'password', 'new-password', t('profile.newHint'))}
        </div>
        {errors.form && (
          <p class="field-error" role="alert">
            {errors.form}
          </p>
        )}
        <div class="form-actions">
          <button type="submit" class="button button-primary" disabled={busy}>
            {t('profile.save')}
          </button>
          <button type="button" class="button" disabled={busy || !next} onClick={(e) => void run('password', e)}>
            {t('profile.changePassword')}
          </button>
          <span class="muted small" role="status">
            {status}
          </span>
        </div>
      </form>
    </Card>
  );
}
