import { effectiveDailyLimit, gapWithJitterMs, healthFactor, retryDelaySeconds } from '../../src/sending/limits';
import { parseWarmupCurve, warmupDailyLimit, warmupDay } from '../../src/sending/warmup';

const settings = { curve: '20,40,80', growthPctPerDay: 0 };
const account = (values: Partial<Parameters<typeof warmupDailyLimit>[0]> = {}) => ({ warmup_enabled: true, warmup_curve: null, warmup_started_on: '2026-03-01', ...values });

describe('warm-up curve', () => {
  it('follows the listed limits day by day from the start date (UTC days)', () => {
    expect(warmupDailyLimit(account(), settings, new Date('2026-03-01T23:59:59Z'))).toBe(20);
    expect(warmupDailyLimit(account(), settings, new Date('2026-03-02T00:00:00Z'))).toBe(40);
    expect(warmupDailyLimit(account(), settings, new Date('2026-03-03T12:00:00Z'))).toBe(80);
  });

  it('is over after the listed days unless growth per day is configured', () => {
    expect(warmupDailyLimit(account(), settings, new Date('2026-03-10T00:00:00Z'))).toBe(Infinity);
    expect(warmupDailyLimit(account(), { curve: '20,40', growthPctPerDay: 50 }, new Date('2026-03-04T00:00:00Z'))).toBe(90); // 40 × 1.5²
  });

  it('supports per-account curves: "+N%" and "+N per day"', () => {
    expect(warmupDailyLimit(account({ warmup_curve: '10+20%' }), settings, new Date('2026-03-03T00:00:00Z'))).toBe(14);
    expect(warmupDailyLimit(account({ warmup_curve: '10+50' }), settings, new Date('2026-03-03T00:00:00Z'))).toBe(110);
    expect(warmupDailyLimit(account({ warmup_curve: '5,6' }), settings, new Date('2026-03-02T00:00:00Z'))).toBe(6);
  });

  it('falls back to the configured curve when an account curve is malformed, and rejects malformed curves', () => {
    expect(warmupDailyLimit(account({ warmup_curve: 'fast please' }), settings, new Date('2026-03-01T00:00:00Z'))).toBe(20);
    expect(() => parseWarmupCurve('20,,40')).toThrow(/invalid warm-up curve/);
  });

  it('treats a missing start date as day 0 and a disabled warm-up as no cap', () => {
    expect(warmupDay(null, new Date())).toBe(0);
    expect(warmupDay('2026-03-05', new Date('2026-03-01T00:00:00Z'))).toBe(0);
    expect(warmupDailyLimit(account({ warmup_started_on: null }), settings, new Date('2027-01-01T00:00:00Z'))).toBe(20);
    expect(warmupDailyLimit(account({ warmup_enabled: false }), settings, new Date('2026-03-01T00:00:00Z'))).toBe(Infinity);
  });
});

describe('effective daily limit', () => {
  it('is the smallest of the configured limit, the warm-up curve and the health factor', () => {
    const base = { ...account(), daily_limit: 50, hourly_limit: 10, health_score: 100 };
    const day2 = new Date('2026-03-03T10:00:00Z');
    expect(effectiveDailyLimit(base, settings, day2)).toBe(50);
    expect(effectiveDailyLimit({ ...base, daily_limit: 500 }, settings, day2)).toBe(80);
    expect(effectiveDailyLimit({ ...base, warmup_enabled: false, health_score: 60 }, settings, day2)).toBe(30);
    expect(effectiveDailyLimit({ ...base, warmup_enabled: false, health_score: 0 }, settings, day2)).toBe(5);
    expect(healthFactor(95)).toBe(1);
  });
});

describe('pacing', () => {
  it('spreads the minimum gap by the jitter percentage both ways', () => {
    expect(gapWithJitterMs(100, 30, () => 0)).toBe(70_000);
    expect(gapWithJitterMs(100, 30, () => 0.5)).toBe(100_000);
    expect(gapWithJitterMs(100, 30, () => 0.999999)).toBe(130_000);
    expect(gapWithJitterMs(0, 30, () => 0.9)).toBe(0);
  });

  it('backs off exponentially with jitter, capped, and honours a longer Retry-After', () => {
    expect(retryDelaySeconds(1, 60, 3600, () => 0)).toBe(30);
    expect(retryDelaySeconds(1, 60, 3600, () => 1)).toBe(60);
    expect(retryDelaySeconds(3, 60, 3600, () => 1)).toBe(240);
    expect(retryDelaySeconds(10, 60, 3600, () => 1)).toBe(3600);
    expect(retryDelaySeconds(1, 60, 3600, () => 0, 500)).toBe(500);
    expect(retryDelaySeconds(1, 60, 3600, () => 0, 99999)).toBe(3600);
  });
});
