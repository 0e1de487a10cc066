// Addresses of stream pages: /streams/<app>/<stream>, optionally narrowed to one server.
import { pathOf } from '../router/router';

export function streamPath(app: string, stream: string, serverId?: string): string {
  const base = pathOf('streams', app, ...stream.split('/'));
  return serverId ? `${base}?server=${encodeURIComponent(serverId)}` : base;
}

/**
 * A `stream` breakdown key is `app/stream`; a key without a slash cannot be split reliably, so
 * it opens the stream list filtered to that name instead.
 */
export function streamKeyPath(key: string): string {
  const slash = key.indexOf('/');
  if (slash > 0 && slash < key.length - 1) return streamPath(key.slice(0, slash), key.slice(slash + 1));
  return `/streams?q=${encodeURIComponent(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)}`;
}
