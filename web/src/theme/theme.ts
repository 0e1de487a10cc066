// Light and dark themes. Without a saved choice the stylesheet follows prefers-color-scheme on
// its own, so the first paint is right before any script runs; a saved choice is applied as a
// `data-theme` attribute on <html> as soon as the bundle starts.
import { createStore, readStorage, useStore, writeStorage } from '../state/store';

export type Theme = 'light' | 'dark';

const KEY = 'tally.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');

function saved(): Theme | null {
  const v = readStorage(KEY);
  return v === 'light' || v === 'dark' ? v : null;
}

function effective(): Theme {
  return saved() ?? (media.matches ? 'dark' : 'light');
}

export const themeStore = createStore<Theme>(effective());

function apply(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}

/** Applies the saved or system theme and follows system changes while nothing is saved. */
export function initTheme(): void {
  apply(themeStore.get());
  media.addEventListener('change', () => {
    if (saved()) return;
    const next = effective();
    apply(next);
    themeStore.set(next);
  });
}

export function setTheme(theme: Theme): void {
  writeStorage(KEY, theme);
  apply(theme);
  themeStore.set(theme);
}

export function useTheme(): Theme {
  return useStore(themeStore);
}
