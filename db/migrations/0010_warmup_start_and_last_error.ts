/**
 * Warm-up that starts, and the account API's "last error" lookup.
 *
 * - Backfill of sender_accounts.warmup_started_on. Before 0010 nothing wrote it, and a null
 *   start is warm-up day 0, so every mailbox sent at most the curve's first step (20 a day) for
 *   ever. From 0010 the API sets it when an account is first activated. Accounts that have
 *   already been sending get their creation date (a local date in the account's zone: warm-up
 *   days are the account's calendar days): they are on the curve since then, not since today.
 *   "Have been sending" means active or paused (paused ones were active, or are about to be),
 *   suspended or crashed (only a sending account gets there), or any account with send history
 *   (e.g. disabled after it sent). Other disabled accounts start when they are first activated.
 * - send_logs_account_failure_idx: the API shows each account's latest attempt that was not
 *   accepted, for a page of up to 500 accounts in one query. send_logs grows by millions of rows,
 *   nearly all accepted; (account_id, created_at) would walk an account's accepted rows back to
 *   its last failure. This partial index holds only the failures, so each lookup reads one index
 *   entry. Its predicate is the query's, word for word (the planner must prove the implication).
 *   'reconciled' rows are not attempts: they settle an earlier 'unknown' one.
 *   A plain CREATE INDEX (migrations run in one transaction, so not CONCURRENTLY): it holds
 *   send_logs writes for as long as it reads the table once.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    update sender_accounts a
       set warmup_started_on = (a.created_at at time zone coalesce(safe_time_zone(a.time_zone), 'UTC'))::date
     where a.warmup_started_on is null
       and (a.status in ('active', 'paused', 'suspended', 'crashed')
            or exists (select 1 from send_logs l where l.account_id = a.id));

    create index send_logs_account_failure_idx on send_logs (account_id, created_at desc, id desc)
      where outcome not in ('accepted', 'reconciled');
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0010_warmup_start_and_last_error cannot be rolled back');
}
