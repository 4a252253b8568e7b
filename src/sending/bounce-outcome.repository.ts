/** Side effects of a bounce (a recipient_hard or recipient_soft result): the bounce row and the contact's status. */
import type { DbOrTx } from '../db/connection';
import type { CampaignContactStatus } from '../db/database';

export async function insertBounce(
  db: DbOrTx,
  bounce: { type: 'hard' | 'soft'; clientId: string; queueId: number; accountId: string; email: string; code: string | null; diagnostic: string; at: Date },
): Promise<void> {
  await db
    .insertInto('bounces')
    .values({
      client_id: bounce.clientId,
      queue_id: bounce.queueId,
      account_id: bounce.accountId,
      email: bounce.email,
      bounce_type: bounce.type,
      code: bounce.code,
      diagnostic: bounce.diagnostic,
      source: 'smtp_reply',
      received_at: bounce.at,
    })
    .execute();
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
