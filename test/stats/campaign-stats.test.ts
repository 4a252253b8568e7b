import { sql } from 'kysely';
import request from 'supertest';
import { foldStatsDeltas } from '../../src/stats/stats.repository';
import { useTestDatabase } from '../helpers/database';
import { bearer } from '../http/admin-api.helpers';
import { campaignInEveryState, type CampaignInEveryState } from '../campaigns/campaign-states.fixture';

const t = useTestDatabase();

const none = { queued: 0, sent: 0, bounced: 0, opened: 0, clicked: 0, replied: 0, unsubscribed: 0, complained: 0, due: 0, scheduled: 0, retrying: 0, inFlight: 0, unknown: 0, held: 0, failed: 0, suppressed: 0, cancelled: 0 };

describe('campaign statistics count every queue state', () => {
  let s: CampaignInEveryState;
  beforeAll(async () => {
    s = await campaignInEveryState(t.db, 'stats');
  }, 90_000);
  afterAll(async () => {
    await s?.close();
  });

  it('counts waiting rows by why they wait, and every terminal state, in total', async () => {
    const res = await request(s.app).get(`/api/campaigns/${s.campaignId}/stats`).set(bearer(s.world.a.viewerToken));
    expect(res.status).toBe(200);
    expect(res.body.totals).toEqual({
      ...none,
      // due-x, retry, the one in flight, lost2, lost: still waiting.
      queued: 5,
      due: 1,
      scheduled: 1,
      retrying: 1,
      inFlight: 1,
      unknown: 1,
      held: 1,
      sent: 3,
      bounced: 1,
      failed: 1,
      suppressed: 1,
      cancelled: 1,
    });
    // Every row in exactly one state.
    const { totals } = res.body as { totals: typeof none };
    const states = totals.due + totals.scheduled + totals.inFlight + totals.unknown + totals.held + totals.sent + totals.bounced + totals.failed + totals.suppressed + totals.cancelled;
    const rows = await t.db.selectFrom('email_queue').select((eb) => eb.fn.countAll<number>().as('n')).where('campaign_id', '=', s.campaignId).executeTakeFirstOrThrow();
    expect(states).toBe(Number(rows.n));
  });

  it('splits them per step and per account, with rows waiting in the pool under no account', async () => {
    const res = await request(s.app).get(`/api/campaigns/${s.campaignId}/stats`).set(bearer(s.world.a.adminToken));
    expect(res.body.steps).toEqual([
      { stepNumber: 1, ...none, queued: 5, due: 1, scheduled: 1, retrying: 1, inFlight: 1, unknown: 1, held: 1, sent: 2, bounced: 1, failed: 1, suppressed: 1 },
      { stepNumber: 2, ...none, sent: 1, cancelled: 1 },
    ]);
    expect(res.body.accounts).toEqual([
      // Not yet taken by a mailbox: the due row, the retry backing off, and the address suppressed before any claim.
      { accountId: null, ...none, queued: 2, due: 1, scheduled: 1, retrying: 1, suppressed: 1 },
      { accountId: s.accountId, ...none, queued: 3, inFlight: 1, unknown: 1, held: 1, sent: 3, bounced: 1, failed: 1, cancelled: 1 },
    ]);
  });

  it('counts the same states per sender account across campaigns, and events per day', async () => {
    const accounts = await request(s.app).get('/api/stats/accounts').set(bearer(s.world.a.adminToken));
    expect(accounts.status).toBe(200);
    expect(accounts.body.accounts).toEqual([{ accountId: s.accountId, email: s.accountEmail, ...none, queued: 3, inFlight: 1, unknown: 1, held: 1, sent: 3, bounced: 1, failed: 1, cancelled: 1 }]);

    const campaign = await request(s.app).get(`/api/campaigns/${s.campaignId}/stats`).set(bearer(s.world.a.adminToken));
    const days = campaign.body.days as Array<Record<string, number>>;
    expect(Object.keys(days[0]!).sort()).toEqual(['bounced', 'clicked', 'complained', 'day', 'opened', 'queued', 'replied', 'sent', 'unsubscribed']);
    expect(days.reduce((sum, d) => sum + d.queued!, 0)).toBe(12);
    expect(days.reduce((sum, d) => sum + d.sent!, 0)).toBe(3);
  });

  it('answers the same after the rollups’ deltas are folded, with one row left per key', async () => {
    const before = await request(s.app).get(`/api/campaigns/${s.campaignId}/stats`).set(bearer(s.world.a.adminToken));
    const accountsBefore = await request(s.app).get('/api/stats/accounts').set(bearer(s.world.a.adminToken));
    const deltas = await sql<{ n: number }>`select count(*)::int as n from stats_campaign_rollup where not folded`.execute(t.db);
    expect(deltas.rows[0]!.n).toBeGreaterThan(0); // the fixture's writes went in as deltas
    await foldStatsDeltas(t.db);
    const after = await request(s.app).get(`/api/campaigns/${s.campaignId}/stats`).set(bearer(s.world.a.adminToken));
    const accountsAfter = await request(s.app).get('/api/stats/accounts').set(bearer(s.world.a.adminToken));
    expect(after.body).toEqual(before.body);
    expect(accountsAfter.body.accounts).toEqual(accountsBefore.body.accounts);
    for (const [table, key] of [['stats_campaign_rollup', 'campaign_id, step_number, account_id'], ['stats_account_rollup', 'day, account_id'], ['stats_campaign_days', 'campaign_id, day']] as const) {
      const { rows } = await sql<{ unfolded: number; duplicated: number }>`
        select (select count(*)::int from ${sql.table(table)} where not folded) as unfolded,
               (select count(*)::int from (select 1 from ${sql.table(table)} group by ${sql.raw(key)} having count(*) > 1) d) as duplicated`.execute(t.db);
      expect({ table, ...rows[0] }).toEqual({ table, unfolded: 0, duplicated: 0 });
    }
  });

  it('refuses another client’s campaign', async () => {
    const res = await request(s.app).get(`/api/campaigns/${s.campaignId}/stats`).set(bearer(s.world.b.adminToken));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});
