/**
 * Batched writes of open and click events. Rows carry only the queue id from the token; the
 * client and campaign come from the queue row in the same statement, so the request path
 * never reads the database for an open, and a token naming a deleted row writes nothing.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

export interface TrackedEvent {
  queueId: number;
  ip: string | null;
  userAgent: string | null;
  automatedReason: string | null;
  occurredAt: Date;
}

export interface TrackedClick extends TrackedEvent {
  linkId: number;
}

export async function insertOpenEvents(db: DbOrTx, events: TrackedEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const result = await sql`
    insert into open_events (client_id, campaign_id, queue_id, ip, user_agent, automated_reason, occurred_at)
    select q.client_id, q.campaign_id, v.queue_id, v.ip, v.user_agent, v.automated_reason, v.occurred_at
    from unnest(${events.map((e) => e.queueId)}::bigint[], ${events.map((e) => e.ip)}::inet[],
                ${events.map((e) => e.userAgent)}::text[], ${events.map((e) => e.automatedReason)}::text[],
                ${events.map((e) => e.occurredAt.toISOString())}::timestamptz[])
      as v(queue_id, ip, user_agent, automated_reason, occurred_at)
    join email_queue q on q.id = v.queue_id`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** A click sooner than `scannerWindowSeconds` after the send is a gateway scanning links. */
export async function insertClickEvents(db: DbOrTx, events: TrackedClick[], scannerWindowSeconds: number): Promise<number> {
  if (events.length === 0) return 0;
  const result = await sql`
    insert into click_events (client_id, campaign_id, queue_id, link_id, ip, user_agent, automated_reason, occurred_at)
    select q.client_id, q.campaign_id, v.queue_id, v.link_id, v.ip, v.user_agent,
           coalesce(v.automated_reason,
                    case when q.sent_at is not null and v.occurred_at < q.sent_at + make_interval(secs => ${scannerWindowSeconds})
                         then 'fast_click' end),
           v.occurred_at
    from unnest(${events.map((e) => e.queueId)}::bigint[], ${events.map((e) => e.linkId)}::bigint[],
                ${events.map((e) => e.ip)}::inet[], ${events.map((e) => e.userAgent)}::text[],
                ${events.map((e) => e.automatedReason)}::text[], ${events.map((e) => e.occurredAt.toISOString())}::timestamptz[])
      as v(queue_id, link_id, ip, user_agent, automated_reason, occurred_at)
    join email_queue q on q.id = v.queue_id`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
