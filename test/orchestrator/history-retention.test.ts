/**
 * The nightly retention job: tracking events, send logs and sink messages past their period are
 * deleted (in batches), recent ones kept, and every statistic is unchanged (the rollups keep
 * the figures). send_logs stays append-only for everyone but the job.
 */
import { sql, type Kysely } from 'kysely';
import { purgeHistory } from '../../src/orchestrator/history-retention';
import { accountStats, campaignStats } from '../../src/stats/stats.repository';
import { fillHistory } from '../../scripts/bench/history-fill';
import { useTestDatabase } from '../helpers/database';

const t = useTestDatabase();
const DAY = 86_400_000;
const NOW = new Date();
const ALL = { clientId: null };

async function allStats(db: typeof t.db) {
  const campaigns = await db.selectFrom('campaigns').select('id').orderBy('id').execute();
  return {
    campaigns: await Promise.all(campaigns.map(({ id }) => campaignStats(db, id, NOW))),
    accounts: await accountStats(db, ALL, new Date(NOW.getTime() - 60 * DAY), new Date(NOW.getTime() + 1), NOW),
  };
}

async function countOlder(table: string, column: string, cutoff: Date): Promise<{ older: number; newer: number }> {
  const { rows } = await sql<{ older: string; newer: string }>`
    select count(*) filter (where ${sql.ref(column)} < ${cutoff}) as older, count(*) filter (where ${sql.ref(column)} >= ${cutoff}) as newer
    from ${sql.table(table)}`.execute(t.db);
  return { older: Number(rows[0]!.older), newer: Number(rows[0]!.newer) };
}

describe('history retention', () => {
  beforeAll(async () => {
    // 20 days of history at 100 sends a day.
    await fillHistory(t.db as unknown as Kysely<unknown>, { sends: 2000, now: NOW, mailboxes: 20, sendsPerCampaign: 400, sendsPerDay: 100 });
    await t.db
      .insertInto('sink_messages')
      .values([40, 10, 1].map((days) => ({ raw: 'Subject: x\r\n\r\nx', size_bytes: 16, received_at: new Date(NOW.getTime() - days * DAY) })))
      .execute();
  }, 60_000);

  it('refuses a send log delete outside the job', async () => {
    await expect(sql`delete from send_logs where id = (select min(id) from send_logs)`.execute(t.db)).rejects.toThrow(/append-only/);
  });

  it('drops what is past each period, keeps the rest, and leaves every figure as it was', async () => {
    const settings = { trackingEventsDays: 12, sendLogsDays: 8, sinkMessagesDays: 5, deleteBatchSize: 50 };
    const trackingCutoff = new Date(NOW.getTime() - 12 * DAY);
    const logCutoff = new Date(NOW.getTime() - 8 * DAY);
    const before = {
      opens: await countOlder('open_events', 'occurred_at', trackingCutoff),
      clicks: await countOlder('click_events', 'occurred_at', trackingCutoff),
      logs: await countOlder('send_logs', 'created_at', logCutoff),
    };
    // Something on both sides of every cutoff, and more than one batch to delete.
    expect(before.opens.older).toBeGreaterThan(50);
    expect(before.opens.newer).toBeGreaterThan(0);
    expect(before.clicks.older).toBeGreaterThan(0);
    expect(before.logs.older).toBeGreaterThan(50);
    const stats = await allStats(t.db);

    const result = await purgeHistory(t.db, settings, NOW);
    expect(result).toEqual({ openEvents: before.opens.older, clickEvents: before.clicks.older, sendLogs: before.logs.older, sinkMessages: 2 });
    expect(await countOlder('open_events', 'occurred_at', trackingCutoff)).toEqual({ older: 0, newer: before.opens.newer });
    expect(await countOlder('click_events', 'occurred_at', trackingCutoff)).toEqual({ older: 0, newer: before.clicks.newer });
    expect(await countOlder('send_logs', 'created_at', logCutoff)).toEqual({ older: 0, newer: before.logs.newer });
    expect(await t.db.selectFrom('sink_messages').select('received_at').execute()).toHaveLength(1);
    expect(await allStats(t.db)).toEqual(stats);

    // Rows still change after their events are gone: a later update does not lose the opens.
    await sql`update email_queue set updated_at = now() where sent_at is not null`.execute(t.db);
    expect(await allStats(t.db)).toEqual(stats);
    // Nothing left to do on a second run.
    expect(await purgeHistory(t.db, settings, NOW)).toEqual({ openEvents: 0, clickEvents: 0, sendLogs: 0, sinkMessages: 0 });
  }, 60_000);
});
