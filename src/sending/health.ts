/**
 * Sender health from recent results: the score (0–100) drives the health factor of the daily
 * limit (limits.ts), and the pause rules decide when an account must stop:
 *   bounce rate over health.bounceRateThresholdPct once at least bounceWindowSends attempts
 *   were made in the current health period (a hard bounce that came back later as a DSN or
 *   ESP event counts against the send it bounced); any complaint (unless
 *   inbound.pauseOnComplaint is off); N consecutive failures.
 * The deferral rate over the same window is kept next to the score (sender_accounts.
 * deferral_rate_pct) for the warm-up slowdown (warmup.ts).
 */
import type { RecentSendStats } from './account-state.repository';

/**
 * Share of the window's attempts that were deferred (transient 4xx/429/network results), 0–100
 * with two decimals; 0 with no attempts. Stored with the score: the warm-up slows down on it.
 */
export function deferralRatePct(stats: RecentSendStats): number {
  if (stats.attempts <= 0) return 0;
  return Math.round((stats.transient / stats.attempts) * 10_000) / 100;
}

export function healthScore(stats: RecentSendStats): number {
  if (stats.attempts === 0 && stats.complaints === 0) return 100;
  const n = Math.max(1, stats.attempts);
  const bouncePct = (stats.bounced / n) * 100;
  const deferralPct = (stats.transient / n) * 100;
  const blockedPct = (stats.senderBlocked / n) * 100;
  const score = 100 - bouncePct * 4 - deferralPct - blockedPct * 2 - stats.auth * 25 - stats.complaints * 30;
  return Math.max(0, Math.min(100, Math.round(score * 100) / 100));
}

export interface HealthSettings {
  bounceRateThresholdPct: number;
  bounceWindowSends: number;
  consecutiveFailuresToPause: number;
  /** inbound.pauseOnComplaint: false keeps a mailbox with complaints sending (its score still drops). Default true. */
  pauseOnComplaint?: boolean;
}

/** The pause reason code the stats call for, or undefined. */
export function pauseReason(stats: RecentSendStats, consecutiveFailures: number, settings: HealthSettings): string | undefined {
  if (stats.complaints > 0 && settings.pauseOnComplaint !== false) return 'complaint';
  if (stats.attempts >= settings.bounceWindowSends && (stats.bounced / stats.attempts) * 100 > settings.bounceRateThresholdPct) return 'bounce_rate';
  if (consecutiveFailures >= settings.consecutiveFailuresToPause) return 'consecutive_failures';
  return undefined;
}
