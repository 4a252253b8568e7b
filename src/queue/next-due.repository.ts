/**
 * When an account that found nothing to claim will have something: the queries behind
 * next-due.ts. They run only on the idle path (a claim that took nothing), never per send.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

/** The earliest run_after after `now` among waiting rows this account may take (assigned, or of its pools). */
export async function earliestFutureRow(db: DbOrTx, accountId: string, now: Date): Promise<Date | undefined> {
  const result = await sql<{ at: Date | null }>`
    select least(
      (select min(q.run_after) from email_queue q join campaigns c on c.id = q.campaign_id and c.status = 'running'
        where q.account_id = ${accountId} and q.status = 'queued' and q.run_after > ${now}),
      (select min(q.run_after) from campaign_senders cs
        join campaigns c on c.id = cs.campaign_id and c.status = 'running'
        join email_queue q on q.campaign_id = cs.campaign_id and q.account_id is null and q.status = 'queued' and q.run_after > ${now}
        where cs.account_id = ${accountId})
    ) as at
  `.execute(db);
  return result.rows[0]?.at ?? undefined;
}

export interface WaitingCampaign {
  id: string;
  time_zone: string;
  use_recipient_time_zone: boolean;
  send_days: number[];
  window_start_minute: number;
  window_end_minute: number;
}

/** Running campaigns with rows due now that this account may take (their windows decide when). */
export async function campaignsWithDueRows(db: DbOrTx, accountId: string, now: Date): Promise<WaitingCampaign[]> {
  const result = await sql<WaitingCampaign>`
    select c.id, c.time_zone, c.use_recipient_time_zone, c.send_days, c.window_start_minute, c.window_end_minute
    from campaigns c
    where c.status = 'running'
      and (exists (select 1 from email_queue q where q.account_id = ${accountId} and q.campaign_id = c.id and q.status = 'queued' and q.run_after <= ${now})
           or (exists (select 1 from campaign_senders cs where cs.campaign_id = c.id and cs.account_id = ${accountId})
               and exists (select 1 from email_queue q where q.campaign_id = c.id and q.account_id is null and q.status = 'queued' and q.run_after <= ${now})))
  `.execute(db);
  return result.rows;
}

/** The distinct time zones (the contact's, else the campaign's) of rows due now in a recipient-zone campaign. */
export async function zonesOfDueRows(db: DbOrTx, campaignId: string, accountId: string, now: Date, limit: number): Promise<string[]> {
  const result = await sql<{ zone: string }>`
    select distinct coalesce(safe_time_zone(ct.time_zone), c.time_zone) as zone
    from email_queue q
    join campaigns c on c.id = q.campaign_id
    join contacts ct on ct.id = q.contact_id
    where q.campaign_id = ${campaignId} and q.status = 'queued' and q.run_after <= ${now}
      and (q.account_id = ${accountId} or q.account_id is null)
    limit ${limit}
  `.execute(db);
  return result.rows.map((r) => r.zone);
}
