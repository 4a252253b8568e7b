/**
 * Mailgun webhooks: JSON bodies `{signature: {timestamp, token, signature}, "event-data": …}`,
 * the signature being hex HMAC-SHA256 of timestamp + token under the webhook signing key. The
 * signature is in the body, so only the token tells a replay apart: each is accepted once
 * while its timestamp is inside the window (webhook_tokens, shared by every node).
 *
 * Mailgun's `failed` is permanent (it gave up) or temporary (it will try again: a delay).
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { addressIn } from '../inbound/addresses';
import type { FeedbackEventKind } from '../inbound/feedback-event';
import type { ProviderEvent } from './webhook-events';

export const mailgunSignature = z.object({
  timestamp: z.string().regex(/^\d{1,12}$/, 'must be unix seconds'),
  token: z.string().min(1).max(200),
  signature: z.string().regex(/^[0-9A-Fa-f]{64}$/, 'must be a hex HMAC-SHA256'),
});

const text = z.string().max(10_000);
const eventData = z.object({
  id: z.string().min(1).max(200),
  event: z.string().max(100),
  timestamp: z.number().nonnegative(),
  recipient: z.string().max(1000),
  severity: z.string().max(100).optional(),
  reason: z.string().max(200).optional(),
  // opened, clicked
  ip: z.string().max(100).optional(),
  'client-info': z.object({ 'user-agent': text.optional() }).optional(),
  url: text.optional(),
  message: z.object({ headers: z.object({ 'message-id': z.string().max(1000).optional() }).optional() }).optional(),
  'delivery-status': z
    .object({
      code: z.union([z.number(), z.string().max(20)]).optional(),
      'enhanced-code': z.string().max(20).optional(),
      message: text.optional(),
      description: text.optional(),
    })
    .optional(),
});

export const mailgunBody = z.object({ signature: mailgunSignature, 'event-data': eventData });

export function verifyMailgunSignature(signingKey: string, signature: z.infer<typeof mailgunSignature>): boolean {
  const expected = crypto.createHmac('sha256', signingKey).update(signature.timestamp + signature.token).digest();
  const given = Buffer.from(signature.signature, 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

function kindOf(data: z.infer<typeof eventData>): FeedbackEventKind | undefined {
  switch (data.event) {
    case 'failed':
      return data.severity === 'temporary' ? 'delay' : 'bounce';
    case 'complained':
      return 'complaint';
    case 'delivered':
      return 'delivered';
    case 'opened':
      return 'open';
    case 'clicked':
      return 'click';
    case 'unsubscribed':
      return 'unsubscribe';
    default:
      return undefined;
  }
}

export function mailgunEvents(body: unknown): ProviderEvent[] {
  const data = mailgunBody.parse(body)['event-data'];
  const kind = kindOf(data);
  const recipient = addressIn(data.recipient);
  if (!kind || !recipient) return [];
  const status = data['delivery-status'];
  const code = status?.['enhanced-code'] ?? (status?.code !== undefined ? String(status.code) : undefined);
  const diagnostic = [status?.message, status?.description].filter(Boolean).join(' ').trim();
  const messageId = data.message?.headers?.['message-id'];
  return [
    {
      source: 'mailgun',
      eventId: data.id,
      kind,
      recipient,
      occurredAt: new Date(data.timestamp * 1000),
      raw: data,
      ...(messageId ? { messageId } : {}),
      ...(code ? { status: code } : {}),
      ...(diagnostic ? { diagnostic } : {}),
      // "old": Mailgun gave up retrying a temporary failure, which says nothing against the address.
      ...(kind === 'bounce' ? { bounceType: data.reason === 'old' ? ('soft' as const) : ('hard' as const) } : {}),
      ...(data.ip ? { ip: data.ip } : {}),
      ...(data['client-info']?.['user-agent'] ? { userAgent: data['client-info']['user-agent'] } : {}),
      ...(data.url ? { url: data.url } : {}),
    },
  ];
}
