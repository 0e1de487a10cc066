// The brand shown in the panel. The server writes it into index.html as a meta tag (so the
// first paint is branded and no inline script is needed); the API is the fallback.
import { createStore, useStore } from '../state/store';

export interface Branding {
  product_name: string;
  accent_color: string | null;
  logo_url: string | null;
  favicon_url: string | null;
  support_contact: string | null;
  powered_by: boolean;
}

const DEFAULT: Branding = {
  product_name: 'Tally',
  accent_color: null,
  logo_url: null,
  favicon_url: '/favicon.svg',
  support_contact: null,
  powered_by: true,
};

function normalise(raw: unknown): Branding | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : null);
  return {
    product_name: str(r.product_name) ?? DEFAULT.product_name,
    accent_color: str(r.accent_color),
    logo_url: str(r.logo_url),
    favicon_url: str(r.favicon_url) ?? DEFAULT.favicon_url,
    support_contact: str(r.support_contact),
    powered_by: r.powered_by !== false,
  };
}

function fromMeta(): Branding | null {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="tally-branding"]');
  if (!meta?.content) return null;
  try {
    return normalise(JSON.parse(meta.content));
  } catch {
    return null;
  }
}

export const brandingStore = createStore<Branding>(fromMeta() ?? DEFAULT);

// Only colours in these forms are applied, so a stored value can never inject other CSS.
const COLOUR = /^(#[0-9a-f]{3,8}|rgba?\([\d\s.,%]+\)|hsla?\([\d\s.,%deg]+\))$/i;

function applyAccent(colour: string | null): void {
  const root = document.documentElement.style;
  if (!colour || !COLOUR.test(colour.trim())) return;
  root.setProperty('--accent', colour.trim());
  const contrast = contrastText(colour.trim());
  if (contrast) root.setProperty('--accent-contrast', contrast);
}

/** Black or white, whichever reads better on a #rrggbb accent (WCAG relative luminance). */
function contrastText(colour: string): string | null {
  const m = /^#([0-9a-f]{6})$/i.exec(colour);
  if (!m?.[1]) return null;
  const n = parseInt(m[1], 16);
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin((n >> 16) & 255) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  return l > 0.4 ? '#111318' : '#ffffff';
}

/** Applies the brand; fetches it from the API when the server did not embed it. */
export async function initBranding(): Promise<void> {
  if (fromMeta()) {
    applyAccent(brandingStore.get().accent_color);
    return;
  }
  try {
    const res = await fetch('/api/v1/branding', { credentials: 'same-origin' });
    if (!res.ok) return;
    const b = normalise(await res.json());
    if (b) {
      brandingStore.set(b);
      applyAccent(b.accent_color);
    }
  } catch {
    /* the default brand stays */
  }
}

export function useBranding(): Branding {
  return useStore(brandingStore);
}

/** Shows a brand the user just saved, without reloading the page. */
export function applyBranding(raw: unknown): void {
  const b = normalise(raw);
  if (!b) return;
  brandingStore.set(b);
  applyAccent(b.accent_color);
}
