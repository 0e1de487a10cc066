import { useEffect, useState } from 'preact/hooks';
import { fetchRetention, type RetentionScope } from '../api/endpoints';
import type { RetentionSettings } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageHeader } from '../components/PageHeader';
import { Segmented } from '../components/Segmented';
import { Skeleton } from '../components/Skeleton';
import { useApi } from '../hooks/useApi';
import { t } from '../i18n';
import { AccountDataCard } from '../retention/AccountDataCard';
import { RetentionForm } from '../retention/RetentionForm';
import { meStore, useCanWrite } from '../state/me';
import { useStore } from '../state/store';

/** How long each class of data is kept (the account's, or the operator's instance values), and account exports. */
export function RetentionPage() {
  const me = useStore(meStore);
  const [scope, setScope] = useState<RetentionScope>('account');
  const loaded = useApi((signal) => fetchRetention(scope, signal), [scope]);
  const [settings, setSettings] = useState<RetentionSettings | null>(null);
  const canWrite = useCanWrite();
  useEffect(() => setSettings(loaded.data && loaded.data.scope === scope ? loaded.data : null), [loaded.data, scope]);
  // Right after a switch of scope the state still holds the other scope's values until the
  // effect runs: never show them under the new heading.
  const shown = settings?.scope === scope ? settings : null;
  return (
    <>
      <PageHeader title={t('retention.title')} subtitle={t('retention.subtitle')}>
        {me?.operator && (
          <Segmented<RetentionScope>
            label={t('retention.scope')}
            value={scope}
            onChange={setScope}
            options={[
              { value: 'account', label: t('retention.scope.account') },
              { value: 'instance', label: t('retention.scope.instance') },
            ]}
          />
        )}
      </PageHeader>
      <div class="stack">
        {loaded.error && !shown ? (
          <ErrorNotice error={loaded.error} onRetry={loaded.reload} />
        ) : !shown ? (
          <Skeleton height={320} />
        ) : (
          <RetentionForm key={scope} scope={scope} settings={shown} onSaved={setSettings} canWrite={canWrite} />
        )}
        {canWrite && <AccountDataCard />}
      </div>
    </>
  );
}
