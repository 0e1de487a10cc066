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

/**
 * The databases in use as `[kind, entry]`: from `{sources: [{kind, …}]}`, a bare list, or an
 * object keyed by kind (`{country, city: null, asn}`); `complete` says whether an absent kind
 * means "not configured".
 */
function entries(about: About | null): { list: [string, GeoEntry][]; complete: boolean } {
  const geo = about?.geoip as unknown;
  const sources = Array.isArray(geo) ? geo : (geo as { sources?: unknown } | null)?.sources;
  if (Array.isArray(sources)) {
    return {
      list: sources.map((e: GeoEntry, i): [string, GeoEntry] => [e?.kind ?? String(i), e]),
      complete: sources.every((e: GeoEntry) => typeof e?.kind === 'string'),
    };
  }
  if (geo && typeof geo === 'object') return { list: Object.entries(geo as Record<string, GeoEntry>), complete: false };
  return { list: [], complete: false };
}

/** Attribution lines the licences of the configured databases require. */
export function geoCredits(about: About | null): string[] {
  const credits = entries(about)
    .list.map(([, e]) => e?.attribution || e?.source || '')
    .filter(Boolean);
  return [...new Set(credits)];
}

/**
 * Whether a lookup kind (`city`, `asn`) has a database. When the answer cannot tell (not loaded
 * yet, or an unknown shape) it counts as available, so no screen claims a database is missing
 * when it is not.
 */
export function hasGeoDatabase(about: About | null, kind: 'city' | 'asn'): boolean {
  const { list, complete } = entries(about);
  const found = list.find(([k]) => k === kind);
  return found ? found[1] !== null : !complete;
}
