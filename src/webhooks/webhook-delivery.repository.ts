/**
 * The webhook outbox (webhook_deliveries): verified bodies stored at the request, claimed with
 * a lease by the processing loop (webhook-processor.ts), done, retried or failed. Also the
 * Mailgun replay cache (webhook_tokens).
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { inTransaction, type DbOrTx } from '../db/connection';
import type { WebhookProvider } from '../db/database';

export interface NewDelivery {
  clientId: string;
  endpointId: string;
  provider: WebhookProvider;
  body: Buffer;
  /** Mailgun: the token to accept once, kept until it expires. */
  token?: { value: string; expiresAt: Date };
}

/**
 * stored: new; duplicate: the same body was stored before (the ESP delivered it again: one
 * conflicting insert, nothing else); replayed: the token was seen before (nothing stored).
 * The token and the body are stored together, so a token is never used up by a body that
 * was not kept.
 */
export type StoreOutcome = 'stored' | 'duplicate' | 'replayed';

export async function storeDelivery(db: DbOrTx, delivery: NewDelivery): Promise<StoreOutcome> {
  return inTransaction(db, async (tx) => {
    if (delivery.token) {
      const fresh = await tx
        .insertInto('webhook_tokens')
        .values({ endpoint_id: delivery.endpointId, token: delivery.token.value, expires_at: delivery.token.expiresAt })
        .onConflict((oc) => oc.columns(['endpoint_id', 'token']).doNothing())
        .returning('token')
        .executeTakeFirst();
      if (!fresh) return 'replayed';
    }
    const inserted = await tx
      .insertInto('webhook_deliveries')
      .values({
        client_id: delivery.clientId,
        endpoint_id: delivery.endpointId,
        provider: delivery.provider,
        body: delivery.body,
        body_sha256: crypto.createHash('sha256').update(delivery.body).digest(),
      })
      .onConflict((oc) => oc.columns(['client_id', 'provider', 'body_sha256']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted ? 'stored' : 'duplicate';
  });
}

export interface ClaimedDelivery {
  id: number;
  clientId: string;
  provider: WebhookProvider;
  body: Buffer;
  attempts: number;
  leaseToken: string;
}

export async function claimDueDeliveries(db: DbOrTx, now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<{ id: number; client_id: string; provider: WebhookProvider; body: Buffer; attempts: number; lease_token: string }>`
    update webhook_deliveries d
    set status = 'processing', lease_token = gen_random_uuid(), attempts = d.attempts + 1,
        lease_expires_at = ${now.toISOString()}::timestamptz + make_interval(secs => ${leaseMs / 1000})
    where d.id in (
      select id from webhook_deliveries
      where (status = 'pending' and next_attempt_at <= ${now.toISOString()}::timestamptz)
         or (status = 'processing' and lease_expires_at <= ${now.toISOString()}::timestamptz)
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked)
    returning d.id, d.client_id, d.provider, d.body, d.attempts, d.lease_token`.execute(db);
  return rows.map((r) => ({ id: Number(r.id), clientId: r.client_id, provider: r.provider, body: r.body, attempts: r.attempts, leaseToken: r.lease_token }));
}

export async function markProcessed(db: DbOrTx, id: number, leaseToken: string, events: number, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'done', events, processed_at: now, lease_token: null, lease_expires_at: null, last_error: null })
    .where('id', '=', id)
    .where('lease_token', '=', leaseToken)
    .where('status', '=', 'processing')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** `nextAttemptAt` null: no attempts left, the delivery is `failed` (kept for a person to look at). */
export async function markAttemptFailed(db: DbOrTx, id: number, leaseToken: string, error: string, nextAttemptAt: Date | null, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({
      status: nextAttemptAt ? 'pending' : 'failed',
      next_attempt_at: nextAttemptAt ?? sql<Date>`next_attempt_at`,
      processed_at: nextAttemptAt ? null : now,
      last_error: error.slice(0, 1000),
      lease_token: null,
      lease_expires_at: null,
    })
    .where('id', '=', id)
    .where('lease_token', '=', leaseToken)
    .where('status', '=', 'processing')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Hands a claim back untried (our database failed, not the event): pending again, its attempt undone. */
export async function releaseClaim(db: DbOrTx, id: number, leaseToken: string): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({ status: 'pending', attempts: eb('attempts', '-', 1), lease_token: null, lease_expires_at: null }))
    .where('id', '=', id)
    .where('lease_token', '=', leaseToken)
    .where('status', '=', 'processing')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Expired Mailgun tokens, and deliveries done longer ago than the retention (failed ones stay until they are too). */
export async function pruneWebhookRows(db: DbOrTx, now: Date, retentionDays: number): Promise<{ tokens: number; deliveries: number }> {
  const tokens = await db.deleteFrom('webhook_tokens').where('expires_at', '<', now).executeTakeFirst();
  const deliveries = await db
    .deleteFrom('webhook_deliveries')
    .where('processed_at', '<', new Date(now.getTime() - retentionDays * 86_400_000))
    .executeTakeFirst();
  return { tokens: Number(tokens.numDeletedRows), deliveries: Number(deliveries.numDeletedRows) };
}
