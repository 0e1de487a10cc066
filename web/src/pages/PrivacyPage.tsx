import { fetchPrivacyNotice } from '../api/endpoints';
import { BrandMark } from '../app/BrandMark';
import { Card } from '../components/Card';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { useBranding } from '../branding/branding';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import { Markdown } from '../markdown/Markdown';
import { Link } from '../router/Link';

/** The instance's generated privacy notice; readable without signing in. */
export function PrivacyPage({ standalone }: { standalone?: boolean }) {
  const brand = useBranding();
  const notice = useApi((signal) => fetchPrivacyNotice(signal), []);
  const missing = notice.error?.status === 404;

  const body = notice.data ? (
    <Markdown source={notice.data.markdown} />
  ) : missing ? (
    <EmptyState icon="privacy" title={t('privacy.missingTitle')}>
      {brand.support_contact
        ? t('privacy.missing', { contact: brand.support_contact })
        : t('privacy.missingNoContact')}
    </EmptyState>
  ) : notice.error ? (
    <ErrorNotice error={notice.error} onRetry={notice.reload} />
  ) : (
    <Skeleton height={320} />
  );

  if (!standalone) {
    return (
      <>
        <PageHeader title={t('privacy.title')} />
        <Card class="card-prose">{body}</Card>
      </>
    );
  }
  return (
    <div class="standalone">
      <header class="standalone-head">
        <Link href="/login" class="brand-link">
          <BrandMark />
        </Link>
      </header>
      <main id="main" class="standalone-main">
        <PageHeader title={t('privacy.title')} />
        <Card class="card-prose">{body}</Card>
        <p>
          <Link href="/login">{t('privacy.back')}</Link>
        </p>
      </main>
    </div>
  );
}
