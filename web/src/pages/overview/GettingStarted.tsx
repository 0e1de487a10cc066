import type { Server } from '../../api/types';
import { EmptyState } from '../../components/EmptyState';
import { t } from '../../i18n';
import { Link } from '../../router/Link';
import { agentCommand } from '../../servers/agentCommand';

/** What a new user sees instead of empty charts: the next step, spelled out. */
export function GettingStarted({ servers }: { servers: Server[] }) {
  if (servers.length === 0) {
    return (
      <div class="card">
        <EmptyState
          icon="servers"
          title={t('empty.noServers.title')}
          action={
            <Link href="/servers?add=1" class="button button-primary">
              {t('empty.noServers.action')}
            </Link>
          }
        >
          <p>{t('empty.noServers.body')}</p>
          <pre class="code-block">{agentCommand(location.origin, '<token>')}</pre>
        </EmptyState>
      </div>
    );
  }
  return (
    <div class="notice notice-info notice-block" role="status">
      <div>
        <strong>{t('empty.noReports.title')}</strong>
        <p>{t('empty.noReports.body')}</p>
        <pre class="code-block">{agentCommand(location.origin, '<token>')}</pre>
      </div>
    </div>
  );
}
