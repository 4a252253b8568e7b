/** The writes of the inbound effects (inbound-effects.ts) and of their undo (effect-undo.ts). */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { CampaignContactStatus } from '../db/database';

export async function insertComplaint(db: DbOrTx, complaint: { clientId: string; queueId: number; accountId: string | null; email: string; inboundMessageId: number; at: Date }): Promise<number> {
  const row = await db
    .insertInto('complaints')
    .values({
      client_id: complaint.clientId,
      queue_id: complaint.queueId,
      account_id: complaint.accountId,
      email: complaint.email,
      source: `inbound:${complaint.inboundMessageId}`,
      inbound_message_id: complaint.inboundMessageId,
      received_at: complaint.at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertReply(
  db: DbOrTx,
  reply: { clientId: string; queueId: number; campaignId: string; contactId: string; accountId: string | null; from: string; subject: string; snippet: string; messageId: string | null; inboundMessageId: number; at: Date },
): Promise<number> {
  const row = await db
    .insertInto('replies')
    .values({
      client_id: reply.clientId,
      queue_id: reply.queueId,
      campaign_id: reply.campaignId,
      contact_id: reply.contactId,
      account_id: reply.accountId,
      from_email: reply.from,
      subject: reply.subject,
      snippet: reply.snippet,
      message_id: reply.messageId,
      inbound_message_id: reply.inboundMessageId,
      received_at: reply.at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Soft bounces of this address recorded for the client since `since`. */
export async function countSoftBounces(db: DbOrTx, clientId: string, email: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('bounces')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('client_id', '=', clientId)
    .where('email', '=', email.toLowerCase())
    .where('bounce_type', '=', 'soft')
    .where('received_at', '>=', since)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Moves the contact's memberships (one campaign, or all) from one of `from` to `to`, returning
 * each membership changed and the status it had.
 */
export async function setContactStatus(
  db: DbOrTx,
  change: { contactId: string; campaignId?: string; from: readonly CampaignContactStatus[]; to: CampaignContactStatus },
): Promise<Array<{ campaignId: string; from: CampaignContactStatus }>> {
  const { rows } = await sql<{ campaign_id: string; old: CampaignContactStatus }>`
    update campaign_contacts cc set status = ${change.to}
    from (select campaign_id, contact_id, status as old from campaign_contacts
          where contact_id = ${change.contactId} ${change.campaignId ? sql`and campaign_id = ${change.campaignId}` : sql``}
            and status = any(${[...change.from]}::text[]) for update) o
    where cc.campaign_id = o.campaign_id and cc.contact_id = o.contact_id
    returning cc.campaign_id, o.old`.execute(db);
  return rows.map((r) => ({ campaignId: r.campaign_id, from: r.old }));
}

/** Waiting rows of these contacts (in one campaign, or all of the client's) → cancelled, marked. */
export async function cancelWaitingRows(db: DbOrTx, scope: { clientId: string; contactIds: readonly string[]; campaignId?: string }, marker: string, now: Date): Promise<number[]> {
  if (scope.contactIds.length === 0) return [];
  let query = db
    .updateTable('email_queue')
    .set({ status: 'cancelled', last_error: marker, updated_at: now })
    .where('client_id', '=', scope.clientId)
    .where('contact_id', 'in', [...scope.contactIds])
    .where('status', '=', 'queued');
  if (scope.campaignId) query = query.where('campaign_id', '=', scope.campaignId);
  const rows = await query.returning('id').execute();
  return rows.map((r) => r.id);
}

/** Other active contacts of the campaign on this email domain → cancelled; their ids. */
export async function stopCompanyContacts(db: DbOrTx, campaignId: string, clientId: string, domain: string, exceptContactId: string): Promise<string[]> {
  const { rows } = await sql<{ contact_id: string }>`
    update campaign_contacts cc set status = 'cancelled'
    from contacts c
    where cc.campaign_id = ${campaignId} and cc.status = 'active' and c.id = cc.contact_id
      and c.client_id = ${clientId} and c.email_domain = ${domain.toLowerCase()} and c.id <> ${exceptContactId}
    returning cc.contact_id`.execute(db);
  return rows.map((r) => r.contact_id);
}

/** The contact's waiting rows in the campaign are held back until `until` (never brought forward). */
export async function delayWaitingRows(db: DbOrTx, campaignId: string, contactId: string, until: Date, now: Date): Promise<Array<{ id: number; from: string }>> {
  const { rows } = await sql<{ id: number; old: Date }>`
    update email_queue q set run_after = ${until}, updated_at = ${now}
    from (select id, run_after as old from email_queue
          where campaign_id = ${campaignId} and contact_id = ${contactId} and status = 'queued' and run_after < ${until} for update) o
    where q.id = o.id
    returning q.id, o.old`.execute(db);
  return rows.map((r) => ({ id: r.id, from: r.old.toISOString() }));
}

/** What a reply stops in the campaign: the contact's sequence (stop_on_reply), and its company (null: the configuration decides). */
export async function campaignReplyStops(db: DbOrTx, campaignId: string): Promise<{ contact: boolean; company: boolean | null }> {
  const row = await db.selectFrom('campaigns').select(['stop_on_reply', 'stop_company_on_reply']).where('id', '=', campaignId).executeTakeFirst();
  return { contact: row?.stop_on_reply ?? false, company: row?.stop_company_on_reply ?? null };
}

export async function accountStatus(db: DbOrTx, accountId: string): Promise<{ status: string; pause_reason: string | null; email: string } | undefined> {
  return db.selectFrom('sender_accounts').select(['status', 'pause_reason', 'email']).where('id', '=', accountId).executeTakeFirst();
}
