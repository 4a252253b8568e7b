/**
 * The counters the statistics rollups keep (db/migrations/0027_stats_rollups.ts), shared by the
 * migration that creates them and the repository that reads them, so the two never disagree
 * on a column. Each queue row contributes 0 or 1 to every counter, from its state and the
 * first events recorded against it (see stats.repository.ts for what each one means).
 *
 *   rows            every row (drops groups a row left: a claim moves it out of the pool)
 *   waiting_queued  status 'queued' (split into due / scheduled when read: that depends on now)
 */
export const ROLLUP_COUNTERS = [
  'rows', 'queued', 'waiting_queued', 'retrying', 'in_flight', 'unknown', 'held', 'failed', 'suppressed', 'cancelled',
  'sent', 'bounced', 'opened', 'clicked', 'replied', 'unsubscribed', 'complained',
] as const;
export type RollupCounter = (typeof ROLLUP_COUNTERS)[number];

/** Per day: each event on the UTC day it happened (replies and unsubscribes are read live). */
export const DAY_COUNTERS = ['queued', 'sent', 'bounced', 'opened', 'clicked', 'complained'] as const;

/**
 * SQL expression (over a queue_stats_rows row aliased `r`) for a counter: 1 when the row
 * counts, else 0. Used by the trigger functions, the backfill and the partial-day reads.
 */
export const COUNTER_SQL: Record<RollupCounter, string> = {
  rows: '1',
  queued: "(r.status in ('queued', 'claimed', 'sending', 'unknown', 'held'))::int",
  waiting_queued: "(r.status = 'queued')::int",
  retrying: "(r.status = 'queued' and r.attempts > 0)::int",
  in_flight: "(r.status in ('claimed', 'sending'))::int",
  unknown: "(r.status = 'unknown')::int",
  held: "(r.status = 'held')::int",
  failed: "(r.status = 'failed')::int",
  suppressed: "(r.status = 'suppressed')::int",
  cancelled: "(r.status = 'cancelled')::int",
  sent: '(r.sent_at is not null)::int',
  bounced: "(r.status = 'bounced' or r.hard_bounced)::int",
  opened: '(r.opened_at is not null)::int',
  clicked: '(r.clicked_at is not null)::int',
  replied: '(r.replied)::int',
  unsubscribed: '(r.unsubscribed)::int',
  complained: '(r.complained_at is not null)::int',
};

/** SQL expression (over `r`) for the UTC day a row counts on per day, null when it does not. */
export const DAY_SQL: Record<(typeof DAY_COUNTERS)[number], string> = {
  queued: "(r.created_at at time zone 'UTC')::date",
  sent: "(r.sent_at at time zone 'UTC')::date",
  bounced: "case when r.status = 'bounced' or r.hard_bounced then (coalesce(r.first_bounce_at, r.updated_at) at time zone 'UTC')::date end",
  opened: "(r.opened_at at time zone 'UTC')::date",
  clicked: "(r.clicked_at at time zone 'UTC')::date",
  complained: "(r.complained_at at time zone 'UTC')::date",
};
