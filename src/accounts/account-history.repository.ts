/**
 * One mailbox's past, for its console page: its latest send attempts with the receiver's
 * answer (send_logs, newest first, through send_logs_account_time_idx) and its figures per
 * UTC day. Day figures count events on the day they happened:
 *   sent        attempts accepted by the receiver (or its relay / the Gmail API)
 *   deferred    attempts answered "try later" (class transient): retried
 *   failed      attempts refused for another reason (recipient_soft, sender_reputation,
 *               sender_auth, auth, unknown); a synchronous hard refusal counts as bounced
 *   bounced     bounce rows recorded for the mailbox (SMTP answers and DSNs alike, one writer)
 *   replied     replies that arrived in it
 *   complained  recipients who reported its mail as spam
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { SendOutcome } from '../db/database';

export interface SendAttemptRow {
  id: number;
  created_at: Date;
  to_email: string | null;
  campaign_id: string;
  queue_id: number;
  attempt: number;
  outcome: SendOutcome;
  reason: string | null;
  smtp_code: number | null;
  enhanced_code: string | null;
  response: string | null;
}

export async function recentSendAttempts(db: DbOrTx, accountId: string, limit: number): Promise<SendAttemptRow[]> {
  return db
    .selectFrom('send_logs as l')
    .leftJoin('email_queue as q', 'q.id', 'l.queue_id')
    .select(['l.id', 'l.created_at', 'q.to_email', 'l.campaign_id', 'l.queue_id', 'l.attempt', 'l.outcome', 'l.reason', 'l.smtp_code', 'l.enhanced_code', 'l.response'])
    .where('l.account_id', '=', accountId)
    .orderBy('l.created_at', 'desc')
    .orderBy('l.id', 'desc')
    .limit(limit)
    .execute();
}

export const HISTORY_METRICS = ['sent', 'deferred', 'failed', 'bounced', 'replied', 'complained'] as const;
export type HistoryDay = Record<(typeof HISTORY_METRICS)[number], number> & { day: string };

/** Every UTC day from `from` to `now` (empty days as zeros), oldest first. */
export async function accountDays(db: DbOrTx, accountId: string, from: Date, now: Date): Promise<HistoryDay[]> {
  const { rows } = await sql<{ day: string; metric: string; n: number }>`
    with events as (
      select created_at as at,
        case when outcome = 'accepted' then 'sent' when outcome = 'transient' then 'deferred' else 'failed' end as metric
        from send_logs where account_id = ${accountId} and created_at >= ${from} and outcome not in ('reconciled', 'recipient_hard')
      union all select received_at, 'bounced' from bounces where account_id = ${accountId} and received_at >= ${from}
      union all select received_at, 'replied' from replies where account_id = ${accountId} and received_at >= ${from}
      union all select received_at, 'complained' from complaints where account_id = ${accountId} and received_at >= ${from}
    )
    select to_char(at at time zone 'UTC', 'YYYY-MM-DD') as day, metric, count(*)::int as n from events group by 1, 2`.execute(db);
  const days: HistoryDay[] = [];
  const byDay = new Map<string, HistoryDay>();
  for (let t = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()); t <= now.getTime(); t += 86_400_000) {
    const entry = { day: new Date(t).toISOString().slice(0, 10), sent: 0, deferred: 0, failed: 0, bounced: 0, replied: 0, complained: 0 };
    days.push(entry);
    byDay.set(entry.day, entry);
  }
  for (const row of rows) {
    const entry = byDay.get(row.day);
    if (entry && (HISTORY_METRICS as readonly string[]).includes(row.metric)) entry[row.metric as (typeof HISTORY_METRICS)[number]] = row.n;
  }
  return days;
}
