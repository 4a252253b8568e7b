/** The lookups that tie an inbound message to the queue row (and so campaign, contact, mailbox) it is about. */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

export interface MatchedRow {
  id: number;
  client_id: string;
  campaign_id: string;
  contact_id: string;
  step_number: number;
  to_email: string;
  /** The mailbox that sent (or holds) the row: its assigned account, else the one that claimed it. */
  sender_account_id: string | null;
  sent_at: Date | null;
}

const MATCHED_COLUMNS = sql`q.id, q.client_id, q.campaign_id, q.contact_id, q.step_number, q.to_email,
  coalesce(q.account_id, q.claimed_by_account_id) as sender_account_id, q.sent_at`;

/** Our rows with these Message-IDs (one lookup on the unique index), in any order. */
export async function queueRowsByMessageIds(db: DbOrTx, messageIds: readonly string[]): Promise<Array<MatchedRow & { message_id: string }>> {
  if (messageIds.length === 0) return [];
  const { rows } = await sql<MatchedRow & { message_id: string }>`
    select ${MATCHED_COLUMNS}, q.message_id from email_queue q where q.message_id = any(${[...messageIds]}::text[])`.execute(db);
  return rows;
}

export async function queueRowById(db: DbOrTx, id: number): Promise<MatchedRow | undefined> {
  const { rows } = await sql<MatchedRow>`select ${MATCHED_COLUMNS} from email_queue q where q.id = ${id}`.execute(db);
  return rows[0];
}

/**
 * The row a report names only by recipient: sent by this client (and mailbox, when known) to
 * `email` between `from` and `to`, the one sent closest to `near`.
 */
export async function sentRowToRecipient(
  db: DbOrTx,
  find: { clientId: string; accountId?: string; email: string; from: Date; to: Date; near: Date },
): Promise<MatchedRow | undefined> {
  const { rows } = await sql<MatchedRow>`
    select ${MATCHED_COLUMNS}
    from contacts c
    join email_queue q on q.contact_id = c.id
    where c.client_id = ${find.clientId} and c.email = ${find.email.toLowerCase()}
      and q.sent_at between ${find.from} and ${find.to}
      ${find.accountId ? sql`and coalesce(q.account_id, q.claimed_by_account_id) = ${find.accountId}` : sql``}
    order by abs(extract(epoch from q.sent_at - ${find.near}::timestamptz)), q.id desc
    limit 1`.execute(db);
  return rows[0];
}

export interface AccountRef {
  id: string;
  client_id: string;
  email: string;
}

export async function accountRefById(db: DbOrTx, id: string): Promise<AccountRef | undefined> {
  return db.selectFrom('sender_accounts').select(['id', 'client_id', 'email']).where('id', '=', id).executeTakeFirst();
}

export async function accountRefByEmail(db: DbOrTx, email: string): Promise<AccountRef | undefined> {
  return db
    .selectFrom('sender_accounts')
    .select(['id', 'client_id', 'email'])
    .where(sql<boolean>`lower(email) = ${email.toLowerCase()}`)
    .executeTakeFirst();
}
