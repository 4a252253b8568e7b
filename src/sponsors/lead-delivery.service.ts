/**
 * Delivers stored leads to each sponsor's delivery_url from the lead_deliveries outbox (states
 * in lead.repository.ts). One pass claims due rows with a lease, POSTs each lead as JSON
 * signed with the sponsor's delivery secret, and records the outcome under the lease. A 2xx
 * is delivered; anything else (status, timeout, network error) is retried with exponential
 * backoff and jitter until deliveryMaxAttempts, then `failed`.
 *
 * The receiver may see a lead more than once only if it answered 2xx and we crashed (or lost
 * the database) before recording it; every request carries the lead id (X-Outreach-Lead-Id,
 * Idempotency-Key) so the receiver can drop such a repeat. A database outage is not the
 * sponsor's failure and uses up none of its attempts.
 *
 * Signature: X-Outreach-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
 */
import crypto from 'node:crypto';
import type { Config } from '../config';
import { createCredentialCipher, type CredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import type { Logger } from '../logger';
import { isDatabaseUnavailable } from '../db/unavailable';
import { deliveryHostPolicy, type DeliveryHostPolicy } from './delivery-address';
import { createLeadPoster, type LeadPoster } from './lead-poster';
import { claimDueDeliveries, loadDeliveryContent, markAttemptFailed, markDelivered, releaseDeliveryClaim, type ClaimedDelivery, type DeliveryContent } from './lead.repository';

export interface LeadDeliveryOptions {
  cipher: CredentialCipher;
  batchSize: number;
  leaseMs: number;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** Which hosts leads may go to (delivery-address.ts), checked on every connection. */
  hostPolicy: DeliveryHostPolicy;
  logger?: Logger;
  /** 0..1; tests may pin the jitter. */
  random?: () => number;
}

export interface LeadDeliveryPassResult {
  claimed: number;
  delivered: number;
  retrying: number;
  failed: number;
}

export function leadDeliveryOptionsFrom(config: Config, logger?: Logger): LeadDeliveryOptions {
  const s = config.sponsors;
  return {
    cipher: createCredentialCipher(config.credentialKeys),
    batchSize: s.deliveryBatchSize,
    leaseMs: s.deliveryLeaseMs,
    timeoutMs: s.deliveryTimeoutMs,
    maxAttempts: s.deliveryMaxAttempts,
    retryBaseSeconds: s.deliveryRetryBaseSeconds,
    retryMaxSeconds: s.deliveryRetryMaxSeconds,
    hostPolicy: deliveryHostPolicy(s.deliveryHostAllowList),
    logger,
  };
}

export function signDelivery(secret: string, body: string, unixSeconds: number): string {
  const mac = crypto.createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** Backoff after attempt n (1-based): base·2^(n-1) seconds, capped, ±20 % jitter. */
export function retryDelaySeconds(attempt: number, baseSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  const raw = Math.min(baseSeconds * 2 ** Math.max(0, attempt - 1), maxSeconds);
  return raw * (0.8 + 0.4 * random());
}

/** POSTs one lead; resolves on a 2xx, throws with the reason otherwise. */
async function postLead(content: DeliveryContent, now: Date, post: LeadPoster, options: LeadDeliveryOptions): Promise<void> {
  if (!content.deliveryUrl || !content.deliverySecretEncrypted) throw new Error('sponsor has no delivery URL');
  const { lead } = content;
  const body = JSON.stringify({
    id: lead.id,
    offerId: lead.offer_id,
    offerName: content.offerName,
    email: lead.email,
    data: lead.data,
    createdAt: lead.created_at.toISOString(),
  });
  const secret = options.cipher.decrypt(content.deliverySecretEncrypted);
  const status = await post(content.deliveryUrl, {
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'outreach-lead-delivery/1',
      'X-Outreach-Lead-Id': lead.id,
      'Idempotency-Key': lead.id,
      'X-Outreach-Signature': signDelivery(secret, body, Math.floor(now.getTime() / 1000)),
    },
    body,
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (status < 200 || status > 299) throw new Error(`sponsor endpoint answered HTTP ${status}`);
}

type ClaimOutcome = 'delivered' | 'retrying' | 'failed' | 'released' | 'unrecorded';

/**
 * One claimed delivery. Only the sponsor's answer counts as an attempt: when our own database
 * fails (restart, outage) the claim is handed back with its attempt undone, or, if even that
 * fails, left to its lease, and the lead is tried again later. A lead the sponsor accepted
 * but whose success could not be recorded is sent again after the lease; the receiver drops
 * the repeat by its lead id.
 */
async function handleClaim(db: Db, claim: ClaimedDelivery, now: Date, post: LeadPoster, options: LeadDeliveryOptions): Promise<ClaimOutcome> {
  let content: DeliveryContent | undefined;
  try {
    content = await loadDeliveryContent(db, claim.leadId);
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    options.logger?.warn('lead delivery postponed: database unavailable', { leadId: claim.leadId, error: (error as Error).message });
    // Tried twice: right after a session was ended, the pool may still hand out its client
    // (its socket not yet seen closed) once.
    const release = () => releaseDeliveryClaim(db, claim.id, claim.leaseToken);
    const released = await release()
      .catch(release)
      .catch(() => false);
    return released ? 'released' : 'unrecorded';
  }
  try {
    if (!content) throw new Error('lead not found');
    await postLead(content, now, post, options);
  } catch (error) {
    const message = error instanceof Error ? (error.name === 'TimeoutError' ? 'timed out' : error.message) : String(error);
    const exhausted = claim.attempts >= options.maxAttempts;
    const next = exhausted ? null : new Date(now.getTime() + retryDelaySeconds(claim.attempts, options.retryBaseSeconds, options.retryMaxSeconds, options.random) * 1000);
    options.logger?.warn('lead delivery attempt failed', { leadId: claim.leadId, attempt: claim.attempts, error: message, willRetry: !exhausted });
    if (!(await markAttemptFailed(db, claim.id, claim.leaseToken, message, next))) return 'unrecorded';
    return exhausted ? 'failed' : 'retrying';
  }
  return (await markDelivered(db, claim.id, claim.leaseToken, new Date())) ? 'delivered' : 'unrecorded';
}

/** One pass of the outbox: claim, deliver, record. `now` is the pass's clock; `post` defaults to createLeadPoster (tests pass their own). */
export async function runLeadDeliveries(
  db: Db,
  now: Date,
  post: LeadPoster | undefined,
  options: LeadDeliveryOptions,
): Promise<LeadDeliveryPassResult> {
  const result: LeadDeliveryPassResult = { claimed: 0, delivered: 0, retrying: 0, failed: 0 };
  const claims = await claimDueDeliveries(db, now, options.batchSize, options.leaseMs);
  result.claimed = claims.length;
  // Settled, not all: one claim whose result cannot be written must not end the pass while
  // the others are still being delivered.
  const poster = post ?? createLeadPoster(options.hostPolicy);
  const outcomes = await Promise.allSettled(claims.map((claim) => handleClaim(db, claim, now, poster, options)));
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.status === 'rejected') {
      options.logger?.warn('lead delivery result not recorded; retried after its lease', { leadId: claims[i]?.leadId, error: (outcome.reason as Error).message });
    } else if (outcome.value === 'delivered' || outcome.value === 'retrying' || outcome.value === 'failed') {
      result[outcome.value] += 1;
    }
  }
  return result;
}

/** The server's delivery loop: a pass every deliveryIntervalMs, never two at once. */
export function startLeadDeliveryLoop(db: Db, config: Config, logger: Logger): { stop(): Promise<void> } {
  const options = leadDeliveryOptionsFrom(config, logger);
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = runLeadDeliveries(db, new Date(), undefined, options)
      .catch((error: unknown) => {
        // The outbox keeps every lead; the next pass after the outage picks them up.
        if (isDatabaseUnavailable(error)) logger.warn('lead delivery pass skipped: database unavailable', { error: (error as Error).message });
        else logger.error('lead delivery pass failed', { error: (error as Error).message });
      })
      .finally(() => (running = undefined));
  }, config.sponsors.deliveryIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
