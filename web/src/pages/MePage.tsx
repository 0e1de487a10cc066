import { PageHeader } from '../components/PageHeader';
import { t } from '../i18n';
import { SessionsCard } from '../me/SessionsCard';
import { YourDataCard } from '../me/YourDataCard';
import { meStore } from '../state/me';
import { useStore } from '../state/store';

/** The signed-in user's own sign-ins and data, for every role. */
export function MePage() {
  const me = useStore(meStore);
  return (
    <>
      <PageHeader title={t('me.title')} subtitle={me ? `${me.email} · ${t(`role.${me.role}`)}` : undefined} />
      <div class="stack">
        <SessionsCard />
        <YourDataCard />
      </div>
    </>
  );
}
