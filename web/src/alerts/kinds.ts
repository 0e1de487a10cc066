// What each kind of alert rule watches, and how its settings are shown.
import type { AlertKind, AlertRule, ChannelType } from '../api/types';
import { formatBitrate } from '../format/bytes';
import { formatInt } from '../format/number';
import { t } from '../i18n';

export const KINDS: AlertKind[] = ['server_offline', 'stream_down', 'stream_up', 'cpu', 'ram', 'viewers', 'bandwidth'];
export const CHANNELS: ChannelType[] = ['webhook', 'slack', 'discord', 'email'];

export const isThreshold = (k: AlertKind) => k === 'cpu' || k === 'ram' || k === 'viewers' || k === 'bandwidth';
/** Kinds that may watch one app or stream rather than whole servers. */
export const watchesStreams = (k: AlertKind) =>
  k === 'stream_down' || k === 'stream_up' || k === 'viewers' || k === 'bandwidth';
export const usesAfter = (k: AlertKind) => k === 'server_offline' || k === 'stream_down';

/** Thresholds are typed in these units; bandwidth is entered in Mbit/s and sent in bit/s. */
export const thresholdScale = (k: AlertKind) => (k === 'bandwidth' ? 1_000_000 : 1);

function formatThreshold(r: AlertRule): string {
  const v = r.threshold ?? 0;
  if (r.kind === 'cpu' || r.kind === 'ram') return `${formatInt(v)} %`;
  if (r.kind === 'bandwidth') return formatBitrate(v);
  return formatInt(v);
}

/** "Offline for 60 s", "CPU above 90 % for 5 min" */
export function describeCondition(r: AlertRule): string {
  const kind = t(`alerts.kind.${r.kind}`);
  if (isThreshold(r.kind)) {
    const base = t(r.direction === 'below' ? 'alerts.cond.below' : 'alerts.cond.above', {
      kind,
      value: formatThreshold(r),
    });
    return r.for_s > 0 ? `${base} ${t('alerts.cond.for', { time: seconds(r.for_s) })}` : base;
  }
  if (usesAfter(r.kind)) return `${kind} ${t('alerts.cond.after', { time: seconds(r.after_s) })}`;
  return kind;
}

/** Where a rule looks: all servers, one server, an app, a stream. */
export function describeScope(r: AlertRule, serverName: (id: string) => string): string {
  const parts: string[] = [];
  parts.push(r.scope.server ? serverName(r.scope.server) : t('alerts.scope.allServers'));
  if (r.scope.app) parts.push(t('alerts.scope.app', { app: r.scope.app }));
  if (r.scope.stream) parts.push(t('alerts.scope.stream', { stream: r.scope.stream }));
  return parts.join(' · ');
}

/** Where notifications go, without any secret. */
export function describeChannel(r: AlertRule): string {
  const type = t(`alerts.channel.${r.channel.type}`);
  if (r.channel.type === 'email') return `${type}: ${r.channel.to ?? ''}`;
  try {
    return `${type}: ${new URL(r.channel.url ?? '').host}`;
  } catch {
    return type;
  }
}

/** 45 s, 5 min, 2 h */
export function seconds(s: number): string {
  if (s % 3600 === 0 && s >= 3600) return t('alerts.hours', { n: s / 3600 });
  if (s % 60 === 0 && s >= 60) return t('alerts.minutes', { n: s / 60 });
  return t('alerts.seconds', { n: s });
}
