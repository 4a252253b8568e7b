/**
 * orchestrator.maxWorkers: how many worker processes one node runs at most (online or
 * starting). When more accounts want one, those whose next row is due soonest get a slot
 * first; the others wait until a worker exits (workers exit when their next send is further
 * away than the keep-alive, see README "Workers that come and go"), and the exit's reconcile
 * starts the next.
 *
 * "auto" (the default) sizes the cap from the machine's memory: what is left after
 * AUTO_RESERVED_BYTES for the OS, a local Postgres and the server, at AUTO_BYTES_PER_WORKER
 * each. Why these: a worker measured 9.8 MB PSS in the 1,200 fleet and 12.8–16.5 MB alone; the
 * server restarts above 1 GB (ecosystem.config.js). A 4 GB t3.medium / B2s (≈3.8 GiB
 * visible) gets ≈190, inside the 150–200 the README sizes it for; a 16 GB machine ≈1,230, so a
 * fleet of 1,200 resident workers sized per the README is not cut; null: no cap.
 */
import os from 'node:os';

export const AUTO_RESERVED_BYTES = 1.5 * 2 ** 30;
export const AUTO_BYTES_PER_WORKER = 12 * 2 ** 20;

export type MaxWorkersSetting = number | 'auto' | null;

/** The cap in workers, or null for none. */
export function resolveMaxWorkers(setting: MaxWorkersSetting, totalMemoryBytes = os.totalmem()): number | null {
  if (setting === null) return null;
  if (setting !== 'auto') return setting;
  return Math.max(1, Math.floor((totalMemoryBytes - AUTO_RESERVED_BYTES) / AUTO_BYTES_PER_WORKER));
}

/**
 * Of the accounts that want a worker, the ones to start now with `slots` free: soonest due
 * first (an account whose due time is unknown last), ties by id so the order is stable.
 */
export function pickWithinCap<T extends { accountId: string }>(wanting: T[], slots: number, dueMs: ReadonlyMap<string, number>): { start: T[]; waiting: T[] } {
  if (wanting.length <= slots) return { start: wanting, waiting: [] };
  const due = (a: T) => dueMs.get(a.accountId) ?? Number.POSITIVE_INFINITY;
  const ordered = [...wanting].sort((a, b) => due(a) - due(b) || (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  const free = Math.max(0, slots);
  return { start: ordered.slice(0, free), waiting: ordered.slice(free) };
}
