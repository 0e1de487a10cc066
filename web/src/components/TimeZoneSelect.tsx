import { useId, useMemo } from 'preact/hooks';
import { t } from '../i18n';
import { setTimeZone, useTimeZone } from '../state/timeZone';
import { allTimeZones, browserTimeZone } from '../time/zone';

/** The zone reports are cut and labelled in; the browser's own zone is marked. */
export function TimeZoneSelect() {
  const tz = useTimeZone();
  const id = useId();
  const own = browserTimeZone();
  const zones = useMemo(() => {
    const all = allTimeZones();
    return all.includes(tz) ? all : [tz, ...all];
  }, [tz]);
  return (
    <div class="tz-select">
      <label for={id} class="visually-hidden">
        {t('tz.label')}
      </label>
      <select
        id={id}
        class="select"
        value={tz}
        title={t('tz.label')}
        onChange={(e) => setTimeZone((e.currentTarget as HTMLSelectElement).value)}
      >
        {zones.map((z) => (
          <option key={z} value={z}>
            {z === own ? t('tz.browser', { tz: z.replace(/_/g, ' ') }) : z.replace(/_/g, ' ')}
          </option>
        ))}
      </select>
    </div>
  );
}
