import { PageHeader } from '../components/PageHeader';
import { t } from '../i18n';
import { ProfileCard } from '../me/ProfileCard';
import { SessionsCard } from '../me/SessionsCard';
import { TwoFactorCard } from '../me/TwoFactorCard';
import { YourDataCard } from '../me/YourDataCard';
import { meStore } from '../state/me';
import { useStore } from '../state/store';

/** The signed-in user's profile, password, sign-ins and data, for every role. */
export function MePage() {
  const me = useStore(meStore);
  return (
    <>
      <PageHeader title={t('me.title')} subtitle={me ? `${me.email} · ${t(`role.${me.role}`)}` : undefined} />
      <div class="stack">
        <ProfileCard />
        <TwoFactorCard />
        <SessionsCard />
        <YourDataCard />
      </div>
    </>
  );
}
