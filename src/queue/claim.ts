/**
 * Claiming a batch for one account, in ONE transaction (invariant 3):
 *   1. lock the account row (two processes of one account queue up here);
 *   2. check its state (active, or paused with its cool-down over: one probe row), complaints,
 *      the minimum gap (next_send_at), the provider breaker, and the account / sender-domain /
 *      client / global counters;
 *   3. lock candidate rows with SKIP LOCKED; suppressed rows become `suppressed` and rows of
 *      contacts no longer active become `cancelled`, here, so an unsubscribe is effective
 *      before the next claim;
 *   4. reserve one unit of every counter per taken row (conditional increments, one statement,
 *      locks in key order); a reservation that no longer fits means another process got there first: the
 *      whole transaction is retried from fresh counts;
 *   5. mark the rows `claimed` with a lease, and push next_send_at out by the gap + jitter.
 * Nothing to take: the wait says until when (the next row due, a window opening, or the end of
 * what holds the due rows back: a recipient-domain breaker or day counter, a campaign day
 * counter; next-due.ts).
 */
import crypto from 'node:crypto';
import type { Db, DbOrTx } from '../db/connection';
import type { AccountStatus } from '../db/database';
import {
  countComplaintsSince,
  loadAccountForClaim,
  pauseAccount,
  setNextSendAt,
  type ClaimAccount,
} from '../sending/account-state.repository';
import { openUntil } from '../sending/circuit-breaker.repository';
import { providerKey } from '../sending/circuit-breaker';
import {
  counterId,
  countersForRow,
  effectiveDailyLimit,
  gapWithJitterMs,
  senderDomainOf,
  windowEnd,
  windowStarts,
  type CounterLimit,
  type ScopeLimits,
} from '../sending/limits';
import type { WarmupSettings } from '../sending/warmup';
import { nextDueAt } from './next-due';
import { markClaimed, markUnsendable, selectClaimCandidates, type CandidateRow } from './queue.repository';
import { readCounts, reserveCounters } from './rate-counter.repository';

export interface ClaimSettings {
  batchSize: number;
  leaseMs: number;
  gapJitterPct: number;
  globalPerMinute: number;
  recipientDomainDailyLimit: number;
  senderDomainDailyLimit: number;
  cooldownMinutes: number;
  warmup: WarmupSettings;
}

export type ClaimResult =
  | { kind: 'claimed'; leaseToken: string; rows: CandidateRow[]; probe: boolean; suppressed: number; cancelled: number; account: ClaimAccount }
  | { kind: 'wait'; reason: string; until?: Date; suppressed: number; cancelled: number; account: ClaimAccount }
  | { kind: 'inactive'; status: AccountStatus | 'missing'; reason: string | null };

class ReservationRace extends Error {}

const MAX_RACE_RETRIES = 5;

export async function claimBatch(db: Db, accountId: string, now: Date, settings: ClaimSettings, random: () => number = Math.random): Promise<ClaimResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute((tx) => claimInTransaction(tx, accountId, now, settings, random));
    } catch (error) {
      const code = (error as { code?: string }).code;
      const retriable = error instanceof ReservationRace || code === '40P01' || code === '40001';
      if (!retriable || attempt >= MAX_RACE_RETRIES) {
        if (error instanceof ReservationRace) {
          const account = await loadAccountForClaim(db, accountId, false);
          if (!account) return { kind: 'inactive', status: 'missing', reason: null };
          return { kind: 'wait', reason: 'contended', suppressed: 0, cancelled: 0, account };
        }
        throw error;
      }
    }
  }
}

async function claimInTransaction(tx: DbOrTx, accountId: string, now: Date, settings: ClaimSettings, random: () => number): Promise<ClaimResult> {
  const account = await loadAccountForClaim(tx, accountId, true);
  if (!account) return { kind: 'inactive', status: 'missing', reason: null };
  const wait = (reason: string, until?: Date): ClaimResult => ({ kind: 'wait', reason, ...(until ? { until } : {}), suppressed: 0, cancelled: 0, account });

  let probe = false;
  if (account.status === 'paused' && account.probe_pending) {
    if (account.paused_until && account.paused_until > now) return wait(`paused:${account.pause_reason ?? ''}`, account.paused_until);
    probe = true;
  } else if (account.status !== 'active') {
    return { kind: 'inactive', status: account.status, reason: account.pause_reason };
  }

  if (!probe && (await countComplaintsSince(tx, accountId, account.resumed_at ?? account.created_at)) > 0) {
    const until = new Date(now.getTime() + settings.cooldownMinutes * 60_000);
    await pauseAccount(tx, accountId, { reason: 'complaint', until, now, details: {} });
    return wait('paused:complaint', until);
  }
  if (account.next_send_at && account.next_send_at > now) return wait('min_gap', account.next_send_at);
  const providerOpen = await openUntil(tx, 'provider', providerKey(account), now);
  if (providerOpen) return wait('provider_breaker_open', providerOpen);

  const windows = windowStarts(now, account.time_zone);
  const senderDomain = senderDomainOf(account.email);
  const limits: ScopeLimits = {
    accountId,
    senderDomain,
    accountDailyLimit: effectiveDailyLimit(account, settings.warmup, now),
    accountHourlyLimit: account.hourly_limit,
    senderDomainDailyLimit: account.sender_domain_daily_limit ?? settings.senderDomainDailyLimit,
    recipientDomainDailyLimit: settings.recipientDomainDailyLimit,
    globalPerMinute: settings.globalPerMinute,
    campaignDailyLimits: new Map(),
    clientDailyLimit: account.client_daily_limit,
  };

  // Headroom on the counters every row of this account shares.
  const shared = countersForRow({ campaignId: '', clientId: account.client_id, recipientDomain: '' }, limits, windows).filter(
    (c) => c.scope !== 'campaign' && c.scope !== 'recipient_domain',
  );
  const sharedCounts = await readCounts(tx, shared);
  let headroom = Infinity;
  let binding: CounterLimit | undefined;
  for (const counter of shared) {
    const room = counter.limit - (sharedCounts.get(counterId(counter)) ?? 0);
    if (room < headroom) {
      headroom = room;
      binding = counter;
    }
  }
  if (headroom <= 0 && binding) return wait(`limit:${binding.scope}/${binding.windowKind}`, windowEnd(binding, now, account.time_zone));

  const oneAtATime = probe || account.min_gap_seconds > 0;
  const want = Math.min(headroom, oneAtATime ? 1 : settings.batchSize);
  const candidates = await selectClaimCandidates(tx, {
    accountId,
    now,
    limit: want,
    senderDomain,
    recipientDomainDailyLimit: settings.recipientDomainDailyLimit,
    dayStart: windows.day,
    pool: true,
  }, random);

  const suppressedIds = candidates.filter((r) => r.suppressed).map((r) => r.id);
  const cancelledIds = candidates.filter((r) => !r.suppressed && r.contact_status !== 'active').map((r) => r.id);
  const suppressed = await markUnsendable(tx, suppressedIds, 'suppressed', 'address suppressed for this client', now);
  const cancelled = await markUnsendable(tx, cancelledIds, 'cancelled', 'contact no longer active in the campaign', now);
  const eligible = candidates.filter((r) => !r.suppressed && r.contact_status === 'active');
  for (const row of eligible) limits.campaignDailyLimits.set(row.campaign_id, row.campaign_daily_limit);

  // Greedy pick against exact counts: a row whose recipient domain or campaign is full stays.
  const perRow = eligible.map((row) => ({ row, counters: countersForRow({ campaignId: row.campaign_id, clientId: row.client_id, recipientDomain: row.recipient_domain }, limits, windows) }));
  const counts = await readCounts(tx, dedupe(perRow.flatMap((p) => p.counters)));
  const planned = new Map<string, { counter: CounterLimit; amount: number }>();
  const chosen: CandidateRow[] = [];
  for (const { row, counters } of perRow) {
    const ids = counters.map(counterId);
    const fits = counters.every((c, i) => (counts.get(ids[i] as string) ?? 0) + (planned.get(ids[i] as string)?.amount ?? 0) + 1 <= c.limit);
    if (!fits) continue;
    counters.forEach((c, i) => {
      const entry = planned.get(ids[i] as string);
      if (entry) entry.amount += 1;
      else planned.set(ids[i] as string, { counter: c, amount: 1 });
    });
    chosen.push(row);
  }
  if (chosen.length === 0) {
    // Nothing to take now: say until when, so the worker sleeps exactly that long (or exits
    // and is started again in time). The recipient-domain and campaign counters count UTC days.
    const next = await nextDueAt(tx, accountId, now, {
      senderDomain,
      recipientDomainDailyLimit: settings.recipientDomainDailyLimit,
      dayStart: windows.day,
      dayEnd: windowEnd({ scope: 'recipient_domain', windowKind: 'day' }, now, account.time_zone),
    });
    return { ...(wait(next?.reason ?? 'nothing_due', next?.at) as Extract<ClaimResult, { kind: 'wait' }>), suppressed, cancelled };
  }

  const reservations = [...planned.values()].map(({ counter, amount }) => ({ key: counter, amount, limit: counter.limit }));
  if (!(await reserveCounters(tx, reservations))) throw new ReservationRace('a counter filled up meanwhile');

  const leaseToken = crypto.randomUUID();
  const claimedIds = await markClaimed(tx, chosen.map((r) => r.id), { leaseToken, accountId, now, leaseExpiresAt: new Date(now.getTime() + settings.leaseMs) });
  if (claimedIds.length !== chosen.length) throw new ReservationRace('row changed under its lock');
  const gapMs = gapWithJitterMs(account.min_gap_seconds, settings.gapJitterPct, random);
  if (gapMs > 0) await setNextSendAt(tx, accountId, new Date(now.getTime() + gapMs * chosen.length));
  return { kind: 'claimed', leaseToken, rows: chosen, probe, suppressed, cancelled, account };
}

function dedupe(counters: CounterLimit[]): CounterLimit[] {
  const seen = new Map<string, CounterLimit>();
  for (const c of counters) seen.set(counterId(c), c);
  return [...seen.values()];
}
