/**
 * Warm-up that starts, and the account API's "last error" lookup.
 *
 * - Backfill of sender_accounts.warmup_started_on. Before 0010 nothing wrote it, and a null
 *   start is warm-up day 0, so every mailbox sent at most the curve's first step (20 a day) for
 *   ever. From 0010 the API and the CSV import set it when an account is first activated.
 *   Accounts already sending (or sent from) get their creation date, as a local date in the
 *   account's zone (warm-up days are its calendar days): they have been on the curve since
 *   then, not since today. Before 0010 every account was created active (neither the API nor
 *   the CSV import took a status), so that is when they were first activated. Which ones:
 *   active and paused (may send now or after a resume), suspended and crashed (only a sending
 *   account gets there), and any other with send history. A disabled account that never sent
 *   starts its warm-up when it is next activated instead: no reputation was built yet.
 * - send_logs_account_failure_idx: the API shows each account's latest attempt that was not
 *   accepted, for a page of up to 500 accounts in one query. send_logs grows by millions of rows,
 *   nearly all accepted; (account_id, created_at) would walk an account's accepted rows back to
 *   its last failure. This partial index holds only the failures, so each lookup reads one index
 *   entry. Its predicate is the query's, word for word (the planner must prove the implication).
 *   'reconciled' rows are not attempts: they settle an earlier 'unknown' one.
 *   A plain CREATE INDEX (migrations run in one transaction, so not CONCURRENTLY): it holds
 *   send_logs writes for as long as it reads the table once (0.6 s for 3 M rows on the 2-core
 *   development machine, 2026-12-01).
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
