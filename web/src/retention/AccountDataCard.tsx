import { Card } from '../components/Card';
import { ExportLinks } from './ExportLinks';
import { t } from '../i18n';

/** The account export, as the data-subject right of a whole customer. */
export function AccountDataCard() {
  return (
    <Card title={t('data.accountHeading')}>
      <p class="muted">{t('data.accountBody')}</p>
      <div class="form-actions">
        <ExportLinks />
      </div>
    </Card>
  );
}
