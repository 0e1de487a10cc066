// Which navigation entries the signed-in user sees.
import { useEffect, useState } from 'preact/hooks';
import { probe } from '../api/endpoints';
import type { Me } from '../api/types';
import { ADMIN_NAV, MAIN_NAV, type NavEntry } from './navigation';

function allowed(entry: NavEntry, me: Me): boolean {
  if (entry.operatorOnly && !me.operator) return false;
  return !entry.roles || entry.roles.includes(me.role) || me.operator;
}

export function useNavigation(me: Me): { main: NavEntry[]; admin: NavEntry[] } {
  const main = MAIN_NAV.filter((e) => allowed(e, me));
  const candidates = ADMIN_NAV.filter((e) => e.screen && allowed(e, me));
  const [admin, setAdmin] = useState<NavEntry[]>([]);
  useEffect(() => {
    let live = true;
    const path = (e: NavEntry) => (typeof e.probe === 'function' ? e.probe(me) : e.probe);
    Promise.all(candidates.map(async (e) => (e.probe ? await probe(path(e) ?? '') : true) ? e : null)).then(
      (found) => live && setAdmin(found.filter((e): e is NavEntry => e !== null)),
    );
    return () => {
      live = false;
    };
    // The candidate list only changes with the user.
  }, [me.id, me.role]);
  return { main, admin };
}
