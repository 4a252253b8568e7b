/**
 * Tracking and sponsor leads: what the lead API needs beyond 0001.
 *
 * - leads.request_hash: a hash of the validated request, so a retried POST with the same
 *   Idempotency-Key is recognised as the same request and a different body as a conflict.
 * - lead_deliveries.lease_token: a deliverer only records the result of an attempt it still
 *   holds, so a deliverer whose lease expired cannot overwrite another's outcome.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table leads add column request_hash text;
    alter table lead_deliveries add column lease_token uuid;
    create index lead_deliveries_leased_idx on lead_deliveries (lease_expires_at) where status = 'delivering';
    create index sponsor_api_keys_sponsor_idx on sponsor_api_keys (sponsor_id);
    create index offers_client_idx on offers (client_id);
    create index leads_client_idx on leads (client_id, created_at);
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0005_tracking_sponsors cannot be rolled back');
}
