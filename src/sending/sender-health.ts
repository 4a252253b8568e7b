/**
 * After a result: the account's health score and deferral rate are recomputed from its recent
 * attempts (health.ts) and the pause rules applied (bounce rate, complaints, failure run), in
 * the transaction that recorded the result.
 */
import type { DbOrTx } from '../db/connection';
import { loadAccount, pauseAccount, recentSendStats, setHealthScore } from './account-state.repository';
import { deferralRatePct, healthScore, pauseReason, type HealthSettings } from './health';

export interface HealthContext {
  accountId: string;
  probe: boolean;
  settings: { cooldownMinutes: number; health: HealthSettings };
}

export async function applyHealth(tx: DbOrTx, ctx: HealthContext, consecutiveFailures: number, now: Date, response: string, senderSideFailure = false): Promise<void> {
  const account = await loadAccount(tx, ctx.accountId);
  if (!account) return;
  const stats = await recentSendStats(tx, ctx.accountId, account.resumed_at ?? account.created_at, ctx.settings.health.bounceWindowSends);
  const score = healthScore(stats);
  const deferralPct = deferralRatePct(stats);
  // Most results change nothing: skip the write of a hot row.
  if (Math.abs(score - Number(account.health_score)) >= 0.01 || Math.abs(deferralPct - Number(account.deferral_rate_pct)) >= 0.01) {
    await setHealthScore(tx, ctx.accountId, score, deferralPct);
  }
  // A failed probe sends the account back to cool-down; a bounced probe says nothing about it.
  const reason = ctx.probe && senderSideFailure ? 'probe_failed' : pauseReason(stats, consecutiveFailures, ctx.settings.health);
  if (reason) {
    const until = new Date(now.getTime() + ctx.settings.cooldownMinutes * 60_000);
    await pauseAccount(tx, ctx.accountId, { reason, until, now, details: { stats, consecutiveFailures, lastResponse: response } });
  }
}
