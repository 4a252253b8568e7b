/**
 * Rows the inbound effects act on, straight into the test database: a client, its mailbox, a
 * running two-step campaign, and per contact a step 1 recorded sent (with its accepted send
 * log) and the follow-up queued for later, as the send journal leaves them. Fixture messages
 * are read from test/fixtures/inbound with their Message-IDs and addresses swapped for the
 * test's own when one fixture serves several tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../../src/db/connection';
import { inboundSettingsFrom, type InboundDeps } from '../../src/inbound/inbound-settings';
import { parseTunables } from '../../src/config';
import { addContactsByEmail } from './inbound-contacts';
import { createAccount, createCampaign, createClient } from '../queue/fixtures';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'inbound');

export function fixture(name: string, replace: Record<string, string> = {}): Buffer {
  let text = fs.readFileSync(path.join(FIXTURES, name), 'latin1');
  for (const [from, to] of Object.entries(replace)) text = text.split(from).join(to);
  return Buffer.from(text, 'latin1');
}

export function inboundDeps(overrides: Record<string, unknown> = {}, now?: () => Date): InboundDeps {
  return { settings: inboundSettingsFrom(parseTunables({ inbound: overrides })), ...(now ? { now } : {}) };
}

export interface SentContact {
  contactId: string;
  email: string;
  step1: number;
  step2: number;
  messageId: string;
}

export interface InboundWorld {
  clientId: string;
  accountId: string;
  accountEmail: string;
  campaignId: string;
  contacts: Map<string, SentContact>;
}

export interface WorldOptions {
  accountEmail: string;
  /** Each contact's address, and the Message-ID its step 1 went out with. */
  contacts: Array<{ email: string; messageId: string }>;
  sentAt: Date;
  followUpMinutes?: number;
  stopOnReply?: boolean;
  /** An existing client (a second campaign of the same client). */
  clientId?: string;
  accountId?: string;
}

export async function inboundWorld(db: Db, options: WorldOptions): Promise<InboundWorld> {
  const clientId = options.clientId ?? (await createClient(db)).id;
  const accountId = options.accountId ?? (await createAccount(db, clientId, { email: options.accountEmail })).id;
  const followUpMinutes = options.followUpMinutes ?? 3 * 24 * 60;
  const campaign = await createCampaign(db, clientId, { senders: [accountId], steps: [{ delayMinutes: 0 }, { delayMinutes: followUpMinutes }] });
  if (options.stopOnReply === false) await db.updateTable('campaigns').set({ stop_on_reply: false }).where('id', '=', campaign.id).execute();
  const steps = await db.selectFrom('sequence_steps').select(['id', 'step_number']).where('campaign_id', '=', campaign.id).orderBy('step_number').execute();
  const contacts = await addContactsByEmail(db, clientId, campaign.id, options.contacts.map((c) => c.email));
  const world: InboundWorld = { clientId, accountId, accountEmail: options.accountEmail, campaignId: campaign.id, contacts: new Map() };
  for (const [i, spec] of options.contacts.entries()) {
    const contact = contacts[i]!;
    const domain = spec.email.split('@')[1]!;
    const step1 = await db
      .insertInto('email_queue')
      .values({
        client_id: clientId, campaign_id: campaign.id, contact_id: contact.id, step_id: steps[0]!.id, step_number: 1, to_email: spec.email, recipient_domain: domain,
        status: 'sent', run_after: options.sentAt, sent_at: options.sentAt, attempts: 1, message_id: spec.messageId, claimed_by_account_id: accountId, claimed_at: options.sentAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('send_logs')
      .values({ queue_id: step1.id, client_id: clientId, campaign_id: campaign.id, account_id: accountId, message_id: spec.messageId, attempt: 1, outcome: 'accepted', response: '250 ok', created_at: options.sentAt })
      .execute();
    const step2 = await db
      .insertInto('email_queue')
      .values({
        client_id: clientId, campaign_id: campaign.id, contact_id: contact.id, step_id: steps[1]!.id, step_number: 2, account_id: accountId, to_email: spec.email, recipient_domain: domain,
        run_after: new Date(options.sentAt.getTime() + followUpMinutes * 60_000), message_id: `<step2-${campaign.id}-${contact.id}@mail.harbour.test>`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.updateTable('campaign_contacts').set({ account_id: accountId, thread_message_id: spec.messageId }).where('campaign_id', '=', campaign.id).where('contact_id', '=', contact.id).execute();
    world.contacts.set(spec.email, { contactId: contact.id, email: spec.email, step1: step1.id, step2: step2.id, messageId: spec.messageId });
  }
  return world;
}

/** Accepted sends of the mailbox, so its health window is full (bounce rate counts from bounceWindowSends on). */
export async function acceptedSends(db: Db, world: InboundWorld, count: number, at: Date): Promise<void> {
  await db
    .insertInto('send_logs')
    .values(Array.from({ length: count }, (_, i) => ({ queue_id: -1 - i, client_id: world.clientId, campaign_id: world.campaignId, account_id: world.accountId, message_id: `<pad-${i}@x.test>`, attempt: 1, outcome: 'accepted' as const, response: '250 ok', created_at: at })))
    .execute();
}

export async function queueRow(db: Db, id: number) {
  return db.selectFrom('email_queue').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export async function membership(db: Db, campaignId: string, contactId: string) {
  return (await db.selectFrom('campaign_contacts').select('status').where('campaign_id', '=', campaignId).where('contact_id', '=', contactId).executeTakeFirstOrThrow()).status;
}

export async function suppression(db: Db, clientId: string, email: string) {
  return db.selectFrom('suppressions').select(['reason', 'source']).where('client_id', '=', clientId).where('email', '=', email).executeTakeFirst();
}

export async function account(db: Db, accountId: string) {
  return db.selectFrom('sender_accounts').select(['status', 'pause_reason', 'health_score']).where('id', '=', accountId).executeTakeFirstOrThrow();
}
