// The one place that talks HTTP to the panel. Same origin only, session cookie included; a 401
// anywhere means the session ended, and the app returns to the login screen.
import { actingStore } from '../state/acting';
import { createStore } from '../state/store';

const BASE = '/api/v1';

export type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue>;

/** An error answer from the API, with the server's stable code and the field it concerns. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    /** Seconds to wait, from Retry-After, on 429. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** Bumped whenever a request comes back 401; the app listens and shows the login screen. */
export const sessionExpired = createStore(0);

/**
 * `/api/v1/path?query` — also used for CSV links, so empty values are left out. While an
 * operator works in another account, the request names it (`account=`).
 */
export function apiUrl(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  const acting = actingStore.get();
  if (acting) q.set('account', acting.id);
  for (const [k, v] of Object.entries(query)) {
    if (v == null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return `${BASE}${path}${s ? `?${s}` : ''}`;
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.ceil(secs));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

interface Options {
  query?: Query;
  body?: unknown;
  /** A raw body (an uploaded file) sent with its own Content-Type instead of JSON. */
  raw?: Blob;
  signal?: AbortSignal;
  /** When false a 401 is the caller's business (login), not an expired session. */
  session?: boolean;
}

export async function request<T>(method: string, path: string, options: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: string | Blob | undefined;
  if (options.raw) {
    headers['Content-Type'] = options.raw.type || 'application/octet-stream';
    body = options.raw;
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', '');
  }
  if (res.status === 401 && options.session !== false) {
    sessionExpired.set(sessionExpired.get() + 1);
  }
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = '';
    let field: string | null = null;
    try {
      const data = (await res.json()) as { error?: { code?: string; message?: string; field?: string } };
      code = data.error?.code ?? code;
      message = data.error?.message ?? '';
      field = data.error?.field ?? null;
    } catch {
      /* not JSON: keep the status code */
    }
    throw new ApiError(res.status, code, message, field, parseRetryAfter(res.headers.get('Retry-After')));
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
  request<T>('GET', path, { query, signal });
