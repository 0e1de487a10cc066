import { useEffect, useMemo, useState } from 'preact/hooks';
import type { BreakdownRow } from '../api/types';
import { t } from '../i18n';
import type { WorldShapes } from '../map/geometry';
import { countryName } from './CountryName';
import { Skeleton } from './Skeleton';

let loading: Promise<WorldShapes> | null = null;
function loadShapes(): Promise<WorldShapes> {
  loading ??= import('../map/geometry').then((m) => m.shapes);
  return loading;
}

interface Props {
  rows: BreakdownRow[];
  /** Which number colours the map. */
  value: (row: BreakdownRow) => number;
  format: (n: number) => string;
  /** Name of the number, for the legend and the accessible description. */
  metricLabel: string;
}

const BUCKETS = 5;

/**
 * Choropleth of a per-country number. Shades use a logarithmic scale because audiences are
 * heavy-tailed: on a linear scale one big country would leave every other one blank.
 */
export function WorldMap({ rows, value, format, metricLabel }: Props) {
  const [shapes, setShapes] = useState<WorldShapes | null>(null);
  useEffect(() => {
    let live = true;
    loadShapes().then((s) => live && setShapes(s));
    return () => {
      live = false;
    };
  }, []);

  const byCode = useMemo(() => {
    const m = new Map<string, BreakdownRow>();
    for (const r of rows) m.set(r.key.toUpperCase(), r);
    return m;
  }, [rows]);
  const max = useMemo(() => rows.reduce((a, r) => Math.max(a, value(r)), 0), [rows, value]);

  if (!shapes) return <Skeleton height={240} />;

  const bucket = (n: number) =>
    n <= 0 || max <= 0 ? 0 : Math.max(1, Math.ceil((BUCKETS * Math.log1p(n)) / Math.log1p(max)));
  const top = [...rows]
    .sort((a, b) => value(b) - value(a))
    .slice(0, 3)
    .map((r) => `${countryName(r.key, r.label)} ${format(value(r))}`)
    .join(', ');

  return (
    <figure class="world-map">
      <svg
        viewBox={shapes.viewBox}
        role="img"
        aria-label={t('map.label', { metric: metricLabel }) + (top ? `: ${top}` : '')}
        preserveAspectRatio="xMidYMid meet"
      >
        {shapes.countries.map((c, i) => {
          const row = c.code ? byCode.get(c.code) : undefined;
          const n = row ? value(row) : 0;
          const name = c.code ? countryName(c.code, row?.label ?? c.name) : c.name;
          return (
            <path key={i} d={c.d} class={`map-country map-b${bucket(n)}`}>
              <title>{row ? `${name} (${c.code}): ${format(n)}` : name}</title>
            </path>
          );
        })}
      </svg>
      <figcaption class="map-legend" aria-hidden="true">
        <span>{t('map.less')}</span>
        {Array.from({ length: BUCKETS }, (_, i) => (
          <span key={i} class={`map-swatch map-b${i + 1}`} />
        ))}
        <span>{t('map.more')}</span>
        {max > 0 ? (
          <span class="muted">· {t('map.max', { value: format(max) })}</span>
        ) : (
          <span class="muted">· {t('map.empty')}</span>
        )}
      </figcaption>
    </figure>
  );
}
