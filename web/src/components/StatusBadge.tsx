import type { ServerStatus } from '../api/types';
import { t, type MessageKey } from '../i18n';

/** A coloured dot and word; the word carries the meaning, so colour is never the only cue. */
export function StatusBadge({ status }: { status: ServerStatus | 'live' | 'idle' }) {
  const key: MessageKey =
    status === 'live' ? 'streams.live' : status === 'idle' ? 'streams.offline' : `servers.status.${status}`;
  return (
    <span class={`badge badge-${status}`}>
      <span class="badge-dot" aria-hidden="true" />
      {t(key)}
    </span>
  );
}
