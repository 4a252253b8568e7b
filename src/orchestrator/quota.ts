/**
 * Whether an account has quota left today, as the orchestrator judges it before starting a
 * worker. The worker enforces the exact limits itself (in the claim transaction); this only
 * avoids keeping a process alive for an account that cannot send any more today. The
 * effective limit is the sending engine's own (configured limit, warm-up curve, health).
 */
import type { Tunables } from '../config';
import { effectiveDailyLimit as engineDailyLimit } from '../sending/limits';
import type { AccountDemand } from './account-demand.repository';

export function effectiveDailyLimit(account: AccountDemand, warmup: Tunables['warmup'], now: Date): number {
  return engineDailyLimit(
    {
      daily_limit: account.dailyLimit,
      hourly_limit: 0,
      health_score: account.healthScore,
      warmup_enabled: account.warmupEnabled,
      warmup_curve: account.warmupCurve,
      warmup_started_on: account.warmupStartedOn,
      time_zone: account.timeZone,
      deferral_rate_pct: account.deferralRatePct,
    },
    warmup,
    now,
  );
}

export function hasQuotaLeft(account: AccountDemand, warmup: Tunables['warmup'], now: Date): boolean {
  return account.sentToday < effectiveDailyLimit(account, warmup, now);
}
