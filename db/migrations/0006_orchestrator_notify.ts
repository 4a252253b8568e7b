/**
 * Wakes the orchestrator at once when an account or campaign changes state, instead of at its
 * next periodic reconcile. Only the server LISTENs on this channel (workers never do: 1,200
 * listening connections would defeat the pooled, short-lived connections workers use).
 * Worker restarts are counted from audit_log rows (action 'worker.restarted'), so no new
 * table is needed for them.
 */
import { type Kysely, sql } from 'kysely';

export const ORCHESTRATOR_CHANNEL = 'outreach_orchestrator';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function notify_orchestrator() returns trigger language plpgsql as $$
    begin
      perform pg_notify('outreach_orchestrator', json_build_object('table', tg_table_name, 'id', new.id, 'status', new.status)::text);
      return null;
    end $$;

    create trigger sender_accounts_notify_insert after insert on sender_accounts
      for each row execute function notify_orchestrator();
    create trigger sender_accounts_notify_update after update of status, paused_until on sender_accounts
      for each row when (old.status is distinct from new.status or old.paused_until is distinct from new.paused_until)
      execute function notify_orchestrator();
    create trigger campaigns_notify_update after update of status on campaigns
      for each row when (old.status is distinct from new.status)
      execute function notify_orchestrator();
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0006_orchestrator_notify cannot be rolled back');
}
