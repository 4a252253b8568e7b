/**
 * Opens and clicks of a campaign with human and automated ones apart. The main figures
 * (stats.repository.ts) count a row as opened only for a human open; mail-privacy proxies and
 * link scanners fetch pixels and links too (tracking flags them with an automated_reason), and
 * an operator judging a campaign wants to see how much of the raw traffic they are.
 *
 * Per queue row and kind (open, click):
 *   opened / clicked                 rows with at least one human event (as in the main figures)
 *   openedAutomatedOnly / clickedAutomatedOnly
 *                                    rows whose only events are automated (a proxy fetched it,
 *                                    nobody is known to have read it)
 *   humanOpens / automatedOpens, humanClicks / automatedClicks
 *                                    raw event counts
 * Per day (UTC, the day the event happened): the raw event counts.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

const ROW_METRICS = ['opened', 'openedAutomatedOnly', 'clicked', 'clickedAutomatedOnly'] as const;
const EVENT_METRICS = ['humanOpens', 'automatedOpens', 'humanClicks', 'automatedClicks'] as const;

export type EngagementDay = Record<(typeof EVENT_METRICS)[number], number> & { day: string };
export type EngagementCounts = Record<(typeof ROW_METRICS)[number] | (typeof EVENT_METRICS)[number], number>;

export interface CampaignEngagement {
  totals: EngagementCounts;
  steps: Array<EngagementCounts & { stepNumber: number }>;
  automatedReasons: Array<{ reason: string; opens: number; clicks: number }>;
  days: EngagementDay[];
}

const toCounts = (row: Record<string, unknown> | undefined): EngagementCounts =>
  Object.fromEntries([...ROW_METRICS, ...EVENT_METRICS].map((m) => [m, Number(row?.[m] ?? 0)])) as EngagementCounts;

/** Both event tables of one campaign as one stream (only rows of its own queue count). */
const events = (campaignId: string) => sql`
  select o.queue_id, 'open' as kind, o.automated_reason, o.occurred_at from open_events o where o.campaign_id = ${campaignId}
  union all
  select c.queue_id, 'click', c.automated_reason, c.occurred_at from click_events c where c.campaign_id = ${campaignId}`;

export async function campaignEngagement(db: DbOrTx, campaignId: string): Promise<CampaignEngagement> {
  const { rows } = await sql<Record<string, unknown> & { step_number: number | null; is_total: number }>`
    with e as (${events(campaignId)}),
    per_row as (
      select e.queue_id, q.step_number, e.kind,
        bool_or(e.automated_reason is null) as human,
        count(*) filter (where e.automated_reason is null) as human_events,
        count(*) filter (where e.automated_reason is not null) as automated_events
      from e join email_queue q on q.id = e.queue_id and q.campaign_id = ${campaignId}
      group by e.queue_id, q.step_number, e.kind
    )
    select step_number, grouping(step_number) as is_total,
      count(*) filter (where kind = 'open' and human) as opened,
      count(*) filter (where kind = 'open' and not human) as "openedAutomatedOnly",
      count(*) filter (where kind = 'click' and human) as clicked,
      count(*) filter (where kind = 'click' and not human) as "clickedAutomatedOnly",
      coalesce(sum(human_events) filter (where kind = 'open'), 0) as "humanOpens",
      coalesce(sum(automated_events) filter (where kind = 'open'), 0) as "automatedOpens",
      coalesce(sum(human_events) filter (where kind = 'click'), 0) as "humanClicks",
      coalesce(sum(automated_events) filter (where kind = 'click'), 0) as "automatedClicks"
    from per_row group by grouping sets ((), (step_number)) order by step_number nulls first`.execute(db);

  const { rows: reasons } = await sql<{ reason: string; opens: number; clicks: number }>`
    with e as (${events(campaignId)})
    select automated_reason as reason, count(*) filter (where kind = 'open')::int as opens, count(*) filter (where kind = 'click')::int as clicks
    from e where automated_reason is not null group by 1 order by count(*) desc, 1`.execute(db);

  const { rows: days } = await sql<EngagementDay>`
    with e as (${events(campaignId)})
    select to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day,
      count(*) filter (where kind = 'open' and automated_reason is null)::int as "humanOpens",
      count(*) filter (where kind = 'open' and automated_reason is not null)::int as "automatedOpens",
      count(*) filter (where kind = 'click' and automated_reason is null)::int as "humanClicks",
      count(*) filter (where kind = 'click' and automated_reason is not null)::int as "automatedClicks"
    from e group by 1 order by 1`.execute(db);

  return {
    totals: toCounts(rows.find((r) => Number(r.is_total) === 1)),
    steps: rows.filter((r) => Number(r.is_total) === 0).map((r) => ({ stepNumber: Number(r.step_number), ...toCounts(r) })),
    automatedReasons: reasons,
    days,
  };
}
