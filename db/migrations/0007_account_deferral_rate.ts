/**
 * The deferral rate of an account's recent attempts, kept next to its health score by the
 * result recorder so the claim can slow the warm-up down (warmup.deferralSlowdownPct) from the
 * account row it already locks, without reading send_logs per claim.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sender_accounts add column deferral_rate_pct numeric(5, 2) not null default 0`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0007_account_deferral_rate cannot be rolled back');
}
