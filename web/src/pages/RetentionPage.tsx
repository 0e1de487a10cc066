import { useEffect, useState } from 'preact/hooks';
import { fetchRetention } from '../api/endpoints';
import type { RetentionSettings } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import { RetentionForm } from '../retention/RetentionForm';
import { YourDataCard } from '../retention/YourDataCard';
import { useCanWrite } from '../state/me';

/** How long each class of data is kept, exports, and erasing one's own data. */
export function RetentionPage() {
  const loaded = useApi((signal) => fetchRetention(signal), []);
  const [settings, setSettings] = useState<RetentionSettings | null>(null);
  const canWrite = useCanWrite();
  useEffect(() => {
    if (loaded.data) setSettings(loaded.data);
  }, [loaded.data]);
  return (
    <>
      <PageHeader title={t('retention.title')} subtitle={t('retention.subtitle')} />
      <div class="stack">
        {loaded.error && !loaded.data ? (
          <ErrorNotice error={loaded.error} onRetry={loaded.reload} />
        ) : !settings ? (
          <Skeleton height={320} />
        ) : (
          <RetentionForm settings={settings} onSaved={setSettings} canWrite={canWrite} />
        )}
        <YourDataCard canExportAccount={canWrite} />
      </div>
    </>
  );
}
