/** inbound_messages: every inbound message and ESP event, stored once (see ingest.ts). */
import { sql } from 'kysely';
import type { ClientScope } from '../auth/client-scope';
import { ownedBy } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import type { InboundKind, InboundMessagesTable } from '../db/database';
import type { Insertable, Selectable } from 'kysely';

export type InboundMessageRow = Selectable<InboundMessagesTable>;
export type NewInboundMessage = Insertable<InboundMessagesTable>;

export async function findInboundBySourceKey(db: DbOrTx, source: string, accountKey: string, sourceKey: string): Promise<{ id: number; kind: InboundKind } | undefined> {
  return db
    .selectFrom('inbound_messages')
    .select(['id', 'kind'])
    .where('source', '=', source)
    .where('account_key', '=', accountKey)
    .where('source_key', '=', sourceKey)
    .executeTakeFirst();
}

/** Inserts the message unless (source, account, key) is already stored; its id when inserted. */
export async function insertInboundMessage(db: DbOrTx, message: NewInboundMessage): Promise<number | undefined> {
  const row = await db
    .insertInto('inbound_messages')
    .values(message)
    .onConflict((oc) => oc.columns(['source', 'account_key', 'source_key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export async function setInboundEffects(db: DbOrTx, id: number, effects: unknown[]): Promise<void> {
  await db.updateTable('inbound_messages').set({ effects: JSON.stringify(effects) }).where('id', '=', id).execute();
}

/** The message with its row lock (a reclassification is one at a time). */
export async function loadInboundForUpdate(db: DbOrTx, scope: ClientScope, id: number): Promise<InboundMessageRow | undefined> {
  return db.selectFrom('inbound_messages').selectAll().where('id', '=', id).where(ownedBy(scope)).forUpdate().executeTakeFirst();
}

export async function getInboundMessage(db: DbOrTx, scope: ClientScope, id: number): Promise<InboundMessageRow | undefined> {
  return db.selectFrom('inbound_messages').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

export async function updateInboundClass(
  db: DbOrTx,
  id: number,
  change: Pick<InboundMessageRow, 'kind' | 'sub_kind' | 'reason' | 'queue_id' | 'campaign_id' | 'contact_id' | 'step_number' | 'match_method'> & { effects: unknown[]; history: unknown[] },
): Promise<void> {
  await db
    .updateTable('inbound_messages')
    .set({ ...change, effects: JSON.stringify(change.effects), history: JSON.stringify(change.history) })
    .where('id', '=', id)
    .execute();
}

export interface InboundFilter {
  campaignId?: string;
  accountId?: string;
  contactId?: string;
  kind?: InboundKind;
  matched?: boolean;
  /** Messages older than this id (the previous page's last id): newest first. */
  beforeId?: number;
  limit: number;
}

export type InboundListRow = Omit<InboundMessageRow, 'raw' | 'classification' | 'headers' | 'effects' | 'history'>;

export async function listInboundMessages(db: DbOrTx, scope: ClientScope, filter: InboundFilter): Promise<InboundListRow[]> {
  let query = db
    .selectFrom('inbound_messages')
    .select([
      'id', 'client_id', 'account_id', 'account_key', 'source', 'source_key', 'received_at', 'from_address', 'to_address', 'subject', 'message_id',
      'kind', 'sub_kind', 'reason', 'evidence', 'queue_id', 'campaign_id', 'contact_id', 'step_number', 'match_method', 'text', 'raw_size', 'created_at',
    ])
    .where(ownedBy(scope))
    .orderBy('id', 'desc')
    .limit(filter.limit);
  if (filter.campaignId) query = query.where('campaign_id', '=', filter.campaignId);
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
  if (filter.contactId) query = query.where('contact_id', '=', filter.contactId);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.matched !== undefined) query = query.where('queue_id', filter.matched ? 'is not' : 'is', null);
  if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
  return query.execute();
}

/** Retention (inbound.retentionDays): older messages go, in batches so no statement runs long. */
export async function purgeInboundMessages(db: DbOrTx, olderThan: Date, batchSize = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const { numAffectedRows } = await sql`
      delete from inbound_messages where id in (select id from inbound_messages where received_at < ${olderThan} limit ${batchSize})`.execute(db);
    const n = Number(numAffectedRows ?? 0);
    total += n;
    if (n < batchSize) return total;
  }
}
