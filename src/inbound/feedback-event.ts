/**
 * applyFeedbackEvent: the entry point of ESP webhooks (SES through SNS, SendGrid, Mailgun) once
 * they have verified and parsed an event. The event becomes the same classification a DSN or
 * ARF message would (its status and words through the one classification table), and then
 * takes the same path: stored once per (source, eventId), matched to our queue row, effects.
 *
 * Matching: our Message-ID when the provider echoes it (SES mail.headers, SendGrid smtp-id,
 * Mailgun message-id), else the recipient sent to by `accountId` (or any mailbox of
 * `clientId`) in the days before the event. Without either, the event is stored unmatched.
 * Opens, clicks and unsubscribes are no inbound messages: esp-engagement.ts records them as
 * tracking events and suppressions.
 */
import type { DbOrTx } from '../db/connection';
import { echoedMessageIds } from './addresses';
import { classifyRecipient } from './delivery-status';
import type { DeliveryAction, InboundClassification, InboundKind } from './inbound-classification';
import { accountRefById, type AccountRef } from './inbound-match.repository';
import { RAW_LIMIT_BYTES, recordInbound, type InboundResult } from './inbound-record';
import type { InboundDeps } from './inbound-settings';
import { applyEngagementEvent, isEngagement, type EngagementResult } from './esp-engagement';

export type FeedbackEventKind = 'bounce' | 'delay' | 'delivered' | 'complaint' | 'open' | 'click' | 'unsubscribe' | 'other';

export interface FeedbackEvent {
  source: 'ses' | 'sendgrid' | 'mailgun' | (string & {});
  /** The provider's event id (SNS MessageId, sg_event_id, Mailgun token / event id): the idempotency key. */
  eventId: string;
  kind: FeedbackEventKind;
  recipient: string;
  /** Our Message-ID (with or without angle brackets) when the provider echoes it. */
  messageId?: string;
  providerMessageId?: string;
  /** RFC 3463 status ("5.1.1") or SMTP code the provider reports. */
  status?: string;
  diagnostic?: string;
  /** The provider's own verdict when it has one (SES Permanent / Transient): used only when the table recognises nothing. */
  bounceType?: 'hard' | 'soft';
  /** The mailbox (or client) the webhook belongs to, when known: narrows matching and tenancy. */
  accountId?: string | null;
  clientId?: string | null;
  occurredAt: Date;
  raw?: unknown;
  /** Opens and clicks: the reader's address and user agent as the provider saw them, and the URL clicked. */
  ip?: string;
  userAgent?: string;
  url?: string;
}

/** Opens, clicks and unsubscribes never get here: esp-engagement.ts takes them. */
const KIND_OF_EVENT: Record<FeedbackEventKind, InboundKind> = {
  bounce: 'bounce',
  delay: 'delay',
  delivered: 'delivered',
  complaint: 'complaint',
  open: 'unmatched',
  click: 'unmatched',
  unsubscribe: 'unmatched',
  other: 'unmatched',
};

function classificationOf(event: FeedbackEvent): InboundClassification {
  const kind = KIND_OF_EVENT[event.kind];
  const recipient = event.recipient.trim().toLowerCase();
  const messageIds = echoedMessageIds(event.messageId);
  const base: InboundClassification = { kind, evidence: `esp:${event.source}:${event.kind}`, match: { messageIds, originalRecipient: recipient } };
  if (kind !== 'bounce' && kind !== 'delay' && kind !== 'delivered') return kind === 'complaint' ? { ...base, complaint: { feedbackType: 'abuse', originalRcptTo: recipient } } : base;

  const action: DeliveryAction = kind === 'bounce' ? 'failed' : kind === 'delay' ? 'delayed' : 'delivered';
  const status = event.status && /^[245]\.\d{1,3}\.\d{1,3}$/.test(event.status) ? event.status : undefined;
  const text = [event.status && !status ? event.status : '', event.diagnostic ?? ''].filter(Boolean).join(' ');
  const classified = classifyRecipient({ recipient, action, ...(status ? { status } : {}), ...(text ? { diagnosticCode: { type: 'smtp', text } } : {}) });
  const c = classified.classification;
  // The table found nothing to go on: the provider's own hard / soft verdict decides.
  if (c && kind === 'bounce' && c.reason === 'undefined' && event.bounceType) {
    classified.classification = { ...c, outcome: event.bounceType === 'hard' ? 'recipient_hard' : 'recipient_soft' };
  }
  return { ...base, report: { source: 'delivery-status', recipients: [classified] } };
}

export async function applyFeedbackEvent(db: DbOrTx, event: FeedbackEvent, deps: InboundDeps): Promise<InboundResult | EngagementResult> {
  if (isEngagement(event)) return applyEngagementEvent(db, event, deps);
  let account: AccountRef | undefined;
  if (event.accountId) {
    account = await accountRefById(db, event.accountId);
    if (!account) throw new Error(`applyFeedbackEvent: no sender account ${event.accountId}`);
  }
  const raw = event.raw === undefined ? null : Buffer.from(JSON.stringify(event.raw) ?? '', 'utf8');
  const classification = classificationOf(event);
  return recordInbound(
    db,
    {
      account,
      ...(event.clientId && !account ? { clientId: event.clientId } : {}),
      recipientIsEnvelope: true,
      source: event.source,
      sourceKey: event.eventId,
      receivedAt: event.occurredAt,
      classification,
      from: null,
      to: event.recipient.trim().toLowerCase(),
      headers: { 'x-esp-event': event.kind, ...(event.providerMessageId ? { 'x-esp-message-id': event.providerMessageId } : {}), ...(event.messageId ? { 'message-id': event.messageId } : {}) },
      raw: raw ? raw.subarray(0, RAW_LIMIT_BYTES) : null,
      rawSize: raw?.length ?? 0,
    },
    deps,
  );
}
