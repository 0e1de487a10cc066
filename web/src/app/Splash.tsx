import { t } from '../i18n';
import { BrandMark } from './BrandMark';

/** Shown for the moment it takes to learn whether the session is still valid. */
export function Splash() {
  return (
    <div class="splash" role="status" aria-live="polite">
      <BrandMark large />
      <span class="visually-hidden">{t('app.loading')}</span>
    </div>
  );
}
