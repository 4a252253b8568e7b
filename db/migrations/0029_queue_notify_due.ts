/**
 * The queue notification (0008) also says when the rows it announces are due: `due`, the
 * earliest run_after among them, in ms since the epoch. Why: workers that exit while their
 * next send is far away (orchestrator.workerKeepAliveSeconds) are started again for new work,
 * and most rows are queued for later: each send queues its follow-up days ahead, which must
 * not start every sleeping worker of the campaign's pool now. The orchestrator starts them
 * shortly before `due` instead (src/orchestrator/orchestrator.ts, "asleep").
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function notify_orchestrator_queued() returns trigger language plpgsql as $$
    declare
      campaign_ids text[];
      due timestamptz;
    begin
      -- pg_notify payloads are limited to 8,000 bytes: past 100 campaigns, say only "queued".
      select array_agg(distinct campaign_id::text), min(run_after) into campaign_ids, due from queued_rows where status = 'queued';
      if campaign_ids is null then
        return null;
      end if;
      perform pg_notify('outreach_orchestrator', json_build_object(
        'table', 'email_queue',
        'campaigns', case when cardinality(campaign_ids) <= 100 then campaign_ids end,
        'due', floor(extract(epoch from due) * 1000)::bigint
      )::text);
      return null;
    end $$;
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0029_queue_notify_due cannot be rolled back');
}
