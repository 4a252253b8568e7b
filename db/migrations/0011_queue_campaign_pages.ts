/**
 * A campaign's queue rows in id order, for GET /api/campaigns/:id/messages (keyset pages on
 * the row id). Without it a page is read either off the primary key, skipping every other
 * campaign's rows after the cursor (measured: 80,000 rows skipped for one page of 100 at
 * 800,000 rows), or off (campaign_id, status) followed by a sort of the whole campaign.
 * campaign_id and id never change, so it adds one index entry per row version, like the
 * other indexes of the queue.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index email_queue_campaign_id_idx on email_queue (campaign_id, id)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0011_queue_campaign_pages cannot be rolled back');
}
