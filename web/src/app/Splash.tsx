import type { ApiError } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { t } from '../i18n';
import { BrandMark } from './BrandMark';

/**
 * Shown for the moment it takes to learn whether the session is still valid, or, when the
 * panel cannot be reached, with the reason and a retry.
 */
export function Splash({ error, onRetry }: { error: ApiError | null; onRetry: () => void }) {
  return (
    <div class="splash" role="status" aria-live="polite">
      <div class="splash-inner">
        <BrandMark large />
        {error ? <ErrorNotice error={error} onRetry={onRetry} /> : <span class="visually-hidden">{t('app.loading')}</span>}
      </div>
    </div>
  );
}
