/**
 * How long an account that claimed nothing may sleep: until its next row is due (a follow-up,
 * a retry after back-off), a sending window with due rows opens, or what holds back the rows
 * due now ends (a recipient domain's breaker closing, a recipient-domain or campaign day
 * counter starting a new day), whichever comes first. The worker sleeps exactly that long (or
 * until a nudge), or exits and is started again shortly before it, so a send is never later
 * than its due time plus its gap and jitter.
 *
 * Due rows that nothing holds back but the claim did not get are locked by another process's
 * claim (SKIP LOCKED): they are about to be claimed, or go back if that claim fails, so look
 * again shortly (LOCKED_RECHECK_MS) rather than sleep until a far-off time.
 */
import type { DbOrTx } from '../db/connection';
import { isWithinWindow, nextWindowOpen, zoneOrUtc } from '../sending/sending-window';
import { heldBackUntil, type HeldBack, type HeldBackQuery } from './held-back.repository';
import { campaignsWithDueRows, earliestFutureRow, zonesOfDueRows } from './next-due.repository';

/** Zones looked at per recipient-zone campaign: enough for real lists, bounded for huge ones. */
const MAX_ZONES = 100;

/** How soon to look again at due rows another process holds locked (its claim commits in milliseconds). */
export const LOCKED_RECHECK_MS = 5_000;

export interface NextDue {
  at: Date;
  /**
   * `outside_window` when rows are due but no window is open; a hold-back reason
   * (held-back.repository.ts) or `rows_locked` when due rows cannot go yet; else `nothing_due`.
   */
  reason: 'nothing_due' | 'outside_window' | 'rows_locked' | Extract<HeldBack, { kind: 'held' }>['reason'];
}

/** The limits the claim filtered rows by, to say when what holds them back ends. */
export type HoldBackLimits = Omit<HeldBackQuery, 'accountId' | 'now' | 'openCampaignIds' | 'recipientZoneCampaignIds'>;

export async function nextDueAt(db: DbOrTx, accountId: string, now: Date, limits: HoldBackLimits): Promise<NextDue | undefined> {
  let next: NextDue | undefined;
  const consider = (at: Date | undefined, reason: NextDue['reason']) => {
    if (at && at.getTime() > now.getTime() && (!next || at < next.at)) next = { at, reason };
  };
  consider(await earliestFutureRow(db, accountId, now), 'nothing_due');
  const openCampaignIds: string[] = [];
  const recipientZoneCampaignIds: string[] = [];
  for (const c of await campaignsWithDueRows(db, accountId, now)) {
    const zones = c.use_recipient_time_zone ? await zonesOfDueRows(db, c.id, accountId, now, MAX_ZONES) : [c.time_zone];
    for (const zone of zones) {
      const window = { sendDays: c.send_days, windowStartMinute: c.window_start_minute, windowEndMinute: c.window_end_minute, timeZone: zoneOrUtc(zone) };
      if (!c.use_recipient_time_zone && isWithinWindow(window, now)) openCampaignIds.push(c.id);
      consider(nextWindowOpen(window, now), 'outside_window');
    }
    if (c.use_recipient_time_zone) recipientZoneCampaignIds.push(c.id);
  }
  // Rows due now inside their window that the claim did not take: what holds them back, and until when.
  const held = await heldBackUntil(db, { ...limits, accountId, now, openCampaignIds, recipientZoneCampaignIds });
  if (held.kind === 'held') consider(held.until, held.reason);
  if (held.kind === 'free') consider(new Date(now.getTime() + LOCKED_RECHECK_MS), 'rows_locked');
  return next;
}
