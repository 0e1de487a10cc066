import { useState } from 'preact/hooks';
import { eraseMe } from '../api/endpoints';
import { rememberSignedIn } from '../app/session';
import { Card } from '../components/Card';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Icon } from '../components/Icon';
import { t } from '../i18n';

/** Exports of the account's and the user's own data, and erasing oneself. */
export function YourDataCard({ canExportAccount }: { canExportAccount: boolean }) {
  const [erasing, setErasing] = useState(false);
  return (
    <Card title={t('data.heading')}>
      <p class="muted">{t('data.body')}</p>
      <div class="form-actions">
        {canExportAccount && (
          <>
            <a class="button" href="/api/v1/account/export" download>
              <Icon name="download" />
              <span>{t('data.exportAccount')}</span>
            </a>
            <a class="button" href="/api/v1/account/export?format=zip" download>
              <Icon name="download" />
              <span>{t('data.exportAccountZip')}</span>
            </a>
          </>
        )}
        <a class="button" href="/api/v1/me/export" download>
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
          location.assign('/login');
        }}
      >
        <p>{t('data.eraseBody')}</p>
      </ConfirmDialog>
    </Card>
  );
}
