/**
 * Sending windows: a campaign sends only on its `send_days` (ISO weekday, 1 = Monday …
 * 7 = Sunday) between `window_start_minute` and `window_end_minute` (minutes after local
 * midnight) in the campaign's time zone, or the recipient's when the campaign says so and the
 * contact has a valid zone. start < end is a daytime window, start > end spans midnight,
 * start = end (or 0..1440) is the whole day.
 *
 * The claim decides campaign-time-zone windows with this module (once per campaign and claim);
 * recipient-time-zone windows are applied per row by the same rule in SQL (queue.repository.ts).
 */
export interface SendingWindow {
  sendDays: number[];
  windowStartMinute: number;
  windowEndMinute: number;
  timeZone: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** ISO weekday and minute of the day of `now` in `timeZone`. */
export function localTime(now: Date, timeZone: string): { isoWeekday: number; minuteOfDay: number } {
  const parts = formatterFor(timeZone).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { isoWeekday: WEEKDAYS[part('weekday')] ?? 1, minuteOfDay: Number(part('hour')) * 60 + Number(part('minute')) };
}

export function isWithinWindow(window: SendingWindow, now: Date): boolean {
  const { isoWeekday, minuteOfDay } = localTime(now, window.timeZone);
  const { windowStartMinute: start, windowEndMinute: end } = window;
  if (start === end || (start === 0 && end >= 1440)) return window.sendDays.includes(isoWeekday);
  if (start < end) return window.sendDays.includes(isoWeekday) && minuteOfDay >= start && minuteOfDay < end;
  // Spans midnight: the part after midnight belongs to the previous day's window.
  if (minuteOfDay >= start) return window.sendDays.includes(isoWeekday);
  if (minuteOfDay < end) return window.sendDays.includes(isoWeekday === 1 ? 7 : isoWeekday - 1);
  return false;
}

/**
 * The first minute at or after `now` inside the window (minute resolution), or undefined when
 * the window never opens (no send days).
 */
export function nextWindowOpen(window: SendingWindow, now: Date): Date | undefined {
  if (window.sendDays.length === 0) return undefined;
  if (isWithinWindow(window, now)) return now;
  const start = Math.ceil(now.getTime() / 60_000) * 60_000;
  // Step a minute at a time, at most 8 days: cheap enough for a sleeping worker and exact
  // across DST changes without any time-zone arithmetic of our own.
  for (let t = start; t <= start + 8 * 86_400_000; t += 60_000) {
    const candidate = new Date(t);
    if (isWithinWindow(window, candidate)) return candidate;
  }
  return undefined;
}
