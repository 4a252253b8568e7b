/**
 * The fleet table's data: the account as GET /api/accounts shows it, and the search, filters
 * and sort applied in the browser (the whole fleet, ~1,200 rows, is loaded once per refresh,
 * so a keystroke narrows it without a round trip).
 */
import { api } from '../api';
import type { SortState } from '../components/virtual-table';

export interface Account {
  id: string;
  clientId: string;
  email: string;
  displayName: string;
  transport: 'smtp' | 'gmail' | 'sink';
  status: string;
  pauseReason: string | null;
  dailyLimit: number;
  hourlyLimit: number;
  minGapSeconds: number;
  healthScore: number;
  timeZone: string;
  warmupDay: number | null;
  effectiveDailyLimit: number;
  sentToday: number;
  nextSendAt: string | null;
  waitReason: string | null;
  worker: { state: string; stale: boolean; lastHeartbeatAt: string; sent: number | null; nodeId?: string | null } | null;
  lastError: { at: string; outcome: string; reason: string | null; code: number | null; enhancedCode: string | null; response: string | null } | null;
}

const PAGE = 500;
/** Small, so the first rows show after one short request; the rest come in full pages at once. */
const FIRST_PAGE = 100;

/**
 * The whole fleet: the first page says how many there are, then the other pages are fetched
 * at once rather than one after another (getAll's way), which halves the wait for 1,200.
 * `onFirstPage` gets the first page as soon as it is in, so the table shows while the rest loads.
 */
export async function loadFleet(signal?: AbortSignal, onFirstPage?: (accounts: Account[], total: number) => void): Promise<Account[]> {
  const first = await api.get<{ accounts: Account[]; total: number }>('/accounts', { limit: FIRST_PAGE, offset: 0 }, signal);
  if (first.total > first.accounts.length) onFirstPage?.(first.accounts, first.total);
  const offsets: number[] = [];
  for (let offset = FIRST_PAGE; offset < first.total; offset += PAGE) offsets.push(offset);
  const rest = await Promise.all(offsets.map((offset) => api.get<{ accounts: Account[] }>('/accounts', { limit: PAGE, offset }, signal)));
  // Pages are cut from one ordering (by address); an account added between the requests may
  // shift a row across a page edge, so keep each id once.
  const seen = new Set<string>();
  return [first, ...rest].flatMap((page) => page.accounts).filter((a) => !seen.has(a.id) && seen.add(a.id));
}

export interface FleetFilter {
  search: string;
  status: string;
  domain: string;
  clientId: string;
  transport: string;
}

export const NO_FILTER: FleetFilter = { search: '', status: '', domain: '', clientId: '', transport: '' };
export const STATUSES = ['active', 'paused', 'suspended', 'disabled', 'crashed'];
export const TRANSPORTS = ['smtp', 'gmail', 'sink'];

export const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

export function applyFilter(accounts: Account[], filter: FleetFilter): Account[] {
  const needle = filter.search.trim().toLowerCase();
  return accounts.filter(
    (a) =>
      (!needle || a.email.includes(needle)) &&
      (!filter.status || a.status === filter.status) &&
      (!filter.domain || domainOf(a.email) === filter.domain) &&
      (!filter.clientId || a.clientId === filter.clientId) &&
      (!filter.transport || a.transport === filter.transport),
  );
}

type SortValue = string | number;
export const SORT_KEYS: Record<string, (a: Account, clientName: (id: string) => string) => SortValue> = {
  email: (a) => a.email,
  client: (a, clientName) => clientName(a.clientId),
  status: (a) => `${a.status} ${a.pauseReason ?? ''}`,
  health: (a) => a.healthScore,
  warmup: (a) => a.warmupDay ?? -1,
  sent: (a) => a.sentToday,
  next: (a) => (a.nextSendAt ? Date.parse(a.nextSendAt) : Number.MAX_SAFE_INTEGER),
  error: (a) => (a.lastError ? Date.parse(a.lastError.at) : 0),
  worker: (a) => (a.worker ? `${a.worker.stale ? 'z' : ''}${a.worker.state}` : '~'),
};

export function applySort(accounts: Account[], sort: SortState, clientName: (id: string) => string): Account[] {
  const value = SORT_KEYS[sort.key];
  if (!value) return accounts;
  const sign = sort.direction === 'ascending' ? 1 : -1;
  const keyed = accounts.map((a) => [value(a, clientName), a] as const);
  keyed.sort(([x, a], [y, b]) => sign * (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) || a.email.localeCompare(b.email));
  return keyed.map(([, a]) => a);
}

/** Why a mailbox waits, in words (account-activity.ts lists the codes). */
export function describeWait(reason: string | null): string {
  if (!reason) return '';
  if (reason === 'min_gap') return 'minimum gap';
  if (reason === 'nothing_due') return 'nothing due';
  if (reason === 'outside_window') return 'outside window';
  if (reason.startsWith('limit:')) return `limit ${reason.slice(6)}`;
  return reason.replace(/_/g, ' ');
}
