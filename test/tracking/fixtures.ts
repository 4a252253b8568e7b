/**
 * A client with one campaign of two steps and a contact: step 1 sent (at `sentAt`), step 2
 * still queued, plus a stored link on step 1. What the tracking endpoints act on.
 */
import crypto from 'node:crypto';
import type { Db } from '../../src/db/connection';

export interface SentMessage {
  clientId: string;
  campaignId: string;
  contactId: string;
  stepIds: [string, string];
  sentQueueId: number;
  followUpQueueId: number;
  linkId: number;
  email: string;
}

export async function seedSentMessage(db: Db, options: { email?: string; clientId?: string; sentAt?: Date; linkUrl?: string } = {}): Promise<SentMessage> {
  const tag = crypto.randomBytes(4).toString('hex');
  const email = options.email ?? `reader-${tag}@example.com`;
  const clientId =
    options.clientId ?? (await db.insertInto('clients').values({ name: `client-${tag}`, postal_address: '1 Main St' }).returning('id').executeTakeFirstOrThrow()).id;
  const campaign = await db.insertInto('campaigns').values({ client_id: clientId, name: `campaign-${tag}`, status: 'running' }).returning('id').executeTakeFirstOrThrow();
  const steps = await db
    .insertInto('sequence_steps')
    .values([
      { campaign_id: campaign.id, step_number: 1, subject: 'Hello' },
      { campaign_id: campaign.id, step_number: 2, subject: 'Following up', delay_minutes: 2880 },
    ])
    .returning(['id', 'step_number'])
    .execute();
  const step1 = steps.find((s) => s.step_number === 1)!.id;
  const step2 = steps.find((s) => s.step_number === 2)!.id;
  const contact = await db
    .insertInto('contacts')
    .values({ client_id: clientId, email, email_domain: email.split('@')[1]! })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('campaign_contacts').values({ campaign_id: campaign.id, contact_id: contact.id }).execute();
  const base = { client_id: clientId, campaign_id: campaign.id, contact_id: contact.id, to_email: email, recipient_domain: email.split('@')[1]! };
  const sent = await db
    .insertInto('email_queue')
    .values({ ...base, step_id: step1, step_number: 1, status: 'sent', sent_at: options.sentAt ?? new Date(Date.now() - 3_600_000), message_id: `<${tag}-1@example.com>` })
    .returning('id')
    .executeTakeFirstOrThrow();
  const followUp = await db
    .insertInto('email_queue')
    .values({ ...base, step_id: step2, step_number: 2, status: 'queued', run_after: new Date(Date.now() + 86_400_000), message_id: `<${tag}-2@example.com>` })
    .returning('id')
    .executeTakeFirstOrThrow();
  const link = await db
    .insertInto('links')
    .values({ client_id: clientId, campaign_id: campaign.id, step_id: step1, url: options.linkUrl ?? `https://example.org/pricing?ref=${tag}` })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { clientId, campaignId: campaign.id, contactId: contact.id, stepIds: [step1, step2], sentQueueId: sent.id, followUpQueueId: followUp.id, linkId: link.id, email };
}
