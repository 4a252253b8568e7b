/**
 * Every limit a claim must respect (invariant 3), as counter keys with their limits. The claim
 * reserves one unit of each key per row in the same transaction (queue/claim.ts), so two
 * processes racing for one account can never both take the last unit.
 *
 *   account / day, account / hour    effective daily limit, hourly limit
 *   sender_domain / day              sender_domains.daily_limit, else sending.senderDomainDailyLimit
 *   recipient_domain / day           per sending domain and recipient domain (reputation is per
 *                                    sending domain): sending.recipientDomainDailyLimit
 *   campaign / day, client / day     campaigns.daily_limit, clients.daily_limit (none when null)
 *   global / minute                  sending.globalPerMinute
 *
 * The account's day runs from midnight to midnight in the account's time zone
 * (sender_accounts.time_zone), like its warm-up day: a mailbox's day is its owner's day. Every
 * other day window (sender domain, recipient domain, campaign, client) is the UTC day: those
 * limits are shared by accounts in different zones. Hour and minute windows are absolute.
 * An account zone Intl does not know counts as UTC (the API accepts only known zones).
 * Effective daily limit = min(configured, warm-up curve(day), health factor × configured), where
 * the warm-up value is cut by warmup.deferralSlowdownPct while the account's recent deferral
 * rate is high (warmup.ts). All of it comes from the account row the claim already locks.
 */
import type { RateScope, RateWindow } from '../db/database';
import { startOfLocalDay, startOfNextLocalDay, zoneOrUtc } from './sending-window';
import { warmupDailyLimit, type WarmupAccount, type WarmupSettings } from './warmup';

export interface CounterKey {
  scope: RateScope;
  scopeKey: string;
  windowKind: RateWindow;
  windowStart: Date;
}

export interface CounterLimit extends CounterKey {
  limit: number;
}

export interface WindowStarts {
  /** UTC day: sender-domain, recipient-domain, campaign and client limits. */
  day: Date;
  /** The account's local day: the account's daily limit. */
  accountDay: Date;
  hour: Date;
  minute: Date;
}

export function windowStarts(now: Date, accountTimeZone = 'UTC'): WindowStarts {
  const t = now.getTime();
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const zone = zoneOrUtc(accountTimeZone);
  return {
    day,
    accountDay: zone === 'UTC' ? day : startOfLocalDay(now, zone),
    hour: new Date(t - (t % 3_600_000)),
    minute: new Date(t - (t % 60_000)),
  };
}

/** When the window of `counter` that contains `now` ends: the account's day ends at its next local midnight. */
export function windowEnd(counter: Pick<CounterKey, 'scope' | 'windowKind'>, now: Date, accountTimeZone = 'UTC'): Date {
  const starts = windowStarts(now);
  if (counter.windowKind === 'day') {
    const zone = zoneOrUtc(accountTimeZone);
    if (counter.scope === 'account' && zone !== 'UTC') return startOfNextLocalDay(now, zone);
    return new Date(starts.day.getTime() + 86_400_000);
  }
  if (counter.windowKind === 'hour') return new Date(starts.hour.getTime() + 3_600_000);
  return new Date(starts.minute.getTime() + 60_000);
}

export function counterId(key: CounterKey): string {
  // Epoch milliseconds, not toISOString(): this runs for every counter of every claimed row.
  return `${key.scope}|${key.scopeKey}|${key.windowKind}|${key.windowStart.getTime()}`;
}

/** 1 at a score of 90 or more, then proportional, never below 10 %. */
export function healthFactor(healthScore: number): number {
  if (healthScore >= 90) return 1;
  return Math.max(0.1, Math.min(1, healthScore / 100));
}

export interface LimitAccount extends WarmupAccount {
  daily_limit: number;
  hourly_limit: number;
  health_score: number;
}

export function effectiveDailyLimit(account: LimitAccount, warmup: WarmupSettings, now: Date): number {
  const configured = account.daily_limit;
  const warm = warmupDailyLimit(account, warmup, now);
  return Math.max(0, Math.floor(Math.min(configured, warm, configured * healthFactor(account.health_score))));
}

export function senderDomainOf(email: string): string {
  return (email.split('@')[1] ?? '').toLowerCase();
}

export interface RowScope {
  campaignId: string;
  clientId: string;
  recipientDomain: string;
}

export interface ScopeLimits {
  accountId: string;
  senderDomain: string;
  accountDailyLimit: number;
  accountHourlyLimit: number;
  senderDomainDailyLimit: number;
  recipientDomainDailyLimit: number;
  globalPerMinute: number;
  campaignDailyLimits: Map<string, number | null>;
  clientDailyLimit: number | null;
}

/** The counters one row reserves, with their limits (Infinity = counted, not limited). */
export function countersForRow(row: RowScope, limits: ScopeLimits, windows: WindowStarts): CounterLimit[] {
  const campaignLimit = limits.campaignDailyLimits.get(row.campaignId) ?? null;
  return [
    { scope: 'account', scopeKey: limits.accountId, windowKind: 'day', windowStart: windows.accountDay, limit: limits.accountDailyLimit },
    { scope: 'account', scopeKey: limits.accountId, windowKind: 'hour', windowStart: windows.hour, limit: limits.accountHourlyLimit },
    { scope: 'sender_domain', scopeKey: limits.senderDomain, windowKind: 'day', windowStart: windows.day, limit: limits.senderDomainDailyLimit },
    {
      scope: 'recipient_domain',
      scopeKey: `${limits.senderDomain}>${row.recipientDomain.toLowerCase()}`,
      windowKind: 'day',
      windowStart: windows.day,
      limit: limits.recipientDomainDailyLimit,
    },
    { scope: 'campaign', scopeKey: row.campaignId, windowKind: 'day', windowStart: windows.day, limit: campaignLimit ?? Infinity },
    { scope: 'client', scopeKey: row.clientId, windowKind: 'day', windowStart: windows.day, limit: limits.clientDailyLimit ?? Infinity },
    { scope: 'global', scopeKey: '*', windowKind: 'minute', windowStart: windows.minute, limit: limits.globalPerMinute },
  ];
}

/**
 * The counter keys (no limits) a claimed row reserved, to release them when it goes back unsent.
 * `accountTimeZone` must be the zone the claim used (the account's), or the account's day differs.
 */
export function reservedKeys(row: RowScope, accountId: string, senderDomain: string, claimedAt: Date, accountTimeZone: string): CounterKey[] {
  const windows = windowStarts(claimedAt, accountTimeZone);
  const noLimits: ScopeLimits = {
    accountId,
    senderDomain,
    accountDailyLimit: 0,
    accountHourlyLimit: 0,
    senderDomainDailyLimit: 0,
    recipientDomainDailyLimit: 0,
    globalPerMinute: 0,
    campaignDailyLimits: new Map(),
    clientDailyLimit: null,
  };
  return countersForRow(row, noLimits, windows).map(({ scope, scopeKey, windowKind, windowStart }) => ({ scope, scopeKey, windowKind, windowStart }));
}

/** Minimum gap with random jitter of ± jitterPct %. `random` returns [0, 1). */
export function gapWithJitterMs(minGapSeconds: number, jitterPct: number, random: () => number): number {
  if (minGapSeconds <= 0) return 0;
  const jitter = ((random() * 2 - 1) * jitterPct) / 100;
  return Math.max(0, Math.round(minGapSeconds * 1000 * (1 + jitter)));
}

/** Exponential backoff with full jitter in [base·2^(n-1)/2, base·2^(n-1)], capped; Retry-After wins when longer. */
export function retryDelaySeconds(attempt: number, baseSeconds: number, maxSeconds: number, random: () => number, retryAfterSeconds?: number): number {
  const exponential = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exponential / 2 + (random() * exponential) / 2);
  return Math.min(maxSeconds, Math.max(jittered, retryAfterSeconds ?? 0, 1));
}
