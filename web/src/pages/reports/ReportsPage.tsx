import { PageHeader } from '../../components/PageHeader';
import { RangeTools } from '../../components/RangeTools';
import { Tabs } from '../../components/Tabs';
import { t, type MessageKey } from '../../i18n';
import { meStore } from '../../state/me';
import { useRange } from '../../state/range';
import { useStore } from '../../state/store';
import { NotFoundPage } from '../NotFoundPage';
import { AsnReport } from './AsnReport';
import { BillingReport } from './BillingReport';
import { DailyReport } from './DailyReport';
import { GeoReport } from './GeoReport';
import { UniqueReport } from './UniqueReport';

const REPORTS: { key: string; label: MessageKey; Screen: typeof DailyReport }[] = [
  { key: 'daily', label: 'reports.daily', Screen: DailyReport },
  { key: 'billing', label: 'reports.billing', Screen: BillingReport },
  { key: 'geo', label: 'reports.geo', Screen: GeoReport },
  { key: 'asn', label: 'reports.asn', Screen: AsnReport },
  { key: 'unique', label: 'reports.unique', Screen: UniqueReport },
];

export function ReportsPage({ report }: { report: string }) {
  const { bounds, tz } = useRange();
  const me = useStore(meStore);
  // The billing role sees traffic only: the billing report is its one report (and its start page).
  const billingOnly = me?.role === 'billing' && !me.operator;
  const reports = billingOnly ? REPORTS.filter((r) => r.key === 'billing') : REPORTS;
  const current = reports.find((r) => r.key === report) ?? (billingOnly ? reports[0] : undefined);
  if (!current) return <NotFoundPage path={`/reports/${report}`} />;
  const { Screen } = current;
  return (
    <>
      <PageHeader title={`${t('reports.title')}: ${t(current.label)}`}>
        <RangeTools />
      </PageHeader>
      <Tabs label={t('reports.title')} tabs={reports.map((r) => ({ href: `/reports/${r.key}`, label: t(r.label) }))} />
      <Screen bounds={bounds} tz={tz} />
    </>
  );
}
