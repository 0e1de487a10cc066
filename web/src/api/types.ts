// Shapes of the JSON API (/api/v1), as the server sends them.
import type { Instant } from '../time/instant';

export type Role = 'owner' | 'admin' | 'viewer' | 'billing';

export interface Me {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  operator: boolean;
  account: { id: string; name: string };
  totp_enabled?: boolean;
}

export interface LoginResponse {
  token: string;
  user?: Me;
}

export type ServerStatus = 'online' | 'late' | 'offline' | 'never';

export interface Server {
  id: string;
  name: string;
  software: string | null;
  version: string | null;
  created_at: Instant | null;
  last_report_at: Instant | null;
  status: ServerStatus;
  cpu_pct: number | null;
  ram_used_bytes: number | null;
  ram_total_bytes: number | null;
  net_in_bps: number | null;
  net_out_bps: number | null;
  viewers: number | null;
  /** Notification URLs (nginx-rtmp on_play…, SRS http_hooks): on or off, and since when. */
  hooks: { enabled: boolean; created_at: Instant | null };
}

/** A server's hook secret as issued: in this answer only. */
export interface HookSecretIssued {
  server_id: string;
  secret: string;
  created_at: Instant;
  urls: { nginx_rtmp: string; srs: string };
}

export interface NewServer {
  id: string;
  name: string;
  ingest_token: string;
}

export interface Live {
  time: Instant;
  viewers: number;
  bandwidth_bps: number;
  streams_live: number;
}

export interface StreamRow {
  server_id: string;
  server: string;
  app: string;
  stream: string;
  live: boolean;
  /** null for the billing role, which sees traffic but not audiences. */
  viewers: number | null;
  ingress_kbps: number | null;
  last_seen: Instant | null;
}

export interface Summary {
  views: number;
  unique_viewers: number;
  peak_viewers: number;
  bytes_out: number;
  bytes_in: number;
  view_time_s: number;
  peak_bandwidth_bps: number;
  p95_bandwidth_bps: number;
}

export type Metric =
  | 'viewers'
  | 'views'
  | 'bandwidth'
  | 'bytes_out'
  | 'view_time'
  | 'unique_viewers'
  | 'cpu'
  | 'ram';

export type Point = [number, number | null];

export interface TimeSeries {
  metric: Metric;
  step: number;
  points: Point[];
}

export type Dimension =
  | 'country'
  | 'region'
  | 'city'
  | 'asn'
  | 'protocol'
  | 'player'
  | 'device'
  | 'duration'
  | 'server'
  | 'app'
  | 'stream';

export interface BreakdownRow {
  key: string;
  label: string;
  views: number;
  viewers: number;
  bytes_out: number;
  view_time_s: number;
}

export interface Breakdown {
  dimension: Dimension;
  rows: BreakdownRow[];
}

export interface DailyRow {
  date: string;
  views: number;
  unique_viewers: number;
  peak_viewers: number;
  bytes_out: number;
  view_time_s: number;
}

export interface Daily {
  rows: DailyRow[];
}

export interface Billing {
  step: number;
  peak_bps: number;
  p95_bps: number;
  points: Point[];
}

export interface About {
  version: string;
  /** `{sources: [{kind, source, attribution}]}`; older shapes are read too (see useAbout). */
  geoip: unknown;
}

export interface PrivacyNotice {
  markdown: string;
}

/** Narrows statistics to one server, app or stream. */
export interface Scope {
  server?: string;
  app?: string;
  stream?: string;
}

export type TokenScope = 'read' | 'write' | 'admin';

export interface ApiToken {
  id: string;
  name: string;
  scope: TokenScope;
  created_at: string | number;
  expires_at: string | number | null;
  allowed_ips?: string[];
  last_used_at?: string | number | null;
}

export interface NewApiToken extends ApiToken {
  token: string;
}

export interface AccountUser {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  operator: boolean;
  totp_enabled: boolean;
  created_at: string | number;
  /** Slice ids the user is limited to; empty: the whole account. */
  slices?: string[];
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  created_at: string | number;
  expires_at: string | number;
  token?: string;
  link?: string;
}

export interface InvitationInfo {
  email: string;
  role: Role;
  account: string | { id: string; name: string };
  invited_by: string | null | { email?: string; name?: string | null };
  expires_at: string | number;
}

export interface BrandingFields {
  product_name: string | null;
  accent_color: string | null;
  background_color: string | null;
  surface_color: string | null;
  text_color: string | null;
  support_contact: string | null;
  privacy_contact: string | null;
  powered_by: boolean | null;
}

export interface BrandingSettings {
  scope: string;
  stored: Partial<BrandingFields> & { has_logo?: boolean; has_favicon?: boolean };
  effective: BrandingFields & { logo_url: string | null; favicon_url: string | null };
}

export interface RetentionClass {
  key: string;
  class: string;
  default_days: number;
  holds: string;
}

export interface RetentionSettings {
  scope: string;
  account_id?: string;
  maximum: Record<string, number>;
  classes: RetentionClass[];
  [key: string]: unknown;
}

export interface RetentionPreview {
  account_id: string;
  classes: { class: string; partitions_dropped: number; partitions_compacted: number; records: number; bytes: number }[];
}

export interface Account {
  id: string;
  name: string;
  created_at: Instant;
  domains: string[];
  processing_restricted: boolean;
  timezone: string;
  limits: AccountLimits;
  servers: number;
  users: number;
}

/** Quotas of an account; null is unlimited. */
export interface AccountLimits {
  max_servers: number | null;
  max_users: number | null;
}

export interface AccountPatch {
  name?: string;
  timezone?: string;
  domains?: string[];
  processing_restricted?: boolean;
  limits?: AccountLimits;
}

export interface LoginSession {
  id: string;
  created_at: Instant;
  expires_at: Instant;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export interface ActivityEntry {
  time: Instant;
  scope: 'account' | 'instance';
  actor: string;
  action: string;
  target: string;
  ip: string | null;
  country: string | null;
}

export interface ActivityPage {
  entries: ActivityEntry[];
  next_cursor: string | null;
}

export interface Slice {
  id: string;
  name: string;
  servers: string[];
  app_regex: string | null;
  stream_regex: string | null;
  timezone: string;
  created_at: Instant;
}

export interface SliceBody {
  name: string;
  servers: string[];
  app_regex: string | null;
  stream_regex: string | null;
  timezone: string;
}

export type AlertKind = 'server_offline' | 'stream_down' | 'stream_up' | 'cpu' | 'ram' | 'viewers' | 'bandwidth';
export type ChannelType = 'webhook' | 'slack' | 'discord' | 'email';

export interface AlertScope {
  server: string | null;
  app: string | null;
  stream: string | null;
}

export interface AlertRule {
  id: string;
  name: string;
  kind: AlertKind;
  scope: AlertScope;
  after_s: number;
  threshold: number | null;
  direction: 'above' | 'below';
  for_s: number;
  cooldown_s: number;
  repeat_s: number;
  muted: boolean;
  channel: { type: ChannelType; url: string | null; to: string | null; secret_set: boolean };
  created_at: Instant;
  firing: number;
}

export interface AlertRuleBody {
  name?: string;
  kind?: AlertKind;
  scope?: Partial<AlertScope>;
  after_s?: number;
  threshold?: number;
  direction?: 'above' | 'below';
  for_s?: number;
  cooldown_s?: number;
  repeat_s?: number;
  muted?: boolean;
  channel?: { type?: ChannelType; url?: string; secret?: string; to?: string };
}

export interface AlertTestResult {
  delivered: boolean;
  status: number | null;
  error: string | null;
}

export interface AlertNotice {
  alert: string;
  rule: string;
  kind: AlertKind;
  state: 'firing' | 'resolved';
  scope: { server: string | null; server_name: string | null; app: string | null; stream: string | null };
  time: Instant;
  message: string;
}

export interface AlertEvent {
  id: string;
  time: Instant;
  channel: ChannelType;
  test: boolean;
  alerts: AlertNotice[];
  delivered: boolean;
  deliveries: { time: Instant; attempt: number; ok: boolean; status: number | null; error: string | null }[];
}
