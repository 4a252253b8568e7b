/**
 * Undoing what an inbound message did (its stored AppliedEffects, newest first), when a person
 * reclassifies it. Each undo is guarded so it only takes back what this message did and what
 * has not changed since: a suppression still carrying this message as its source, a membership
 * still in the status this message gave it, rows still cancelled with this message's marker or
 * still held to this message's date, a mailbox still paused for this message's reason.
 * A sender domain paused for its authentication stays paused: its DNS was refused whatever
 * this message turns out to be.
 */
import { resolveAccountAlerts, resolveAlertById } from '../alerts/alerts';
import type { DbOrTx } from '../db/connection';
import { insertAudit } from '../sending/account-state.repository';
import type { AppliedEffect } from './applied-effect';

export async function undoEffects(tx: DbOrTx, inboundId: number, effects: readonly AppliedEffect[], now: Date): Promise<AppliedEffect[]> {
  const undone: AppliedEffect[] = [];
  for (const effect of [...effects].reverse()) {
    if (await undoOne(tx, inboundId, effect, now)) undone.push(effect);
  }
  return undone;
}

async function undoOne(tx: DbOrTx, inboundId: number, effect: AppliedEffect, now: Date): Promise<boolean> {
  switch (effect.type) {
    case 'bounce':
      return affected(await tx.deleteFrom('bounces').where('id', '=', effect.bounceId).where('inbound_message_id', '=', inboundId).executeTakeFirst());
    case 'complaint':
      return affected(await tx.deleteFrom('complaints').where('id', '=', effect.complaintId).where('inbound_message_id', '=', inboundId).executeTakeFirst());
    case 'reply':
      return affected(await tx.deleteFrom('replies').where('id', '=', effect.replyId).where('inbound_message_id', '=', inboundId).executeTakeFirst());
    case 'suppression':
      return affected(
        await tx.deleteFrom('suppressions').where('client_id', '=', effect.clientId).where('email', '=', effect.email).where('source', '=', `inbound:${inboundId}`).executeTakeFirst(),
      );
    case 'contact_status': {
      let changed = 0;
      for (const c of effect.campaigns) {
        const result = await tx
          .updateTable('campaign_contacts')
          .set({ status: c.from })
          .where('campaign_id', '=', c.campaignId)
          .where('contact_id', '=', effect.contactId)
          .where('status', '=', effect.to)
          .executeTakeFirst();
        changed += Number(result.numUpdatedRows);
      }
      return changed > 0;
    }
    case 'queue_cancelled':
      return affected(
        await tx
          .updateTable('email_queue')
          .set({ status: 'queued', last_error: null, updated_at: now })
          .where('id', 'in', effect.queueIds)
          .where('status', '=', 'cancelled')
          .where('last_error', '=', effect.marker)
          .executeTakeFirst(),
      );
    case 'queue_delayed': {
      let changed = 0;
      for (const row of effect.rows) {
        const result = await tx
          .updateTable('email_queue')
          .set({ run_after: new Date(row.from), updated_at: now })
          .where('id', '=', row.id)
          .where('status', '=', 'queued')
          .where('run_after', '=', new Date(effect.until))
          .executeTakeFirst();
        changed += Number(result.numUpdatedRows);
      }
      return changed > 0;
    }
    case 'account_paused': {
      const resumed = await tx
        .updateTable('sender_accounts')
        .set({ status: 'active', pause_reason: null, paused_until: null, probe_pending: false, updated_at: now })
        .where('id', '=', effect.accountId)
        .where('status', '=', 'paused')
        .where('pause_reason', '=', effect.reason)
        .returning('client_id')
        .executeTakeFirst();
      if (!resumed) return false;
      await resolveAccountAlerts(tx, { clientId: resumed.client_id, accountId: effect.accountId }, now);
      await insertAudit(tx, { clientId: resumed.client_id, actorId: effect.accountId, action: 'account.resumed', entityType: 'sender_account', entityId: effect.accountId, details: { after: 'inbound_reclassified', inboundMessageId: inboundId }, now });
      return true;
    }
    case 'alert':
      return resolveAlertById(tx, effect.alertId, now);
    case 'domain_paused':
      return false;
  }
}

function affected(result: { numDeletedRows?: bigint; numUpdatedRows?: bigint }): boolean {
  return Number(result.numDeletedRows ?? result.numUpdatedRows ?? 0) > 0;
}
