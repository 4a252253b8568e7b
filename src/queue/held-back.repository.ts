/**
 * What holds back the rows an account could take now, when its claim took none: the claim's
 * candidate query filters out rows to a recipient domain whose breaker is open or whose day
 * counter is full, and rows of a campaign at its daily limit, without saying until when. Asked
 * only on the idle path (a claim that took nothing), never per send.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { rowInRecipientWindow } from './recipient-window.repository';

export interface HeldBackQuery {
  accountId: string;
  now: Date;
  /** Due rows of these campaigns count: campaign-zone windows open now. */
  openCampaignIds: string[];
  /** …and of these, each row inside its window in the recipient's zone. */
  recipientZoneCampaignIds: string[];
  /** Recipient-domain counters are keyed `${senderDomain}>${recipientDomain}`. */
  senderDomain: string;
  recipientDomainDailyLimit: number;
  /** The day the recipient-domain and campaign counters count (UTC, limits.ts windowStarts().day) and when it ends. */
  dayStart: Date;
  dayEnd: Date;
}

export type HeldBack =
  /** Every due row is held back; the earliest of them may go at `until` (for `reason`). */
  | { kind: 'held'; until: Date; reason: 'recipient_domain_breaker_open' | 'limit:recipient_domain/day' | 'limit:campaign/day' }
  /** A due row that nothing holds back: locked by another process's claim (SKIP LOCKED), or changed meanwhile. */
  | { kind: 'free' }
  | { kind: 'none' };

/**
 * The earliest time one of the account's due rows (in its window) is no longer held back, per
 * distinct recipient domain and campaign: a row held by several conditions goes when the last
 * of them ends. The same conditions and keys as selectClaimCandidates and the claim's greedy
 * pick (counter keys in lower case, as reserved).
 */
export async function heldBackUntil(db: DbOrTx, q: HeldBackQuery): Promise<HeldBack> {
  const campaignIds = [...q.openCampaignIds, ...q.recipientZoneCampaignIds];
  if (campaignIds.length === 0) return { kind: 'none' };
  const due = (ownership: ReturnType<typeof sql>) => sql`
    select distinct q.recipient_domain, q.campaign_id
    from email_queue q
    join campaigns c on c.id = q.campaign_id and c.status = 'running'
    where q.status = 'queued' and q.run_after <= ${q.now} and ${ownership}
      and (q.campaign_id = any(${q.openCampaignIds}::uuid[])
           or (q.campaign_id = any(${q.recipientZoneCampaignIds}::uuid[]) and ${rowInRecipientWindow(q.now)}))`;
  const result = await sql<{ breaker_until: Date | null; domain_full: boolean; campaign_full: boolean; held_until: Date | null }>`
    with due as (
      ${due(sql`q.account_id = ${q.accountId} and q.campaign_id = any(${campaignIds}::uuid[])`)}
      union
      ${due(sql`q.account_id is null and q.campaign_id in (
        select cs.campaign_id from campaign_senders cs where cs.account_id = ${q.accountId} and cs.campaign_id = any(${campaignIds}::uuid[]))`)}
    ),
    conditions as (
      select
        (select b.opened_until from circuit_breakers b
          where b.scope = 'recipient_domain' and b.scope_key = d.recipient_domain and b.opened_until > ${q.now}) as breaker_until,
        coalesce((
          select r.count from rate_counters r
          where r.scope = 'recipient_domain' and r.scope_key = ${q.senderDomain} || '>' || lower(d.recipient_domain)
            and r.window_kind = 'day' and r.window_start = ${q.dayStart}
        ), 0) >= ${q.recipientDomainDailyLimit} as domain_full,
        (c.daily_limit is not null and coalesce((
          select r.count from rate_counters r
          where r.scope = 'campaign' and r.scope_key = c.id::text and r.window_kind = 'day' and r.window_start = ${q.dayStart}
        ), 0) >= c.daily_limit) as campaign_full
      from due d join campaigns c on c.id = d.campaign_id
    )
    select breaker_until, domain_full, campaign_full,
           -- greatest() skips nulls: null only when nothing holds the row back.
           greatest(breaker_until, case when domain_full or campaign_full then ${q.dayEnd}::timestamptz end) as held_until
    from conditions
    order by held_until asc nulls first
    limit 1
  `.execute(db);
  const first = result.rows[0];
  if (!first) return { kind: 'none' };
  if (!first.held_until) return { kind: 'free' };
  const until = first.held_until;
  const reason =
    first.breaker_until && first.breaker_until.getTime() === until.getTime()
      ? 'recipient_domain_breaker_open'
      : first.domain_full
        ? 'limit:recipient_domain/day'
        : 'limit:campaign/day';
  return { kind: 'held', until, reason };
}
