/** Mail captured by the dev sink (migration 0003), for the dashboard and for findSent. */
import type { Selectable } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { SinkMessagesTable } from '../db/database';

export type SinkMessage = Selectable<SinkMessagesTable>;
export type SinkMessageSummary = Omit<SinkMessage, 'raw'>;

export interface NewSinkMessage {
  mailFrom: string;
  rcptTo: string[];
  messageId: string | undefined;
  subject: string;
  raw: string;
}

export async function insertSinkMessage(db: DbOrTx, message: NewSinkMessage): Promise<number> {
  const row = await db
    .insertInto('sink_messages')
    .values({
      mail_from: message.mailFrom,
      rcpt_to: message.rcptTo,
      message_id: message.messageId ?? null,
      subject: message.subject,
      raw: message.raw,
      size_bytes: Buffer.byteLength(message.raw),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Newest first; `beforeId` pages back. */
export async function listSinkMessages(db: DbOrTx, options: { limit: number; beforeId?: number }): Promise<SinkMessageSummary[]> {
  let query = db
    .selectFrom('sink_messages')
    .select(['id', 'mail_from', 'rcpt_to', 'message_id', 'subject', 'size_bytes', 'received_at'])
    .orderBy('id', 'desc')
    .limit(options.limit);
  if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
  return query.execute();
}

export async function getSinkMessage(db: DbOrTx, id: number): Promise<SinkMessage | undefined> {
  return db.selectFrom('sink_messages').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function sinkHasMessageId(db: DbOrTx, messageId: string): Promise<boolean> {
  const row = await db.selectFrom('sink_messages').select('id').where('message_id', '=', messageId).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Keeps the newest `keep` messages so a long-running dev instance does not grow forever. */
export async function pruneSinkMessages(db: DbOrTx, keep: number): Promise<number> {
  const cutoff = await db.selectFrom('sink_messages').select('id').orderBy('id', 'desc').offset(keep).limit(1).executeTakeFirst();
  if (!cutoff) return 0;
  const result = await db.deleteFrom('sink_messages').where('id', '<=', cutoff.id).executeTakeFirst();
  return Number(result.numDeletedRows);
}
