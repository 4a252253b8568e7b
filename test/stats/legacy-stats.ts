/**
 * THE ORACLE for the rollup tests: the statistics as src/stats/stats.repository.ts computed them
 * before the rollups (migration 0027), straight from the queue and the event tables. Kept
 * verbatim so tests can check the rollups answer exactly what this answers.
 *
 * Campaign figures, computed from the queue and the event tables (nothing is double-counted:
 * each queue row counts at most once per metric).
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
 * in the campaign's pool belongs to none yet (accountId null).
 */
import { sql, type RawBuilder } from 'kysely';
import type { DbOrTx } from '../../src/db/connection';
import { ownedBy, type ClientScope } from '../../src/auth/client-scope';
import { WAITING_STATES } from '../../src/campaigns/campaign-completion.repository';
import { rowHolder } from '../../src/campaigns/campaign-messages.repository';

const EVENT_METRICS = ['queued', 'sent', 'bounced', 'opened', 'clicked', 'replied', 'unsubscribed', 'complained'] as const;
const STATE_METRICS = ['due', 'scheduled', 'retrying', 'inFlight', 'unknown', 'held', 'failed', 'suppressed', 'cancelled'] as const;
const METRICS = [...EVENT_METRICS, ...STATE_METRICS] as const;

export type DayCounts = Record<(typeof EVENT_METRICS)[number], number>;
export type Counts = Record<(typeof METRICS)[number], number>;

interface GroupedRow extends Counts {
  step_number: number | null;
  account_id: string | null;
  by_step: number;
  by_account: number;
}

function counts(row: Partial<Record<(typeof METRICS)[number], unknown>>): Counts {
  return Object.fromEntries(METRICS.map((m) => [m, Number(row[m] ?? 0)])) as Counts;
}

function dayCounts(): DayCounts {
  return Object.fromEntries(EVENT_METRICS.map((m) => [m, 0])) as DayCounts;
}

/** One row per queue row with its metric flags, for the rows `where` selects. */
function flaggedRows(where: RawBuilder<boolean>, now: Date) {
  return sql`
    select q.id, q.step_number, ${rowHolder('q')} as account_id, q.created_at, q.sent_at,
      q.status in (${sql.join(WAITING_STATES)}) as is_queued,
      q.status = 'queued' and q.run_after <= ${now} as is_due,
      q.status = 'queued' and q.run_after > ${now} as is_scheduled,
      q.status = 'queued' and q.attempts > 0 as is_retrying,
      q.status in ('claimed', 'sending') as is_in_flight,
      q.status = 'unknown' as is_unknown,
      q.status = 'held' as is_held,
      q.status = 'failed' as is_failed,
      q.status = 'suppressed' as is_suppressed,
      q.status = 'cancelled' as is_cancelled,
      q.sent_at is not null as is_sent,
      (q.status = 'bounced' or exists (select 1 from bounces b where b.queue_id = q.id and b.bounce_type = 'hard')) as is_bounced,
      exists (select 1 from open_events o where o.queue_id = q.id and o.automated_reason is null) as is_opened,
      exists (select 1 from click_events c where c.queue_id = q.id and c.automated_reason is null) as is_clicked,
      (exists (select 1 from replies r where r.queue_id = q.id)
        or (q.sent_at is not null and q.step_number = max(q.step_number) filter (where q.sent_at is not null) over (partition by q.campaign_id, q.contact_id)
            and exists (select 1 from replies r where r.queue_id is null and r.campaign_id = q.campaign_id and r.contact_id = q.contact_id))) as is_replied,
      (q.sent_at is not null and q.step_number = max(q.step_number) filter (where q.sent_at is not null) over (partition by q.campaign_id, q.contact_id)
        and exists (select 1 from campaign_contacts cc where cc.campaign_id = q.campaign_id and cc.contact_id = q.contact_id and cc.status = 'unsubscribed')) as is_unsubscribed,
      exists (select 1 from complaints x where x.queue_id = q.id) as is_complained
    from email_queue q
    where ${where}`;
}

const AGGREGATES = sql`
  count(*) filter (where is_queued) as queued,
  count(*) filter (where is_sent) as sent,
  count(*) filter (where is_bounced) as bounced,
  count(*) filter (where is_opened) as opened,
  count(*) filter (where is_clicked) as clicked,
  count(*) filter (where is_replied) as replied,
  count(*) filter (where is_unsubscribed) as unsubscribed,
  count(*) filter (where is_complained) as complained,
  count(*) filter (where is_due) as due,
  count(*) filter (where is_scheduled) as scheduled,
  count(*) filter (where is_retrying) as retrying,
  count(*) filter (where is_in_flight) as "inFlight",
  count(*) filter (where is_unknown) as unknown,
  count(*) filter (where is_held) as held,
  count(*) filter (where is_failed) as failed,
  count(*) filter (where is_suppressed) as suppressed,
  count(*) filter (where is_cancelled) as cancelled`;

export interface CampaignStats {
  totals: Counts;
  steps: Array<Counts & { stepNumber: number }>;
  accounts: Array<Counts & { accountId: string | null }>;
  days: Array<DayCounts & { day: string }>;
}

export async function campaignStats(db: DbOrTx, campaignId: string, now: Date): Promise<CampaignStats> {
  const { rows } = await sql<GroupedRow>`
    with f as (${flaggedRows(sql<boolean>`q.campaign_id = ${campaignId}`, now)})
    select step_number, account_id, grouping(step_number) as by_step, grouping(account_id) as by_account, ${AGGREGATES}
    from f group by grouping sets ((), (step_number), (account_id))
    order by step_number nulls first, account_id nulls first`.execute(db);

  const totals = rows.find((r) => Number(r.by_step) === 1 && Number(r.by_account) === 1);
  const steps = rows.filter((r) => Number(r.by_step) === 0).map((r) => ({ stepNumber: Number(r.step_number), ...counts(r) }));
  const accounts = rows.filter((r) => Number(r.by_account) === 0 && Number(r.by_step) === 1).map((r) => ({ accountId: r.account_id, ...counts(r) }));
  return { totals: counts(totals ?? {}), steps, accounts, days: await campaignDays(db, campaignId) };
}

async function campaignDays(db: DbOrTx, campaignId: string): Promise<Array<DayCounts & { day: string }>> {
  const { rows } = await sql<{ day: string; metric: string; n: number }>`
    with q as (select id, contact_id, created_at, sent_at, status, updated_at from email_queue where campaign_id = ${campaignId}),
    events as (
      select created_at as at, 'queued' as metric, id as queue_id from q
      union all select sent_at, 'sent', id from q where sent_at is not null
      union all select coalesce((select min(b.received_at) from bounces b where b.queue_id = q.id), q.updated_at), 'bounced', id
        from q where status = 'bounced' or exists (select 1 from bounces b where b.queue_id = q.id and b.bounce_type = 'hard')
      union all select min(o.occurred_at), 'opened', o.queue_id from open_events o where o.campaign_id = ${campaignId} and o.automated_reason is null group by o.queue_id
      union all select min(c.occurred_at), 'clicked', c.queue_id from click_events c where c.campaign_id = ${campaignId} and c.automated_reason is null group by c.queue_id
      union all select min(r.received_at), 'replied', coalesce(r.queue_id, 0) from replies r where r.campaign_id = ${campaignId} group by r.contact_id, coalesce(r.queue_id, 0)
      union all select s.created_at, 'unsubscribed', 0 from campaign_contacts cc
        join contacts ct on ct.id = cc.contact_id
        join suppressions s on s.client_id = ct.client_id and s.email = ct.email and s.reason = 'unsubscribed'
        where cc.campaign_id = ${campaignId} and cc.status = 'unsubscribed'
      union all select min(x.received_at), 'complained', x.queue_id from complaints x join q on q.id = x.queue_id group by x.queue_id
    )
    select to_char(at at time zone 'UTC', 'YYYY-MM-DD') as day, metric, count(*)::int as n from events group by 1, 2 order by 1`.execute(db);
  const byDay = new Map<string, DayCounts & { day: string }>();
  for (const row of rows) {
    const entry = byDay.get(row.day) ?? { day: row.day, ...dayCounts() };
    entry[row.metric as keyof DayCounts] = row.n;
    byDay.set(row.day, entry);
  }
  return [...byDay.values()];
}

/** Per sender account across campaigns, for rows created in [from, to). */
export async function accountStats(db: DbOrTx, scope: ClientScope, from: Date, to: Date, now: Date): Promise<Array<Counts & { accountId: string; email: string }>> {
  const { rows } = await sql<Counts & { account_id: string; email: string }>`
    with f as (${flaggedRows(sql<boolean>`${ownedBy(scope, 'q.client_id')} and ${rowHolder('q')} is not null and q.created_at >= ${from} and q.created_at < ${to}`, now)})
    select f.account_id, a.email, ${AGGREGATES}
    from f join sender_accounts a on a.id = f.account_id
    group by f.account_id, a.email order by a.email`.execute(db);
  return rows.map((r) => ({ accountId: r.account_id, email: r.email, ...counts(r) }));
}
