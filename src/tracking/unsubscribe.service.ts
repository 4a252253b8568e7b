/**
 * Unsubscribing, synchronously and in one transaction: the suppression, the campaign
 * memberships and the waiting queue rows change together before the response is sent, so
 * the next claim can no longer pick this contact (invariant 4).
 */
import type { Db } from '../db/connection';
import { addSuppression } from '../suppressions/suppression.repository';
import { findRecipientOfMessage, stopContact, type RecipientOfMessage } from './tracking.repository';

export type UnsubscribeSource = 'one_click' | 'unsubscribe_page';

export interface UnsubscribeResult {
  recipient: RecipientOfMessage;
  newlySuppressed: boolean;
  cancelledQueueRows: number;
}

export async function unsubscribeByQueueRow(db: Db, queueId: number, source: UnsubscribeSource): Promise<UnsubscribeResult | undefined> {
  return db.transaction().execute(async (tx) => {
    const recipient = await findRecipientOfMessage(tx, queueId);
    if (!recipient) return undefined;
    const newlySuppressed = await addSuppression(tx, {
      clientId: recipient.clientId,
      email: recipient.email,
      reason: 'unsubscribed',
      source: `${source}:campaign:${recipient.campaignId}`,
    });
    const { cancelledQueueRows } = await stopContact(tx, recipient.clientId, recipient.contactId);
    return { recipient, newlySuppressed, cancelledQueueRows };
  });
}
