import { useBranding } from '../branding/branding';
import { t } from '../i18n';

/** "Powered by Tally", unless the brand turned it off. */
export function PoweredBy() {
  const { powered_by, product_name } = useBranding();
  if (!powered_by || product_name === 'Tally') return null;
  return <span class="powered-by">{t('app.poweredBy')}</span>;
}
