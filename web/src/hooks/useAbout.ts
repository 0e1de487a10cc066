// What the instance says about itself (/about): version and the GeoIP databases in use. Fetched
// once per page load and shared, since it only changes with a restart.
import { useEffect, useState } from 'preact/hooks';
import { fetchAbout } from '../api/endpoints';
import type { About } from '../api/types';

let pending: Promise<About | null> | null = null;

export function useAbout(): About | null {
  const [about, setAbout] = useState<About | null>(null);
  useEffect(() => {
    let live = true;
    pending ??= fetchAbout().catch(() => {
      pending = null;
      return null;
    });
    pending.then((a) => live && setAbout(a));
    return () => {
      live = false;
    };
  }, []);
  return about;
}

type GeoEntry = { source?: string; attribution?: string; kind?: string } | null;

function entries(about: About | null): [string, GeoEntry][] {
  const geo = about?.geoip as unknown;
  if (Array.isArray(geo)) return geo.map((e: GeoEntry, i) => [e?.kind ?? String(i), e]);
  if (geo && typeof geo === 'object') return Object.entries(geo as Record<string, GeoEntry>);
  return [];
}

/** Attribution lines the licences of the configured databases require. */
export function geoCredits(about: About | null): string[] {
  const credits = entries(about)
    .map(([, e]) => e?.attribution || e?.source || '')
    .filter(Boolean);
  return [...new Set(credits)];
}

/**
 * Whether a lookup kind (`city`, `asn`) has a database. Unknown (no answer yet, or a shape
 * without that key) counts as available, so no screen claims a database is missing when it is not.
 */
export function hasGeoDatabase(about: About | null, kind: 'city' | 'asn'): boolean {
  const found = entries(about).find(([k]) => k === kind);
  return found === undefined || found[1] !== null;
}
