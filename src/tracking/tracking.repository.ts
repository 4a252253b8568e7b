/** Reads behind the public tracking endpoints, and the unsubscribe write. */
import type { DbOrTx } from '../db/connection';

/**
 * The stored target of a tracked link, only if that link belongs to the campaign step the
 * queue row was sent for: a valid token for one message cannot be turned into a redirect
 * to another campaign's link.
 */
export async function findClickTarget(db: DbOrTx, queueId: number, linkId: number): Promise<string | undefined> {
  const row = await db
    .selectFrom('links as l')
    .innerJoin('email_queue as q', (join) =>
      join.onRef('q.campaign_id', '=', 'l.campaign_id').onRef('q.step_id', '=', 'l.step_id').onRef('q.client_id', '=', 'l.client_id'),
    )
    .select('l.url')
    .where('l.id', '=', linkId)
    .where('q.id', '=', queueId)
    .executeTakeFirst();
  return row?.url;
}

export interface RecipientOfMessage {
  queueId: number;
  clientId: string;
  clientName: string;
  campaignId: string;
  contactId: string;
  email: string;
}

export async function findRecipientOfMessage(db: DbOrTx, queueId: number): Promise<RecipientOfMessage | undefined> {
  const row = await db
    .selectFrom('email_queue as q')
    .innerJoin('clients as c', 'c.id', 'q.client_id')
    .select(['q.id', 'q.client_id', 'c.name', 'q.campaign_id', 'q.contact_id', 'q.to_email'])
    .where('q.id', '=', queueId)
    .executeTakeFirst();
  return row && { queueId: row.id, clientId: row.client_id, clientName: row.name, campaignId: row.campaign_id, contactId: row.contact_id, email: row.to_email };
}

/**
 * Stops every sequence of this contact for its client: campaign memberships become
 * `unsubscribed` and rows still waiting in the queue are cancelled. Rows already claimed are
 * left to their worker, which checks suppressions before handing a message over.
 */
export async function stopContact(db: DbOrTx, clientId: string, contactId: string): Promise<{ cancelledQueueRows: number }> {
  await db
    .updateTable('campaign_contacts')
    .set({ status: 'unsubscribed' })
    .where('contact_id', '=', contactId)
    .where('status', '=', 'active')
    .execute();
  const cancelled = await db
    .updateTable('email_queue')
    .set({ status: 'cancelled', last_error: 'unsubscribed', updated_at: new Date() })
    .where('client_id', '=', clientId)
    .where('contact_id', '=', contactId)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return { cancelledQueueRows: Number(cancelled.numUpdatedRows) };
}
