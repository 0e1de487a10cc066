import { breakdownQuery, fetchBreakdown } from '../../api/endpoints';
import { BreakdownTable } from '../../components/BreakdownTable';
import { Card } from '../../components/Card';
import { CsvLink } from '../../components/CsvLink';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Skeleton } from '../../components/Skeleton';
import { hasGeoDatabase, useAbout } from '../../hooks/useAbout';
import { useApi } from '../../hooks/useApi';
import { t } from '../../i18n';
import type { ReportProps } from './DailyReport';

/** The networks (autonomous systems) the audience watches from: peering and CDN planning. */
export function AsnReport({ bounds }: ReportProps) {
  const res = useApi((signal) => fetchBreakdown('asn', bounds, {}, 500, signal), [bounds]);
  const rows = res.data?.rows ?? [];
  const title = t('reports.asn.title');
  const asnDb = hasGeoDatabase(useAbout(), 'asn');
  return (
    <Card
      title={title}
      actions={<CsvLink path="/stats/breakdown" query={breakdownQuery('asn', bounds)} what={title} />}
      footer={<span class="muted small">{t('reports.asn.help')}</span>}
    >
      {res.error && !res.data ? (
        <ErrorNotice error={res.error} onRetry={res.reload} />
      ) : !res.data ? (
        <Skeleton height={280} />
      ) : rows.length === 0 ? (
        <EmptyState icon="globe" title={asnDb ? t('reports.noData') : t('geo.noAsnDb')} />
      ) : (
        <BreakdownTable
          rows={rows}
          keyHeader={t('reports.asn.number')}
          nameHeader={t('reports.asn.org')}
          renderName={(r) => (r.label && r.label !== r.key ? r.label : <span class="muted">{t('reports.asn.unknownOrg')}</span>)}
        />
      )}
    </Card>
  );
}
