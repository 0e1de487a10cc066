import type { About } from '../api/types';
import { t } from '../i18n';

/** Credits the geolocation databases in use, as their licences require. */
export function GeoAttribution({ about }: { about: About | null }) {
  if (!about?.geoip) return null;
  const credits = Object.values(about.geoip)
    .filter((g): g is { source: string; attribution: string } => !!g)
    .map((g) => g.attribution || g.source)
    .filter((c, i, all) => c && all.indexOf(c) === i);
  if (credits.length === 0) return null;
  return <span class="muted small">{t('map.attribution', { credits: credits.join(' · ') })}</span>;
}
