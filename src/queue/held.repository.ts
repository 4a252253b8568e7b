/**
 * Rows `held` for an operator: the sweeper could not tell whether they were delivered (a relay
 * with no Sent mail to search). An operator settles them: delivered (`sent`) or not (`queued`
 * again, to be sent anew with the same Message-ID).
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { RETURNED_COLUMNS, type TransitionedRow } from './queue.repository';

/** The campaign's held rows, or those of `ids` that are held (others are ignored). */
export async function listHeldRowIds(db: DbOrTx, campaignId: string, ids?: number[]): Promise<number[]> {
  let query = db.selectFrom('email_queue').select('id').where('campaign_id', '=', campaignId).where('status', '=', 'held');
  if (ids) query = query.where('id', '=', sql<number>`any(${ids}::bigint[])`);
  return (await query.orderBy('id').execute()).map((r) => r.id);
}

/** held → sent (delivered) or queued (not delivered: sent anew now); guarded by status. */
export async function settleHeldRow(db: DbOrTx, id: number, to: 'sent' | 'queued', now: Date, note: string): Promise<TransitionedRow | undefined> {
  const result = await sql<TransitionedRow>`
    update email_queue q
    set status = ${to},
        sent_at = case when ${to} = 'sent' then coalesce(q.sent_at, ${now}::timestamptz) else q.sent_at end,
        attempts = case when ${to} = 'sent' then q.attempts + 1 else q.attempts end,
        run_after = case when ${to} = 'queued' then ${now}::timestamptz else q.run_after end,
        lease_token = null, lease_expires_at = null, last_error = ${note}, updated_at = ${now}
    where q.id = ${id} and q.status = 'held'
    returning ${sql.join(RETURNED_COLUMNS.map((c) => sql.ref(`q.${c}`)))}
  `.execute(db);
  return result.rows[0];
}
