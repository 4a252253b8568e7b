/**
 * What the reconcile loop needs to know about the accounts a node owns: may it send (status),
 * is there work due, and how much has it sent today. One query for all owned accounts.
 */
import { sql } from 'kysely';
import { prepared, type DbOrTx } from '../db/connection';
import type { AccountStatus } from '../db/database';

export interface AccountDemand {
  accountId: string;
  clientId: string;
  email: string;
  status: AccountStatus;
  pauseReason: string | null;
  /** A paused account due a probe send: its worker runs to send the probe. */
  probePending: boolean;
  timeZone: string;
  dailyLimit: number;
  warmupEnabled: boolean;
  warmupCurve: string | null;
  warmupStartedOn: string | null;
  healthScore: number;
  /** Deferred share (0–100) of recent attempts: slows warm-up (see sending/warmup.ts). */
  deferralRatePct: number;
  /** Queue rows this account could claim now or within `horizonMs` (or already holds). */
  hasWork: boolean;
  /**
   * Waiting rows this account may take at any time, however far ahead (follow-ups days away):
   * a running worker sleeps until they are due instead of being stopped and started again.
   */
  hasFutureWork: boolean;
  /**
   * Sends counted against today's account limit (the sending engine's 'account'/'day'
   * counter, reserved at claim time; its day is the account's local day, see sending/limits.ts).
   */
  sentToday: number;
}

/**
 * Reconcile runs this every cycle for every owned account, so its cost must not grow with the
 * history or the depth of the queue:
 * - Rows an account holds (claimed or sending) are read once for all accounts through the
 *   in-flight index (email_queue_leased_idx: a batch per running worker at most); no index
 *   finds them by account, so a per-account lookup costs a scan of the in-flight rows.
 * - Waiting rows are looked up per account and stop at the first (the waiting indexes by
 *   account and by campaign), never a read of the whole waiting queue. A pool is looked up
 *   from the account's campaigns (lateral, so no plan starts from the due pool rows of every
 *   campaign and asks of each whether the account sends for it).
 * - A kept generic plan (prepared): the ids come as one array, so the plan stays small. Planned
 *   anew for 1,200 ids in an `in (…)` list, the per-account lookups of in-flight rows were
 *   estimated above Postgres's JIT thresholds and every call spent 0.15–1.6 s compiling (1 M
 *   sends of history, README "History figures"), besides ~30 ms of planning.
 */
export async function listAccountDemand(db: DbOrTx, accountIds: string[], horizonMs: number): Promise<AccountDemand[]> {
  if (accountIds.length === 0) return [];
  const horizon = sql`now() + make_interval(secs => ${horizonMs / 1000}::float8)`;
  const { rows } = await sql<{
    id: string;
    client_id: string;
    email: string;
    status: AccountStatus;
    pause_reason: string | null;
    probe_pending: boolean;
    time_zone: string;
    daily_limit: number;
    warmup_enabled: boolean;
    warmup_curve: string | null;
    warmup_started_on: string | null;
    health_score: number;
    deferral_rate_pct: number;
    has_work: boolean;
    has_future_work: boolean;
    sent_today: number;
  }>`${prepared('account_demand')}
    with held as (
      -- claimed_by_account_id, not account_id: a pool row keeps account_id null when claimed.
      select q.claimed_by_account_id as account_id, bool_or(c.status = 'running') as in_running_campaign
      from email_queue q join campaigns c on c.id = q.campaign_id
      where q.status in ('claimed', 'sending') and q.claimed_by_account_id is not null
      group by q.claimed_by_account_id
    )
    select a.id, a.client_id, a.email, a.status, a.pause_reason, a.probe_pending, a.time_zone, a.daily_limit, a.warmup_enabled,
      a.warmup_curve, a.warmup_started_on, a.health_score, a.deferral_rate_pct,
      (
        h.account_id is not null
        or exists (
          select 1 from email_queue q join campaigns c on c.id = q.campaign_id and c.status = 'running'
          where q.account_id = a.id and q.status = 'queued' and q.run_after <= ${horizon}
        )
        or exists (
          select 1 from campaign_senders cs
          join campaigns c on c.id = cs.campaign_id and c.status = 'running'
          cross join lateral (
            select 1 from email_queue q
            where q.campaign_id = cs.campaign_id and q.account_id is null and q.status = 'queued' and q.run_after <= ${horizon}
            limit 1
          ) pool
          where cs.account_id = a.id
        )
      ) as has_work,
      (
        coalesce(h.in_running_campaign, false)
        or exists (
          select 1 from email_queue q join campaigns c on c.id = q.campaign_id and c.status = 'running'
          where q.account_id = a.id and q.status = 'queued'
        )
        or exists (
          select 1 from campaign_senders cs
          join campaigns c on c.id = cs.campaign_id and c.status = 'running'
          cross join lateral (
            select 1 from email_queue q where q.campaign_id = cs.campaign_id and q.account_id is null and q.status = 'queued' limit 1
          ) pool
          where cs.account_id = a.id
        )
      ) as has_future_work,
      coalesce((
        -- The counter of the current local day. Its start comes from the engine
        -- (startOfLocalDay): where clocks fall back across midnight it is the first midnight,
        -- an hour before the one Postgres picks, so take the latest counter started by now and
        -- after the day before (which started at least 23 h earlier).
        select rc.count from rate_counters rc
        where rc.scope = 'account' and rc.scope_key = a.id::text and rc.window_kind = 'day'
          and rc.window_start <= now()
          and rc.window_start > (date_trunc('day', now() at time zone z.zone) at time zone z.zone) - interval '2 hours'
        order by rc.window_start desc
        limit 1
      ), 0)::int as sent_today
    from sender_accounts a
    left join held h on h.account_id = a.id
    -- An unknown zone counts as UTC, as in the engine (sending-window.ts zoneOrUtc).
    cross join lateral (select coalesce(safe_time_zone(a.time_zone), 'UTC') as zone) z
    where a.id = any(${accountIds}::uuid[])
    order by a.id`.execute(db);
  return rows.map((r) => ({
    accountId: r.id,
    clientId: r.client_id,
    email: r.email,
    status: r.status,
    pauseReason: r.pause_reason,
    probePending: r.probe_pending,
    timeZone: r.time_zone,
    dailyLimit: r.daily_limit,
    warmupEnabled: r.warmup_enabled,
    warmupCurve: r.warmup_curve,
    warmupStartedOn: r.warmup_started_on,
    healthScore: Number(r.health_score),
    deferralRatePct: Number(r.deferral_rate_pct),
    hasWork: r.has_work,
    hasFutureWork: r.has_future_work,
    sentToday: r.sent_today,
  }));
}

/**
 * When each account's next row is due (its earliest waiting row, assigned or of its pools, not
 * before its minimum gap ends), for choosing who gets a worker first under
 * orchestrator.maxWorkers. Asked only when the cap leaves accounts waiting.
 */
export async function listNextDue(db: DbOrTx, accountIds: string[]): Promise<Map<string, Date>> {
  if (accountIds.length === 0) return new Map();
  // A pool's earliest row once per campaign, not once per sender: 1,200 senders of one
  // campaign would otherwise each read all its waiting rows (its index leads with priority).
  const { rows } = await sql<{ id: string; due: Date | null }>`
    with pools as (
      select c.id as campaign_id,
        (select min(q.run_after) from email_queue q where q.campaign_id = c.id and q.account_id is null and q.status = 'queued') as run_after
      from campaigns c
      where c.status = 'running'
        and exists (select 1 from campaign_senders cs where cs.campaign_id = c.id and cs.account_id = any(${accountIds}::uuid[]))
    )
    select a.id, greatest(a.next_send_at, least(
      (select min(q.run_after) from email_queue q join campaigns c on c.id = q.campaign_id and c.status = 'running'
        where q.account_id = a.id and q.status = 'queued'),
      (select min(p.run_after) from campaign_senders cs join pools p on p.campaign_id = cs.campaign_id where cs.account_id = a.id)
    )) as due
    from sender_accounts a
    where a.id = any(${accountIds}::uuid[])`.execute(db);
  return new Map(rows.filter((r) => r.due !== null).map((r) => [r.id, r.due as Date]));
}
