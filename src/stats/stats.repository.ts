/**
 * Campaign figures, computed from the queue and the event tables (nothing is double-counted:
 * each queue row counts at most once per metric).
 *   queued        rows still waiting (queued, claimed, sending, held, unknown)
 *   sent          rows handed to a transport (sent_at set)
 *   bounced       rows that bounced (status, or a hard bounce recorded later)
 *   opened/clicked rows with at least one human (not proxy/scanner) open/click
 *   replied       rows answered (a reply tied to the row, or to the contact's last sent step)
 *   unsubscribed  contacts who unsubscribed, on their last sent step and account
 * Per day counts events on the day they happened (UTC).
 */
import { sql, type RawBuilder } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { ownedBy, type ClientScope } from '../auth/client-scope';

export interface Counts {
  queued: number;
  sent: number;
  bounced: number;
  opened: number;
  clicked: number;
  replied: number;
  unsubscribed: number;
}

interface GroupedRow extends Counts {
  step_number: number | null;
  account_id: string | null;
  by_step: number;
  by_account: number;
}

const METRICS = ['queued', 'sent', 'bounced', 'opened', 'clicked', 'replied', 'unsubscribed'] as const;

function counts(row: Partial<Record<(typeof METRICS)[number], unknown>>): Counts {
  return Object.fromEntries(METRICS.map((m) => [m, Number(row[m] ?? 0)])) as unknown as Counts;
}

/** One row per queue row with its metric flags, for the rows `where` selects. */
function flaggedRows(where: RawBuilder<boolean>) {
  return sql`
    select q.id, q.step_number, coalesce(q.account_id, q.claimed_by_account_id) as account_id, q.created_at, q.sent_at,
      q.status in ('queued', 'claimed', 'sending', 'held', 'unknown') as is_queued,
      q.sent_at is not null as is_sent,
      (q.status = 'bounced' or exists (select 1 from bounces b where b.queue_id = q.id and b.bounce_type = 'hard')) as is_bounced,
      exists (select 1 from open_events o where o.queue_id = q.id and o.automated_reason is null) as is_opened,
      exists (select 1 from click_events c where c.queue_id = q.id and c.automated_reason is null) as is_clicked,
      (exists (select 1 from replies r where r.queue_id = q.id)
        or (q.sent_at is not null and q.step_number = max(q.step_number) filter (where q.sent_at is not null) over (partition by q.campaign_id, q.contact_id)
            and exists (select 1 from replies r where r.queue_id is null and r.campaign_id = q.campaign_id and r.contact_id = q.contact_id))) as is_replied,
      (q.sent_at is not null and q.step_number = max(q.step_number) filter (where q.sent_at is not null) over (partition by q.campaign_id, q.contact_id)
        and exists (select 1 from campaign_contacts cc where cc.campaign_id = q.campaign_id and cc.contact_id = q.contact_id and cc.status = 'unsubscribed')) as is_unsubscribed
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
  count(*) filter (where is_unsubscribed) as unsubscribed`;

export interface CampaignStats {
  totals: Counts;
  steps: Array<Counts & { stepNumber: number }>;
  accounts: Array<Counts & { accountId: string | null }>;
  days: Array<Counts & { day: string }>;
}

export async function campaignStats(db: DbOrTx, campaignId: string): Promise<CampaignStats> {
  const { rows } = await sql<GroupedRow>`
    with f as (${flaggedRows(sql<boolean>`q.campaign_id = ${campaignId}`)})
    select step_number, account_id, grouping(step_number) as by_step, grouping(account_id) as by_account, ${AGGREGATES}
    from f group by grouping sets ((), (step_number), (account_id))
    order by step_number nulls first, account_id nulls first`.execute(db);

  const totals = rows.find((r) => Number(r.by_step) === 1 && Number(r.by_account) === 1);
  const steps = rows.filter((r) => Number(r.by_step) === 0).map((r) => ({ stepNumber: Number(r.step_number), ...counts(r) }));
  const accounts = rows.filter((r) => Number(r.by_account) === 0 && Number(r.by_step) === 1).map((r) => ({ accountId: r.account_id, ...counts(r) }));
  return { totals: counts(totals ?? {}), steps, accounts, days: await campaignDays(db, campaignId) };
}

async function campaignDays(db: DbOrTx, campaignId: string): Promise<Array<Counts & { day: string }>> {
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
    )
    select to_char(at at time zone 'UTC', 'YYYY-MM-DD') as day, metric, count(*)::int as n from events group by 1, 2 order by 1`.execute(db);
  const byDay = new Map<string, Counts & { day: string }>();
  for (const row of rows) {
    const entry = byDay.get(row.day) ?? { day: row.day, ...counts({}) };
    entry[row.metric as keyof Counts] = row.n;
    byDay.set(row.day, entry);
  }
  return [...byDay.values()];
}

/** Per sender account across campaigns, for rows created in [from, to). */
export async function accountStats(db: DbOrTx, scope: ClientScope, from: Date, to: Date): Promise<Array<Counts & { accountId: string; email: string }>> {
  const { rows } = await sql<Counts & { account_id: string; email: string }>`
    with f as (${flaggedRows(sql<boolean>`${ownedBy(scope, 'q.client_id')} and coalesce(q.account_id, q.claimed_by_account_id) is not null and q.created_at >= ${from} and q.created_at < ${to}`)})
    select f.account_id, a.email, ${AGGREGATES}
    from f join sender_accounts a on a.id = f.account_id
    group by f.account_id, a.email order by a.email`.execute(db);
  return rows.map((r) => ({ accountId: r.account_id, email: r.email, ...counts(r) }));
}
