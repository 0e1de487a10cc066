// The account an operator is working in, when it is not their own: every API request then
// carries `?account=` (the server allows it to operators only). Kept for the browser tab, so a
// reload stays in the account and another tab is unaffected.
import { createStore } from './store';

export interface Acting {
  id: string;
  name: string;
  /** The operator's own account, to tell it apart in lists while acting. */
  home: string;
}

const KEY = 'tally.acting';

function load(): Acting | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    const v = raw ? (JSON.parse(raw) as Partial<Acting>) : null;
    return v && typeof v.id === 'string' && typeof v.name === 'string' && typeof v.home === 'string'
      ? { id: v.id, name: v.name, home: v.home }
      : null;
  } catch {
    return null;
  }
}

export const actingStore = createStore<Acting | null>(load());

/** Remembers (or forgets) the account without reloading: for sign-in and sign-out. */
export function setActing(acting: Acting | null): void {
  try {
    if (acting) sessionStorage.setItem(KEY, JSON.stringify(acting));
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage disabled: acting lasts until reload */
  }
  actingStore.set(acting);
}

/** Switches the whole panel to another account (or back, with null) and starts afresh there. */
export function actAs(acting: Acting | null): void {
  setActing(acting);
  location.assign('/');
}
