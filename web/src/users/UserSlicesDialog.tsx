import { useEffect, useId, useState } from 'preact/hooks';
import { updateUserSlices } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { AccountUser, Slice } from '../api/types';
import { Dialog } from '../components/Dialog';
import { Link } from '../router/Link';
import { t } from '../i18n';
import { SliceChoices } from './SliceChoices';

interface Props {
  account: string;
  user: AccountUser | null;
  slices: Slice[];
  onClose: () => void;
  onSaved: () => void;
}

/** Limits a viewer or billing user to some slices (none ticked: the whole account). */
export function UserSlicesDialog({ account, user, slices, onClose, onSaved }: Props) {
  const id = useId();
  const [chosen, setChosen] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setChosen(user?.slices ?? []);
    setError(null);
  }, [user]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!user) return;
    setBusy(true);
    setError(null);
    try {
      await updateUserSlices(account, user.id, chosen);
      onSaved();
      onClose();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={user !== null}
      onClose={onClose}
      title={t('users.slicesTitle', { email: user?.email ?? '' })}
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-primary" disabled={busy || slices.length === 0}>
            {t('common.save')}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} onSubmit={save} noValidate>
        {slices.length === 0 ? (
          <p>
            {t('users.noSlices')} <Link href="/slices">{t('users.createSlices')}</Link>
          </p>
        ) : (
          <SliceChoices slices={slices} chosen={chosen} onChange={setChosen} />
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
