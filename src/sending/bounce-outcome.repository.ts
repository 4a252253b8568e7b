/** Side effects of a bounce (a recipient_hard or recipient_soft result): the bounce row and the contact's status. */
import type { DbOrTx } from '../db/connection';
import type { CampaignContactStatus } from '../db/database';

/** The bounce row, whether the SMTP answer said so or a DSN / ESP event (inboundMessageId) came back. */
export async function insertBounce(
  db: DbOrTx,
  bounce: { type: 'hard' | 'soft'; clientId: string; queueId: number; accountId: string | null; email: string; code: string | null; diagnostic: string; inboundMessageId?: number; at: Date },
): Promise<number> {
  const row = await db
    .insertInto('bounces')
    .values({
      client_id: bounce.clientId,
      queue_id: bounce.queueId,
      account_id: bounce.accountId,
      email: bounce.email,
      bounce_type: bounce.type,
      code: bounce.code,
      diagnostic: bounce.diagnostic,
      source: bounce.inboundMessageId === undefined ? 'smtp_reply' : `inbound:${bounce.inboundMessageId}`,
      inbound_message_id: bounce.inboundMessageId ?? null,
      received_at: bounce.at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Moves an active campaign contact to `status` (a finished or replied one keeps its own). */
export async function setCampaignContactStatus(db: DbOrTx, campaignId: string, contactId: string, status: CampaignContactStatus): Promise<void> {
  await db
    .updateTable('campaign_contacts')
    .set({ status })
    .where('campaign_id', '=', campaignId)
    .where('contact_id', '=', contactId)
    .where('status', 'in', ['active', 'finished'])
    .execute();
}
