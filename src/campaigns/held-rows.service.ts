/**
 * An operator settles a campaign's held rows (the sweeper could not tell whether they went out,
 * queue/held.repository.ts): `delivered` makes them sent (their follow-ups are queued), `resend`
 * queues them again now with the same Message-ID (their limit reservations are given back; the
 * next claim reserves anew). One transaction; a send_logs row per row and one audit row say who
 * decided what. Rows not held (any more) are left alone and reported as such.
 */
import type { Db } from '../db/connection';
import { listHeldRowIds, settleHeldRow } from '../queue/held.repository';
import { enqueueFollowUps, sentForFollowUp } from '../queue/enqueue';
import { releaseClaimerReservation } from '../sending/reservations';
import { insertSendLogs } from '../sending/send-log.repository';

export type HeldDecision = 'delivered' | 'resend';

export interface HeldResolution {
  settled: number[];
  /** Asked for but not held (already settled, or never held). */
  notHeld: number[];
}

export async function resolveHeldRows(
  db: Db,
  request: { campaignId: string; clientId: string; ids?: number[]; decision: HeldDecision; userId: string; now: Date },
): Promise<HeldResolution> {
  return db.transaction().execute(async (tx) => {
    const held = await listHeldRowIds(tx, request.campaignId, request.ids);
    const note = request.decision === 'delivered' ? 'operator: delivered' : 'operator: not delivered, sent again';
    const settled: number[] = [];
    for (const id of held) {
      const row = await settleHeldRow(tx, id, request.decision === 'delivered' ? 'sent' : 'queued', request.now, note);
      if (!row) continue;
      settled.push(row.id);
      await insertSendLogs(tx, [
        { queueId: row.id, clientId: row.client_id, campaignId: row.campaign_id, accountId: row.claimed_by_account_id, messageId: row.message_id, attempt: row.attempts, outcome: 'reconciled', response: note, at: request.now },
      ]);
      if (request.decision === 'delivered') {
        await enqueueFollowUps(tx, [sentForFollowUp(row, row.claimed_by_account_id ?? row.account_id ?? '', request.now)]);
      } else {
        await releaseClaimerReservation(tx, row);
      }
    }
    if (settled.length > 0) {
      await tx
        .insertInto('audit_log')
        .values({
          client_id: request.clientId,
          actor_type: 'user',
          actor_id: request.userId,
          action: 'queue.held_resolved',
          entity_type: 'campaign',
          entity_id: request.campaignId,
          details: JSON.stringify({ decision: request.decision, rows: settled }),
          created_at: request.now,
        })
        .execute();
    }
    const notHeld = (request.ids ?? []).filter((id) => !settled.includes(id));
    return { settled, notHeld };
  });
}
