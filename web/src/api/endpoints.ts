// One typed function per API call the panel makes.
import { apiUrl, get, request, type Query } from './client';
import type {
  About,
  Account,
  AccountLimits,
  AccountPatch,
  ActivityPage,
  AlertEvent,
  AlertRule,
  AlertRuleBody,
  AlertTestResult,
  LoginSession,
  Slice,
  SliceBody,
  AccountUser,
  ApiToken,
  Invitation,
  InvitationInfo,
  NewApiToken,
  Role,
  TokenScope,
  Billing,
  Breakdown,
  BrandingFields,
  BrandingSettings,
  Daily,
  HookSecretIssued,
  Dimension,
  Live,
  LoginResponse,
  Me,
  Metric,
  NewServer,
  PrivacyNotice,
  RetentionPreview,
  RetentionSettings,
  Scope,
  Server,
  StreamRow,
  Summary,
  TimeSeries,
} from './types';
import type { Bounds } from '../time/range';

const range = (b: Bounds, scope: Scope = {}): Query => ({ from: b.from, to: b.to, ...scope });

export const login = (email: string, password: string, code?: string) =>
  request<LoginResponse>('POST', '/auth/login', {
    body: code ? { email, password, code } : { email, password },
    session: false,
  });
export const logout = () => request<void>('POST', '/auth/logout', { session: false });
export const fetchMe = (signal?: AbortSignal) =>
  request<Me>('GET', '/me', { signal, session: false });
export const fetchAbout = (signal?: AbortSignal) => get<About>('/about', {}, signal);
export const fetchPrivacyNotice = (signal?: AbortSignal) =>
  request<PrivacyNotice>('GET', '/privacy-notice', { signal, session: false });

export const fetchServers = (signal?: AbortSignal) => get<Server[]>('/servers', {}, signal);
export const createServer = (name: string) => request<NewServer>('POST', '/servers', { body: { name } });
export const deleteServer = (id: string) => request<void>('DELETE', `/servers/${encodeURIComponent(id)}`);
export const issueHookSecret = (id: string) =>
  request<HookSecretIssued>('POST', `/servers/${encodeURIComponent(id)}/hooks`);
export const disableHooks = (id: string) => request<void>('DELETE', `/servers/${encodeURIComponent(id)}/hooks`);

export const fetchLive = (scope: Scope = {}, signal?: AbortSignal) => get<Live>('/live', { ...scope }, signal);
export const fetchStreams = (b: Bounds, q: string, signal?: AbortSignal) =>
  get<StreamRow[]>('/streams', { ...range(b), q }, signal);

export const fetchSummary = (b: Bounds, scope: Scope = {}, signal?: AbortSignal) =>
  get<Summary>('/stats/summary', range(b, scope), signal);

export const timeseriesQuery = (metric: Metric, step: number, b: Bounds, scope: Scope = {}): Query => ({
  metric,
  step,
  ...range(b, scope),
});
export const fetchTimeseries = (
  metric: Metric,
  step: number,
  b: Bounds,
  scope: Scope = {},
  signal?: AbortSignal,
) => get<TimeSeries>('/stats/timeseries', timeseriesQuery(metric, step, b, scope), signal);

export const breakdownQuery = (dimension: Dimension, b: Bounds, scope: Scope = {}, limit?: number): Query => ({
  dimension,
  limit,
  ...range(b, scope),
});
export const fetchBreakdown = (
  dimension: Dimension,
  b: Bounds,
  scope: Scope = {},
  limit?: number,
  signal?: AbortSignal,
) => get<Breakdown>('/stats/breakdown', breakdownQuery(dimension, b, scope, limit), signal);

export const dailyQuery = (b: Bounds, tz: string): Query => ({ ...range(b), tz });
export const fetchDaily = (b: Bounds, tz: string, signal?: AbortSignal) =>
  get<Daily>('/stats/daily', dailyQuery(b, tz), signal);
export const fetchBilling = (b: Bounds, signal?: AbortSignal) =>
  get<Billing>('/stats/billing', range(b), signal);

/** Status of an endpoint, for showing navigation to screens the server supports. */
export async function probe(path: string): Promise<boolean> {
  try {
    const res = await fetch(apiUrl(path), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    return res.ok;
  } catch {
    return false;
  }
}

export const fetchTokens = (signal?: AbortSignal) => get<ApiToken[]>('/tokens', {}, signal);
export const createToken = (name: string, scope: TokenScope, expiresAt: string | null) =>
  request<NewApiToken>('POST', '/tokens', { body: expiresAt ? { name, scope, expires_at: expiresAt } : { name, scope } });
export const deleteToken = (id: string) => request<void>('DELETE', `/tokens/${encodeURIComponent(id)}`);

const usersPath = (account: string) => `/accounts/${encodeURIComponent(account)}/users`;
export const fetchUsers = (account: string, signal?: AbortSignal) => get<AccountUser[]>(usersPath(account), {}, signal);
export const createUser = (account: string, body: { email: string; password: string; role: Role; name?: string }) =>
  request<AccountUser>('POST', usersPath(account), { body });
/** Only viewers and billing users may be limited to slices: other roles drop their limits. */
export const updateUserRole = (account: string, id: string, role: Role) =>
  request<AccountUser>('PATCH', `${usersPath(account)}/${encodeURIComponent(id)}`, {
    body: role === 'viewer' || role === 'billing' ? { role } : { role, slices: [] },
  });
export const updateUserSlices = (account: string, id: string, slices: string[]) =>
  request<AccountUser>('PATCH', `${usersPath(account)}/${encodeURIComponent(id)}`, { body: { slices } });
export const deleteUser = (account: string, id: string) =>
  request<void>('DELETE', `${usersPath(account)}/${encodeURIComponent(id)}`);

export const fetchInvitations = (signal?: AbortSignal) => get<Invitation[]>('/invitations', {}, signal);
export const createInvitation = (email: string, role: Role, slices: string[] = []) =>
  request<Invitation>('POST', '/invitations', { body: slices.length ? { email, role, slices } : { email, role } });
export const deleteInvitation = (id: string) => request<void>('DELETE', `/invitations/${encodeURIComponent(id)}`);

export const fetchInvitationInfo = (token: string, signal?: AbortSignal) =>
  request<InvitationInfo>('GET', `/invitations/${encodeURIComponent(token)}`, { signal, session: false });
export const acceptInvitation = (token: string, password: string, name: string) =>
  request<LoginResponse>('POST', `/invitations/${encodeURIComponent(token)}/accept`, {
    body: name ? { password, name } : { password },
    session: false,
  });

export const fetchBrandingSettings = (signal?: AbortSignal) => get<BrandingSettings>('/branding/settings', {}, signal);
export const saveBranding = (fields: Partial<BrandingFields>) =>
  request<BrandingSettings>('PUT', '/branding', { body: fields });
export const uploadLogo = (file: File) => request<BrandingSettings>('PUT', '/branding/logo', { raw: file });
export const deleteLogo = () => request<BrandingSettings>('DELETE', '/branding/logo');

/** `instance`: the operator's instance values (every account's defaults and maxima). */
export type RetentionScope = 'account' | 'instance';
const retentionQuery = (scope: RetentionScope): Query => (scope === 'instance' ? { scope } : {});
export const fetchRetention = (scope: RetentionScope, signal?: AbortSignal) =>
  get<RetentionSettings>('/settings/retention', retentionQuery(scope), signal);
export const saveRetention = (scope: RetentionScope, values: Record<string, number>) =>
  request<RetentionSettings>('PUT', '/settings/retention', { body: values, query: retentionQuery(scope) });
export const previewRetention = (scope: RetentionScope, values: Record<string, number>) =>
  request<RetentionPreview>('POST', '/settings/retention/preview', { body: values, query: retentionQuery(scope) });
export const eraseMe = () => request<unknown>('DELETE', '/me', { session: false });

export const fetchAccounts = (signal?: AbortSignal) => get<Account[]>('/accounts', {}, signal);
export const createAccount = (body: { name: string; domains: string[]; timezone: string; limits: AccountLimits }) =>
  request<Account>('POST', '/accounts', { body });
export const updateAccount = (id: string, body: AccountPatch) =>
  request<Account>('PATCH', `/accounts/${encodeURIComponent(id)}`, { body });
export const eraseAccount = (id: string) =>
  request<unknown>('DELETE', `/accounts/${encodeURIComponent(id)}`, { query: { confirm: id } });

export const updateProfile = (body: { name?: string; email?: string; current_password?: string }) =>
  request<Me>('PATCH', '/me', { body });
export const changePassword = (current_password: string, new_password: string) =>
  request<void>('PUT', '/me/password', { body: { current_password, new_password } });

export const startTotp = () => request<{ secret: string; otpauth_uri: string }>('POST', '/me/totp');
export const confirmTotp = (code: string) => request<{ totp_enabled: boolean }>('POST', '/me/totp/confirm', { body: { code } });
export const disableTotp = (password: string) => request<void>('DELETE', '/me/totp', { body: { password } });

export const fetchSessions = (signal?: AbortSignal) => get<LoginSession[]>('/me/sessions', {}, signal);
export const revokeSession = (id: string) => request<void>('DELETE', `/me/sessions/${encodeURIComponent(id)}`);

export const fetchActivity = (q: Query, signal?: AbortSignal) => get<ActivityPage>('/activity', q, signal);

export const fetchSlices = (signal?: AbortSignal) => get<Slice[]>('/slices', {}, signal);
export const createSlice = (body: SliceBody) => request<Slice>('POST', '/slices', { body });
export const updateSlice = (id: string, body: SliceBody) =>
  request<Slice>('PATCH', `/slices/${encodeURIComponent(id)}`, { body });
export const deleteSlice = (id: string) => request<void>('DELETE', `/slices/${encodeURIComponent(id)}`);

export const fetchAlerts = (signal?: AbortSignal) => get<AlertRule[]>('/alerts', {}, signal);
export const createAlert = (body: AlertRuleBody) => request<AlertRule>('POST', '/alerts', { body });
export const updateAlert = (id: string, body: AlertRuleBody) =>
  request<AlertRule>('PATCH', `/alerts/${encodeURIComponent(id)}`, { body });
export const deleteAlert = (id: string) => request<void>('DELETE', `/alerts/${encodeURIComponent(id)}`);
export const testAlert = (id: string) => request<AlertTestResult>('POST', `/alerts/${encodeURIComponent(id)}/test`);
export const fetchAlertEvents = (signal?: AbortSignal) =>
  get<{ events: AlertEvent[] }>('/alerts/events', { limit: 100 }, signal);
