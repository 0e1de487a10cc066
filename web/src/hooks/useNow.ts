// The current time in Unix seconds, updated every `ms`: relative times ("2 minutes ago") stay
// true without refetching.
import { useState } from 'preact/hooks';
import { useInterval } from './useInterval';

export function useNow(ms = 15_000): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useInterval(() => setNow(Date.now() / 1000), ms);
  return now;
}
