/**
 * Records what the transport said about a row that was `sending`, guarded by the row's lease
 * token, inside the caller's transaction (the send journal groups a worker's marks and results
 * into one; a plain database handle gets a transaction of its own):
 *
 *   accepted           → sent; follow-up queued; failure run reset; probe resumes the account
 *   transient          → queued again at now + backoff (Retry-After wins), or failed after
 *                        sending.maxAttempts; the mailbox's failure run grows (N in a row pause
 *                        it) and a provider's per-mailbox Retry-After holds the mailbox back;
 *                        breakers count it only when it says something about their route
 *   transient + deliveryUncertain, or the transport threw → unknown (reconciled, never resent blind)
 *   recipient_hard     → bounced + bounces row (hard) + suppression + contact bounced
 *   recipient_soft     → queued again with backoff until sending.softBounceMaxAttempts, then
 *                        failed; bounces row (soft); never suppressed
 *   sender_reputation  → row back to the pool (a follow-up waits for its mailbox); a 4xx slows the
 *                        mailbox (back-off, failure run), a 5xx pauses it for the cool-down + probe
 *   sender_auth        → row back to the pool; every active mailbox of the sender domain paused; alert
 *   auth               → row back to the pool; account suspended + alert
 *
 * Whether each class gives its limit reservation back: reservations.ts. After a failure the
 * account's health score is recomputed and the pause rules applied (sender-health.ts).
 */
import { inTransaction, type DbOrTx } from '../db/connection';
import { enqueueFollowUps, sentForFollowUp } from '../queue/enqueue';
import { markManySent, transition, type TransitionedRow } from '../queue/queue.repository';
import { addSuppression } from '../suppressions/suppression.repository';
import { isDeliveryUncertain } from '../transports/classify';
import type { SendResult } from '../transports/transport';
import { delayNextSend, incrementConsecutiveFailures, loadAccount, pauseAccount, pauseSenderDomain, resetConsecutiveFailures, resumeAfterProbe, suspendAccount } from './account-state.repository';
import { insertBounce, setCampaignContactStatus } from './bounce-outcome.repository';
import { breakersCounting } from './circuit-breaker';
import { recordBreakerFailure } from './circuit-breaker.repository';
import type { HealthSettings } from './health';
import { retryDelaySeconds, senderDomainOf } from './limits';
import { keepsReservation, releaseReservation } from './reservations';
import { insertSendLogs, type SendLogEntry } from './send-log.repository';
import { applyHealth } from './sender-health';

export { releaseReservation } from './reservations';

export interface RecordSettings {
  maxAttempts: number;
  /** Attempts a soft bounce (mailbox full, unrecognised failure) gets before the row fails. */
  softBounceMaxAttempts: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  cooldownMinutes: number;
  health: HealthSettings;
  circuitBreaker: { failuresToOpen: number; openSeconds: number };
}

export interface RecordContext {
  accountId: string;
  accountEmail: string;
  clientId: string;
  /** The account's zone when it claimed: its day counter is keyed by local midnight (limits.ts). */
  accountTimeZone: string;
  providerKey: string;
  leaseToken: string;
  probe: boolean;
  settings: RecordSettings;
  random: () => number;
  /**
   * True while the account is known clean (health 100, no deferrals, no failure run at claim,
   * and no failure recorded since): accepted sends then cannot change its health or failure
   * run, so those writes are skipped. The journal clears it at the first failure.
   */
  clean?: boolean;
}

/** The part of a claimed row the recorder needs. */
export type SentRow = Omit<TransitionedRow, 'claimed_by_account_id' | 'claimed_at'>;

export type RecordedAs = 'sent' | 'queued' | 'failed' | 'bounced' | 'unknown' | 'handed_back' | 'lost_lease';

export interface Attempt {
  row: SentRow;
  result: SendResult;
  durationMs: number;
}

function logEntry(ctx: RecordContext, row: SentRow, attemptNo: number, result: Pick<SendResult, 'code' | 'enhancedCode' | 'response' | 'providerMessageId' | 'reason'>, outcome: SendLogEntry['outcome'], now: Date, durationMs?: number): SendLogEntry {
  return {
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
    ...(result.providerMessageId ? { providerMessageId: result.providerMessageId } : {}),
    ...(result.reason ? { reason: result.reason } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    at: now,
  };
}

/** Accepted results (one transaction for all of them). Returns how many rows became `sent`. */
export async function recordAccepted(db: DbOrTx, ctx: RecordContext, attempts: Attempt[], now: Date): Promise<number> {
  if (attempts.length === 0) return 0;
  return inTransaction(db, async (tx) => {
    const sent = await markManySent(
      tx,
      attempts.map((a) => ({ id: a.row.id, ...(a.result.providerMessageId ? { providerMessageId: a.result.providerMessageId } : {}) })),
      ctx.leaseToken,
      now,
    );
    if (sent.length === 0) return 0;
    const byId = new Map(attempts.map((a) => [a.row.id, a]));
    await insertSendLogs(
      tx,
      sent.map((row) => {
        const attempt = byId.get(row.id);
        return logEntry(ctx, row, row.attempts, attempt?.result ?? { response: '' }, 'accepted', now, attempt?.durationMs);
      }),
    );
    await enqueueFollowUps(
      tx,
      sent.map((row) => sentForFollowUp(row, ctx.accountId, now)),
    );
    if (ctx.probe) await resumeAfterProbe(tx, ctx.accountId, now);
    if (!ctx.clean || ctx.probe) {
      await resetConsecutiveFailures(tx, ctx.accountId);
      // The bounce-rate window fills with accepted sends too: the 20th send may be the one that
      // makes the rate count.
      await applyHealth(tx, { ...ctx, probe: false }, 0, now, '');
    }
    return sent.length;
  });
}

/** One result that was not accepted (or an accepted one, delegated to recordAccepted). */
export async function recordResult(db: DbOrTx, ctx: RecordContext, attempt: Attempt, now: Date): Promise<RecordedAs> {
  const { row, result } = attempt;
  if (result.outcome === 'accepted') return (await recordAccepted(db, ctx, [attempt], now)) === 1 ? 'sent' : 'lost_lease';
  if (result.outcome === 'transient' && isDeliveryUncertain(result)) return recordUncertain(db, ctx, row, result.response, attempt.durationMs, now);

  return inTransaction(db, async (tx) => {
    const ours = ['sending', 'unknown'] as const;
    const attemptsAfter = row.attempts + 1;
    const log = (outcome: SendLogEntry['outcome']) => insertSendLogs(tx, [logEntry(ctx, row, attemptsAfter, result, outcome, now, attempt.durationMs)]);
    const giveBack = async (changed: TransitionedRow) => {
      if (!keepsReservation(result.outcome)) await releaseReservation(tx, changed, ctx);
    };

    switch (result.outcome) {
      case 'transient':
      case 'recipient_soft': {
        const limit = result.outcome === 'transient' ? ctx.settings.maxAttempts : Math.min(ctx.settings.maxAttempts, ctx.settings.softBounceMaxAttempts);
        const giveUp = attemptsAfter >= limit;
        const delay = retryDelaySeconds(attemptsAfter, ctx.settings.retryBaseSeconds, ctx.settings.retryMaxSeconds, ctx.random, result.retryAfterSeconds);
        const changed = await transition(tx, row.id, [...ours], ctx.leaseToken, {
          status: giveUp ? 'failed' : 'queued',
          attempts: attemptsAfter,
          run_after: giveUp ? now : new Date(now.getTime() + delay * 1000),
          lease_token: null,
          lease_expires_at: null,
          last_error: describe(result),
          updated_at: now,
        });
        if (!changed) return 'lost_lease';
        await log(result.outcome);
        await giveBack(changed);
        if (result.outcome === 'recipient_soft') {
          await insertBounce(tx, { type: 'soft', clientId: row.client_id, queueId: row.id, accountId: ctx.accountId, email: row.to_email, code: bounceCode(result), diagnostic: result.response, at: now });
          // The recipient's mailbox, not the connection: the failure run is not extended.
          const account = await loadAccount(tx, ctx.accountId);
          await applyHealth(tx, ctx, account?.consecutive_failures ?? 0, now, result.response);
          return giveUp ? 'failed' : 'queued';
        }
        const failures = await incrementConsecutiveFailures(tx, ctx.accountId);
        const counts = breakersCounting(result);
        if (counts.provider) await recordBreakerFailure(tx, 'provider', ctx.providerKey, now, ctx.settings.circuitBreaker);
        if (counts.recipientDomain) await recordBreakerFailure(tx, 'recipient_domain', row.recipient_domain, now, ctx.settings.circuitBreaker);
        // A provider that says when this mailbox may send again (Gmail's per-user 429) holds
        // only this mailbox back.
        if (result.retryAfterSeconds) await delayNextSend(tx, ctx.accountId, new Date(now.getTime() + result.retryAfterSeconds * 1000));
        await applyHealth(tx, ctx, failures, now, result.response, true);
        return giveUp ? 'failed' : 'queued';
      }
      case 'recipient_hard': {
        const changed = await transition(tx, row.id, [...ours], ctx.leaseToken, {
          status: 'bounced',
          attempts: attemptsAfter,
          lease_token: null,
          lease_expires_at: null,
          last_error: describe(result),
          updated_at: now,
        });
        if (!changed) return 'lost_lease';
        await log('recipient_hard');
        await insertBounce(tx, { type: 'hard', clientId: row.client_id, queueId: row.id, accountId: ctx.accountId, email: row.to_email, code: bounceCode(result), diagnostic: result.response, at: now });
        await addSuppression(tx, { clientId: row.client_id, email: row.to_email, reason: 'hard_bounce', source: `send:${row.id}` });
        await setCampaignContactStatus(tx, row.campaign_id, row.contact_id, 'bounced');
        // A bounce says nothing bad about the connection: the failure run is not extended.
        const account = await loadAccount(tx, ctx.accountId);
        await applyHealth(tx, ctx, account?.consecutive_failures ?? 0, now, result.response);
        return 'bounced';
      }
      case 'sender_reputation':
      case 'sender_auth':
      case 'auth': {
        // Not the recipient's fault: the row goes back unsent, as if never attempted here.
        const changed = await transition(tx, row.id, [...ours], ctx.leaseToken, {
          status: 'queued',
          account_id: row.step_number > 1 ? row.account_id : null,
          lease_token: null,
          lease_expires_at: null,
          last_error: describe(result),
          updated_at: now,
        });
        if (!changed) return 'lost_lease';
        await log(result.outcome);
        await giveBack(changed);
        const until = new Date(now.getTime() + ctx.settings.cooldownMinutes * 60_000);
        const details = { response: result.response, code: result.code ?? null, enhancedCode: result.enhancedCode ?? null, classification: result.reason ?? null };
        if (result.outcome === 'auth') {
          await suspendAccount(tx, ctx.accountId, { reason: 'auth_failed', now, response: result.response, ...(result.reason ? { classification: result.reason } : {}) });
        } else if (result.outcome === 'sender_auth') {
          await pauseSenderDomain(tx, { clientId: ctx.clientId, domain: senderDomainOf(ctx.accountEmail), reason: 'sender_auth', until, now, details });
        } else if (isTemporaryReply(result)) {
          // A temporary refusal (rate, "try later"): back off this mailbox; a run of them pauses it.
          const failures = await incrementConsecutiveFailures(tx, ctx.accountId);
          const delay = retryDelaySeconds(failures, ctx.settings.retryBaseSeconds, ctx.settings.retryMaxSeconds, ctx.random, result.retryAfterSeconds);
          await delayNextSend(tx, ctx.accountId, new Date(now.getTime() + delay * 1000));
          await applyHealth(tx, ctx, failures, now, result.response, true);
        } else {
          await pauseAccount(tx, ctx.accountId, { reason: 'sender_reputation', until, now, details });
        }
        return 'handed_back';
      }
      default:
        throw new Error(`unexpected send outcome ${String(result.outcome)}`);
    }
  });
}

/** The message may have been delivered: `unknown`, for the reconciler. Reservations stay. */
export async function recordUncertain(db: DbOrTx, ctx: RecordContext, row: SentRow, response: string, durationMs: number, now: Date): Promise<RecordedAs> {
  return inTransaction(db, async (tx) => {
    const changed = await transition(tx, row.id, ['sending'], ctx.leaseToken, { status: 'unknown', last_error: `delivery uncertain: ${response}`.slice(0, 500), updated_at: now });
    if (!changed) return 'lost_lease';
    await insertSendLogs(tx, [logEntry(ctx, row, row.attempts + 1, { response }, 'unknown', now, durationMs)]);
    return 'unknown';
  });
}

/**
 * An SMTP 4xx ("try later"): the refusal is temporary. Gmail API answers are HTTP statuses (a 403
 * quota refusal is not "temporary" in this sense), so only an SMTP stage or enhanced code counts.
 */
function isTemporaryReply(result: SendResult): boolean {
  if (result.enhancedCode) return result.enhancedCode.startsWith('4.');
  return result.stage !== undefined && result.stage !== 'api' && result.code !== undefined && result.code >= 400 && result.code < 500;
}

/** last_error: the class and reason first, then the server's words. */
function describe(result: SendResult): string {
  return `${result.outcome}${result.reason ? `/${result.reason}` : ''}: ${result.response}`.slice(0, 500);
}

function bounceCode(result: SendResult): string | null {
  return result.enhancedCode ?? (result.code !== undefined ? String(result.code) : null);
}
