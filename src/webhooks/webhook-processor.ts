/**
 * Turns stored webhook bodies (the outbox, webhook-delivery.repository.ts) into feedback events,
 * off the request path. One pass claims due deliveries with a lease, reads each body again
 * (webhook-events.ts), confirms an SNS subscription or hands every event to applyFeedbackEvent
 * (idempotent on the provider's event id, so a delivery processed twice, after a lease ran out
 * or a crash, acts once), and records the outcome under the lease.
 *
 * A failure of our own database uses up no attempt: the claim is handed back and tried on a
 * later pass. Anything else (SNS unreachable for a confirmation, an event naming what no longer
 * exists) is retried with backoff up to webhooks.maxAttempts, then left `failed` with its error.
 */
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { isDatabaseUnavailable } from '../db/unavailable';
import { applyFeedbackEvent } from '../inbound/feedback-event';
import { inboundSettingsFrom, type InboundDeps } from '../inbound/inbound-settings';
import type { Logger } from '../logger';
import { createAutomationDetector } from '../tracking/automation-detector';
import { retryDelaySeconds } from '../sponsors/lead-delivery.service';
import type { SnsClient } from './sns';
import { claimDueDeliveries, markAttemptFailed, markProcessed, pruneWebhookRows, releaseClaim, type ClaimedDelivery } from './webhook-delivery.repository';
import { deliveryContents } from './webhook-events';

export interface WebhookProcessingOptions {
  sns: SnsClient;
  inbound: InboundDeps;
  batchSize: number;
  leaseMs: number;
  maxAttempts: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  logger?: Logger;
  random?: () => number;
}

export interface WebhookPassResult {
  claimed: number;
  done: number;
  retrying: number;
  failed: number;
  events: number;
}

export function webhookProcessingOptionsFrom(config: Config, sns: SnsClient, logger?: Logger): WebhookProcessingOptions {
  const w = config.webhooks;
  return {
    sns,
    inbound: {
      settings: inboundSettingsFrom(config),
      tracking: { detector: createAutomationDetector(config.tracking), scannerClickWindowSeconds: config.tracking.scannerClickWindowSeconds },
    },
    batchSize: w.processBatchSize,
    leaseMs: w.processLeaseMs,
    maxAttempts: w.maxAttempts,
    retryBaseSeconds: w.retryBaseSeconds,
    retryMaxSeconds: w.retryMaxSeconds,
    ...(logger ? { logger } : {}),
  };
}

type Outcome = { state: 'done'; events: number } | { state: 'retrying' | 'failed' | 'released' | 'unrecorded' };

async function processClaim(db: Db, claim: ClaimedDelivery, now: Date, options: WebhookProcessingOptions): Promise<Outcome> {
  const log = { deliveryId: claim.id, provider: claim.provider, clientId: claim.clientId, attempt: claim.attempts };
  let events = 0;
  try {
    const contents = deliveryContents(claim.provider, claim.body);
    if (contents.subscribe) {
      await options.sns.confirm(contents.subscribe);
      options.logger?.info('webhook SNS subscription confirmed', { ...log, topicArn: contents.subscribe.searchParams.get('TopicArn') });
    }
    if (contents.unsubscribedTopic) options.logger?.warn('webhook SNS subscription ended', { ...log, topicArn: contents.unsubscribedTopic });
    for (const event of contents.events) {
      const result = await applyFeedbackEvent(db, { ...event, clientId: claim.clientId }, options.inbound);
      if (!result.duplicate) events += 1;
    }
  } catch (error) {
    const message = (error as Error).message;
    if (isDatabaseUnavailable(error)) {
      options.logger?.warn('webhook processing postponed: database unavailable', { ...log, error: message });
      const released = await releaseClaim(db, claim.id, claim.leaseToken).catch(() => false);
      return { state: released ? 'released' : 'unrecorded' };
    }
    const exhausted = claim.attempts >= options.maxAttempts;
    const next = exhausted ? null : new Date(now.getTime() + retryDelaySeconds(claim.attempts, options.retryBaseSeconds, options.retryMaxSeconds, options.random) * 1000);
    options.logger?.warn('webhook processing failed', { ...log, error: message, willRetry: !exhausted });
    if (!(await markAttemptFailed(db, claim.id, claim.leaseToken, message, next, now))) return { state: 'unrecorded' };
    return { state: exhausted ? 'failed' : 'retrying' };
  }
  if (!(await markProcessed(db, claim.id, claim.leaseToken, events, new Date()))) return { state: 'unrecorded' };
  options.logger?.info('webhook processed', { ...log, events });
  return { state: 'done', events };
}

/** One pass: claim, process, record. `now` is the pass's clock (leases, backoff). */
export async function runWebhookDeliveries(db: Db, now: Date, options: WebhookProcessingOptions): Promise<WebhookPassResult> {
  const result: WebhookPassResult = { claimed: 0, done: 0, retrying: 0, failed: 0, events: 0 };
  const claims = await claimDueDeliveries(db, now, options.batchSize, options.leaseMs);
  result.claimed = claims.length;
  // One after another: the events of one client's batches touch the same rows (contacts, mailboxes).
  for (const claim of claims) {
    const outcome = await processClaim(db, claim, now, options).catch((error: unknown): Outcome => {
      options.logger?.warn('webhook result not recorded; retried after its lease', { deliveryId: claim.id, error: (error as Error).message });
      return { state: 'unrecorded' };
    });
    if (outcome.state === 'done') {
      result.done += 1;
      result.events += outcome.events;
    } else if (outcome.state === 'retrying' || outcome.state === 'failed') {
      result[outcome.state] += 1;
    }
  }
  return result;
}

const PRUNE_EVERY_MS = 3_600_000;

/** The server's loop: a pass every processIntervalMs (again at once while passes come back full), never two at once; an hourly prune. */
export function startWebhookProcessingLoop(db: Db, config: Config, sns: SnsClient, logger: Logger): { stop(): Promise<void> } {
  const options = webhookProcessingOptionsFrom(config, sns, logger);
  let running: Promise<unknown> | undefined;
  let lastPrune = 0;
  let stopped = false;
  const pass = async () => {
    let claimed = options.batchSize;
    while (claimed >= options.batchSize && !stopped) claimed = (await runWebhookDeliveries(db, new Date(), options)).claimed;
    if (Date.now() - lastPrune >= PRUNE_EVERY_MS) {
      const pruned = await pruneWebhookRows(db, new Date(), config.webhooks.retentionDays);
      lastPrune = Date.now();
      if (pruned.tokens + pruned.deliveries > 0) logger.info('webhook rows pruned', pruned);
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = pass()
      .catch((error: unknown) => {
        // The outbox keeps every delivery; the next pass after the outage picks them up.
        if (isDatabaseUnavailable(error)) logger.warn('webhook pass skipped: database unavailable', { error: (error as Error).message });
        else logger.error('webhook pass failed', { error: (error as Error).message });
      })
      .finally(() => (running = undefined));
  }, config.webhooks.processIntervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
