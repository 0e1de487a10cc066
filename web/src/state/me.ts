// The signed-in user, for screens that adapt to the role (viewers do not see write actions).
import type { Me, Role } from '../api/types';
import { createStore, useStore } from './store';

export const meStore = createStore<Me | null>(null);

const WRITERS: Role[] = ['owner', 'admin'];

/** Whether the user may change things (add or remove servers…); the server enforces it too. */
export function useCanWrite(): boolean {
  const me = useStore(meStore);
  return !!me && (me.operator || WRITERS.includes(me.role));
}
