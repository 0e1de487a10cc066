import type { ApiError } from '../api/client';
import { t } from '../i18n';
import { Icon } from './Icon';

/** Explains a failed request in words, with a retry when one can help. */
export function ErrorNotice({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  const message =
    error.status === 0
      ? t('error.network')
      : error.status === 403
        ? t('error.forbidden')
        : error.message || t('error.generic', { code: error.code });
  return (
    <div class="notice notice-error" role="alert">
      <Icon name="alert" />
      <span>{message}</span>
      {onRetry && (
        <button type="button" class="button button-small" onClick={onRetry}>
          {t('error.retry')}
        </button>
      )}
    </div>
  );
}
