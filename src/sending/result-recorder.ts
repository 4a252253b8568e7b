/**
 * Records what the transport said about a row that was `sending`, in one transaction per
 * result (accepted results of a batch share one), guarded by the row's lease token:
 *
 *   accepted            → sent; follow-up queued; failure run reset; probe resumes the account
 *   transient           → queued again at now + backoff (jitter, Retry-After), or failed after
 *                         sending.maxAttempts; breakers count it; N in a row pauses the account
 *   transient + deliveryUncertain, or the transport threw → unknown (reconciled, never resent blind)
 *   recipient_hard → bounced + bounces row + suppression (hard_bounce) + contact bounced
 *   sender_reputation      → row back to the pool (unassigned; a follow-up waits for its mailbox),
 *                         attempts and reservations given back; account paused + audit row
 *   auth                → like sender_reputation for the row; account suspended + alert + audit
 *
 * After a failure the account's health score is recomputed and the pause rules applied.
 */
import { isDeliveryUncertain } from '../transports/classify';
import type { SendResult } from '../transports/transport';
import type { Db, DbOrTx } from '../db/connection';
import { addSuppression } from '../suppressions/suppression.repository';
import { enqueueFollowUps } from '../queue/enqueue';
import { markManySent, transition, type TransitionedRow } from '../queue/queue.repository';
import { releaseCounters } from '../queue/rate-counter.repository';
import {
  incrementConsecutiveFailures,
  loadAccount,
  pauseAccount,
  recentSendStats,
  resetConsecutiveFailures,
  resumeAfterProbe,
  setHealthScore,
  suspendAccount,
} from './account-state.repository';
import { insertHardBounce, setCampaignContactStatus } from './bounce-outcome.repository';
import { recordBreakerFailure, recordBreakerSuccess } from './circuit-breaker.repository';
import { deferralRatePct, healthScore, pauseReason, type HealthSettings } from './health';
import { reservedKeys, retryDelaySeconds, senderDomainOf } from './limits';
import { insertSendLogs } from './send-log.repository';

export interface RecordSettings {
  maxAttempts: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  cooldownMinutes: number;
  health: HealthSettings;
  circuitBreaker: { failuresToOpen: number; openSeconds: number };
}

export interface RecordContext {
  accountId: string;
  accountEmail: string;
  /** The account's zone when it claimed: its day counter is keyed by local midnight (limits.ts). */
  accountTimeZone: string;
  providerKey: string;
  leaseToken: string;
  probe: boolean;
  settings: RecordSettings;
  random: () => number;
}

/** The part of a claimed row the recorder needs. */
export type SentRow = Omit<TransitionedRow, 'claimed_by_account_id' | 'claimed_at'>;

export type RecordedAs = 'sent' | 'queued' | 'failed' | 'bounced' | 'unknown' | 'handed_back' | 'lost_lease';

export interface Attempt {
  row: SentRow;
  result: SendResult;
  durationMs: number;
}

/** Accepted results of one batch: one transaction. Returns how many rows became `sent`. */
export async function recordAccepted(db: Db, ctx: RecordContext, attempts: Attempt[], now: Date): Promise<number> {
  if (attempts.length === 0) return 0;
  return db.transaction().execute(async (tx) => {
    const sent = await markManySent(
      tx,
      attempts.map((a) => ({ id: a.row.id, ...(a.result.providerMessageId ? { providerMessageId: a.result.providerMessageId } : {}) })),
      ctx.leaseToken,
      now,
    );
    const sentIds = new Set(sent.map((r) => r.id));
    const byId = new Map(attempts.map((a) => [a.row.id, a]));
    await insertSendLogs(
      tx,
      sent.map((row) => {
        const attempt = byId.get(row.id);
        return {
          queueId: row.id,
          clientId: row.client_id,
          campaignId: row.campaign_id,
          accountId: ctx.accountId,
          messageId: row.message_id,
          attempt: row.attempts,
          outcome: 'accepted' as const,
          ...(attempt?.result.code !== undefined ? { code: attempt.result.code } : {}),
          ...(attempt?.result.enhancedCode ? { enhancedCode: attempt.result.enhancedCode } : {}),
          response: attempt?.result.response ?? '',
          ...(attempt?.result.providerMessageId ? { providerMessageId: attempt.result.providerMessageId } : {}),
          ...(attempt ? { durationMs: attempt.durationMs } : {}),
          at: now,
        };
      }),
    );
    await enqueueFollowUps(
      tx,
      sent.map((row) => ({
        id: row.id,
        clientId: row.client_id,
        campaignId: row.campaign_id,
        contactId: row.contact_id,
        stepNumber: row.step_number,
        messageId: row.message_id,
        accountId: ctx.accountId,
        sentAt: now,
      })),
    );
    if (sentIds.size > 0) {
      await resetConsecutiveFailures(tx, ctx.accountId);
      if (ctx.probe) await resumeAfterProbe(tx, ctx.accountId, now);
      const domains = [...new Set(sent.map((r) => r.recipient_domain))];
      await recordBreakerSuccess(tx, [{ scope: 'provider', scopeKey: ctx.providerKey }, ...domains.map((d) => ({ scope: 'recipient_domain' as const, scopeKey: d }))], now);
      // The bounce-rate window fills with accepted sends too: the 20th send may be the one that
      // makes the rate count.
      await applyHealth(tx, { ...ctx, probe: false }, 0, now, '');
    }
    return sent.length;
  });
}

/** One non-accepted result (or an accepted one, delegated to recordAccepted). */
export async function recordResult(db: Db, ctx: RecordContext, attempt: Attempt, now: Date): Promise<RecordedAs> {
  const { row, result } = attempt;
  if (result.outcome === 'accepted') return (await recordAccepted(db, ctx, [attempt], now)) === 1 ? 'sent' : 'lost_lease';
  if (result.outcome === 'transient' && isDeliveryUncertain(result)) return recordUncertain(db, ctx, row, result.response, attempt.durationMs, now);

  return db.transaction().execute(async (tx) => {
    const log = (outcome: 'transient' | 'recipient_hard' | 'sender_reputation' | 'auth', attemptNo: number) =>
      insertSendLogs(tx, [
        {
          queueId: row.id,
          clientId: row.client_id,
          campaignId: row.campaign_id,
          accountId: ctx.accountId,
          messageId: row.message_id,
          attempt: attemptNo,
          outcome,
          ...(result.code !== undefined ? { code: result.code } : {}),
          ...(result.enhancedCode ? { enhancedCode: result.enhancedCode } : {}),
          response: result.response,
          durationMs: attempt.durationMs,
          at: now,
        },
      ]);
    const ours = ['sending', 'unknown'] as const;

    switch (result.outcome) {
      case 'transient': {
        const attemptsAfter = row.attempts + 1;
        const giveUp = attemptsAfter >= ctx.settings.maxAttempts;
        const delay = retryDelaySeconds(attemptsAfter, ctx.settings.retryBaseSeconds, ctx.settings.retryMaxSeconds, ctx.random, result.retryAfterSeconds);
        const changed = await transition(tx, row.id, [...ours], ctx.leaseToken, {
          status: giveUp ? 'failed' : 'queued',
          attempts: attemptsAfter,
          run_after: giveUp ? now : new Date(now.getTime() + delay * 1000),
          lease_token: null,
          lease_expires_at: null,
          last_error: result.response.slice(0, 500),
          updated_at: now,
        });
        if (!changed) return 'lost_lease';
        await log('transient', attemptsAfter);
        const failures = await incrementConsecutiveFailures(tx, ctx.accountId);
        await recordBreakerFailure(tx, 'provider', ctx.providerKey, now, ctx.settings.circuitBreaker);
        await recordBreakerFailure(tx, 'recipient_domain', row.recipient_domain, now, ctx.settings.circuitBreaker);
        await applyHealth(tx, ctx, failures, now, result.response, true);
        return giveUp ? 'failed' : 'queued';
      }
      case 'recipient_hard': {
        const attemptsAfter = row.attempts + 1;
        const changed = await transition(tx, row.id, [...ours], ctx.leaseToken, {
          status: 'bounced',
          attempts: attemptsAfter,
          lease_token: null,
          lease_expires_at: null,
          last_error: result.response.slice(0, 500),
          updated_at: now,
        });
        if (!changed) return 'lost_lease';
        await log('recipient_hard', attemptsAfter);
        await insertHardBounce(tx, {
          clientId: row.client_id,
          queueId: row.id,
          accountId: ctx.accountId,
          email: row.to_email,
          code: result.enhancedCode ?? (result.code !== undefined ? String(result.code) : null),
          diagnostic: result.response,
          at: now,
        });
        await addSuppression(tx, { clientId: row.client_id, email: row.to_email, reason: 'hard_bounce', source: `send:${row.id}` });
        await setCampaignContactStatus(tx, row.campaign_id, row.contact_id, 'bounced');
        // A bounce says nothing bad about the connection: the failure run is not extended.
        const account = await loadAccount(tx, ctx.accountId);
        await applyHealth(tx, ctx, account?.consecutive_failures ?? 0, now, result.response);
        return 'bounced';
      }
      case 'sender_reputation':
      case 'auth': {
        // Not the recipient's fault: the row goes back unsent, as if never attempted here.
        const changed = await transition(tx, row.id, [...ours], ctx.leaseToken, {
          status: 'queued',
          account_id: row.step_number > 1 ? row.account_id : null,
          lease_token: null,
          lease_expires_at: null,
          last_error: result.response.slice(0, 500),
          updated_at: now,
        });
        if (!changed) return 'lost_lease';
        await log(result.outcome, row.attempts + 1);
        if (result.outcome === 'auth') {
          await suspendAccount(tx, ctx.accountId, { reason: 'auth_failed', now, response: result.response });
        } else {
          const until = new Date(now.getTime() + ctx.settings.cooldownMinutes * 60_000);
          await pauseAccount(tx, ctx.accountId, { reason: 'sender_reputation', until, now, details: { response: result.response, code: result.code ?? null } });
        }
        await releaseReservation(tx, changed, ctx);
        return 'handed_back';
      }
      default:
        throw new Error(`unexpected send outcome ${String(result.outcome)}`);
    }
  });
}

/** The message may have been delivered: `unknown`, for the reconciler. Reservations stay. */
export async function recordUncertain(db: Db, ctx: RecordContext, row: SentRow, response: string, durationMs: number, now: Date): Promise<RecordedAs> {
  return db.transaction().execute(async (tx) => {
    const changed = await transition(tx, row.id, ['sending'], ctx.leaseToken, { status: 'unknown', last_error: response.slice(0, 500), updated_at: now });
    if (!changed) return 'lost_lease';
    await insertSendLogs(tx, [
      { queueId: row.id, clientId: row.client_id, campaignId: row.campaign_id, accountId: ctx.accountId, messageId: row.message_id, attempt: row.attempts + 1, outcome: 'unknown', response, durationMs, at: now },
    ]);
    return 'unknown';
  });
}

export async function releaseReservation(tx: DbOrTx, row: TransitionedRow, ctx: { accountId: string; accountEmail: string; accountTimeZone: string }): Promise<void> {
  if (!row.claimed_at) return;
  const accountId = row.claimed_by_account_id ?? ctx.accountId;
  const scope = { campaignId: row.campaign_id, clientId: row.client_id, recipientDomain: row.recipient_domain };
  await releaseCounters(tx, reservedKeys(scope, accountId, senderDomainOf(ctx.accountEmail), new Date(row.claimed_at), ctx.accountTimeZone));
}

async function applyHealth(tx: DbOrTx, ctx: RecordContext, consecutiveFailures: number, now: Date, response: string, senderSideFailure = false): Promise<void> {
  const account = await loadAccount(tx, ctx.accountId);
  if (!account) return;
  const stats = await recentSendStats(tx, ctx.accountId, account.resumed_at ?? account.created_at, ctx.settings.health.bounceWindowSends);
  const score = healthScore(stats);
  const deferralPct = deferralRatePct(stats);
  // Most batches change nothing: skip the write of a hot row.
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
