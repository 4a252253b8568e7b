/**
 * /metrics shows the queue's depth and the age of its oldest due row per waiting state. This
 * partial index holds only the waiting and in-flight rows (never the sent history), so those
 * figures are an index-only count of the rows that wait, however long the history grows.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index email_queue_open_states_idx on email_queue (status, run_after)
      where status in ('queued', 'claimed', 'sending', 'unknown', 'held')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index email_queue_open_states_idx`.execute(db);
}
