import { apiUrl } from '../api/client';
import { Icon } from '../components/Icon';
import { t } from '../i18n';

/** Downloads of everything stored for an account (the caller's, or `account` for the operator). */
export function ExportLinks({ account, name }: { account?: string; name?: string }) {
  const query = account ? { account } : {};
  return (
    <>
      <a
        class="button button-small"
        href={apiUrl('/account/export', { ...query, format: 'json' })}
        download
        aria-label={name ? t('data.exportAccountNamed', { name, format: 'JSON' }) : undefined}
      >
        <Icon name="download" size={16} />
        <span>{t('data.exportJson')}</span>
      </a>
      <a
        class="button button-small"
        href={apiUrl('/account/export', { ...query, format: 'zip' })}
        download
        aria-label={name ? t('data.exportAccountNamed', { name, format: 'ZIP' }) : undefined}
        title={t('data.zipHint')}
      >
        <Icon name="download" size={16} />
        <span>{t('data.exportZip')}</span>
      </a>
    </>
  );
}
