/**
 * Admin API: indexes for the lookups the API makes beyond 0001.
 *
 * - refresh_tokens by user: a password change or a replayed refresh token revokes every
 *   session of the user at once.
 * - bounces and replies by queue row: the stats queries check them per queue row.
 * - suppressions by client and id: the list and the CSV export page through one client's rows.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index refresh_tokens_user_idx on refresh_tokens (user_id) where revoked_at is null;
    create index bounces_queue_idx on bounces (queue_id) where queue_id is not null;
    create index replies_queue_idx on replies (queue_id) where queue_id is not null;
    create index suppressions_client_id_idx on suppressions (client_id, id);
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0004_admin_api cannot be rolled back');
}
