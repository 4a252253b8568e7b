/**
 * Wakes the orchestrator when rows are queued (campaign launch, CSV import into a running
 * campaign, sponsor leads, follow-ups), so it can nudge the workers of those campaigns' sender
 * pools. Workers then wait without polling: 1,200 idle workers polling the queue would cost
 * the database and the CPU what they are meant to save. One notification per INSERT
 * statement (a transition table gives the distinct campaigns), never one per row.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function notify_orchestrator_queued() returns trigger language plpgsql as $$
    declare
      campaign_ids text[];
    begin
      -- pg_notify payloads are limited to 8,000 bytes: past 100 campaigns, say only "queued".
      select array_agg(distinct campaign_id::text) into campaign_ids from queued_rows where status = 'queued';
      if campaign_ids is null then
        return null;
      end if;
      perform pg_notify('outreach_orchestrator', json_build_object(
        'table', 'email_queue',
        'campaigns', case when cardinality(campaign_ids) <= 100 then campaign_ids end
      )::text);
      return null;
    end $$;

    create trigger email_queue_notify_insert after insert on email_queue
      referencing new table as queued_rows
      for each statement execute function notify_orchestrator_queued();
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0008_queue_notify cannot be rolled back');
}
