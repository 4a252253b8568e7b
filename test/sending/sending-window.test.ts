import { isValidTimeZone, isWithinWindow, localTime, nextWindowOpen } from '../../src/sending/sending-window';

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

  it('tells valid time zones from invalid ones', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});
