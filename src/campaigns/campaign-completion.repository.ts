/**
 * When a running campaign is finished: no queue row of it is still waiting (queued, including
 * retries and follow-ups due later, claimed, sending, unknown, held) and no active contact of
 * it still has to be queued (a contact added but not yet enqueued; an address suppressed for
 * the client is never queued, so it does not count).
 *
 * Both conditions are index probes per running campaign: the waiting states through
 * email_queue_campaign_status_idx (campaign_id, status), stopping at the first row; the
 * contacts through the campaign_contacts primary key and the queue's (campaign_id,
 * contact_id, step_id) key. The CASE makes the contact check run only for campaigns with
 * nothing waiting (about to complete), and keeps Postgres from turning it into a hash anti
 * join over the active contacts of every campaign (measured: 830 ms at 400,000 contacts,
 * against 0.3 ms per campaign for the waiting check).
 */
import { sql, type RawBuilder } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { QueueStatus } from '../db/database';

/** Queue states that still lead somewhere: a campaign with such a row is not finished. */
export const WAITING_STATES: QueueStatus[] = ['queued', 'claimed', 'sending', 'unknown', 'held'];

function isFinished(campaign: string): RawBuilder<boolean> {
  const c = sql.ref(campaign);
  return sql<boolean>`case
    when exists (select 1 from email_queue q where q.campaign_id = ${c} and q.status in (${sql.join(WAITING_STATES)})) then false
    else not exists (
      select 1 from campaign_contacts cc
      join contacts ct on ct.id = cc.contact_id
      where cc.campaign_id = ${c} and cc.status = 'active'
        and not exists (select 1 from email_queue q where q.campaign_id = ${c} and q.contact_id = cc.contact_id)
        and not exists (select 1 from suppressions s where s.client_id = ct.client_id and s.email = any(suppression_keys(ct.email))))
    end`;
}

/** The planner priced the per-campaign subqueries at 728,000 for 30 campaigns: 1.1 s of JIT for a query of milliseconds. */

/**
 * Running campaigns that look finished, row-locked (SKIP LOCKED: a campaign whose contacts
 * are being imported or that is being paused is left for the next run). Under READ COMMITTED
 * this statement's snapshot may predate a commit that queued rows: the caller re-checks with
 * completeCampaigns, a later statement, while holding these locks.
 */
export async function lockFinishedCampaigns(db: DbOrTx): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select c.id from campaigns c
    where c.status = 'running' and ${isFinished('c.id')}
    order by c.id
    for update of c skip locked`.execute(db);
  return rows.map((r) => r.id);
}

export interface CompletedCampaign {
  id: string;
  clientId: string;
  name: string;
}

/** Marks those of `ids` still running and finished `completed`, with an audit row each. */
export async function completeCampaigns(db: DbOrTx, ids: string[], now: Date): Promise<CompletedCampaign[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: string; client_id: string; name: string }>`
    with completed as (
      update campaigns c set status = 'completed', completed_at = ${now}, updated_at = ${now}
      where c.id = any(${ids}::uuid[]) and c.status = 'running' and ${isFinished('c.id')}
      returning c.id, c.client_id, c.name, c.started_at
    ), audit as (
      insert into audit_log (client_id, actor_type, actor_id, action, entity_type, entity_id, details, created_at)
      select c.client_id, 'system', 'campaign-completion', 'campaign.completed', 'campaign', c.id::text,
             jsonb_build_object('startedAt', c.started_at, 'queueRows', (
               select jsonb_object_agg(status, n) from (
                 select q.status, count(*) as n from email_queue q where q.campaign_id = c.id group by q.status) counts)),
             ${now}
      from completed c
    )
    select id, client_id, name from completed order by id`.execute(db);
  return rows.map((r) => ({ id: r.id, clientId: r.client_id, name: r.name }));
}
