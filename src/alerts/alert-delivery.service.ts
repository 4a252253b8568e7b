/**
 * Sends the alert_deliveries outbox (see alerts.ts for what fills it), like lead deliveries:
 * one pass claims due rows under a lease, sends each, records the outcome. A failure is retried
 * with exponential back-off and jitter until alerts.deliveryMaxAttempts, then `failed`. Each
 * channel takes at most alerts.channelMessagesPerHour messages an hour: past that a message is
 * `rate_limited` (kept, never sent; the alert is still listed by the API), so a storm of alerts
 * cannot flood a chat. A channel's claims go in order, one at a time; channels in parallel.
 */
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { isDatabaseUnavailable } from '../db/unavailable';
import type { Logger } from '../logger';
import { deliveryHostPolicy } from '../sponsors/delivery-address';
import { retryDelaySeconds } from '../sponsors/lead-delivery.service';
import { createLeadPoster, type LeadPoster } from '../sponsors/lead-poster';
import { claimDueAlertDeliveries, deliveredInLastHour, finishAlertDelivery, loadAlertDeliveryContent, type ClaimedAlertDelivery } from './alert-delivery.repository';
import { sendAlertMessage, trustedAlertHosts, type AlertSenderOptions } from './alert-senders';

export interface AlertDeliveryPassResult {
  claimed: number;
  delivered: number;
  retrying: number;
  failed: number;
  rateLimited: number;
}

export interface AlertDeliveryOptions {
  /** Tests pass their own poster; default: the lead poster with the alert host policy. */
  post?: LeadPoster;
  logger?: Logger;
  random?: () => number;
}

type Outcome = 'delivered' | 'retrying' | 'failed' | 'rateLimited' | 'unrecorded';

async function deliverOne(db: Db, claim: ClaimedAlertDelivery, now: Date, config: Config, sender: AlertSenderOptions, options: AlertDeliveryOptions): Promise<Outcome> {
  const a = config.alerts;
  const content = await loadAlertDeliveryContent(db, claim);
  if (!content || (claim.event !== 'test' && !content.alert)) {
    return (await finishAlertDelivery(db, claim, { status: 'failed', error: 'channel or alert deleted', nextAttemptAt: null })) ? 'failed' : 'unrecorded';
  }
  if ((await deliveredInLastHour(db, claim.channelId, now)) >= a.channelMessagesPerHour) {
    return (await finishAlertDelivery(db, claim, { status: 'rate_limited', error: `over alerts.channelMessagesPerHour (${a.channelMessagesPerHour})` })) ? 'rateLimited' : 'unrecorded';
  }
  try {
    await sendAlertMessage({ deliveryId: claim.id, event: claim.event, alert: content.alert, channel: content.channel, now }, sender);
  } catch (error) {
    const message = error instanceof Error ? (error.name === 'TimeoutError' ? 'timed out' : error.message) : String(error);
    const exhausted = claim.attempts >= a.deliveryMaxAttempts;
    const next = exhausted ? null : new Date(now.getTime() + retryDelaySeconds(claim.attempts, a.deliveryRetryBaseSeconds, a.deliveryRetryMaxSeconds, options.random) * 1000);
    options.logger?.warn('alert delivery attempt failed', { deliveryId: claim.id, channelId: claim.channelId, attempt: claim.attempts, error: message, willRetry: !exhausted });
    const recorded = await finishAlertDelivery(db, claim, { status: exhausted ? 'failed' : 'pending', error: message, nextAttemptAt: next });
    return recorded ? (exhausted ? 'failed' : 'retrying') : 'unrecorded';
  }
  return (await finishAlertDelivery(db, claim, { status: 'delivered', at: new Date() })) ? 'delivered' : 'unrecorded';
}

/** One pass of the outbox at `now`. */
export async function runAlertDeliveries(db: Db, now: Date, config: Config, options: AlertDeliveryOptions = {}): Promise<AlertDeliveryPassResult> {
  const a = config.alerts;
  const sender: AlertSenderOptions = {
    config,
    cipher: createCredentialCipher(config.credentialKeys),
    post: options.post ?? createLeadPoster(deliveryHostPolicy(trustedAlertHosts(config))),
    timeoutMs: a.deliveryTimeoutMs,
  };
  const claims = await claimDueAlertDeliveries(db, now, a.deliveryBatchSize, a.deliveryLeaseMs);
  const result: AlertDeliveryPassResult = { claimed: claims.length, delivered: 0, retrying: 0, failed: 0, rateLimited: 0 };
  const byChannel = new Map<string, ClaimedAlertDelivery[]>();
  for (const claim of claims) byChannel.set(claim.channelId, [...(byChannel.get(claim.channelId) ?? []), claim]);
  await Promise.all(
    [...byChannel.values()].map(async (queue) => {
      for (const claim of queue) {
        const outcome = await deliverOne(db, claim, now, config, sender, options).catch((error: unknown) => {
          // Our side failed (database): the lease runs out and the message is tried again.
          options.logger?.warn('alert delivery not recorded; retried after its lease', { deliveryId: claim.id, error: (error as Error).message });
          return 'unrecorded' as const;
        });
        if (outcome !== 'unrecorded') result[outcome] += 1;
      }
    }),
  );
  return result;
}

/** The server's delivery loop: a pass every alerts.deliveryIntervalMs, never two at once. */
export function startAlertDeliveryLoop(db: Db, config: Config, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = runAlertDeliveries(db, new Date(), config, { logger })
      .catch((error: unknown) => {
        if (isDatabaseUnavailable(error)) logger.warn('alert delivery pass skipped: database unavailable', { error: (error as Error).message });
        else logger.error('alert delivery pass failed', { error: (error as Error).message });
      })
      .finally(() => (running = undefined));
  }, config.alerts.deliveryIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
