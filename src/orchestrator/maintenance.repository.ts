/** Housekeeping SQL run by the schedules: old limit counters, stale alerts, account zones. */
import { resolveAlertById } from '../alerts/alerts';
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
 * Resolves 'worker_crashed' alerts whose account runs again (however it was set active; with
 * a "resolved" message where the alert went), and deletes resolved alerts (their messages with
 * them) and test messages older than `retentionDays`.
 */
export async function cleanUpAlerts(db: DbOrTx, retentionDays: number): Promise<{ resolved: number; deleted: number }> {
  const running = await db
    .selectFrom('alerts')
    .select('id')
    .where('resolved_at', 'is', null)
    .where('code', '=', 'worker_crashed')
    .where(sql<boolean>`account_id in (select id from sender_accounts where status = 'active')`)
    .execute();
  let resolved = 0;
  for (const { id } of running) if (await resolveAlertById(db, Number(id), new Date())) resolved += 1;
  const cutoff = sql<Date>`now() - make_interval(days => ${retentionDays})`;
  const deleted = await db.deleteFrom('alerts').where('resolved_at', '<', cutoff).executeTakeFirst();
  await db.deleteFrom('alert_deliveries').where('alert_id', 'is', null).where('created_at', '<', cutoff).execute();
  return { resolved, deleted: Number(deleted.numDeletedRows) };
}

export async function listAccountTimeZones(db: DbOrTx): Promise<string[]> {
  const rows = await db.selectFrom('sender_accounts').select('time_zone').distinct().execute();
  return rows.map((r) => r.time_zone);
}
