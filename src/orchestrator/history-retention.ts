/**
 * Nightly deletion of raw history past its retention period (config `retention`): tracking
 * events (opens, clicks), send logs and sink messages. The statistics do not read these tables
 * (they come from the rollups of migration 0027, whose per-row firsts are sticky), so deleting
 * never changes a figure. Deletes go in batches by the indexed time column, each its own short
 * transaction, so the hot paths writing to the same tables never wait long on them.
 * Inbound messages and resolved alerts have their own jobs (schedules.ts).
 */
import { sql } from 'kysely';
import type { Db } from '../db/connection';

export interface RetentionSettings {
  trackingEventsDays: number;
  sendLogsDays: number;
  sinkMessagesDays: number;
  deleteBatchSize: number;
}

export interface RetentionResult {
  openEvents: number;
  clickEvents: number;
  sendLogs: number;
  sinkMessages: number;
}

const DAY_MS = 86_400_000;

/** Table and time column of each kind of history (fixed names, never user input). */
const TARGETS = {
  openEvents: ['open_events', 'occurred_at', 'trackingEventsDays'],
  clickEvents: ['click_events', 'occurred_at', 'trackingEventsDays'],
  sendLogs: ['send_logs', 'created_at', 'sendLogsDays'],
  sinkMessages: ['sink_messages', 'received_at', 'sinkMessagesDays'],
} as const;

export async function purgeHistory(db: Db, settings: RetentionSettings, now: Date): Promise<RetentionResult> {
  const result: RetentionResult = { openEvents: 0, clickEvents: 0, sendLogs: 0, sinkMessages: 0 };
  for (const [key, [table, column, period]] of Object.entries(TARGETS) as Array<[keyof RetentionResult, (typeof TARGETS)[keyof typeof TARGETS]]>) {
    const cutoff = new Date(now.getTime() - settings[period] * DAY_MS);
    for (;;) {
      const deleted = await db.transaction().execute(async (tx) => {
        // send_logs is append-only; its trigger lets the retention job (only) delete.
        if (table === 'send_logs') await sql`set local outreach.retention = 'on'`.execute(tx);
        const { numAffectedRows } = await sql`
          delete from ${sql.table(table)} where id in (
            select id from ${sql.table(table)} where ${sql.ref(column)} < ${cutoff} order by ${sql.ref(column)} limit ${settings.deleteBatchSize})`.execute(tx);
        return Number(numAffectedRows ?? 0);
      });
      result[key] += deleted;
      if (deleted < settings.deleteBatchSize) break;
    }
  }
  return result;
}
