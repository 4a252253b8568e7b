import { sql } from 'kysely';
import { claimBatch, type ClaimSettings } from '../../src/queue/claim';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { markSending } from '../../src/queue/queue.repository';
import { deferralRatePct } from '../../src/sending/health';
import { effectiveDailyLimit, gapWithJitterMs, healthFactor, retryDelaySeconds } from '../../src/sending/limits';
import { recordAccepted, recordResult, type RecordContext } from '../../src/sending/result-recorder';
import { DEFERRAL_SLOWDOWN_THRESHOLD_PCT, parseWarmupCurve, warmupDailyLimit, warmupDay, warmupStartForDay } from '../../src/sending/warmup';
import { useTestDatabase } from '../helpers/database';
import { addContacts, createAccount, createCampaign, createClient, liftedClaimSettings, recordSettings } from '../queue/fixtures';

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

  it("counts warm-up days in the account's time zone", () => {
    // Started 1 March. 04:59 UTC on 2 March is still 1 March in New York (EST, UTC−5): day 0.
    expect(warmupDay('2026-03-01', new Date('2026-03-02T04:59:59Z'), 'America/New_York')).toBe(0);
    expect(warmupDay('2026-03-01', new Date('2026-03-02T05:00:00Z'), 'America/New_York')).toBe(1);
    // 15:00 UTC on 1 March is already 2 March in Tokyo.
    expect(warmupDay('2026-03-01', new Date('2026-03-01T14:59:59Z'), 'Asia/Tokyo')).toBe(0);
    expect(warmupDay('2026-03-01', new Date('2026-03-01T15:00:00Z'), 'Asia/Tokyo')).toBe(1);
    // Whole calendar days across a 23-hour day (New York, 8 March).
    expect(warmupDay('2026-03-01', new Date('2026-03-09T04:00:00Z'), 'America/New_York')).toBe(8);
    expect(warmupDailyLimit(account({ time_zone: 'America/New_York' }), settings, new Date('2026-03-02T04:59:59Z'))).toBe(20);
    expect(warmupDailyLimit(account({ time_zone: 'America/New_York' }), settings, new Date('2026-03-02T05:00:00Z'))).toBe(40);
    expect(warmupDailyLimit(account({ time_zone: 'Asia/Tokyo' }), settings, new Date('2026-03-01T15:00:00Z'))).toBe(40);
    // No zone, or one Intl does not know: UTC days.
    expect(warmupDailyLimit(account(), settings, new Date('2026-03-02T00:00:00Z'))).toBe(40);
    expect(warmupDailyLimit(account({ time_zone: 'Mars/Olympus' }), settings, new Date('2026-03-02T00:00:00Z'))).toBe(40);
  });

  it('holds an account whose warm-up has not started (never activated, so not sending) at the first step, and a disabled warm-up is no cap', () => {
    // The account API sets the start when an account is first activated
    // (test/accounts/account-warmup.test.ts): only an account never active has none.
    expect(warmupDay(null, new Date('2026-03-01T00:00:00Z'))).toBe(0);
    expect(warmupDailyLimit(account({ warmup_started_on: null }), settings, new Date('2026-03-01T00:00:00Z'))).toBe(20);
    expect(warmupDay('2026-03-05', new Date('2026-03-01T00:00:00Z'))).toBe(0);
    expect(warmupDailyLimit(account({ warmup_enabled: false }), settings, new Date('2026-03-01T00:00:00Z'))).toBe(Infinity);
  });

  it("finds the start date that puts an account on a given day today, in the account's zone (the inverse of warmupDay)", () => {
    const now = new Date('2026-03-10T20:00:00Z'); // 10 March in UTC and New York, 11 March in Tokyo
    expect(warmupStartForDay(0, now)).toBe('2026-03-10');
    expect(warmupStartForDay(3, now)).toBe('2026-03-07');
    expect(warmupStartForDay(3, now, 'Asia/Tokyo')).toBe('2026-03-08');
    expect(warmupStartForDay(40, now, 'America/New_York')).toBe('2026-01-29');
    for (const zone of ['UTC', 'Asia/Tokyo', 'America/New_York', 'Australia/Lord_Howe']) {
      for (const day of [0, 1, 2, 7, 365]) expect(warmupDay(warmupStartForDay(day, now, zone), now, zone)).toBe(day);
    }
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

describe('warm-up slowdown on deferrals', () => {
  const slowing = { ...settings, deferralSlowdownPct: 50 };
  const day1 = new Date('2026-03-02T10:00:00Z'); // curve value 40

  it('cuts today\'s curve value by deferralSlowdownPct while more than 10 % of recent attempts were deferred', () => {
    expect(DEFERRAL_SLOWDOWN_THRESHOLD_PCT).toBe(10);
    expect(warmupDailyLimit(account({ deferral_rate_pct: 25 }), slowing, day1)).toBe(20);
    expect(warmupDailyLimit(account({ deferral_rate_pct: 10.01 }), slowing, day1)).toBe(20);
    expect(warmupDailyLimit(account({ deferral_rate_pct: 40 }), { ...slowing, deferralSlowdownPct: 25 }, day1)).toBe(30);
    expect(warmupDailyLimit(account({ deferral_rate_pct: 40 }), { ...slowing, deferralSlowdownPct: 100 }, day1)).toBe(0);
    const base = { ...account({ deferral_rate_pct: 25 }), daily_limit: 500, hourly_limit: 100, health_score: 100 };
    expect(effectiveDailyLimit(base, slowing, day1)).toBe(20);
  });

  it('leaves the curve as it is with few or no deferrals', () => {
    expect(warmupDailyLimit(account({ deferral_rate_pct: 10 }), slowing, day1)).toBe(40);
    expect(warmupDailyLimit(account({ deferral_rate_pct: 0 }), slowing, day1)).toBe(40);
    expect(warmupDailyLimit(account(), slowing, day1)).toBe(40);
  });

  it('is turned off by a deferralSlowdownPct of 0, and never touches an account without a warm-up cap', () => {
    expect(warmupDailyLimit(account({ deferral_rate_pct: 90 }), { ...settings, deferralSlowdownPct: 0 }, day1)).toBe(40);
    expect(warmupDailyLimit(account({ deferral_rate_pct: 90 }), slowing, new Date('2026-03-10T00:00:00Z'))).toBe(Infinity);
    expect(warmupDailyLimit(account({ deferral_rate_pct: 90, warmup_enabled: false }), slowing, day1)).toBe(Infinity);
  });

  it('measures the deferral rate as the transient share of the attempts in the health window', () => {
    const stats = { attempts: 30, accepted: 24, bounced: 1, transient: 5, auth: 0, senderBlocked: 0, complaints: 0 };
    expect(deferralRatePct(stats)).toBe(16.67);
    expect(deferralRatePct({ ...stats, attempts: 0, accepted: 0, bounced: 0, transient: 0 })).toBe(0);
  });
});

describe('warm-up slowdown through the claim (database, controlled clock)', () => {
  const database = useTestDatabase();
  const NOW = new Date('2026-03-02T10:00:00Z'); // warm-up day 1: curve value 40
  const claimSettings = (deferralSlowdownPct: number): ClaimSettings => liftedClaimSettings({ batchSize: 100, warmup: { curve: '20,40,80', growthPctPerDay: 0, deferralSlowdownPct } });

  /** A warming account with 100 due rows; its first 10 are claimed and sent, `deferred` of them deferred (421). */
  async function warmingAccountAfterTenSends(deferred: number) {
    const client = await createClient(database.db);
    const account = await createAccount(database.db, client.id, { warmup_enabled: true, warmup_started_on: '2026-03-01', daily_limit: 1000, hourly_limit: 1000 });
    const campaign = await createCampaign(database.db, client.id, { senders: [account.id] });
    await addContacts(database.db, client.id, campaign.id, 100);
    await enqueueCampaign(database.db, campaign.id, NOW, { messageIdDomain: 'warmup.test' });
    const claim = await claimBatch(database.db, account.id, NOW, liftedClaimSettings({ batchSize: 10 }));
    if (claim.kind !== 'claimed') throw new Error('expected a claim');
    await markSending(database.db, claim.rows.map((r) => r.id), claim.leaseToken, NOW, new Date(NOW.getTime() + 60_000));
    const ctx: RecordContext = { accountId: account.id, accountEmail: account.email, clientId: claim.account.client_id, accountTimeZone: 'UTC', providerKey: 'smtp:test', leaseToken: claim.leaseToken, probe: false, settings: recordSettings(), random: () => 0.5 };
    // Deferrals spread out, so no run of consecutive failures pauses the account.
    const deferredRows = claim.rows.filter((_, i) => i % 3 === 0).slice(0, deferred);
    const acceptedRows = claim.rows.filter((row) => !deferredRows.includes(row));
    for (const row of deferredRows) {
      await recordResult(database.db, ctx, { row, result: { outcome: 'transient', code: 421, response: '421 4.7.0 Try again later' }, durationMs: 1 }, NOW);
      await recordAccepted(database.db, ctx, [{ row: acceptedRows.shift()!, result: { outcome: 'accepted', code: 250, response: '250 ok' }, durationMs: 1 }], NOW);
    }
    await recordAccepted(database.db, ctx, acceptedRows.map((row) => ({ row, result: { outcome: 'accepted' as const, code: 250, response: '250 ok' }, durationMs: 1 })), NOW);
    return account;
  }

  async function usedToday(accountId: string): Promise<number> {
    const { rows } = await sql<{ count: number }>`select count from rate_counters where scope = 'account' and scope_key = ${accountId} and window_kind = 'day'`.execute(database.db);
    return rows[0]?.count ?? 0;
  }

  async function claimAll(accountId: string, settings: ClaimSettings): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await claimBatch(database.db, accountId, new Date(NOW.getTime() + 1000), settings);
      if (result.kind !== 'claimed') return total;
      total += result.rows.length;
    }
  }

  it('lets an account whose recent sends were deferred claim only the slowed warm-up allowance, and the full one once the slowdown is off', async () => {
    const account = await warmingAccountAfterTenSends(3);
    const stored = await database.db.selectFrom('sender_accounts').select(['deferral_rate_pct', 'status']).where('id', '=', account.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ deferral_rate_pct: 30, status: 'active' });
    const used = await usedToday(account.id);

    expect(await claimAll(account.id, claimSettings(50))).toBe(20 - used);
    // The same account, same day, with the slowdown turned off: the rest of the curve's 40.
    expect(await claimAll(account.id, claimSettings(0))).toBe(20);
  });

  it('gives an account without deferrals the whole curve value', async () => {
    const account = await warmingAccountAfterTenSends(0);
    expect(Number((await database.db.selectFrom('sender_accounts').select('deferral_rate_pct').where('id', '=', account.id).executeTakeFirstOrThrow()).deferral_rate_pct)).toBe(0);
    const used = await usedToday(account.id);
    expect(await claimAll(account.id, claimSettings(50))).toBe(40 - used);
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
