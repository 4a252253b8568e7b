/**
 * Opens, clicks and unsubscribes an ESP reports (SES Open / Click, SendGrid open / click /
 * unsubscribe / group_unsubscribe, Mailgun opened / clicked / unsubscribed). They are not mail
 * for a person to look at, so they are not stored as inbound messages:
 *   open, click   a tracking event of the queue row they are about, in the tables our pixel and
 *                 links write, with the ESP as source, flagged by the same automation detection
 *                 (privacy proxies, scanners, a click right after the send), once per provider
 *                 event id; an event that matches none of our rows is dropped;
 *   unsubscribe   the address is suppressed for the client (reason unsubscribed) and its
 *                 waiting steps cancelled, as our own unsubscribe link does.
 * Matching is the one of the other ESP events (inbound-match.ts): our Message-ID when the ESP
 * echoes it, else the recipient sent to by the client's mailboxes in the days before.
 */
import { inTransaction, type DbOrTx } from '../db/connection';
import { addSuppression } from '../suppressions/suppression.repository';
import { normaliseIp } from '../tracking/automation-detector';
import { insertProviderClick, insertProviderOpen } from '../tracking/provider-tracking-event.repository';
import { stopContact } from '../tracking/tracking.repository';
import { addressIn, echoedMessageIds } from './addresses';
import type { FeedbackEvent } from './feedback-event';
import { matchInbound } from './inbound-match';
import { accountRefById } from './inbound-match.repository';
import type { InboundDeps } from './inbound-settings';

export type EngagementKind = 'open' | 'click' | 'unsubscribe';

export interface EngagementResult {
  kind: EngagementKind;
  /** The provider event was recorded before (or, for an unsubscribe, the address was suppressed already). */
  duplicate: boolean;
  /** The queue row it was recorded against; null when none of ours matched. */
  queueId: number | null;
}

export function isEngagement(event: FeedbackEvent): event is FeedbackEvent & { kind: EngagementKind } {
  return event.kind === 'open' || event.kind === 'click' || event.kind === 'unsubscribe';
}

export async function applyEngagementEvent(db: DbOrTx, event: FeedbackEvent & { kind: EngagementKind }, deps: InboundDeps): Promise<EngagementResult> {
  const account = event.accountId ? await accountRefById(db, event.accountId) : undefined;
  if (event.accountId && !account) throw new Error(`applyFeedbackEvent: no sender account ${event.accountId}`);
  const recipient = addressIn(event.recipient) ?? event.recipient.trim().toLowerCase();
  return inTransaction(db, async (tx) => {
    const match = await matchInbound(tx, {
      // Matched as a report is: by our Message-ID, else by the recipient sent to.
      kind: 'delivered',
      keys: { messageIds: echoedMessageIds(event.messageId), originalRecipient: recipient },
      recipient,
      ...(account ? { account } : {}),
      ...(event.clientId ? { clientId: event.clientId } : {}),
      recipientIsEnvelope: true,
      receivedAt: event.occurredAt,
    });
    const clientId = match?.row.client_id ?? account?.client_id ?? event.clientId ?? undefined;
    const queueId = match?.row.id ?? null;

    if (event.kind === 'unsubscribe') {
      if (!clientId) return { kind: event.kind, duplicate: false, queueId };
      const added = await addSuppression(tx, { clientId, email: recipient, reason: 'unsubscribed', source: `esp:${event.source}:${event.eventId}` });
      if (match) await stopContact(tx, clientId, match.row.contact_id);
      return { kind: event.kind, duplicate: !added, queueId };
    }

    if (!match) return { kind: event.kind, duplicate: false, queueId };
    const ip = normaliseIp(event.ip);
    const userAgent = event.userAgent ?? null;
    const tracked = {
      source: event.source,
      providerEventId: event.eventId,
      queueId: match.row.id,
      ip,
      userAgent,
      // Without the reader's user agent there is nothing to judge (the ESP reported no fetch details): counted.
      automatedReason: userAgent ? (deps.tracking?.detector.classify('GET', ip, userAgent) ?? null) : null,
      occurredAt: event.occurredAt,
    };
    const written = event.kind === 'open' ? await insertProviderOpen(tx, tracked) : await insertProviderClick(tx, { ...tracked, url: event.url ?? null }, deps.tracking?.scannerClickWindowSeconds ?? 0);
    return { kind: event.kind, duplicate: !written, queueId };
  });
}
