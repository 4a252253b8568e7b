/**
 * Suppressions: addresses a client never mails again (invariant 4). One row per client and
 * lower-cased address; the first reason recorded wins.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { SuppressionReason } from '../db/database';

export interface NewSuppression {
  clientId: string;
  email: string;
  reason: SuppressionReason;
  source: string;
}

/** Adds the address unless it is already suppressed; true when a row was added. */
export async function addSuppression(db: DbOrTx, suppression: NewSuppression): Promise<boolean> {
  const row = await db
    .insertInto('suppressions')
    .values({ client_id: suppression.clientId, email: suppression.email.toLowerCase(), reason: suppression.reason, source: suppression.source })
    .onConflict((oc) => oc.columns(['client_id', 'email']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function isSuppressed(db: DbOrTx, clientId: string, email: string): Promise<boolean> {
  // The address itself, or the hash it left if the person was erased (migration 0026).
  const row = await db
    .selectFrom('suppressions')
    .select('id')
    .where('client_id', '=', clientId)
    .where('email', '=', sql<string>`any(suppression_keys(${email}))`)
    .executeTakeFirst();
  return row !== undefined;
}
