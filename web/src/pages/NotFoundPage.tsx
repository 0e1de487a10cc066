import { EmptyState } from '../components/EmptyState';
import { PageHeader } from '../components/PageHeader';
import { t } from '../i18n';
import { Link } from '../router/Link';

export function NotFoundPage({ path }: { path: string }) {
  return (
    <>
      <PageHeader title={t('notFound.title')} />
      <div class="card">
        <EmptyState
          icon="alert"
          title={t('notFound.title')}
          action={
            <Link href="/" class="button button-primary">
              {t('notFound.home')}
            </Link>
          }
        >
          {t('notFound.body', { path })}
        </EmptyState>
      </div>
    </>
  );
}
