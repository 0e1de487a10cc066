// The time zone reports are cut in: remembered per browser, defaulting to the browser's zone.
import { browserTimeZone, isValidTimeZone } from '../time/zone';
import { createStore, readStorage, useStore, writeStorage } from './store';

const KEY = 'tally.tz';

function initial(): string {
  const saved = readStorage(KEY);
  return saved && isValidTimeZone(saved) ? saved : browserTimeZone();
}

export const timeZoneStore = createStore(initial());

export function setTimeZone(tz: string): void {
  if (!isValidTimeZone(tz)) return;
  writeStorage(KEY, tz === browserTimeZone() ? null : tz);
  timeZoneStore.set(tz);
}

export function useTimeZone(): string {
  return useStore(timeZoneStore);
}
