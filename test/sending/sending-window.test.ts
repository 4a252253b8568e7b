import { isValidTimeZone, isWithinWindow, localDateString, localTime, nextWindowOpen, startOfLocalDay, startOfNextLocalDay, zoneOrUtc } from '../../src/sending/sending-window';

const businessHoursNewYork = { sendDays: [1, 2, 3, 4, 5], windowStartMinute: 9 * 60, windowEndMinute: 17 * 60, timeZone: 'America/New_York' };

describe('sending windows', () => {
  it('reads the local weekday and minute in the window time zone', () => {
    expect(localTime(new Date('2026-03-02T14:30:00Z'), 'America/New_York')).toEqual({ isoWeekday: 1, minuteOfDay: 9 * 60 + 30 });
    expect(localTime(new Date('2026-03-01T23:30:00Z'), 'Asia/Tokyo')).toEqual({ isoWeekday: 1, minuteOfDay: 8 * 60 + 30 });
  });

  it('is open on send days between start and end, closed outside', () => {
    expect(isWithinWindow(businessHoursNewYork, new Date('2026-03-02T14:00:00Z'))).toBe(true); // Mon 09:00
    expect(isWithinWindow(businessHoursNewYork, new Date('2026-03-02T13:59:00Z'))).toBe(false); // Mon 08:59
    expect(isWithinWindow(businessHoursNewYork, new Date('2026-03-02T22:00:00Z'))).toBe(false); // Mon 17:00
    expect(isWithinWindow(businessHoursNewYork, new Date('2026-03-07T15:00:00Z'))).toBe(false); // Sat
  });

  it('follows daylight saving time', () => {
    // 9 March 2026: New York is on EDT (UTC−4).
    expect(isWithinWindow(businessHoursNewYork, new Date('2026-03-09T13:00:00Z'))).toBe(true);
    expect(isWithinWindow(businessHoursNewYork, new Date('2026-03-06T13:00:00Z'))).toBe(false);
  });

  it('handles windows across midnight and whole-day windows', () => {
    const night = { sendDays: [1], windowStartMinute: 22 * 60, windowEndMinute: 2 * 60, timeZone: 'UTC' };
    expect(isWithinWindow(night, new Date('2026-03-02T23:00:00Z'))).toBe(true);
    expect(isWithinWindow(night, new Date('2026-03-03T01:00:00Z'))).toBe(true);
    expect(isWithinWindow(night, new Date('2026-03-03T23:00:00Z'))).toBe(false);
    expect(isWithinWindow({ sendDays: [7], windowStartMinute: 0, windowEndMinute: 1440, timeZone: 'UTC' }, new Date('2026-03-01T12:00:00Z'))).toBe(true);
  });

  it('finds when the window opens next, or never', () => {
    expect(nextWindowOpen(businessHoursNewYork, new Date('2026-03-06T22:30:00Z'))).toEqual(new Date('2026-03-09T13:00:00Z')); // Fri evening → Mon 09:00 EDT
    const now = new Date('2026-03-02T15:00:00Z');
    expect(nextWindowOpen(businessHoursNewYork, now)).toBe(now);
    expect(nextWindowOpen({ ...businessHoursNewYork, sendDays: [] }, now)).toBeUndefined();
  });

  it('finds the same first open minute as a minute-by-minute scan, across DST changes and odd zones', () => {
    const everyMinute = (window: Parameters<typeof nextWindowOpen>[0], now: Date) => {
      if (isWithinWindow(window, now)) return now;
      const first = Math.ceil(now.getTime() / 60_000) * 60_000;
      for (let t = first; t <= first + 8 * 86_400_000; t += 60_000) if (isWithinWindow(window, new Date(t))) return new Date(t);
      return undefined;
    };
    // DST changes forward and back (Troll: 2 hours; Lord Howe: 30 minutes; Havana and Santiago:
    // at midnight), and offsets of 45 minutes.
    const zones = ['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Antarctica/Troll', 'America/Havana', 'America/Santiago', 'Asia/Kathmandu', 'Pacific/Chatham'];
    const windows = [
      { sendDays: [1, 2, 3, 4, 5], windowStartMinute: 9 * 60, windowEndMinute: 17 * 60 },
      { sendDays: [6], windowStartMinute: 90, windowEndMinute: 150 }, // 01:30–02:30, where clocks jump
      { sendDays: [7], windowStartMinute: 22 * 60 + 30, windowEndMinute: 2 * 60 + 30 }, // across midnight
      { sendDays: [2, 7], windowStartMinute: 0, windowEndMinute: 1440 },
    ];
    const instants = ['2026-03-07T20:00:00Z', '2026-03-28T22:10:00Z', '2026-04-04T13:00:00Z', '2026-10-24T23:59:00Z', '2026-10-31T03:17:00Z'].map((s) => new Date(s));
    const mismatches: string[] = [];
    for (const timeZone of zones) {
      for (const w of windows) {
        for (const now of instants) {
          const window = { ...w, timeZone };
          const expected = everyMinute(window, now)?.toISOString();
          const found = nextWindowOpen(window, now)?.toISOString();
          if (found !== expected) mismatches.push(`${timeZone} ${JSON.stringify(w)} from ${now.toISOString()}: ${found} instead of ${expected}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('tells valid time zones from invalid ones', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('local days', () => {
  /** [start, next start, local date] of the local day containing `instant`. */
  const dayOf = (instant: string, timeZone: string) => {
    const now = new Date(instant);
    return [startOfLocalDay(now, timeZone).toISOString(), startOfNextLocalDay(now, timeZone).toISOString(), localDateString(now, timeZone)];
  };
  const dateFormats = new Map<string, Intl.DateTimeFormat>();
  const localDate = (instant: number, timeZone: string) => {
    if (!dateFormats.has(timeZone)) dateFormats.set(timeZone, new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }));
    return dateFormats.get(timeZone)!.format(new Date(instant));
  };
  const localClock = (instant: string, timeZone: string) =>
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(instant));

  it('starts the UTC day at UTC midnight', () => {
    expect(dayOf('2026-03-02T12:00:00Z', 'UTC')).toEqual(['2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z', '2026-03-02']);
    expect(dayOf('2026-03-02T00:00:00Z', 'UTC')).toEqual(['2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z', '2026-03-02']);
    expect(dayOf('2026-03-01T23:59:59.999Z', 'UTC')).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z', '2026-03-01']);
  });

  it('starts the day at local midnight east and west of UTC', () => {
    // Tokyo, UTC+9: 23:30 UTC on 1 March is 08:30 on 2 March.
    expect(dayOf('2026-03-01T23:30:00Z', 'Asia/Tokyo')).toEqual(['2026-03-01T15:00:00.000Z', '2026-03-02T15:00:00.000Z', '2026-03-02']);
    // Kolkata, UTC+5:30, to the millisecond around its midnight.
    expect(dayOf('2026-03-01T18:29:59.999Z', 'Asia/Kolkata')).toEqual(['2026-02-28T18:30:00.000Z', '2026-03-01T18:30:00.000Z', '2026-03-01']);
    expect(dayOf('2026-03-01T18:30:00.000Z', 'Asia/Kolkata')).toEqual(['2026-03-01T18:30:00.000Z', '2026-03-02T18:30:00.000Z', '2026-03-02']);
    // New York in winter, UTC−5: 03:00 UTC on 2 March is 22:00 on 1 March.
    expect(dayOf('2026-03-02T03:00:00Z', 'America/New_York')).toEqual(['2026-03-01T05:00:00.000Z', '2026-03-02T05:00:00.000Z', '2026-03-01']);
  });

  it('gives daylight-saving change days their 23 or 25 hours', () => {
    // Berlin: clocks go forward 29 March (02:00 → 03:00) and back 25 October (03:00 → 02:00).
    expect(dayOf('2026-03-29T12:00:00Z', 'Europe/Berlin')).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', '2026-03-29']);
    expect(dayOf('2026-10-25T12:00:00Z', 'Europe/Berlin')).toEqual(['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z', '2026-10-25']);
    // New York: forward 8 March, back 1 November (at 02:00 local).
    expect(dayOf('2026-03-08T12:00:00Z', 'America/New_York')).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z', '2026-03-08']);
    expect(dayOf('2026-11-01T12:00:00Z', 'America/New_York')).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z', '2026-11-01']);
  });

  it('starts the day at the change when clocks change at midnight', () => {
    // Havana: 00:00 on 8 March 2026 never happens (00:00 CST → 01:00 CDT) ...
    expect([localClock('2026-03-08T04:59:00Z', 'America/Havana'), localClock('2026-03-08T05:00:00Z', 'America/Havana')]).toEqual(['2026-03-07, 23:59', '2026-03-08, 01:00']);
    expect(dayOf('2026-03-08T12:00:00Z', 'America/Havana')).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z', '2026-03-08']);
    // ... and 00:00 on 1 November happens twice (01:00 CDT → 00:00 CST): the day begins at the first.
    expect([localClock('2026-11-01T04:00:00Z', 'America/Havana'), localClock('2026-11-01T05:00:00Z', 'America/Havana')]).toEqual(['2026-11-01, 00:00', '2026-11-01, 00:00']);
    expect(dayOf('2026-11-01T04:30:00Z', 'America/Havana')).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z', '2026-11-01']);
    expect(dayOf('2026-11-01T05:30:00Z', 'America/Havana')).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z', '2026-11-01']);
    expect(dayOf('2026-11-01T03:59:59Z', 'America/Havana')).toEqual(['2026-10-31T04:00:00.000Z', '2026-11-01T04:00:00.000Z', '2026-10-31']);
    // Santiago: forward at 24:00 on 5 September (6 September starts at 01:00), back at 24:00 on 4 April (23:00 again).
    expect(localClock('2026-09-06T04:00:00Z', 'America/Santiago')).toBe('2026-09-06, 01:00');
    expect(dayOf('2026-09-06T12:00:00Z', 'America/Santiago')).toEqual(['2026-09-06T04:00:00.000Z', '2026-09-07T03:00:00.000Z', '2026-09-06']);
    expect(dayOf('2026-04-04T12:00:00Z', 'America/Santiago')).toEqual(['2026-04-04T03:00:00.000Z', '2026-04-05T04:00:00.000Z', '2026-04-04']);
  });

  it('agrees with Intl on every local day of a year, in zones with and without daylight saving', () => {
    const zones = ['America/Havana', 'America/Santiago', 'Asia/Beirut', 'Australia/Lord_Howe', 'Europe/Berlin', 'Pacific/Chatham', 'Asia/Kathmandu', 'Pacific/Kiritimati'];
    for (const zone of zones) {
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 5 * 3_600_000 + 17 * 60_000) {
        const now = new Date(t);
        const start = startOfLocalDay(now, zone).getTime();
        const end = startOfNextLocalDay(now, zone).getTime();
        const date = localDate(t, zone);
        const facts = { zone, now: now.toISOString(), date: localDateString(now, zone), startDate: localDate(start, zone), beforeStart: localDate(start - 1000, zone), endDate: localDate(end, zone), beforeEnd: localDate(end - 1000, zone), contains: start <= t && t < end };
        expect(facts).toEqual({ ...facts, date, startDate: date, contains: true, beforeEnd: date });
        expect(facts.beforeStart).not.toBe(date);
        expect(facts.endDate).not.toBe(date);
      }
    }
  });

  it('reads an unknown zone as UTC', () => {
    expect(zoneOrUtc('Mars/Olympus')).toBe('UTC');
    expect(zoneOrUtc(null)).toBe('UTC');
    expect(zoneOrUtc('Asia/Tokyo')).toBe('Asia/Tokyo');
  });
});
