/**
 * What the reconcile loop needs to know about the accounts a node owns: may it send (status),
 * is there work due, and how much has it sent today. One query for all owned accounts.
 */
import { sql } from 'kysely';
import { inTransaction, withoutJit, type DbOrTx } from '../db/connection';
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

export async function listAccountDemand(db: DbOrTx, accountIds: string[], horizonMs: number): Promise<AccountDemand[]> {
  if (accountIds.length === 0) return [];
  const horizon = sql`now() + make_interval(secs => ${horizonMs / 1000})`;
  // Without JIT: the per-account subqueries are priced far above jit_above_cost, and
  // compiling the query took 6–8 s of CPU on a loaded machine for 1,200 accounts, every reconcile.
  const { rows } = await inTransaction(db, async (tx) => {
    await withoutJit(tx);
    return sql<{
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
  }>`
    -- Pool rows (account_id null) are judged once per running campaign, then per account by
    -- its campaign_senders rows. Joined per account instead, the planner hashed the whole
    -- join of pool rows × senders: 6,920 rows × 1,200 senders of one campaign made 8.3 M rows,
    -- twice, and each reconcile took 25 s (paced fleet bench, issue 18).
    with pool as materialized (
      select c.id as campaign_id,
        exists (
          select 1 from email_queue q
          where q.campaign_id = c.id and q.account_id is null and q.status = 'queued' and q.run_after <= ${horizon}
        ) as due,
        exists (select 1 from email_queue q where q.campaign_id = c.id and q.account_id is null and q.status = 'queued') as waiting
      from campaigns c
      where c.status = 'running'
    ),
    zones as materialized (
      select t.time_zone, coalesce(safe_time_zone(t.time_zone), 'UTC') as zone from (select distinct time_zone from sender_accounts) t
    )
    select a.id, a.client_id, a.email, a.status, a.pause_reason, a.probe_pending, a.time_zone, a.daily_limit, a.warmup_enabled,
      a.warmup_curve, a.warmup_started_on, a.health_score, a.deferral_rate_pct,
      (
        exists (
          select 1 from email_queue q
          where q.account_id = a.id and q.status in ('claimed', 'sending')
        )
        or exists (
          select 1 from email_queue q join campaigns c on c.id = q.campaign_id and c.status = 'running'
          where q.account_id = a.id and q.status = 'queued' and q.run_after <= ${horizon}
        )
        or exists (select 1 from campaign_senders cs join pool p on p.campaign_id = cs.campaign_id and p.due where cs.account_id = a.id)
      ) as has_work,
      (
        exists (
          select 1 from email_queue q join campaigns c on c.id = q.campaign_id and c.status = 'running'
          where q.account_id = a.id and q.status in ('queued', 'claimed', 'sending')
        )
        or exists (select 1 from campaign_senders cs join pool p on p.campaign_id = cs.campaign_id and p.waiting where cs.account_id = a.id)
      ) as has_future_work,
      coalesce((
        -- The counter of the current local day. Its start comes from the engine
        -- (startOfLocalDay): where clocks fall back across midnight it is the first midnight,
        -- an hour before the one Postgres picks, so take the latest counter started by now and
        -- after the day before (which started at least 23 h earlier).
        select rc.count from rate_counters rc
        where rc.scope = 'account' and rc.scope_key = a.id::text and rc.window_kind = 'day'
          and rc.window_start <= now()
          and rc.window_start > (date_trunc('day', now() at time zone coalesce(z.zone, 'UTC')) at time zone coalesce(z.zone, 'UTC')) - interval '2 hours'
        order by rc.window_start desc
        limit 1
      ), 0)::int as sent_today
    from sender_accounts a
    -- An unknown zone counts as UTC, as in the engine (sending-window.ts zoneOrUtc). Checked
    -- once per distinct zone: safe_time_zone catches the error in a subtransaction each call.
    left join zones z on z.time_zone = a.time_zone
    where a.id in (${sql.join(accountIds)})
    order by a.id`.execute(tx);
  });
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
