import { t } from '../i18n';

/** A grey placeholder the size of the content that is loading. */
export function Skeleton({ height = 160 }: { height?: number }) {
  return (
    <div class="skeleton skeleton-block" style={{ height: `${height}px` }} role="status" aria-live="polite">
      <span class="visually-hidden">{t('app.loading')}</span>
    </div>
  );
}
