/**
 * Opens and clicks an ESP reports (SES, SendGrid, Mailgun webhooks), written to the same tables
 * as our pixel and links with their source and the provider's event id: unique per source, so
 * an event the ESP (or our webhook outbox) delivers again is one row. Written at once, not
 * through the buffered writer: they come off the request path already (the webhook outbox).
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

export interface ProviderTrackedEvent {
  source: string;
  providerEventId: string;
  queueId: number;
  ip: string | null;
  userAgent: string | null;
  automatedReason: string | null;
  occurredAt: Date;
}

/** true when written, false when this provider event was already recorded. */
export async function insertProviderOpen(db: DbOrTx, event: ProviderTrackedEvent): Promise<boolean> {
  const result = await sql`
    insert into open_events (client_id, campaign_id, queue_id, ip, user_agent, automated_reason, occurred_at, source, provider_event_id)
    select q.client_id, q.campaign_id, q.id, ${event.ip}::inet, ${event.userAgent}, ${event.automatedReason}, ${event.occurredAt}, ${event.source}, ${event.providerEventId}
    from email_queue q where q.id = ${event.queueId}
    on conflict (source, provider_event_id) where provider_event_id is not null do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

/** As insertProviderOpen; a click sooner than `scannerWindowSeconds` after the send is a gateway scanning links, as for ours. */
export async function insertProviderClick(db: DbOrTx, event: ProviderTrackedEvent & { url: string | null }, scannerWindowSeconds: number): Promise<boolean> {
  const result = await sql`
    insert into click_events (client_id, campaign_id, queue_id, link_id, url, ip, user_agent, automated_reason, occurred_at, source, provider_event_id)
    select q.client_id, q.campaign_id, q.id, null, ${event.url}, ${event.ip}::inet, ${event.userAgent},
           coalesce(${event.automatedReason}::text,
                    case when q.sent_at is not null and ${event.occurredAt}::timestamptz < q.sent_at + make_interval(secs => ${scannerWindowSeconds})
                         then 'fast_click' end),
           ${event.occurredAt}, ${event.source}, ${event.providerEventId}
    from email_queue q where q.id = ${event.queueId}
    on conflict (source, provider_event_id) where provider_event_id is not null do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}
