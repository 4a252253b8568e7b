/**
 * Sending windows: a campaign sends only on its `send_days` (ISO weekday, 1 = Monday …
 * 7 = Sunday) between `window_start_minute` and `window_end_minute` (minutes after local
 * midnight) in the campaign's time zone, or the recipient's when the campaign says so and the
 * contact has a valid zone. start < end is a daytime window, start > end spans midnight,
 * start = end (or 0..1440) is the whole day.
 *
 * The claim decides campaign-time-zone windows with this module (once per campaign and claim);
 * recipient-time-zone windows are applied per row by the same rule in SQL (queue.repository.ts).
 *
 * Local days (startOfLocalDay, localDateString): an account's daily limit and warm-up day roll
 * over at midnight in the account's zone. A local day starts at the first instant whose local
 * date is that day: the first of two midnights when clocks fall back across 00:00, the
 * transition itself when they spring forward over it.
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

const DAY_MS = 86_400_000;
const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = partsFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    partsFormatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The local wall-clock time of instant `t` (whole seconds), read as if it were a UTC instant. */
function wallClockMs(t: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  for (const part of partsFormatterFor(timeZone).formatToParts(new Date(t))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return Date.UTC(fields.year ?? 1970, (fields.month ?? 1) - 1, fields.day ?? 1, fields.hour ?? 0, fields.minute ?? 0, fields.second ?? 0);
}

/** The zone's UTC offset at instant `t`. */
function offsetMs(t: number, timeZone: string): number {
  return wallClockMs(t, timeZone) - Math.floor(t / 1000) * 1000;
}

const startOfWallDay = (wall: number) => wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);

/** The first instant whose local date is the day of `wallMidnight` (a local midnight read as UTC). */
function localDayStartMs(wallMidnight: number, timeZone: string): number {
  // Offset correction, once with the offset in effect a day before and once a day after: a
  // day holds at most one transition, so the midnight is one of these two instants (or both,
  // when clocks fall back across it: the earlier one is when the day began).
  const candidates = [offsetMs(wallMidnight - DAY_MS, timeZone), offsetMs(wallMidnight + DAY_MS, timeZone)].map((offset) => wallMidnight - offset);
  const midnights = candidates.filter((t) => wallClockMs(t, timeZone) === wallMidnight);
  if (midnights.length > 0) return Math.min(...midnights);
  // Clocks sprang forward over midnight: the day begins at the transition, between the instant
  // still on the previous day and the one already past midnight. Transitions fall on whole seconds.
  let before = Math.min(...candidates);
  let after = Math.max(...candidates);
  if (!(wallClockMs(before, timeZone) < wallMidnight && wallClockMs(after, timeZone) > wallMidnight)) {
    // Not one transition this day (no zone does that today): plain offset correction.
    return wallMidnight - offsetMs(wallMidnight - offsetMs(wallMidnight, timeZone), timeZone);
  }
  while (after - before > 1000) {
    const middle = before + Math.floor((after - before) / 2000) * 1000;
    if (wallClockMs(middle, timeZone) >= wallMidnight) after = middle;
    else before = middle;
  }
  return after;
}

interface LocalDay {
  start: number;
  end: number;
  date: string;
}

/** The last local day computed per zone: claims and releases ask for the same day many times. */
const localDays = new Map<string, LocalDay>();

function localDay(now: Date, timeZone: string): LocalDay {
  const t = now.getTime();
  const cached = localDays.get(timeZone);
  if (cached && t >= cached.start && t < cached.end) return cached;
  let day: LocalDay;
  if (timeZone === 'UTC') {
    const start = startOfWallDay(t);
    day = { start, end: start + DAY_MS, date: new Date(start).toISOString().slice(0, 10) };
  } else {
    const wallMidnight = startOfWallDay(wallClockMs(t, timeZone));
    const start = localDayStartMs(wallMidnight, timeZone);
    day = { start, end: localDayStartMs(wallMidnight + DAY_MS, timeZone), date: new Date(wallMidnight).toISOString().slice(0, 10) };
  }
  localDays.set(timeZone, day);
  return day;
}

/** The instant the local day containing `now` began in `timeZone` (an IANA name). */
export function startOfLocalDay(now: Date, timeZone: string): Date {
  return new Date(localDay(now, timeZone).start);
}

/** The instant the next local day begins in `timeZone`. */
export function startOfNextLocalDay(now: Date, timeZone: string): Date {
  return new Date(localDay(now, timeZone).end);
}

/** The local calendar date of `now` in `timeZone`, 'YYYY-MM-DD'. */
export function localDateString(now: Date, timeZone: string): string {
  return localDay(now, timeZone).date;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** `timeZone` when Intl knows it, else 'UTC': a stored zone must never make a claim fail. */
export function zoneOrUtc(timeZone: string | null | undefined): string {
  return timeZone && timeZone !== 'UTC' && isValidTimeZone(timeZone) ? timeZone : 'UTC';
}

/** ISO weekday and minute of the day of `now` in `timeZone`. */
export function localTime(now: Date, timeZone: string): { isoWeekday: number; minuteOfDay: number } {
  // UTC (the default zone) without Intl: a process's first time-zone formatter loads ICU's
  // zone data, tens of milliseconds of CPU and some memory in each of up to 1,200 workers.
  if (timeZone === 'UTC') return { isoWeekday: now.getUTCDay() || 7, minuteOfDay: now.getUTCHours() * 60 + now.getUTCMinutes() };
  const parts = formatterFor(timeZone).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { isoWeekday: WEEKDAYS[part('weekday')] ?? 1, minuteOfDay: Number(part('hour')) * 60 + Number(part('minute')) };
}

export function isWithinWindow(window: SendingWindow, now: Date): boolean {
  const { isoWeekday, minuteOfDay } = localTime(now, window.timeZone);
  return isOpenAt(window, isoWeekday, minuteOfDay);
}

/** The window rule on a local weekday and minute of the day. */
function isOpenAt(window: SendingWindow, isoWeekday: number, minuteOfDay: number): boolean {
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
  // Minute by minute, at most 8 days, with the window rule deciding each minute: exact across
  // DST changes without any time-zone arithmetic of our own. Minutes that cannot be inside
  // are skipped: a closed window opens only when the local clock reaches the window's start
  // or midnight (a new weekday), or when it jumps at a DST change, by at most
  // MAX_CLOCK_JUMP_MIN: forward towards the start or midnight, or back into the window just
  // left or into the day before. About 3x cheaper than every minute (measured over every IANA
  // zone, Friday evening to Monday morning): a start asks this for each contact time zone.
  const end = start + 8 * DAY_MS;
  for (let t = start; t <= end; ) {
    const candidate = new Date(t);
    const { isoWeekday, minuteOfDay: minute } = localTime(candidate, window.timeZone);
    if (isOpenAt(window, isoWeekday, minute)) return candidate;
    const sinceEnd = (minute - window.windowEndMinute + 1440) % 1440;
    const toStart = (window.windowStartMinute - minute + 1440) % 1440 || 1440;
    const toMidnight = 1440 - minute;
    const backIntoWindow = minute < MAX_CLOCK_JUMP_MIN || sinceEnd < MAX_CLOCK_JUMP_MIN;
    t += (backIntoWindow ? 1 : Math.max(1, Math.min(toStart, toMidnight) - MAX_CLOCK_JUMP_MIN)) * 60_000;
  }
  return undefined;
}

/** The largest jump of a local clock at a DST change (60 minutes almost everywhere, 30 on Lord Howe, 120 at Troll). */
const MAX_CLOCK_JUMP_MIN = 120;
