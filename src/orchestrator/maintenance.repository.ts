/** Housekeeping SQL run by the schedules: old limit counters, stale alerts, account zones. */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

/** Counter windows older than `retentionDays` can no longer affect any limit. */
export async function pruneRateCounters(db: DbOrTx, retentionDays: number): Promise<number> {
  const result = await db
    .deleteFrom('rate_counters')
    .where('window_start', '<', sql<Date>`now() - make_interval(days => ${retentionDays})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Resolves 'worker_crashed' alerts whose account runs again, and deletes resolved alerts
 * older than `retentionDays`.
 */
export async function cleanUpAlerts(db: DbOrTx, retentionDays: number): Promise<{ resolved: number; deleted: number }> {
  const resolved = await db
    .updateTable('alerts')
    .set({ resolved_at: sql`now()` })
    .where('resolved_at', 'is', null)
    .where('code', '=', 'worker_crashed')
    .where(sql<boolean>`account_id in (select id from sender_accounts where status = 'active')`)
    .executeTakeFirst();
  const deleted = await db
    .deleteFrom('alerts')
    .where('resolved_at', '<', sql<Date>`now() - make_interval(days => ${retentionDays})`)
    .executeTakeFirst();
  return { resolved: Number(resolved.numUpdatedRows), deleted: Number(deleted.numDeletedRows) };
}

export async function listAccountTimeZones(db: DbOrTx): Promise<string[]> {
  const rows = await db.selectFrom('sender_accounts').select('time_zone').distinct().execute();
  return rows.map((r) => r.time_zone);
}
