/**
 * Sends in flight and the edits that must wake workers.
 *
 * email_queue.sending_at: when the row was handed to the transport (set with status
 * `sending`, one row at a time). A `sending` row is judged (made `unknown`) only when its worker
 * is gone or the longest possible send (sending.maxSendMs, enforced by the transport) has
 * passed since then; lease renewals do not move it.
 *
 * Notifications (channel outreach_orchestrator, as 0006): also when an account's limits,
 * warm-up or zone change and when a campaign's window, zone or daily limit change, so the
 * orchestrator nudges the workers concerned at once instead of leaving them asleep until the
 * wait they computed from the old values ends.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table email_queue add column sending_at timestamptz;

    create trigger sender_accounts_notify_settings after update of daily_limit, hourly_limit, min_gap_seconds, warmup_enabled,
        warmup_curve, warmup_started_on, time_zone on sender_accounts
      for each row when (
        old.daily_limit is distinct from new.daily_limit or old.hourly_limit is distinct from new.hourly_limit
        or old.min_gap_seconds is distinct from new.min_gap_seconds or old.warmup_enabled is distinct from new.warmup_enabled
        or old.warmup_curve is distinct from new.warmup_curve or old.warmup_started_on is distinct from new.warmup_started_on
        or old.time_zone is distinct from new.time_zone)
      execute function notify_orchestrator();
    create trigger campaigns_notify_settings after update of time_zone, use_recipient_time_zone, send_days, window_start_minute,
        window_end_minute, daily_limit on campaigns
      for each row when (
        old.time_zone is distinct from new.time_zone or old.use_recipient_time_zone is distinct from new.use_recipient_time_zone
        or old.send_days is distinct from new.send_days or old.window_start_minute is distinct from new.window_start_minute
        or old.window_end_minute is distinct from new.window_end_minute or old.daily_limit is distinct from new.daily_limit)
      execute function notify_orchestrator();
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0012_send_in_flight cannot be rolled back');
}
