/**
 * What the sending engine needs beyond 0001.
 *
 * - email_queue.claimed_by_account_id / claimed_at: which mailbox holds a claim and when it
 *   reserved its limit counters, so a claim handed back unsent releases exactly the counters
 *   (and windows) it reserved, and the reconciler asks the right mailbox's Sent mail.
 * - sender_accounts.resumed_at: start of the account's current health period (bounce rate
 *   and complaints are judged on what happened since the last resume).
 * - safe_time_zone(): a contact's free-text time zone must never make a claim fail; an unknown
 *   zone yields null and the campaign's zone is used instead.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table email_queue add column claimed_by_account_id uuid;
    alter table email_queue add column claimed_at timestamptz;
    alter table sender_accounts add column resumed_at timestamptz;

    create function safe_time_zone(zone text) returns text language plpgsql stable as $$
    begin
      if zone is null or zone = '' then return null; end if;
      perform now() at time zone zone;
      return zone;
    exception when others then
      return null;
    end $$;

  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0002_sending_engine cannot be rolled back');
}
