/**
 * When a started (or resumed) campaign's mail can first go out: now when its sending window
 * is open, else the next opening of the window (sending-window.ts, the one window code the
 * claim uses too). A campaign that sends in each recipient's time zone opens for the first of
 * its contacts' zones (a contact without a usable zone counts in the campaign's zone, as at
 * claim). Sender limits, warm-up and paused mailboxes may delay it further; this is about the
 * window only, and the message says so.
 */
import type { DbOrTx } from '../db/connection';
import { isValidTimeZone, isWithinWindow, nextWindowOpen, type SendingWindow } from '../sending/sending-window';
import { listContactTimeZones, type CampaignRow } from './campaign.repository';

export interface SendingBegins {
  /** The first instant mail may go out, or null when the window never opens. */
  at: Date | null;
  open: boolean;
  /** The zone whose window opens first (the campaign's own, or a contact's). */
  timeZone: string;
  message: string;
}

const DAY_NAMES = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** "09:00–17:00 on Mon, Tue" in words, for messages. */
export function describeWindow(campaign: Pick<CampaignRow, 'send_days' | 'window_start_minute' | 'window_end_minute'>): string {
  const days = [...campaign.send_days].sort((a, b) => a - b).map((d) => DAY_NAMES[d] ?? String(d)).join(', ');
  const { window_start_minute: start, window_end_minute: end } = campaign;
  const hours = start === end || (start === 0 && end >= 1440) ? 'all day' : `${hhmm(start)}–${hhmm(end % 1440)}`;
  return `${hours} on ${days}`;
}

function localLabel(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
}

export async function sendingBeginsFor(db: DbOrTx, campaign: CampaignRow, now: Date): Promise<SendingBegins> {
  const window = (timeZone: string): SendingWindow => ({
    sendDays: campaign.send_days,
    windowStartMinute: campaign.window_start_minute,
    windowEndMinute: campaign.window_end_minute,
    timeZone,
  });
  const words = describeWindow(campaign);
  let zones = [campaign.time_zone];
  if (campaign.use_recipient_time_zone) {
    // A zone Postgres knows and Intl does not (rare) is judged in the campaign's zone.
    const contactZones = (await listContactTimeZones(db, campaign.id, campaign.time_zone)).map((zone) => (isValidTimeZone(zone) ? zone : campaign.time_zone));
    if (contactZones.length > 0) zones = [...new Set(contactZones)];
  }
  const whose = campaign.use_recipient_time_zone ? `in each contact's time zone (${zones.length} zone${zones.length === 1 ? '' : 's'} among the contacts)` : `in ${campaign.time_zone}`;

  const openZone = zones.find((zone) => isWithinWindow(window(zone), now));
  if (openZone) {
    const where = campaign.use_recipient_time_zone ? ` in ${openZone}` : '';
    return { at: now, open: true, timeZone: openZone, message: `The sending window (${words}, ${whose}) is open${where}: sending begins now.` };
  }
  let first: { at: Date; zone: string } | undefined;
  for (const zone of zones) {
    const at = nextWindowOpen(window(zone), now);
    if (at && (!first || at < first.at)) first = { at, zone };
  }
  if (!first) {
    return { at: null, open: false, timeZone: campaign.time_zone, message: `The sending window (${words}, ${whose}) does not open in the next 8 days: check its send days and minutes.` };
  }
  return {
    at: first.at,
    open: false,
    timeZone: first.zone,
    message: `Outside the sending window (${words}, ${whose}): sending begins at ${first.at.toISOString()} (${localLabel(first.at, first.zone)} in ${first.zone}).`,
  };
}
