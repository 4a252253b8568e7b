/**
 * The audit trail of the API (issue 17 item 6). audit_log already held the automatic changes
 * (workers pausing a mailbox, the orchestrator restarting one, a domain transferred); every
 * successful write through the API (src/http/api-router.ts → src/audit/) now adds a row too,
 * saying who (user id, e-mail and role at the time, or the sponsor), from where (ip, user
 * agent), what (the route's operationId as `action`, method, path, status, the target's id)
 * and, for settings, the target's state before and after, secrets redacted. Existing rows keep
 * their meaning; the new columns are null on them.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table audit_log
      add column actor_email text,
      add column actor_role text,
      add column method text,
      add column path text,
      add column status integer,
      add column ip text,
      add column user_agent text,
      add column before jsonb,
      add column after jsonb,
      add column changes jsonb;
    -- The list (GET /api/audit) reads newest first, filtered by client, actor, action or target.
    create index audit_log_created_idx on audit_log (created_at desc, id desc);
    create index audit_log_actor_idx on audit_log (actor_id, created_at desc);
    create index audit_log_action_idx on audit_log (action, created_at desc);
    create index audit_log_target_idx on audit_log (entity_id, created_at desc);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index audit_log_created_idx;
    drop index audit_log_actor_idx;
    drop index audit_log_action_idx;
    drop index audit_log_target_idx;
    alter table audit_log
      drop column actor_email, drop column actor_role, drop column method, drop column path, drop column status,
      drop column ip, drop column user_agent, drop column before, drop column after, drop column changes;
  `.execute(db);
}
