/**
 * Puts email into the queue: step 1 for a whole campaign when it starts, and each follow-up
 * step when the previous step of that contact is recorded `sent` (in the same transaction).
 *
 * The Message-ID is fixed here, once per row, and kept across every retry: it is how a send
 * whose outcome is unknown is looked up before any resend (invariant 2). Re-running either
 * function adds nothing: (campaign, contact, step) is unique.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

export interface EnqueueOptions {
  /**
   * Domain for Message-IDs when the client has no tracking or sender domain: the server's
   * `sending.messageIdDomain` (config/default.json overlaid by CONFIG_FILE), passed by every
   * caller. Never read here from the defaults, which would ignore the operator's CONFIG_FILE.
   */
  messageIdDomain: string;
}

/** `<uuid@domain>`; the domain is lower-cased and stripped of anything not allowed there. */
export function newMessageId(domain: string): string {
  const clean = domain.toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'localhost';
  return `<${crypto.randomUUID()}@${clean}>`;
}

/** The client's domain for Message-IDs: its tracking domain, else its first sender domain. */
async function messageIdDomainFor(db: DbOrTx, clientId: string, options: EnqueueOptions): Promise<string> {
  const row = await db
    .selectFrom('clients')
    .select((eb) => [
      'tracking_domain',
      eb
        .selectFrom('sender_domains')
        .select('domain')
        .whereRef('sender_domains.client_id', '=', 'clients.id')
        .orderBy('created_at')
        .limit(1)
        .as('sender_domain'),
    ])
    .where('id', '=', clientId)
    .executeTakeFirst();
  return row?.tracking_domain || row?.sender_domain || options.messageIdDomain;
}

/**
 * One queue row for step 1 per active contact of the campaign whose address is not
 * suppressed for the campaign's client. Suppressed contacts are counted, not queued.
 */
export async function enqueueCampaign(
  db: DbOrTx,
  campaignId: string,
  now: Date,
  options: EnqueueOptions,
): Promise<{ queued: number; skippedSuppressed: number }> {
  const campaign = await db.selectFrom('campaigns').select(['id', 'client_id']).where('id', '=', campaignId).executeTakeFirst();
  if (!campaign) throw new Error(`enqueueCampaign: no campaign ${campaignId}`);
  const domain = (await messageIdDomainFor(db, campaign.client_id, options)).toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'localhost';

  // The uuid comes from Postgres so the whole campaign is one statement, however large.
  const inserted = await sql<{ n: number; skipped: number }>`
    with candidates as (
      select cc.contact_id, ct.email, ct.email_domain,
             exists (select 1 from suppressions s where s.client_id = ${campaign.client_id} and s.email = any(suppression_keys(ct.email))) as suppressed
      from campaign_contacts cc
      join contacts ct on ct.id = cc.contact_id and ct.client_id = ${campaign.client_id}
      where cc.campaign_id = ${campaignId} and cc.status = 'active'
    ),
    step as (
      select id from sequence_steps where campaign_id = ${campaignId} and step_number = 1
    ),
    ins as (
      insert into email_queue (client_id, campaign_id, contact_id, step_id, step_number, to_email, recipient_domain, run_after, message_id)
      select ${campaign.client_id}, ${campaignId}, c.contact_id, step.id, 1, c.email, c.email_domain, ${now},
             '<' || gen_random_uuid() || '@' || ${domain} || '>'
      from candidates c cross join step
      where not c.suppressed
      on conflict (campaign_id, contact_id, step_id) do nothing
      returning 1
    )
    select (select count(*) from ins)::int as n, (select count(*) from candidates where suppressed)::int as skipped
  `.execute(db);
  const row = inserted.rows[0];
  return { queued: row?.n ?? 0, skippedSuppressed: row?.skipped ?? 0 };
}

export interface SentRowForFollowUp {
  id: number;
  clientId: string;
  campaignId: string;
  contactId: string;
  stepNumber: number;
  messageId: string;
  /** The mailbox that sent it: follow-ups stay with it, in its thread. */
  accountId: string;
  sentAt: Date;
}

/** A queue row just recorded `sent` by `accountId` at `sentAt`, as enqueueFollowUps takes it. */
export function sentForFollowUp(
  row: { id: number; client_id: string; campaign_id: string; contact_id: string; step_number: number; message_id: string },
  accountId: string,
  sentAt: Date,
): SentRowForFollowUp {
  return { id: row.id, clientId: row.client_id, campaignId: row.campaign_id, contactId: row.contact_id, stepNumber: row.step_number, messageId: row.message_id, accountId, sentAt };
}

/**
 * The follow-up work for rows just recorded `sent`, as CTEs over a relation named `sent` with
 * columns (queue_id, account_id, sent_at, client_id, campaign_id, contact_id, step_number,
 * to_email, recipient_domain, message_id, has_next): step 1 fixes the contact's mailbox and
 * thread, `finished` when no step is left, and the next step queued for the same mailbox at
 * sent time + its delay unless the contact replied, bounced, unsubscribed or is suppressed.
 * Shared by enqueueFollowUps and the send journal's one-statement write, so there is one
 * definition of what a sent row leads to. Every CTE sees the rows as they were before it.
 */
export const FOLLOW_UP_CTES = sql`
    contact_update as (
      update campaign_contacts cc
      set account_id = case when s.step_number = 1 then coalesce(cc.account_id, s.account_id) else cc.account_id end,
          thread_message_id = case when s.step_number = 1 then coalesce(cc.thread_message_id, s.message_id) else cc.thread_message_id end,
          status = case when cc.status = 'active' and not s.has_next then 'finished' else cc.status end
      from sent s
      where cc.campaign_id = s.campaign_id and cc.contact_id = s.contact_id
        and ((s.step_number = 1 and (cc.account_id is null or cc.thread_message_id is null)) or (cc.status = 'active' and not s.has_next))
      returning 1
    ),
    next_steps as (
      select s.*, ns.id as next_step_id, ns.step_number as next_step_number, ns.delay_minutes
      from sent s
      join sequence_steps ns on ns.campaign_id = s.campaign_id and ns.step_number = s.step_number + 1
      join campaign_contacts cc on cc.campaign_id = s.campaign_id and cc.contact_id = s.contact_id and cc.status = 'active'
      where not exists (select 1 from suppressions x where x.client_id = s.client_id and x.email = any(suppression_keys(s.to_email)))
    ),
    follow_ups as (
      insert into email_queue (client_id, campaign_id, contact_id, step_id, step_number, account_id, to_email, recipient_domain, run_after, message_id)
      select n.client_id, n.campaign_id, n.contact_id, n.next_step_id, n.next_step_number, n.account_id, n.to_email, n.recipient_domain,
             n.sent_at + make_interval(mins => n.delay_minutes),
             '<' || gen_random_uuid() || '@' || split_part(trim(both '<>' from n.message_id), '@', 2) || '>'
      from next_steps n
      on conflict (campaign_id, contact_id, step_id) do nothing
      returning 1
    )`;

/** Whether a sent row's campaign has a step after it (a column of the `sent` relation above). */
export const HAS_NEXT_STEP = sql`exists (select 1 from sequence_steps ns where ns.campaign_id = q.campaign_id and ns.step_number = q.step_number + 1)`;

/**
 * Called in the transaction that records rows `sent` (FOLLOW_UP_CTES says what it does).
 * Returns how many follow-ups were queued.
 */
export async function enqueueFollowUps(db: DbOrTx, rows: SentRowForFollowUp[]): Promise<number> {
  if (rows.length === 0) return 0;
  const ids = rows.map((r) => r.id);
  const accounts = rows.map((r) => r.accountId);
  const sentAts = rows.map((r) => r.sentAt.toISOString());
  const result = await sql<{ n: number }>`
    with sent as (
      select v.queue_id, v.account_id::uuid as account_id, v.sent_at::timestamptz as sent_at, q.client_id, q.campaign_id, q.contact_id,
             q.step_number, q.to_email, q.recipient_domain, q.message_id, ${HAS_NEXT_STEP} as has_next
      from unnest(${ids}::bigint[], ${accounts}::text[], ${sentAts}::text[]) as v(queue_id, account_id, sent_at)
      join email_queue q on q.id = v.queue_id
    ),
    ${FOLLOW_UP_CTES}
    select (select count(*) from follow_ups)::int as n, (select count(*) from contact_update)::int as contacts
  `.execute(db);
  return result.rows[0]?.n ?? 0;
}
