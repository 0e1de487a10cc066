// The selected date range, shared by every screen and mirrored into the address bar so a link
// to a report opens the same range.
import { useRef } from 'preact/hooks';
import { isPreset, resolveRange, type Bounds, type RangeChoice } from '../time/range';
import { createStore, useStore } from './store';
import { useTimeZone } from './timeZone';

function fromLocation(): RangeChoice {
  const q = new URLSearchParams(location.search);
  const preset = q.get('range');
  if (!isPreset(preset)) return { preset: 'today' };
  if (preset !== 'custom') return { preset };
  return { preset, from: q.get('from') ?? undefined, to: q.get('to') ?? undefined };
}

export const rangeStore = createStore<RangeChoice>(fromLocation());

// Ranges that end "now" move forward once a minute, together for every screen, so an open
// dashboard keeps up without a reload and all its cards agree on the same bounds.
const REFRESH_MS = 60_000;
const clock = createStore(Math.floor(Date.now() / 1000));
let ticking = false;
function startClock(): void {
  if (ticking) return;
  ticking = true;
  window.setInterval(() => {
    if (!document.hidden) clock.set(Math.floor(Date.now() / 1000));
  }, REFRESH_MS);
}

/** Writes the choice into the query string without adding a history entry. */
function mirrorToLocation(choice: RangeChoice): void {
  const url = new URL(location.href);
  const q = url.searchParams;
  q.delete('from');
  q.delete('to');
  if (choice.preset === 'today') q.delete('range');
  else q.set('range', choice.preset);
  if (choice.preset === 'custom') {
    if (choice.from) q.set('from', choice.from);
    if (choice.to) q.set('to', choice.to);
  }
  history.replaceState(history.state, '', url);
}

export function setRange(choice: RangeChoice): void {
  mirrorToLocation(choice);
  clock.set(Math.floor(Date.now() / 1000));
  rangeStore.set(choice);
}

/** The range as chosen, and as bounds in the chosen zone (recomputed when either changes). */
export function useRange(): { choice: RangeChoice; bounds: Bounds; tz: string } {
  startClock();
  const choice = useStore(rangeStore);
  const tz = useTimeZone();
  const now = useStore(clock);
  // The same object while the numbers stay the same, so fixed ranges (yesterday) do not refetch.
  const last = useRef<Bounds | null>(null);
  const next = resolveRange(choice, tz, now);
  if (!last.current || last.current.from !== next.from || last.current.to !== next.to) last.current = next;
  return { choice, bounds: last.current, tz };
}
