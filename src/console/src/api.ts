/**
 * The console's one way to call the JSON API: same origin, bearer token from the session,
 * one refresh and retry on 401, and every failure as an ApiError carrying the server's
 * `{error: {code, message, details}}`.
 */
import { bearerToken, refresh } from './session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { issues?: { path: string; message: string }[] } & Record<string, unknown>,
  ) {
    super(message);
  }
  /** "field: message" for each issue the server named, else the message. */
  describe(): string {
    const issues = this.details?.issues ?? [];
    return issues.length ? `${this.message}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}` : this.message;
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** A FormData or Blob sent as is (CSV uploads). */
  raw?: BodyInit;
  signal?: AbortSignal;
}

async function send(method: string, path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = bearerToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined = options.raw;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  return fetch(`/api${withQuery(path, options.query)}`, { method, headers, ...(body !== undefined ? { body } : {}), ...(options.signal ? { signal: options.signal } : {}) });
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  let response = await send(method, path, options);
  if (response.status === 401 && (await refresh())) response = await send(method, path, options);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string; details?: ApiError['details'] } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? 'http_error', error?.message ?? `${response.status} ${response.statusText}`, error?.details);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { ...(query ? { query } : {}), ...(signal ? { signal } : {}) }),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body === undefined ? {} : { body }),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }),
  delete: <T = void>(path: string) => request<T>('DELETE', path),
  upload: <T>(path: string, form: FormData, query?: Query) => request<T>('POST', path, { raw: form, ...(query ? { query } : {}) }),
};

/** Every page of a paged list route (`{<key>: [], total, limit, offset}`), 500 rows at a time. */
export async function getAll<T>(path: string, key: string, query: Query = {}): Promise<T[]> {
  const rows: T[] = [];
  for (let offset = 0; ; ) {
    const page = await api.get<Record<string, unknown> & { total: number; limit: number }>(path, { ...query, limit: 500, offset });
    const items = (page[key] as T[] | undefined) ?? [];
    rows.push(...items);
    offset += page.limit;
    if (items.length === 0 || offset >= page.total) return rows;
  }
}
