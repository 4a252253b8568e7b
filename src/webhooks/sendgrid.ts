/**
 * SendGrid Event Webhook: signed with ECDSA P-256 / SHA-256 over the timestamp header followed
 * by the raw body exactly as received (a re-serialised body never verifies: sendgrid-nodejs
 * #1139, #1322), signature and timestamp in X-Twilio-Email-Event-Webhook-Signature /
 * -Timestamp, the verification key shown in SendGrid's settings as base64 DER (SPKI).
 *
 * bounce_classification comes in Title case ("Invalid Address", "Technical Failure"); it is
 * compared case-insensitively, so it is never missed the way listmonk's lower-case comparison
 * misses it (every SendGrid bounce hard there). It decides only when the status and reason
 * say nothing the classification table knows.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { addressIn } from '../inbound/addresses';
import type { FeedbackEventKind } from '../inbound/feedback-event';
import type { ProviderEvent } from './webhook-events';

export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/** The verification key as SendGrid shows it, as a key object; undefined when it is not a P-256 public key. */
export function sendgridPublicKey(base64Der: string): crypto.KeyObject | undefined {
  try {
    const key = crypto.createPublicKey({ key: Buffer.from(base64Der.trim(), 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : undefined;
  } catch {
    return undefined;
  }
}

export function verifySendgridSignature(key: crypto.KeyObject, timestamp: string, raw: Buffer, signatureBase64: string): boolean {
  try {
    return crypto.verify('sha256', Buffer.concat([Buffer.from(timestamp, 'utf8'), raw]), key, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

const text = z.string().max(10_000);
const sendgridEvent = z.object({
  event: z.string().max(100),
  email: z.string().max(1000),
  timestamp: z.number().int().nonnegative(),
  sg_event_id: z.string().min(1).max(200),
  sg_message_id: z.string().max(500).optional(),
  'smtp-id': z.string().max(1000).optional(),
  reason: text.optional(),
  response: text.optional(),
  status: z.string().max(100).optional(),
  type: z.string().max(100).optional(),
  bounce_classification: z.string().max(100).optional(),
  // open, click
  ip: z.string().max(100).optional(),
  useragent: text.optional(),
  url: text.optional(),
});
const sendgridBatch = z.array(sendgridEvent).max(10_000);

const KINDS: Record<string, FeedbackEventKind> = {
  bounce: 'bounce',
  dropped: 'other',
  deferred: 'delay',
  delivered: 'delivered',
  spamreport: 'complaint',
  open: 'open',
  click: 'click',
  unsubscribe: 'unsubscribe',
  group_unsubscribe: 'unsubscribe',
};

/** Classifications that mean the address itself is no good; every other one is the moment's or the sender's. */
const HARD_CLASSIFICATIONS = new Set(['invalid address', 'mailbox unavailable']);

function bounceVerdict(event: z.infer<typeof sendgridEvent>): 'hard' | 'soft' {
  if (event.bounce_classification) return HARD_CLASSIFICATIONS.has(event.bounce_classification.trim().toLowerCase()) ? 'hard' : 'soft';
  // Without a classification: SendGrid's "bounce" is a refusal of the address, "blocked" a refusal of the sender.
  return event.type === 'blocked' ? 'soft' : 'hard';
}

/** The events of a verified batch; "processed" and other events with no effect give none. */
export function sendgridEvents(body: unknown): ProviderEvent[] {
  const events: ProviderEvent[] = [];
  for (const event of sendgridBatch.parse(body)) {
    const kind = KINDS[event.event];
    const recipient = addressIn(event.email);
    if (!kind || !recipient) continue;
    events.push({
      source: 'sendgrid',
      eventId: event.sg_event_id,
      kind,
      recipient,
      occurredAt: new Date(event.timestamp * 1000),
      raw: event,
      ...(event['smtp-id'] ? { messageId: event['smtp-id'] } : {}),
      ...(event.sg_message_id ? { providerMessageId: event.sg_message_id } : {}),
      ...(event.status ? { status: event.status } : {}),
      ...(event.reason || event.response ? { diagnostic: (event.reason ?? event.response)! } : {}),
      ...(kind === 'bounce' ? { bounceType: bounceVerdict(event) } : {}),
      ...(event.ip ? { ip: event.ip } : {}),
      ...(event.useragent ? { userAgent: event.useragent } : {}),
      ...(event.url ? { url: event.url } : {}),
    });
  }
  return events;
}
