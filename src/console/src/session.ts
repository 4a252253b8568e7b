/**
 * The signed-in session. The access token lives only in memory (a script injected into the
 * page could not read it from storage); the refresh token is kept in sessionStorage so a
 * reload of this tab stays signed in, and is used up at every refresh (the server rotates it).
 * Tokens are refreshed shortly before the access token expires and once on a 401.
 */
import { useEffect, useState } from 'preact/hooks';

export type Role = 'owner' | 'client_admin' | 'client_viewer';
export interface User {
  userId: string;
  email: string;
  role: Role;
  clientId: string | null;
}
interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

const REFRESH_KEY = 'outreach.refreshToken';
let accessToken: string | null = null;
let user: User | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

const notify = () => listeners.forEach((listener) => listener());

export const currentUser = (): User | null => user;
export const bearerToken = (): string | null => accessToken;
/** Owners and client admins may change things; a client viewer only reads. */
export const canWrite = (u: User | null = user): boolean => u !== null && u.role !== 'client_viewer';
export const isOwner = (u: User | null = user): boolean => u?.role === 'owner';

async function postJson<T>(path: string, body: unknown): Promise<{ ok: boolean; status: number; data: T }> {
  const response = await fetch(`/api${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = (await response.json().catch(() => ({}))) as T;
  return { ok: response.ok, status: response.status, data };
}

async function adopt(pair: TokenPair): Promise<void> {
  accessToken = pair.accessToken;
  sessionStorage.setItem(REFRESH_KEY, pair.refreshToken);
  clearTimeout(refreshTimer);
  // A minute early (or at half its life when it is short), so requests never carry an expired token.
  const lead = Math.min(60, pair.expiresIn / 2);
  refreshTimer = setTimeout(() => void refresh(), Math.max(5, pair.expiresIn - lead) * 1000);
  const me = await fetch('/api/auth/me', { headers: { authorization: `Bearer ${accessToken}` } });
  if (!me.ok) throw new Error('could not read the signed-in user');
  user = (await me.json()) as User;
  notify();
}

export async function login(email: string, password: string): Promise<string | null> {
  const { ok, status, data } = await postJson<TokenPair & { error?: { message: string } }>('/auth/login', { email, password });
  if (!ok) return data.error?.message ?? (status === 401 ? 'Wrong email or password' : `Login failed (${status})`);
  await adopt(data);
  return null;
}

/** Exchanges the stored refresh token for a new pair; false when there is none or it was refused. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const stored = sessionStorage.getItem(REFRESH_KEY);
    if (!stored) return false;
    const { ok, data } = await postJson<TokenPair>('/auth/refresh', { refreshToken: stored }).catch(() => ({ ok: false, data: null }));
    if (!ok || !data) {
      forget();
      return false;
    }
    await adopt(data);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function forget(): void {
  accessToken = null;
  user = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
  notify();
}

export async function logout(): Promise<void> {
  const stored = sessionStorage.getItem(REFRESH_KEY);
  forget();
  if (stored) await postJson('/auth/logout', { refreshToken: stored }).catch(() => undefined);
}

/** Adopts a token pair the server handed out elsewhere (a password change revokes other sessions and returns a new pair). */
export const adoptTokens = (pair: TokenPair): Promise<void> => adopt(pair);

/** The signed-in user, re-rendering when it changes (sign-in, sign-out, expiry). */
export function useUser(): User | null {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((n) => n + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return user;
}
