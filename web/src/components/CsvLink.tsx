import { apiUrl, type Query } from '../api/client';
import { t } from '../i18n';
import { Icon } from './Icon';

/** Downloads the same rows the screen shows, as CSV, straight from the API. */
export function CsvLink({ path, query, what }: { path: string; query: Query; what: string }) {
  return (
    <a
      class="button button-small button-ghost"
      href={apiUrl(path, { ...query, format: 'csv' })}
      download
      title={t('csv.title', { what })}
    >
      <Icon name="download" size={16} />
      <span>{t('csv.export')}</span>
    </a>
  );
}
