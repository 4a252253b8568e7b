/**
 * What the paced fleet benchmark judges from the database after its run: per account, its
 * claims (email_queue.claimed_at, the moment the worker's claim ran, which is also when the
 * product starts the minimum gap) and the gap each claim drew (next_send_at − claimed_at: the
 * claim sets next_send_at = now + min_gap × (1 ± jitter), read back from a log the bench's
 * trigger keeps, since the column is overwritten by the next claim).
 *
 *   due(k+1)    claimed_at(k) + gap(k): the earliest moment the limits allowed send k+1 (no
 *               other limit binds in this setup: the window covers the run, daily and hourly
 *               limits are far above what a 600 s gap allows in it).
 *   lateness    sent_at(k) − due(k) for every send but an account's first (whose due is the
 *               run's start: that is start-up, reported apart).
 *   allowance   per account, the sends its limits allowed in [its first send, window end]:
 *               ideal(1) = its first claim, ideal(k+1) = ideal(k) + gap(k) with the gaps it drew
 *               (past the last drawn one: the nominal min_gap), allowed = #{k : ideal(k) ≤ end}.
 *               An account that never sent is allowed 1 + ⌊(end − run start) / min_gap⌋.
 *   made        sends k with ideal(k) ≤ end that were sent (at any time before the bench
 *               stopped, which is a grace period after the window's end).
 *   violations  consecutive claims closer than min_gap × (1 − jitter), a claim before its
 *               due, and sends over the daily or hourly limit (UTC day / clock hour, the
 *               accounts' time zone).
 */

export interface ClaimRecord {
  claimedAtMs: number;
  /** undefined: the row was not sent (failed, unknown, still in flight). */
  sentAtMs: number | undefined;
}

export interface AccountPacing {
  minGapS: number;
  dailyLimit: number;
  hourlyLimit: number;
  claims: ClaimRecord[];
  /** next_send_at values the account's row took, with when they were written. */
  gapLog: { loggedAtMs: number; nextSendAtMs: number }[];
}

export interface PacingResult {
  allowed: number;
  made: number;
  /** Seconds late, one per send after an account's first. */
  lateS: number[];
  /** Seconds from the run's start to each account's first send. */
  firstSendS: number[];
  gapViolations: number;
  earlyClaims: number;
  dailyOver: number;
  hourlyOver: number;
  /** Claims whose drawn gap was not found in the log (should be 0). */
  unmatchedGaps: number;
}

/** The gap each claim drew: the first next_send_at written at or after the claim began. */
function drawnGapsMs(account: AccountPacing): (number | undefined)[] {
  const log = [...account.gapLog].sort((a, b) => a.loggedAtMs - b.loggedAtMs);
  let next = 0;
  return account.claims.map((claim, k) => {
    const nextClaimMs = account.claims[k + 1]?.claimedAtMs ?? Infinity;
    // The claim's own clock and the database's may differ by a few ms on one machine.
    while (next < log.length && (log[next] as { loggedAtMs: number }).loggedAtMs < claim.claimedAtMs - 1000) next++;
    const entry = log[next];
    if (!entry || entry.loggedAtMs >= nextClaimMs) return undefined;
    next++;
    return entry.nextSendAtMs - claim.claimedAtMs;
  });
}

function countOver(timesMs: number[], bucketMs: number, limit: number): number {
  const counts = new Map<number, number>();
  for (const t of timesMs) counts.set(Math.floor(t / bucketMs), (counts.get(Math.floor(t / bucketMs)) ?? 0) + 1);
  let over = 0;
  for (const n of counts.values()) over += Math.max(0, n - limit);
  return over;
}

export function judgePacing(accounts: AccountPacing[], runStartMs: number, windowEndMs: number, jitterPct: number): PacingResult {
  const result: PacingResult = { allowed: 0, made: 0, lateS: [], firstSendS: [], gapViolations: 0, earlyClaims: 0, dailyOver: 0, hourlyOver: 0, unmatchedGaps: 0 };
  for (const account of accounts) {
    const minGapMs = account.minGapS * 1000;
    const claims = [...account.claims].sort((a, b) => a.claimedAtMs - b.claimedAtMs);
    const sorted = { ...account, claims };
    if (claims.length === 0) {
      result.allowed += 1 + Math.floor((windowEndMs - runStartMs) / minGapMs);
      continue;
    }
    const gaps = drawnGapsMs(sorted);
    result.unmatchedGaps += gaps.filter((g) => g === undefined).length;

    let ideal = (claims[0] as ClaimRecord).claimedAtMs;
    for (let k = 0; ideal <= windowEndMs; k++) {
      result.allowed += 1;
      const claim = claims[k];
      if (claim?.sentAtMs !== undefined) result.made += 1;
      ideal += gaps[k] ?? minGapMs;
    }

    const first = claims[0] as ClaimRecord;
    if (first.sentAtMs !== undefined) result.firstSendS.push((first.sentAtMs - runStartMs) / 1000);
    for (let k = 1; k < claims.length; k++) {
      const claim = claims[k] as ClaimRecord;
      const previous = claims[k - 1] as ClaimRecord;
      if (claim.claimedAtMs - previous.claimedAtMs < minGapMs * (1 - jitterPct / 100)) result.gapViolations += 1;
      const gap = gaps[k - 1];
      if (gap === undefined) continue;
      const dueMs = previous.claimedAtMs + gap;
      if (claim.claimedAtMs < dueMs) result.earlyClaims += 1;
      if (claim.sentAtMs !== undefined) result.lateS.push((claim.sentAtMs - dueMs) / 1000);
    }
    const claimTimes = claims.map((c) => c.claimedAtMs);
    result.dailyOver += countOver(claimTimes, 86_400_000, account.dailyLimit);
    result.hourlyOver += countOver(claimTimes, 3_600_000, account.hourlyLimit);
  }
  return result;
}

/** The q-quantile (0…1) of `values` by nearest rank; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
