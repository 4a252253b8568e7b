/**
 * Amazon SES events (configuration-set event publishing: `eventType`; identity notifications:
 * `notificationType`) as feedback events: one per recipient, every recipient of a bounce or
 * complaint (not just mail.destination[0], listmonk's mistake), eventId = SNS MessageId +
 * recipient. bounceType Permanent / Transient is only the fallback verdict when the status and
 * diagnostic say nothing the classification table knows.
 */
import { z } from 'zod';
import { addressIn } from '../inbound/addresses';
import type { FeedbackEvent, FeedbackEventKind } from '../inbound/feedback-event';
import type { SnsMessage } from './sns';
import type { ProviderEvent } from './webhook-events';

const text = z.string().max(10_000);
const recipient = z.object({ emailAddress: z.string().max(1000), status: text.optional(), diagnosticCode: text.optional() });
const at = z.object({ timestamp: z.string().max(100) });

const sesEvent = z.object({
  eventType: z.string().max(100).optional(),
  notificationType: z.string().max(100).optional(),
  mail: z.object({
    messageId: z.string().max(500),
    destination: z.array(z.string().max(1000)).max(1000).default([]),
    headers: z.array(z.object({ name: z.string().max(1000), value: z.string().max(10_000) })).max(1000).optional(),
    commonHeaders: z.object({ messageId: z.string().max(1000).optional() }).optional(),
  }),
  bounce: at.extend({ bounceType: z.string().max(100), bounceSubType: z.string().max(100).optional(), bouncedRecipients: z.array(recipient).min(1).max(1000) }).optional(),
  complaint: at.extend({ complainedRecipients: z.array(recipient).min(1).max(1000), complaintFeedbackType: z.string().max(100).optional() }).optional(),
  delivery: at.extend({ recipients: z.array(z.string().max(1000)).max(1000), smtpResponse: text.optional() }).optional(),
  deliveryDelay: at.extend({ delayedRecipients: z.array(recipient).min(1).max(1000), delayType: z.string().max(100).optional() }).optional(),
  open: at.extend({ ipAddress: z.string().max(100).optional(), userAgent: text.optional() }).optional(),
  click: at.extend({ ipAddress: z.string().max(100).optional(), userAgent: text.optional(), link: z.string().max(10_000).optional() }).optional(),
});
type SesEvent = z.infer<typeof sesEvent>;

/** Our Message-ID as SES echoes it: the original header when SES includes headers, else commonHeaders. */
function ourMessageId(mail: SesEvent['mail']): string | undefined {
  return mail.headers?.find((h) => h.name.toLowerCase() === 'message-id')?.value ?? mail.commonHeaders?.messageId;
}

function bounceTypeOf(value: string): 'hard' | 'soft' | undefined {
  return value === 'Permanent' ? 'hard' : value === 'Transient' ? 'soft' : undefined;
}

/**
 * The feedback events of one verified SNS notification. Throws (a 400 at the request) when
 * the Message is not an SES event; event types with no effect here (Send, Reject, Rendering
 * Failure, Subscription) give none.
 */
export function sesEvents(message: SnsMessage): ProviderEvent[] {
  let json: unknown;
  try {
    json = JSON.parse(message.Message);
  } catch {
    throw new SyntaxError('the SNS Message is not JSON (expected an SES event)');
  }
  const event = sesEvent.parse(json);
  const type = event.eventType ?? event.notificationType;
  const common = {
    source: 'ses',
    raw: json,
    providerMessageId: event.mail.messageId,
    ...(ourMessageId(event.mail) ? { messageId: ourMessageId(event.mail)! } : {}),
  } as const;
  const one = (kind: FeedbackEventKind, email: string, timestamp: string, extra: Partial<FeedbackEvent> = {}): ProviderEvent | undefined => {
    const address = addressIn(email);
    if (!address) return undefined;
    return { ...common, ...extra, kind, recipient: address, eventId: `${message.MessageId}:${address}`, occurredAt: timeOf(timestamp, message.Timestamp) };
  };
  const defined = (events: Array<ProviderEvent | undefined>) => events.filter((e): e is ProviderEvent => e !== undefined);

  switch (type) {
    case 'Bounce': {
      const b = event.bounce;
      if (!b) throw new TypeError('a Bounce event without its bounce object');
      const bounceType = bounceTypeOf(b.bounceType);
      return defined(
        b.bouncedRecipients.map((r) =>
          one('bounce', r.emailAddress, b.timestamp, {
            ...(r.status ? { status: r.status } : {}),
            diagnostic: r.diagnosticCode ?? `${b.bounceType} ${b.bounceSubType ?? ''}`.trim(),
            ...(bounceType ? { bounceType } : {}),
          }),
        ),
      );
    }
    case 'Complaint': {
      const c = event.complaint;
      if (!c) throw new TypeError('a Complaint event without its complaint object');
      return defined(c.complainedRecipients.map((r) => one('complaint', r.emailAddress, c.timestamp, c.complaintFeedbackType ? { diagnostic: c.complaintFeedbackType } : {})));
    }
    case 'Delivery': {
      const d = event.delivery;
      if (!d) throw new TypeError('a Delivery event without its delivery object');
      return defined(d.recipients.map((r) => one('delivered', r, d.timestamp, d.smtpResponse ? { diagnostic: d.smtpResponse } : {})));
    }
    case 'DeliveryDelay': {
      const d = event.deliveryDelay;
      if (!d) throw new TypeError('a DeliveryDelay event without its deliveryDelay object');
      return defined(d.delayedRecipients.map((r) => one('delay', r.emailAddress, d.timestamp, { ...(r.status ? { status: r.status } : {}), ...(r.diagnosticCode ? { diagnostic: r.diagnosticCode } : {}) })));
    }
    case 'Open':
    case 'Click': {
      const detail = type === 'Open' ? event.open : event.click;
      const reader = {
        ...(detail?.ipAddress ? { ip: detail.ipAddress } : {}),
        ...(detail?.userAgent ? { userAgent: detail.userAgent } : {}),
        ...(event.click?.link ? { url: event.click.link } : {}),
      };
      return defined(event.mail.destination.map((r) => one(type === 'Open' ? 'open' : 'click', r, detail?.timestamp ?? message.Timestamp, reader)));
    }
    default:
      return [];
  }
}

function timeOf(value: string, fallback: string): Date {
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? new Date(fallback) : parsed;
}
