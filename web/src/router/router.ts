// Client-side routing over real paths (/streams/live/news) with the History API. The server
// answers every such path with index.html, so a reload or a shared link opens the same screen.
import { createStore, useStore } from '../state/store';

export interface Location {
  path: string;
  search: string;
}

function current(): Location {
  return { path: location.pathname, search: location.search };
}

export const locationStore = createStore<Location>(current());

let navigated = false;

/** Whether the user has moved between screens in this page load (not the first screen). */
export function hasNavigated(): boolean {
  return navigated;
}

window.addEventListener('popstate', () => {
  navigated = true;
  locationStore.set(current());
});

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = new URL(to, location.origin);
  if (url.origin !== location.origin) return;
  const target = url.pathname + url.search + url.hash;
  if (target === location.pathname + location.search + location.hash) return;
  if (options.replace) history.replaceState(null, '', target);
  else {
    history.pushState(null, '', target);
    navigated = true;
  }
  locationStore.set(current());
}

export function useLocation(): Location {
  return useStore(locationStore);
}

/** The current query string as parameters. */
export function useQuery(): URLSearchParams {
  return new URLSearchParams(useLocation().search);
}

/**
 * Matches `/streams/:app/*stream` style patterns; returns decoded parameters or null.
 * A `*name` segment takes the rest of the path, slashes included.
 */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const w = want[i] ?? '';
    if (w.startsWith('*')) {
      const rest = have.slice(i);
      if (rest.length === 0) return null;
      params[w.slice(1)] = rest.map(decode).join('/');
      return params;
    }
    const h = have[i];
    if (h == null) return null;
    if (w.startsWith(':')) params[w.slice(1)] = decode(h);
    else if (w !== h) return null;
  }
  return have.length === want.length ? params : null;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Builds a path from segments, encoding each one. */
export function pathOf(...segments: string[]): string {
  return '/' + segments.map(encodeURIComponent).join('/');
}
