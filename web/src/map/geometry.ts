// Country outlines as SVG paths, computed once from the embedded world-atlas TopoJSON
// (Natural Earth 1:110m). Loaded on demand so the login screen does not carry the map.
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import world from 'world-atlas/countries-110m.json';
import { NAME_TO_ALPHA2, NUMERIC_TO_ALPHA2 } from './countryCodes';
import { equalEarth } from './equalEarth';

export interface CountryShape {
  /** ISO alpha-2, or null for shapes no GeoIP database reports. */
  code: string | null;
  name: string;
  d: string;
}

export interface WorldShapes {
  viewBox: string;
  countries: CountryShape[];
}

const SCALE = 100;
// Antarctica has no audience and would take a fifth of the height.
const SKIP = new Set(['010']);

/**
 * Rings that cross the antimeridian (parts of Russia and Fiji) are unwrapped to continuous
 * longitudes and clamped at ±180°, which keeps them from streaking across the map.
 */
function ringPath(ring: Position[], bounds: number[]): string {
  let prev = ring[0]?.[0] ?? 0;
  let shift = 0;
  const lons = ring.map(([lon = 0]) => {
    if (lon - prev > 180) shift -= 360;
    else if (prev - lon > 180) shift += 360;
    prev = lon;
    return lon + shift;
  });
  const mean = lons.reduce((a, b) => a + b, 0) / Math.max(1, lons.length);
  const offset = mean > 180 ? -360 : mean < -180 ? 360 : 0;
  let d = '';
  ring.forEach(([, lat = 0], i) => {
    const lon = Math.max(-180, Math.min(180, (lons[i] ?? 0) + offset));
    const [px, py] = equalEarth(lon, lat);
    const x = Math.round(px * SCALE * 10) / 10;
    const y = Math.round(py * SCALE * 10) / 10;
    bounds[0] = Math.min(bounds[0] ?? x, x);
    bounds[1] = Math.min(bounds[1] ?? y, y);
    bounds[2] = Math.max(bounds[2] ?? x, x);
    bounds[3] = Math.max(bounds[3] ?? y, y);
    d += `${i === 0 ? 'M' : 'L'}${x} ${y}`;
  });
  return `${d}Z`;
}

function build(): WorldShapes {
  const topo = world as unknown as Topology<{ countries: GeometryCollection<{ name: string }> }>;
  const collection = feature(topo, topo.objects.countries);
  const bounds = [Infinity, Infinity, -Infinity, -Infinity];
  const countries: CountryShape[] = [];
  for (const f of collection.features as Feature<Polygon | MultiPolygon, { name: string }>[]) {
    const id = f.id == null ? null : String(f.id);
    if (id && SKIP.has(id)) continue;
    const polygons = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    const d = polygons.map((rings) => rings.map((r) => ringPath(r, bounds)).join('')).join('');
    const name = f.properties?.name ?? '';
    const code = (id && NUMERIC_TO_ALPHA2[id]) || NAME_TO_ALPHA2[name] || null;
    countries.push({ code, name, d });
  }
  const [minX = 0, minY = 0, maxX = 0, maxY = 0] = bounds;
  const pad = 2;
  const viewBox = [minX - pad, minY - pad, maxX - minX + 2 * pad, maxY - minY + 2 * pad]
    .map((n) => Math.round(n))
    .join(' ');
  return { viewBox, countries };
}

export const shapes: WorldShapes = build();
