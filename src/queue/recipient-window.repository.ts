/**
 * The sending window of recipient-time-zone campaigns as an SQL condition, shared by the claim
 * (queue.repository.ts) and the idle path that asks what holds due rows back (held-back.repository.ts).
 */
import { sql } from 'kysely';

/**
 * SQL condition: row `q` (of campaign `c`) is inside its campaign's sending window in the
 * recipient's time zone (the contact's, else the campaign's) at `now`: the rule of
 * sending-window.ts, per row. For campaigns with use_recipient_time_zone.
 */
export function rowInRecipientWindow(now: Date) {
  return sql`exists (
        select 1 from contacts ct
        cross join lateral (
          select extract(isodow from l)::smallint as dow, (extract(hour from l) * 60 + extract(minute from l))::int as minute
          from (select ${now}::timestamptz at time zone coalesce(safe_time_zone(ct.time_zone), c.time_zone) as l) t
        ) lt
        where ct.id = q.contact_id and (
          ((c.window_start_minute = c.window_end_minute or (c.window_start_minute = 0 and c.window_end_minute >= 1440)) and lt.dow = any(c.send_days))
          or (c.window_start_minute < c.window_end_minute and lt.dow = any(c.send_days)
              and lt.minute >= c.window_start_minute and lt.minute < c.window_end_minute)
          or (c.window_start_minute > c.window_end_minute and (
                (lt.minute >= c.window_start_minute and lt.dow = any(c.send_days))
                or (lt.minute < c.window_end_minute and (case when lt.dow = 1 then 7 else lt.dow - 1 end)::smallint = any(c.send_days))))
        ))`;
}
