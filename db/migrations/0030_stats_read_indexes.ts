/**
 * Indexes so that the statistics requests read what a campaign or a period holds, not pages
 * spread over the whole history (issue 17: at ten million sends a campaign's stats read
 * thousands of scattered heap pages, most of them from disk).
 *
 * - campaign_contacts_unsubscribed_idx: a campaign's unsubscribed contacts (per-day figures,
 *   src/stats/stats.repository.ts) were found by reading the heap row of every one of its
 *   contacts to check the status: one page each, as a campaign's contacts are spread over the
 *   table. The partial index holds only the unsubscribed ones, and their contact ids.
 * - stats_campaign_days_campaign_idx: now covering (day and the counters included), so a
 *   campaign's days are read from a few index pages (an index-only scan) instead of one heap
 *   page per day: a campaign's day rows are written one day at a time, so each is on its own page.
 * - stats_campaign_rollup_campaign_idx: covering too, for the same reason: a campaign's rollup
 *   rows (one per step and mailbox, ~600 for a 5,000-send campaign) were each on a page of its own.
 *   About the size of the table; its entries were written on every delta insert already.
 * - stats_account_rollup_day_idx: the all-clients account figures select days by range; the two
 *   indexes on day were partial (folded, not folded), which a query reading both kinds of rows
 *   cannot use, so the whole rollup (every day of history) was scanned.
 */
import { type Kysely, sql } from 'kysely';
import { DAY_COUNTERS, ROLLUP_COUNTERS } from '../../src/stats/rollup-metrics';

const dayColumns = sql.raw(['day', ...DAY_COUNTERS, 'folded'].join(', '));
const rollupColumns = sql.raw(['step_number', 'account_id', ...ROLLUP_COUNTERS, 'folded'].join(', '));

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index campaign_contacts_unsubscribed_idx on campaign_contacts (campaign_id, contact_id) where status = 'unsubscribed'`.execute(db);
  await sql`drop index stats_campaign_days_campaign_idx`.execute(db);
  await sql`create index stats_campaign_days_campaign_idx on stats_campaign_days (campaign_id) include (${dayColumns})`.execute(db);
  await sql`drop index stats_campaign_rollup_campaign_idx`.execute(db);
  await sql`create index stats_campaign_rollup_campaign_idx on stats_campaign_rollup (campaign_id) include (${rollupColumns})`.execute(db);
  await sql`create index stats_account_rollup_day_idx on stats_account_rollup (day)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index stats_account_rollup_day_idx`.execute(db);
  await sql`drop index stats_campaign_rollup_campaign_idx`.execute(db);
  await sql`create index stats_campaign_rollup_campaign_idx on stats_campaign_rollup (campaign_id)`.execute(db);
  await sql`drop index stats_campaign_days_campaign_idx`.execute(db);
  await sql`create index stats_campaign_days_campaign_idx on stats_campaign_days (campaign_id)`.execute(db);
  await sql`drop index campaign_contacts_unsubscribed_idx`.execute(db);
}
