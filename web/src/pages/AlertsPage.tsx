import { PageHeader } from '../components/PageHeader';
import { Tabs } from '../components/Tabs';
import { t } from '../i18n';
import { useLocation } from '../router/router';
import { AlertHistory } from '../alerts/AlertHistory';
import { AlertRules } from '../alerts/AlertRules';

/** Alert rules (what to watch, where to send it) and the history of notifications sent. */
export function AlertsPage() {
  const { path } = useLocation();
  const history = path === '/alerts/history';
  return (
    <>
      <PageHeader title={history ? t('alerts.historyTitle') : t('alerts.title')} />
      <Tabs
        label={t('alerts.sections')}
        tabs={[
          { href: '/alerts', label: t('alerts.rules') },
          { href: '/alerts/history', label: t('alerts.history') },
        ]}
      />
      {history ? <AlertHistory /> : <AlertRules />}
    </>
  );
}
