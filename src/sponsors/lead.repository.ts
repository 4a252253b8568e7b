/**
 * Leads and their delivery outbox.
 *
 * Delivery states: `pending` (waiting for next_attempt_at) → `delivering` (leased by one
 * deliverer: lease_token + lease_expires_at) → `delivered` | back to `pending` with a later
 * next_attempt_at | `failed` (attempts used up). A `delivering` row whose lease expired is
 * claimable again (its deliverer died). Every result is written only while the writer still
 * holds the lease (`where lease_token = $mine and status = 'delivering'`).
 */
import { sql, type Selectable } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { LeadsTable } from '../db/database';

export type LeadRow = Selectable<LeadsTable>;

export interface NewLead {
  clientId: string;
  sponsorId: string;
  offerId: string | null;
  idempotencyKey: string;
  email: string;
  data: Record<string, unknown>;
  sourceQueueId: number | null;
  requestHash: string;
}

/** The new lead, or undefined when this sponsor already has a lead under that key. */
export async function insertLeadIfNew(db: DbOrTx, lead: NewLead): Promise<LeadRow | undefined> {
  return db
    .insertInto('leads')
    .values({
      client_id: lead.clientId,
      sponsor_id: lead.sponsorId,
      offer_id: lead.offerId,
      idempotency_key: lead.idempotencyKey,
      email: lead.email,
      data: JSON.stringify(lead.data),
      source_queue_id: lead.sourceQueueId,
      request_hash: lead.requestHash,
    })
    .onConflict((oc) => oc.columns(['sponsor_id', 'idempotency_key']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function findLeadByKey(db: DbOrTx, sponsorId: string, idempotencyKey: string): Promise<LeadRow | undefined> {
  return db.selectFrom('leads').selectAll().where('sponsor_id', '=', sponsorId).where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
}

export async function insertLeadDelivery(db: DbOrTx, leadId: string, now: Date): Promise<void> {
  await db.insertInto('lead_deliveries').values({ lead_id: leadId, next_attempt_at: now }).onConflict((oc) => oc.column('lead_id').doNothing()).execute();
}

export interface ClaimedDelivery {
  id: number;
  leadId: string;
  leaseToken: string;
  attempts: number;
}

/** Leases up to `limit` due deliveries; SKIP LOCKED so concurrent deliverers take different rows. */
export async function claimDueDeliveries(db: DbOrTx, now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<{ id: number; lead_id: string; lease_token: string; attempts: number }>`
    update lead_deliveries d
    set status = 'delivering', lease_token = gen_random_uuid(), attempts = d.attempts + 1,
        lease_expires_at = ${now.toISOString()}::timestamptz + make_interval(secs => ${leaseMs / 1000})
    where d.id in (
      select id from lead_deliveries
      where (status = 'pending' and next_attempt_at <= ${now.toISOString()}::timestamptz)
         or (status = 'delivering' and lease_expires_at <= ${now.toISOString()}::timestamptz)
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked)
    returning d.id, d.lead_id, d.lease_token, d.attempts`.execute(db);
  return rows.map((r) => ({ id: Number(r.id), leadId: r.lead_id, leaseToken: r.lease_token, attempts: r.attempts }));
}

export interface DeliveryContent {
  lead: LeadRow;
  deliveryUrl: string | null;
  deliverySecretEncrypted: string | null;
  offerName: string | null;
}

export async function loadDeliveryContent(db: DbOrTx, leadId: string): Promise<DeliveryContent | undefined> {
  const lead = await db.selectFrom('leads').selectAll().where('id', '=', leadId).executeTakeFirst();
  if (!lead) return undefined;
  const sponsor = await db.selectFrom('sponsors').select(['delivery_url', 'delivery_secret_encrypted']).where('id', '=', lead.sponsor_id).executeTakeFirstOrThrow();
  const offer = lead.offer_id ? await db.selectFrom('offers').select('name').where('id', '=', lead.offer_id).executeTakeFirst() : undefined;
  return { lead, deliveryUrl: sponsor.delivery_url, deliverySecretEncrypted: sponsor.delivery_secret_encrypted, offerName: offer?.name ?? null };
}

export async function markDelivered(db: DbOrTx, id: number, leaseToken: string, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('lead_deliveries')
    .set({ status: 'delivered', delivered_at: now, lease_token: null, lease_expires_at: null, last_error: null })
    .where('id', '=', id)
    .where('lease_token', '=', leaseToken)
    .where('status', '=', 'delivering')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Hands a claim back untried (our side failed, not the sponsor): pending again, its attempt undone. */
export async function releaseDeliveryClaim(db: DbOrTx, id: number, leaseToken: string): Promise<boolean> {
  const result = await db
    .updateTable('lead_deliveries')
    .set((eb) => ({ status: 'pending', attempts: eb('attempts', '-', 1), lease_token: null, lease_expires_at: null }))
    .where('id', '=', id)
    .where('lease_token', '=', leaseToken)
    .where('status', '=', 'delivering')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** `nextAttemptAt` null: no attempts left, the delivery is `failed`. */
export async function markAttemptFailed(db: DbOrTx, id: number, leaseToken: string, error: string, nextAttemptAt: Date | null): Promise<boolean> {
  const result = await db
    .updateTable('lead_deliveries')
    .set({
      status: nextAttemptAt ? 'pending' : 'failed',
      next_attempt_at: nextAttemptAt ?? sql<Date>`next_attempt_at`,
      last_error: error.slice(0, 1000),
      lease_token: null,
      lease_expires_at: null,
    })
    .where('id', '=', id)
    .where('lease_token', '=', leaseToken)
    .where('status', '=', 'delivering')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
