import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Skeleton } from '../components/Skeleton';

/** Loads a screen's code when it is first opened. */
export function LazyScreen({ load }: { load: () => Promise<ComponentType> }) {
  const [Screen, setScreen] = useState<ComponentType | null>(null);
  useEffect(() => {
    let live = true;
    load().then((c) => live && setScreen(() => c));
    return () => {
      live = false;
    };
  }, [load]);
  return Screen ? <Screen /> : <Skeleton height={320} />;
}
