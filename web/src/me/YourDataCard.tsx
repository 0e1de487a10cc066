import { useState } from 'preact/hooks';
import { apiUrl } from '../api/client';
import { eraseMe } from '../api/endpoints';
import { rememberSignedIn } from '../app/session';
import { Card } from '../components/Card';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Icon } from '../components/Icon';
import { t } from '../i18n';

/** The signed-in user's own data: download it, or erase the user. */
export function YourDataCard() {
  const [erasing, setErasing] = useState(false);
  return (
    <Card title={t('data.heading')}>
      <p class="muted">{t('data.body')}</p>
      <div class="form-actions">
        <a class="button" href={apiUrl('/me/export')} download>
          <Icon name="download" />
          <span>{t('data.exportMe')}</span>
        </a>
        <button type="button" class="button button-danger" onClick={() => setErasing(true)}>
          <Icon name="trash" />
          <span>{t('data.eraseMe')}</span>
        </button>
      </div>
      <ConfirmDialog
        open={erasing}
        title={t('data.eraseTitle')}
        confirmLabel={t('data.eraseConfirm')}
        onClose={() => setErasing(false)}
        onConfirm={async () => {
          await eraseMe();
          rememberSignedIn(false);
          // A full load: nothing of the erased user stays in memory.
          location.assign('/login');
        }}
      >
        <p>{t('data.eraseBody')}</p>
      </ConfirmDialog>
    </Card>
  );
}
