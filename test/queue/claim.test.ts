import { sql } from 'kysely';
import { createDb } from '../../src/db/connection';
import { claimBatch, type ClaimResult } from '../../src/queue/claim';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { LOCKED_RECHECK_MS } from '../../src/queue/next-due';
import { releaseClaims } from '../../src/queue/queue.repository';
import { listAccountDemand } from '../../src/orchestrator/account-demand.repository';
import { hasQuotaLeft } from '../../src/orchestrator/quota';
import { providerKey } from '../../src/sending/circuit-breaker';
import { releaseReservation } from '../../src/sending/result-recorder';
import { useTestDatabase } from '../helpers/database';
import { addContacts, createAccount, createCampaign, createClient, liftedClaimSettings, queueRows } from './fixtures';

const database = useTestDatabase();
// A Monday.
const MONDAY_NOON = new Date('2026-03-02T12:00:00Z');
const minutes = (n: number) => n * 60_000;
const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

/** Claims repeatedly at `now` until the account has to wait; returns how many rows it got. */
async function claimAll(accountId: string, now: Date, settings = liftedClaimSettings()): Promise<{ total: number; last: ClaimResult }> {
  let total = 0;
  for (;;) {
    const result = await claimBatch(database.db, accountId, now, settings);
    if (result.kind !== 'claimed') return { total, last: result };
    total += result.rows.length;
  }
}

async function setup(options: { rows: number; account?: Parameters<typeof createAccount>[2]; campaign?: Partial<Parameters<typeof createCampaign>[2]>; domain?: string | ((i: number) => string); clientDailyLimit?: number }) {
  const client = await createClient(database.db, { ...(options.clientDailyLimit ? { dailyLimit: options.clientDailyLimit } : {}) });
  const account = await createAccount(database.db, client.id, options.account);
  const campaign = await createCampaign(database.db, client.id, { senders: [account.id], ...options.campaign });
  const contacts = await addContacts(database.db, client.id, campaign.id, options.rows, { ...(options.domain ? { domain: options.domain } : {}) });
  await enqueueCampaign(database.db, campaign.id, at(MONDAY_NOON, -minutes(60)), { messageIdDomain: 'claim.test' });
  return { client, account, campaign, contacts };
}

describe('claiming with limits (controlled clock)', () => {
  it('never claims more than the account daily limit in a UTC day, and claims again the next day', async () => {
    const { account } = await setup({ rows: 10, account: { daily_limit: 3 } });
    const day1 = await claimAll(account.id, MONDAY_NOON);
    expect(day1.total).toBe(3);
    expect(day1.last).toMatchObject({ kind: 'wait', reason: 'limit:account/day', until: new Date('2026-03-03T00:00:00Z') });
    expect((await claimAll(account.id, at(MONDAY_NOON, minutes(11 * 60 + 59)))).total).toBe(0);
    expect((await claimAll(account.id, new Date('2026-03-03T00:00:01Z'))).total).toBe(3);
  });

  it("renews the account daily limit at midnight in the account's time zone, not at UTC midnight", async () => {
    // New York is on EST (UTC−5): its 3 March begins at 05:00 UTC.
    const newYork = await setup({ rows: 10, account: { daily_limit: 3, time_zone: 'America/New_York' } });
    const evening = await claimAll(newYork.account.id, new Date('2026-03-02T20:00:00Z')); // 15:00 local
    expect(evening.total).toBe(3);
    expect(evening.last).toMatchObject({ kind: 'wait', reason: 'limit:account/day', until: new Date('2026-03-03T05:00:00Z') });
    // A new UTC day, still 2 March in New York.
    const afterUtcMidnight = await claimAll(newYork.account.id, new Date('2026-03-03T00:00:01Z'));
    expect(afterUtcMidnight).toMatchObject({ total: 0, last: { reason: 'limit:account/day', until: new Date('2026-03-03T05:00:00Z') } });
    expect((await claimAll(newYork.account.id, new Date('2026-03-03T04:59:59Z'))).total).toBe(0);
    expect((await claimAll(newYork.account.id, new Date('2026-03-03T05:00:00Z'))).total).toBe(3);

    // Tokyo (UTC+9): its 3 March begins at 15:00 UTC on 2 March, within one UTC day.
    const tokyo = await setup({ rows: 10, account: { daily_limit: 3, time_zone: 'Asia/Tokyo' } });
    const night = await claimAll(tokyo.account.id, MONDAY_NOON); // 21:00 local
    expect(night).toMatchObject({ total: 3, last: { reason: 'limit:account/day', until: new Date('2026-03-02T15:00:00Z') } });
    expect((await claimAll(tokyo.account.id, new Date('2026-03-02T14:59:59Z'))).total).toBe(0);
    expect((await claimAll(tokyo.account.id, new Date('2026-03-02T15:00:00Z'))).total).toBe(3);
  });

  it("keeps the account's local day across a daylight-saving change", async () => {
    // 8 March 2026 has 23 hours in New York: it begins 05:00 UTC (EST) and ends 04:00 UTC (EDT).
    const { account } = await setup({ rows: 10, account: { daily_limit: 2, time_zone: 'America/New_York' } });
    expect(await claimAll(account.id, new Date('2026-03-08T20:00:00Z'))).toMatchObject({ total: 2, last: { until: new Date('2026-03-09T04:00:00Z') } });
    expect((await claimAll(account.id, new Date('2026-03-09T03:59:59Z'))).total).toBe(0);
    expect((await claimAll(account.id, new Date('2026-03-09T04:00:00Z'))).total).toBe(2);
  });

  it("keeps the other daily limits on the UTC day for an account in another zone", async () => {
    const { account } = await setup({ rows: 10, account: { time_zone: 'America/New_York' }, clientDailyLimit: 3 });
    expect(await claimAll(account.id, new Date('2026-03-02T20:00:00Z'))).toMatchObject({ total: 3, last: { reason: 'limit:client/day', until: new Date('2026-03-03T00:00:00Z') } });
    expect((await claimAll(account.id, new Date('2026-03-03T00:00:00Z'))).total).toBe(3);
  });

  it('counts an account in an unknown time zone on the UTC day instead of failing the claim', async () => {
    const { account } = await setup({ rows: 10, account: { daily_limit: 3, time_zone: 'Mars/Olympus_Mons' } });
    expect(await claimAll(account.id, MONDAY_NOON)).toMatchObject({ total: 3, last: { reason: 'limit:account/day', until: new Date('2026-03-03T00:00:00Z') } });
    expect((await claimAll(account.id, new Date('2026-03-03T00:00:00Z'))).total).toBe(3);
  });

  it('respects the hourly limit', async () => {
    const { account } = await setup({ rows: 10, account: { hourly_limit: 4 } });
    expect((await claimAll(account.id, MONDAY_NOON)).total).toBe(4);
    expect((await claimAll(account.id, at(MONDAY_NOON, minutes(59)))).total).toBe(0);
    expect((await claimAll(account.id, at(MONDAY_NOON, minutes(60)))).total).toBe(4);
  });

  it('keeps the minimum gap between sends, with jitter', async () => {
    const { account } = await setup({ rows: 5, account: { min_gap_seconds: 100 } });
    const settings = liftedClaimSettings({ gapJitterPct: 20 });
    const first = await claimBatch(database.db, account.id, MONDAY_NOON, settings, () => 1); // +20 %
    expect(first.kind === 'claimed' && first.rows.length).toBe(1);
    const early = await claimBatch(database.db, account.id, at(MONDAY_NOON, 119_000), settings, () => 0);
    expect(early).toMatchObject({ kind: 'wait', reason: 'min_gap', until: at(MONDAY_NOON, 120_000) });
    const onTime = await claimBatch(database.db, account.id, at(MONDAY_NOON, 120_000), settings, () => 0); // −20 %
    expect(onTime.kind).toBe('claimed');
    const next = await claimBatch(database.db, account.id, at(MONDAY_NOON, 120_000 + 79_000), settings);
    expect(next).toMatchObject({ kind: 'wait', until: at(MONDAY_NOON, 200_000) });
  });

  it('shares the sender-domain daily limit between accounts of one domain', async () => {
    const client = await createClient(database.db);
    const domain = `shared-${Date.now()}.test`;
    await database.db.insertInto('sender_domains').values({ client_id: client.id, domain, daily_limit: 5, dns_check_details: '{}' }).execute();
    const a = await createAccount(database.db, client.id, { email: `a-${Date.now()}@${domain}` });
    const b = await createAccount(database.db, client.id, { email: `b-${Date.now()}@${domain}` });
    const campaign = await createCampaign(database.db, client.id, { senders: [a.id, b.id] });
    await addContacts(database.db, client.id, campaign.id, 12);
    await enqueueCampaign(database.db, campaign.id, MONDAY_NOON, { messageIdDomain: 'claim.test' });
    const fromA = await claimAll(a.id, MONDAY_NOON, liftedClaimSettings({ batchSize: 3 }));
    const fromB = await claimAll(b.id, MONDAY_NOON, liftedClaimSettings({ batchSize: 3 }));
    expect(fromA.total + fromB.total).toBe(5);
    expect(fromB.last).toMatchObject({ kind: 'wait', reason: 'limit:sender_domain/day' });
  });

  it('caps each recipient domain per day and keeps sending to other domains', async () => {
    const { account, campaign } = await setup({ rows: 10, domain: (i) => (i < 6 ? 'big.test' : 'small.test') });
    const got = await claimAll(account.id, MONDAY_NOON, liftedClaimSettings({ recipientDomainDailyLimit: 2, batchSize: 3 }));
    expect(got.total).toBe(4);
    const claimed = (await queueRows(database.db, campaign.id)).filter((r) => r.status === 'claimed');
    expect(claimed.filter((r) => r.recipient_domain === 'big.test')).toHaveLength(2);
    expect(claimed.filter((r) => r.recipient_domain === 'small.test')).toHaveLength(2);
  });

  it('reaches rows far down the queue when every row at its head is held back by a full recipient domain', async () => {
    // The claim first looks at the head of the waiting queue (a few times the batch size); the
    // 60 rows there all go to a domain that is full after 2, so the other domain's 2 allowed
    // rows come from the second look over the whole queue.
    const { account, campaign } = await setup({ rows: 70, domain: (i) => (i < 60 ? 'head.test' : 'tail.test') });
    const got = await claimAll(account.id, MONDAY_NOON, liftedClaimSettings({ recipientDomainDailyLimit: 2, batchSize: 5 }));
    expect(got.total).toBe(4);
    const claimed = (await queueRows(database.db, campaign.id)).filter((r) => r.status === 'claimed');
    expect(claimed.filter((r) => r.recipient_domain === 'tail.test')).toHaveLength(2);
  });

  it('respects the campaign and the client daily limits', async () => {
    const byCampaign = await setup({ rows: 6, campaign: { dailyLimit: 2 } });
    expect((await claimAll(byCampaign.account.id, MONDAY_NOON)).total).toBe(2);
    const byClient = await setup({ rows: 6, clientDailyLimit: 3 });
    const got = await claimAll(byClient.account.id, MONDAY_NOON);
    expect(got.total).toBe(3);
    expect(got.last).toMatchObject({ kind: 'wait', reason: 'limit:client/day' });
  });

  it('respects the global per-minute limit across accounts', async () => {
    const one = await setup({ rows: 5 });
    const two = await setup({ rows: 5 });
    const base = new Date('2026-03-02T15:30:00Z');
    // Other tests in this file counted in other minutes; this minute starts empty.
    const limited = liftedClaimSettings({ globalPerMinute: 3 });
    const first = await claimAll(one.account.id, base, limited);
    const second = await claimAll(two.account.id, at(base, 30_000), limited);
    expect(first.total + second.total).toBe(3);
    expect(second.last).toMatchObject({ kind: 'wait', reason: 'limit:global/minute', until: at(base, 60_000) });
    expect((await claimAll(two.account.id, at(base, 60_000), limited)).total).toBe(3);
  });

  it('follows the warm-up curve from the warm-up start day', async () => {
    const { account } = await setup({ rows: 30, account: { warmup_enabled: true, warmup_started_on: '2026-03-01', daily_limit: 100 } });
    const settings = liftedClaimSettings({ warmup: { curve: '2,5,9', growthPctPerDay: 0 } });
    expect((await claimAll(account.id, MONDAY_NOON, settings)).total).toBe(5); // day 1 since start
    expect((await claimAll(account.id, new Date('2026-03-03T08:00:00Z'), settings)).total).toBe(9); // day 2
  });

  it("advances the warm-up day at midnight in the account's time zone", async () => {
    const { account } = await setup({ rows: 30, account: { warmup_enabled: true, warmup_started_on: '2026-03-01', daily_limit: 100, time_zone: 'America/New_York' } });
    const settings = liftedClaimSettings({ warmup: { curve: '2,5,9', growthPctPerDay: 0 } });
    // 22:00 on 2 March in New York (already 3 March in UTC): warm-up day 1.
    expect((await claimAll(account.id, new Date('2026-03-03T03:00:00Z'), settings)).total).toBe(5);
    // Local midnight: day 2, and a fresh daily counter.
    expect((await claimAll(account.id, new Date('2026-03-03T05:00:00Z'), settings)).total).toBe(9);
  });

  it('uses a per-account warm-up curve and lowers the limit with a poor health score', async () => {
    const { account } = await setup({ rows: 30, account: { warmup_enabled: true, warmup_curve: '4+50%', warmup_started_on: '2026-03-01', daily_limit: 100 } });
    expect((await claimAll(account.id, MONDAY_NOON)).total).toBe(6);
    const poor = await setup({ rows: 30, account: { daily_limit: 10, health_score: 50 } });
    expect((await claimAll(poor.account.id, MONDAY_NOON)).total).toBe(5);
  });

  it('claims only inside the campaign sending window, in the campaign time zone', async () => {
    const window = { sendDays: [1, 2, 3, 4, 5], startMinute: 9 * 60, endMinute: 17 * 60, timeZone: 'America/New_York' };
    const { account } = await setup({ rows: 3, campaign: { window } });
    // Monday 08:59 in New York (EST, UTC−5).
    expect((await claimAll(account.id, new Date('2026-03-02T13:59:00Z'))).total).toBe(0);
    expect((await claimAll(account.id, new Date('2026-03-07T15:00:00Z'))).total).toBe(0); // Saturday 10:00
    expect((await claimAll(account.id, new Date('2026-03-02T22:00:00Z'))).total).toBe(0); // Monday 17:00
    expect((await claimAll(account.id, new Date('2026-03-02T14:00:00Z'))).total).toBe(3); // Monday 09:00
  });

  it('uses the recipient time zone when the campaign asks for it, and the campaign zone for unknown zones', async () => {
    const window = { sendDays: [1, 2, 3, 4, 5, 6, 7], startMinute: 9 * 60, endMinute: 10 * 60, timeZone: 'UTC', useRecipientTimeZone: true };
    const client = await createClient(database.db);
    const account = await createAccount(database.db, client.id);
    const campaign = await createCampaign(database.db, client.id, { senders: [account.id], window });
    await addContacts(database.db, client.id, campaign.id, 2, { timeZone: 'Asia/Tokyo', domain: 'tokyo.test' });
    await addContacts(database.db, client.id, campaign.id, 1, { timeZone: 'Not/AZone', domain: 'nowhere.test' });
    await enqueueCampaign(database.db, campaign.id, new Date('2026-03-01T00:00:00Z'), { messageIdDomain: 'claim.test' });
    // 00:30 UTC = 09:30 in Tokyo: only the Tokyo contacts are inside their window.
    await claimAll(account.id, new Date('2026-03-02T00:30:00Z'));
    let rows = await queueRows(database.db, campaign.id);
    expect(rows.filter((r) => r.status === 'claimed').map((r) => r.recipient_domain)).toEqual(['tokyo.test', 'tokyo.test']);
    await claimAll(account.id, new Date('2026-03-02T09:30:00Z'));
    rows = await queueRows(database.db, campaign.id);
    expect(rows.every((r) => r.status === 'claimed')).toBe(true);
  });

  it('supports a window that spans midnight', async () => {
    const window = { sendDays: [1], startMinute: 22 * 60, endMinute: 2 * 60, timeZone: 'UTC' };
    const { account } = await setup({ rows: 2, campaign: { window } });
    expect((await claimAll(account.id, new Date('2026-03-02T21:59:00Z'))).total).toBe(0);
    expect((await claimAll(account.id, new Date('2026-03-03T01:00:00Z'))).total).toBe(2); // Tuesday 01:00 belongs to Monday's window
  });
});

describe('claiming and suppression', () => {
  it('turns rows of suppressed addresses into `suppressed` and never hands them out; an unsubscribe counts before the next claim', async () => {
    const { client, account, campaign, contacts } = await setup({ rows: 4 });
    await database.db.insertInto('suppressions').values({ client_id: client.id, email: contacts[0]!.email, reason: 'hard_bounce' }).execute();
    const first = await claimBatch(database.db, account.id, MONDAY_NOON, liftedClaimSettings({ batchSize: 2 }));
    expect(first.kind === 'claimed' && first.rows.map((r) => r.to_email)).toEqual([contacts[1]!.email]);
    // Unsubscribe between two claims.
    await database.db.insertInto('suppressions').values({ client_id: client.id, email: contacts[2]!.email, reason: 'unsubscribed' }).execute();
    await database.db.updateTable('campaign_contacts').set({ status: 'replied' }).where('contact_id', '=', contacts[3]!.id).execute();
    const second = await claimAll(account.id, MONDAY_NOON);
    expect(second.total).toBe(0);
    const byEmail = Object.fromEntries((await queueRows(database.db, campaign.id)).map((r) => [r.to_email, r.status]));
    expect(byEmail).toEqual({ [contacts[0]!.email]: 'suppressed', [contacts[1]!.email]: 'claimed', [contacts[2]!.email]: 'suppressed', [contacts[3]!.email]: 'cancelled' });
  });

  it('does not claim for a campaign that is not running or for an account that is not active', async () => {
    const { account, campaign } = await setup({ rows: 2 });
    await database.db.updateTable('campaigns').set({ status: 'paused' }).where('id', '=', campaign.id).execute();
    expect(await claimBatch(database.db, account.id, MONDAY_NOON, liftedClaimSettings())).toMatchObject({ kind: 'wait', reason: 'nothing_due' });
    await database.db.updateTable('sender_accounts').set({ status: 'suspended', pause_reason: 'auth_failed' }).where('id', '=', account.id).execute();
    expect(await claimBatch(database.db, account.id, MONDAY_NOON, liftedClaimSettings())).toEqual({ kind: 'inactive', status: 'suspended', reason: 'auth_failed' });
    expect(await claimBatch(database.db, '00000000-0000-4000-8000-000000000000', MONDAY_NOON, liftedClaimSettings())).toMatchObject({ kind: 'inactive', status: 'missing' });
  });

  it('gives reservations back when claimed rows are released unsent', async () => {
    const { account } = await setup({ rows: 4, account: { daily_limit: 2 } });
    const claim = await claimBatch(database.db, account.id, MONDAY_NOON, liftedClaimSettings());
    if (claim.kind !== 'claimed') throw new Error('expected a claim');
    expect((await claimAll(account.id, MONDAY_NOON)).total).toBe(0);
    await database.db.transaction().execute(async (tx) => {
      for (const row of await releaseClaims(tx, claim.leaseToken, undefined, MONDAY_NOON)) await releaseReservation(tx, row, { accountId: account.id, accountEmail: account.email, accountTimeZone: 'UTC' });
    });
    expect((await claimAll(account.id, MONDAY_NOON)).total).toBe(2);
  });
});

describe('releasing reservations of an account in another time zone', () => {
  async function accountDayCounters(accountId: string) {
    const { rows } = await sql<{ window_start: Date; count: number }>`
      select window_start, count from rate_counters where scope = 'account' and scope_key = ${accountId} and window_kind = 'day' order by window_start`.execute(database.db);
    return rows.map((r) => ({ windowStart: r.window_start.toISOString(), count: r.count }));
  }

  it("gives back exactly the unit a claimed row took from the account's local-day counter", async () => {
    // 02:00 UTC on 3 March is 21:00 on 2 March in New York: the counter of the local day.
    const night = new Date('2026-03-03T02:00:00Z');
    const { account } = await setup({ rows: 4, account: { daily_limit: 3, time_zone: 'America/New_York' } });
    const settings = liftedClaimSettings({ batchSize: 1 });
    expect((await claimBatch(database.db, account.id, night, settings)).kind).toBe('claimed');
    const second = await claimBatch(database.db, account.id, night, settings);
    if (second.kind !== 'claimed') throw new Error('expected a claim');
    expect(await accountDayCounters(account.id)).toEqual([{ windowStart: '2026-03-02T05:00:00.000Z', count: 2 }]);

    await database.db.transaction().execute(async (tx) => {
      for (const row of await releaseClaims(tx, second.leaseToken, undefined, night)) {
        await releaseReservation(tx, row, { accountId: account.id, accountEmail: account.email, accountTimeZone: second.account.time_zone });
      }
    });
    expect(await accountDayCounters(account.id)).toEqual([{ windowStart: '2026-03-02T05:00:00.000Z', count: 1 }]);
    expect((await claimAll(account.id, night)).total).toBe(2);
  });

  it("reports the orchestrator's sent-today from the same local-day counter the claim reserves", async () => {
    const client = await createClient(database.db);
    // Neither zone's day starts at UTC midnight.
    const accounts = [
      await createAccount(database.db, client.id, { daily_limit: 2, time_zone: 'Asia/Tokyo' }),
      await createAccount(database.db, client.id, { daily_limit: 2, time_zone: 'Pacific/Pago_Pago' }),
    ];
    const now = new Date();
    for (const account of accounts) {
      const campaign = await createCampaign(database.db, client.id, { senders: [account.id] });
      await addContacts(database.db, client.id, campaign.id, 3);
      await enqueueCampaign(database.db, campaign.id, at(now, -minutes(60)), { messageIdDomain: 'claim.test' });
      expect((await claimAll(account.id, now)).total).toBe(2);
    }
    const demand = await listAccountDemand(database.db, accounts.map((a) => a.id), 0);
    expect(demand.map((d) => d.sentToday)).toEqual([2, 2]);
    expect(demand.map((d) => hasQuotaLeft(d, { curve: '20,40,80', growthPctPerDay: 0, deferralSlowdownPct: 0 }, now))).toEqual([false, false]);
  });
});

describe('claiming and circuit breakers', () => {
  it("skips rows to a recipient domain whose breaker is open, and claims nothing while the provider breaker of the account's client is open", async () => {
    const { account, campaign } = await setup({ rows: 4, domain: (i) => (i % 2 === 0 ? 'down.test' : 'up.test') });
    await database.db.insertInto('circuit_breakers').values({ scope: 'recipient_domain', scope_key: 'down.test', consecutive_failures: 5, opened_until: at(MONDAY_NOON, minutes(10)) }).execute();
    await claimAll(account.id, MONDAY_NOON);
    const claimed = (await queueRows(database.db, campaign.id)).filter((r) => r.status === 'claimed');
    expect(claimed.map((r) => r.recipient_domain)).toEqual(['up.test', 'up.test']);

    const relay = { transport_settings: JSON.stringify({ host: 'relay.example.test', port: 587 }) };
    const other = await setup({ rows: 2, account: relay });
    const otherClient = await setup({ rows: 2, account: relay });
    const key = providerKey({ client_id: other.client.id, transport: 'smtp', transport_settings: { host: 'relay.example.test', port: 587 } });
    await database.db.insertInto('circuit_breakers').values({ scope: 'provider', scope_key: key, consecutive_failures: 5, opened_until: at(MONDAY_NOON, minutes(10)) }).execute();
    expect(await claimBatch(database.db, other.account.id, MONDAY_NOON, liftedClaimSettings())).toMatchObject({ kind: 'wait', reason: 'provider_breaker_open', until: at(MONDAY_NOON, minutes(10)) });
    // Another client on the same relay is not stopped by this client's trouble.
    expect((await claimAll(otherClient.account.id, MONDAY_NOON)).total).toBe(2);
    // Half-open after the period: claims resume.
    expect((await claimAll(other.account.id, at(MONDAY_NOON, minutes(10)))).total).toBe(2);
  });
});

describe('two processes racing for one account', () => {
  it('never exceed a limit and never claim a row twice', async () => {
    const { account, campaign } = await setup({ rows: 60, account: { daily_limit: 25, hourly_limit: 1000 }, domain: (i) => `d${i % 3}.test` });
    // Two separate pools stand for two processes.
    const other = createDb(database.url, { poolMax: 4, idleTimeoutMs: 1000 });
    try {
      const settings = liftedClaimSettings({ batchSize: 4, recipientDomainDailyLimit: 7 });
      const claimers = [database.db, other, database.db, other].map(async (db) => {
        const ids: number[] = [];
        for (let i = 0; i < 15; i++) {
          const result = await claimBatch(db, account.id, MONDAY_NOON, settings);
          if (result.kind === 'claimed') ids.push(...result.rows.map((r) => r.id));
        }
        return ids;
      });
      const ids = (await Promise.all(claimers)).flat();
      expect(new Set(ids).size).toBe(ids.length);
      // 3 recipient domains × 7 = 21 < daily 25: the recipient-domain limit binds.
      expect(ids.length).toBe(21);
      const claimed = (await queueRows(database.db, campaign.id)).filter((r) => r.status === 'claimed');
      expect(claimed).toHaveLength(21);
      const counters = await sql<{ scope: string; count: number }>`select scope, count from rate_counters where scope_key = ${account.id}`.execute(database.db);
      expect(counters.rows.every((c) => c.count === 21)).toBe(true);
    } finally {
      await other.destroy();
    }
  });
});

describe('when a claim that took nothing says to look again', () => {
  const TUESDAY_UTC_MIDNIGHT = new Date('2026-03-03T00:00:00Z');
  let tag = 0;
  /** A recipient domain no other test counts against (the counters are keyed by sender and recipient domain). */
  const domain = (name: string) => `${name}-${Date.now().toString(36)}${tag++}.test`;
  const openBreaker = (recipientDomain: string, until: Date) =>
    database.db.insertInto('circuit_breakers').values({ scope: 'recipient_domain', scope_key: recipientDomain, consecutive_failures: 5, opened_until: until }).execute();

  it("says a full recipient-domain counter ends at the next UTC midnight (its day, not the account's), and claims again then", async () => {
    const full = domain('full');
    // 12:00 UTC is 07:00 in New York: the account's own day ends at 05:00 UTC, the recipient domain's at 00:00 UTC.
    const { account } = await setup({ rows: 3, domain: full, account: { time_zone: 'America/New_York' } });
    const settings = liftedClaimSettings({ recipientDomainDailyLimit: 2 });
    const got = await claimAll(account.id, MONDAY_NOON, settings);
    expect(got).toMatchObject({ total: 2, last: { kind: 'wait', reason: 'limit:recipient_domain/day', until: TUESDAY_UTC_MIDNIGHT } });
    expect((await claimAll(account.id, at(TUESDAY_UTC_MIDNIGHT, -1000), settings)).total).toBe(0);
    expect((await claimAll(account.id, TUESDAY_UTC_MIDNIGHT, settings)).total).toBe(1);
  });

  it('says a campaign at its daily limit starts its next day at UTC midnight', async () => {
    const { account } = await setup({ rows: 3, campaign: { dailyLimit: 2 } });
    expect(await claimAll(account.id, MONDAY_NOON)).toMatchObject({ total: 2, last: { kind: 'wait', reason: 'limit:campaign/day', until: TUESDAY_UTC_MIDNIGHT } });
  });

  it('says when the earliest held row may go: a breaker closing before a full counter, and a row held by both only when both ended', async () => {
    const [both, down] = [domain('both'), domain('down')];
    const { account } = await setup({ rows: 3, domain: (i) => (i < 2 ? both : down) });
    await openBreaker(down, at(MONDAY_NOON, minutes(10)));
    const settings = liftedClaimSettings({ recipientDomainDailyLimit: 1 });
    // One row to `both` goes; the other waits for midnight, the row to `down` for its breaker.
    expect(await claimAll(account.id, MONDAY_NOON, settings)).toMatchObject({
      total: 1,
      last: { kind: 'wait', reason: 'recipient_domain_breaker_open', until: at(MONDAY_NOON, minutes(10)) },
    });
    // `down` closes after midnight now; `both` is also behind a breaker that closes before
    // midnight, but its counter still holds it until midnight.
    await database.db.updateTable('circuit_breakers').set({ opened_until: new Date('2026-03-03T02:00:00Z') }).where('scope_key', '=', down).execute();
    await openBreaker(both, at(MONDAY_NOON, minutes(20)));
    expect(await claimAll(account.id, MONDAY_NOON, settings)).toMatchObject({ total: 0, last: { reason: 'limit:recipient_domain/day', until: TUESDAY_UTC_MIDNIGHT } });
  });

  it("looks again within seconds, not at midnight, while the only row it could take is locked by another process's claim", async () => {
    const [full, free] = [domain('full'), domain('free')];
    const { account, campaign } = await setup({ rows: 3, domain: (i) => (i < 2 ? full : free) });
    const settings = liftedClaimSettings({ recipientDomainDailyLimit: 1 });
    const freeRow = (await queueRows(database.db, campaign.id)).find((r) => r.recipient_domain === free);
    // Another process holds the `free` row locked, as a racing claim does (SKIP LOCKED passes it by).
    const other = createDb(database.url, { poolMax: 1, idleTimeoutMs: 1000 });
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const held = other.transaction().execute(async (tx) => {
      await sql`select id from email_queue where id = ${freeRow!.id} for update`.execute(tx);
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    try {
      await isLocked;
      // One row to `full` goes, the other waits for midnight; the locked one is about to be claimed.
      const got = await claimAll(account.id, MONDAY_NOON, settings);
      expect(got).toMatchObject({ total: 1, last: { kind: 'wait', reason: 'rows_locked', until: at(MONDAY_NOON, LOCKED_RECHECK_MS) } });
    } finally {
      release();
      await held;
      await other.destroy();
    }
    const claimed = await claimBatch(database.db, account.id, at(MONDAY_NOON, LOCKED_RECHECK_MS), settings);
    expect(claimed.kind === 'claimed' && claimed.rows.map((r) => r.recipient_domain)).toEqual([free]);
  });

  it("counts only rows inside their recipient's window: one outside it is not taken for a locked row", async () => {
    const full = domain('full');
    // 01:00–02:00 in each recipient's zone. 16:30 UTC on Monday is 01:30 on Tuesday in Tokyo
    // (open) and 11:30 in New York (closed until 01:00 there, 06:00 UTC).
    const window = { sendDays: [1, 2, 3, 4, 5, 6, 7], startMinute: 60, endMinute: 120, timeZone: 'UTC', useRecipientTimeZone: true };
    const client = await createClient(database.db);
    const account = await createAccount(database.db, client.id);
    const campaign = await createCampaign(database.db, client.id, { senders: [account.id], window });
    await addContacts(database.db, client.id, campaign.id, 2, { timeZone: 'Asia/Tokyo', domain: full });
    await addContacts(database.db, client.id, campaign.id, 1, { timeZone: 'America/New_York', domain: domain('later') });
    await enqueueCampaign(database.db, campaign.id, new Date('2026-03-01T00:00:00Z'), { messageIdDomain: 'claim.test' });
    const got = await claimAll(account.id, new Date('2026-03-02T16:30:00Z'), liftedClaimSettings({ recipientDomainDailyLimit: 1 }));
    expect(got).toMatchObject({ total: 1, last: { kind: 'wait', reason: 'limit:recipient_domain/day', until: TUESDAY_UTC_MIDNIGHT } });
  });
});
