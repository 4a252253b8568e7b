/**
 * Campaign figures, read from the rollups the database keeps up to date as rows change and
 * events arrive (db/migrations/0027_stats_rollups.ts), so a request costs the same at ten
 * million sends as at one: nothing here scans history. Nothing is double-counted: each queue
 * row counts at most once per metric. Two figures are read live, both bounded by what is
 * current rather than by history: due vs scheduled (depends on now; only rows still 'queued'),
 * and per day the replies and unsubscribes (a campaign's replies and unsubscribed contacts).
 *
 * Where each queue row is now (by its status):
 *   queued        every row still waiting: due + scheduled + inFlight + unknown + held
 *   due           queued, run_after <= now (waits for a sender, its window or a limit)
 *   scheduled     queued, run_after > now (follow-ups not yet due, retries backing off)
 *   retrying      queued after at least one attempt (part of due or scheduled)
 *   inFlight      claimed or sending
 *   unknown       outcome unknown, being looked up in the sender's Sent mail
 *   held          outcome unknown and could not be looked up: waits for an operator
 *   failed        gave up after the last retry
 *   suppressed    address suppressed before it was sent
 *   cancelled     campaign cancelled, or contact no longer active (replied, unsubscribed…)
 * What happened to it:
 *   sent          rows handed to a transport and accepted (sent_at set)
 *   bounced       rows that bounced (status, or a hard bounce recorded later: such a row counts
 *                 as sent too, the one overlap between states)
 *   opened/clicked rows with at least one human (not proxy/scanner) open/click
 *   replied       rows answered (a reply tied to the row, or to the contact's last sent step)
 *   unsubscribed  contacts who unsubscribed, on their last sent step and account
 *   complained    rows their recipient reported as spam (a complaint tied to the row)
 * So due + scheduled + inFlight + unknown + held + sent + bounced + failed + suppressed +
 * cancelled is every row (plus one per row accepted and bounced later).
 * Per day counts events on the day they happened (UTC): queued (created), sent, bounced,
 * opened, clicked, replied, unsubscribed.
 * Per account, a row belongs to the account that holds or sent it (rowHolder): a row waiting
 * in the campaign's pool belongs to none yet (accountId null). Account figures cover rows created
 * in [from, to): whole UTC days from the daily rollup, the partial days at either end from the
 * per-row entries (queue_stats_rows), so any instant works as an edge.
 * The last sent step (for replies not tied to a row, and unsubscribes) is the contact's last
 * sent step in the campaign, whatever period is asked for.
 */
import { sql, type RawBuilder } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import { rowHolder } from '../campaigns/campaign-messages.repository';
import { COUNTER_SQL, DAY_COUNTERS, ROLLUP_COUNTERS } from './rollup-metrics';

const EVENT_METRICS = ['queued', 'sent', 'bounced', 'opened', 'clicked', 'replied', 'unsubscribed', 'complained'] as const;
type StateMetric = 'due' | 'scheduled' | 'retrying' | 'inFlight' | 'unknown' | 'held' | 'failed' | 'suppressed' | 'cancelled';

export type DayCounts = Record<(typeof EVENT_METRICS)[number], number>;
export type Counts = Record<(typeof EVENT_METRICS)[number] | StateMetric, number>;

/** Sums of the rollup counters, as they come out of Postgres (bigint sums are strings). */
type Sums = Record<(typeof ROLLUP_COUNTERS)[number], unknown> & { due: unknown };

const DAY_MS = 86_400_000;
const sumColumns = sql.raw(ROLLUP_COUNTERS.map((c) => `sum(${c}) as ${c}`).join(', '));
const rowCounterColumns = sql.raw(ROLLUP_COUNTERS.map((c) => `${COUNTER_SQL[c]} as ${c}`).join(', '));

/** The API's counts from rollup sums plus the live number of rows due now. */
function counts(row: Partial<Sums>): Counts {
  const n = (key: keyof Sums) => Number(row[key] ?? 0);
  const due = n('due');
  return {
    queued: n('queued'), sent: n('sent'), bounced: n('bounced'), opened: n('opened'), clicked: n('clicked'), replied: n('replied'),
    unsubscribed: n('unsubscribed'), complained: n('complained'),
    due, scheduled: n('waiting_queued') - due, retrying: n('retrying'), inFlight: n('in_flight'), unknown: n('unknown'), held: n('held'),
    failed: n('failed'), suppressed: n('suppressed'), cancelled: n('cancelled'),
  };
}

export interface CampaignStats {
  totals: Counts;
  steps: Array<Counts & { stepNumber: number }>;
  accounts: Array<Counts & { accountId: string | null }>;
  days: Array<DayCounts & { day: string }>;
}

interface GroupedRow extends Sums {
  step_number: number | null;
  account_id: string | null;
  by_step: number;
  by_account: number;
}

export async function campaignStats(db: DbOrTx, campaignId: string, now: Date): Promise<CampaignStats> {
  // Due rows are counted live: only rows still 'queued' are read (the campaign's waiting rows).
  const { rows } = await sql<GroupedRow>`
    with due as (
      select q.step_number, ${rowHolder('q')} as account_id, count(*) as due from email_queue q
      where q.campaign_id = ${campaignId} and q.status = 'queued' and q.run_after <= ${now} group by 1, 2
    ),
    g as (
      -- A key has its folded row plus the deltas written since the last fold (stats_fold).
      select r.*, coalesce(d.due, 0) as due from (
        select step_number, account_id, ${sumColumns}
        from stats_campaign_rollup where campaign_id = ${campaignId} group by 1, 2
      ) r
      left join due d on d.step_number = r.step_number and d.account_id is not distinct from r.account_id
      where r.rows > 0
    )
    select step_number, account_id, grouping(step_number) as by_step, grouping(account_id) as by_account, ${sumColumns}, sum(due) as due
    from g group by grouping sets ((), (step_number), (account_id))
    having sum(rows) > 0
    order by step_number nulls first, account_id nulls first`.execute(db);

  const totals = rows.find((r) => Number(r.by_step) === 1 && Number(r.by_account) === 1);
  const steps = rows.filter((r) => Number(r.by_step) === 0).map((r) => ({ stepNumber: Number(r.step_number), ...counts(r) }));
  const accounts = rows.filter((r) => Number(r.by_account) === 0 && Number(r.by_step) === 1).map((r) => ({ accountId: r.account_id, ...counts(r) }));
  return { totals: counts(totals ?? {}), steps, accounts, days: await campaignDays(db, campaignId) };
}

async function campaignDays(db: DbOrTx, campaignId: string): Promise<Array<DayCounts & { day: string }>> {
  const { rows } = await sql<{ day: string; metric: string; n: number }>`
    with events as (
      -- One pass over the campaign's day rows (an index-only scan, migration 0030), a row per metric.
      select d.day, m.metric, m.n from stats_campaign_days d
      cross join lateral (values ${sql.join(DAY_COUNTERS.map((m) => sql`(${m}::text, ${sql.ref(`d.${m}`)}::int)`))}) m(metric, n)
      where d.campaign_id = ${campaignId} and m.n <> 0
      union all select (first_at at time zone 'UTC')::date, 'replied', count(*)::int from (
        select min(r.received_at) as first_at from replies r where r.campaign_id = ${campaignId} group by r.contact_id, coalesce(r.queue_id, 0)) f group by 1
      union all select (s.created_at at time zone 'UTC')::date, 'unsubscribed', count(*)::int from campaign_contacts cc
        join contacts ct on ct.id = cc.contact_id
        join suppressions s on s.client_id = ct.client_id and s.email = ct.email and s.reason = 'unsubscribed'
        where cc.campaign_id = ${campaignId} and cc.status = 'unsubscribed' group by 1
    )
    -- A day's deltas can cancel out (a row counted, then moved on before the fold): not a day with events.
    select to_char(day, 'YYYY-MM-DD') as day, metric, sum(n)::int as n from events group by 1, 2 having sum(n) <> 0 order by 1`.execute(db);
  const byDay = new Map<string, DayCounts & { day: string }>();
  for (const row of rows) {
    const entry = byDay.get(row.day) ?? { day: row.day, ...dayCounts() };
    entry[row.metric as keyof DayCounts] = row.n;
    byDay.set(row.day, entry);
  }
  return [...byDay.values()];
}

/**
 * Per sender account across campaigns, for rows created in [from, to): whole UTC days from
 * the daily rollup, the partial days at the edges from the per-row entries.
 */
export async function accountStats(db: DbOrTx, scope: ClientScope, from: Date, to: Date, now: Date): Promise<Array<Counts & { accountId: string; email: string }>> {
  const firstWholeDay = new Date(Math.ceil(from.getTime() / DAY_MS) * DAY_MS);
  const endOfWholeDays = new Date(Math.floor(to.getTime() / DAY_MS) * DAY_MS);
  const wholeDays = firstWholeDay < endOfWholeDays;
  const partial: RawBuilder<boolean> = wholeDays
    ? sql<boolean>`((r.created_at >= ${from} and r.created_at < ${firstWholeDay}) or (r.created_at >= ${endOfWholeDays} and r.created_at < ${to}))`
    : sql<boolean>`r.created_at >= ${from} and r.created_at < ${to}`;
  const { rows } = await sql<Sums & { account_id: string; email: string }>`
    with parts as (
      select account_id, ${sql.raw(ROLLUP_COUNTERS.join(', '))} from stats_account_rollup
      where ${ownedBy(scope, 'client_id')} and ${wholeDays ? sql`day >= ${isoDay(firstWholeDay)}::date and day < ${isoDay(endOfWholeDays)}::date` : sql`false`}
      union all
      select r.account_id, ${rowCounterColumns} from queue_stats_rows r
      where ${ownedBy(scope, 'r.client_id')} and r.account_id is not null and ${partial}
    ),
    totals as (select account_id, ${sumColumns} from parts group by account_id having sum(rows) > 0),
    due as (
      select q.account_id, count(*) as due from email_queue q
      where ${ownedBy(scope, 'q.client_id')} and q.status = 'queued' and q.account_id is not null and q.run_after <= ${now}
        and q.created_at >= ${from} and q.created_at < ${to}
      group by 1
    )
    select t.*, coalesce(d.due, 0) as due, a.email from totals t
    join sender_accounts a on a.id = t.account_id
    left join due d on d.account_id = t.account_id
    order by a.email`.execute(db);
  return rows.map((r) => ({ accountId: r.account_id, email: r.email, ...counts(r) }));
}

function dayCounts(): DayCounts {
  return Object.fromEntries(EVENT_METRICS.map((m) => [m, 0])) as DayCounts;
}

function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * Merges the rollups' delta rows into one folded row per key (migration 0027's stats_fold; a
 * no-op while another node folds). Readers sum every row of a key, so folding changes no figure:
 * it only keeps the rollups small.
 */
export async function foldStatsDeltas(db: DbOrTx): Promise<void> {
  await sql`select stats_fold()`.execute(db);
}
