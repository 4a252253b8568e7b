/**
 * A campaign's queue rows one by one, for inspection: where each is, how often it was tried,
 * what went wrong last (the row's last_error and the classified result of its last attempt
 * from send_logs) and which mailbox holds or sent it. Pages are keyset pages on the row id.
 */
import { sql, type RawBuilder } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { QueueStatus, SendOutcome } from '../db/database';

/**
 * The account a queue row belongs to: the mailbox it is assigned to (follow-ups), else the
 * one that claimed it (and so holds, sent or last tried it). A row waiting in the pool, or
 * suppressed or cancelled before any send, belongs to none: its claimed_by_account_id may
 * name a mailbox that gave it back.
 */
export function rowHolder(alias: string): RawBuilder<string | null> {
  const q = (column: string) => sql.ref(`${alias}.${column}`);
  return sql<string | null>`case when ${q('status')} in ('queued', 'suppressed', 'cancelled') then ${q('account_id')}
    else coalesce(${q('account_id')}, ${q('claimed_by_account_id')}) end`;
}

export interface MessageFilter {
  status?: QueueStatus;
  stepNumber?: number;
  /** Rows with an id greater than this (the previous page's last id). */
  afterId?: number;
  limit: number;
}

export interface MessageRow {
  id: number;
  contact_id: string;
  to_email: string;
  step_number: number;
  status: QueueStatus;
  attempts: number;
  run_after: Date;
  last_error: string | null;
  sent_at: Date | null;
  updated_at: Date;
  message_id: string;
  account_id: string | null;
  account_email: string | null;
  last_outcome: SendOutcome | null;
  last_reason: string | null;
  last_smtp_code: number | null;
  last_enhanced_code: string | null;
  last_attempt_at: Date | null;
}

export async function listCampaignMessages(db: DbOrTx, campaignId: string, clientId: string, filter: MessageFilter): Promise<MessageRow[]> {
  const { rows } = await sql<MessageRow>`
    select q.id, q.contact_id, q.to_email, q.step_number, q.status, q.attempts, q.run_after, q.last_error, q.sent_at, q.updated_at,
           q.message_id, h.account_id, a.email as account_email,
           l.outcome as last_outcome, l.reason as last_reason, l.smtp_code as last_smtp_code, l.enhanced_code as last_enhanced_code,
           l.created_at as last_attempt_at
    from email_queue q
    cross join lateral (select ${rowHolder('q')} as account_id) h
    left join sender_accounts a on a.id = h.account_id
    left join lateral (
      select s.outcome, s.reason, s.smtp_code, s.enhanced_code, s.created_at from send_logs s
      where s.queue_id = q.id order by s.id desc limit 1
    ) l on true
    where q.campaign_id = ${campaignId} and q.client_id = ${clientId}
      and q.id > ${filter.afterId ?? 0}
      ${filter.status ? sql`and q.status = ${filter.status}` : sql``}
      ${filter.stepNumber ? sql`and q.step_number = ${filter.stepNumber}` : sql``}
    order by q.id
    limit ${filter.limit}`.execute(db);
  return rows;
}
