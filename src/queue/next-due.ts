/**
 * How long an account that claimed nothing may sleep: until its next row is due (a follow-up,
 * a retry after back-off) or a sending window with due rows opens, whichever comes first.
 * The worker sleeps exactly that long (or until a nudge), so a send is never later than its
 * due time plus its gap and jitter.
 */
import type { DbOrTx } from '../db/connection';
import { nextWindowOpen, zoneOrUtc } from '../sending/sending-window';
import { campaignsWithDueRows, earliestFutureRow, zonesOfDueRows } from './next-due.repository';

/** Zones looked at per recipient-zone campaign: enough for real lists, bounded for huge ones. */
const MAX_ZONES = 100;

export interface NextDue {
  at: Date;
  /** `outside_window` when rows are due but no window is open, else `nothing_due`. */
  reason: 'nothing_due' | 'outside_window';
}

export async function nextDueAt(db: DbOrTx, accountId: string, now: Date): Promise<NextDue | undefined> {
  let next: NextDue | undefined;
  const consider = (at: Date | undefined, reason: NextDue['reason']) => {
    if (at && at.getTime() > now.getTime() && (!next || at < next.at)) next = { at, reason };
  };
  consider(await earliestFutureRow(db, accountId, now), 'nothing_due');
  for (const c of await campaignsWithDueRows(db, accountId, now)) {
    const zones = c.use_recipient_time_zone ? await zonesOfDueRows(db, c.id, accountId, now, MAX_ZONES) : [c.time_zone];
    for (const zone of zones) {
      const window = { sendDays: c.send_days, windowStartMinute: c.window_start_minute, windowEndMinute: c.window_end_minute, timeZone: zoneOrUtc(zone) };
      consider(nextWindowOpen(window, now), 'outside_window');
    }
  }
  return next;
}
