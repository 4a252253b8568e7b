/**
 * Retention of raw history (src/orchestrator/history-retention.ts): the nightly job deletes
 * tracking events and send logs past their period in batches by time, so each needs an index on
 * its time column (the existing ones lead with campaign or account). send_logs stays
 * append-only for everyone else: the refusal trigger lets a delete through only in a
 * transaction that set `outreach.retention` to 'on' (the job does, with set local), and keeps
 * 0026's one exception (an erasure may rewrite the `response` text).
 * The decision (batched deletes, not partitions) and its figures are in the README.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index open_events_occurred_idx on open_events (occurred_at);
    create index click_events_occurred_idx on click_events (occurred_at);
    create index send_logs_created_idx on send_logs (created_at);
    create or replace function refuse_send_log_change() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' and current_setting('outreach.retention', true) = 'on' then return old; end if;
      if tg_op = 'UPDATE' and current_setting('outreach.erasure', true) = 'on'
         and (to_jsonb(new) - 'response') = (to_jsonb(old) - 'response') then
        return new;
      end if;
      raise exception 'send_logs is append-only';
    end $$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index open_events_occurred_idx;
    drop index click_events_occurred_idx;
    drop index send_logs_created_idx;
    create or replace function refuse_send_log_change() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE' and current_setting('outreach.erasure', true) = 'on'
         and (to_jsonb(new) - 'response') = (to_jsonb(old) - 'response') then
        return new;
      end if;
      raise exception 'send_logs is append-only';
    end $$;
  `.execute(db);
}
