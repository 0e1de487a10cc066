// The selected date range, shared by every screen and mirrored into the address bar so a link
// to a report opens the same range.
import { useMemo } from 'preact/hooks';
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
  rangeStore.set(choice);
}

/** The range as chosen, and as bounds in the chosen zone (recomputed when either changes). */
export function useRange(): { choice: RangeChoice; bounds: Bounds; tz: string } {
  const choice = useStore(rangeStore);
  const tz = useTimeZone();
  const bounds = useMemo(() => resolveRange(choice, tz, Date.now() / 1000), [choice, tz]);
  return { choice, bounds, tz };
}
