/**
 * Sender health from recent results: the score (0–100) drives the health factor of the daily
 * limit (limits.ts), and the pause rules decide when an account must stop:
 *   bounce rate over health.bounceRateThresholdPct once at least bounceWindowSends attempts
 *   were made in the current health period; any complaint; N consecutive failures.
 */
import type { RecentSendStats } from './account-state.repository';

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
}

/** The pause reason code the stats call for, or undefined. */
export function pauseReason(stats: RecentSendStats, consecutiveFailures: number, settings: HealthSettings): string | undefined {
  if (stats.complaints > 0) return 'complaint';
  if (stats.attempts >= settings.bounceWindowSends && (stats.bounced / stats.attempts) * 100 > settings.bounceRateThresholdPct) return 'bounce_rate';
  if (consecutiveFailures >= settings.consecutiveFailuresToPause) return 'consecutive_failures';
  return undefined;
}
