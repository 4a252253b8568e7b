import request from 'supertest';
import { claimBatch, type ClaimSettings } from '../../src/queue/claim';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import { useTestDatabase } from '../helpers/database';
import { seedSentMessage } from '../tracking/fixtures';
import { testApp, testConfig } from './admin-api.helpers';

describe('one-click unsubscribe against the real claim', () => {
  const t = useTestDatabase();
  const config = testConfig();
  const signer = trackingSignerFor(config);

  it("leaves nothing of the unsubscribed contact for the next claim while others' follow-ups are still claimed", async () => {
    const message = await seedSentMessage(t.db);
    const other = await seedSentMessage(t.db, { clientId: message.clientId });
    const account = await t.db
      .insertInto('sender_accounts')
      .values({ client_id: message.clientId, email: 'sender@sender.example', transport: 'sink', min_gap_seconds: 0, warmup_enabled: false, daily_limit: 100, hourly_limit: 100 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await t.db
      .updateTable('campaigns')
      .set({ window_start_minute: 0, window_end_minute: 1440, send_days: [1, 2, 3, 4, 5, 6, 7] })
      .where('id', 'in', [message.campaignId, other.campaignId])
      .execute();
    // Both follow-ups are due now, from the mailbox that sent step 1.
    await t.db
      .updateTable('email_queue')
      .set({ account_id: account.id, run_after: new Date(Date.now() - 60_000) })
      .where('id', 'in', [message.followUpQueueId, other.followUpQueueId])
      .execute();

    const res = await request(testApp(t.db, config)).post(new URL(signer.unsubscribeUrl(message.sentQueueId)).pathname).type('form').send('List-Unsubscribe=One-Click');
    expect(res.status).toBe(200);

    const settings: ClaimSettings = {
      batchSize: 10,
      leaseMs: 60_000,
      gapJitterPct: 0,
      globalPerMinute: 1000,
      recipientDomainDailyLimit: 1000,
      senderDomainDailyLimit: 1000,
      cooldownMinutes: 60,
      warmup: { curve: config.warmup.curve, growthPctPerDay: config.warmup.growthPctPerDay },
    };
    const claim = await claimBatch(t.db, account.id, new Date(), settings);
    expect(claim.kind).toBe('claimed');
    const claimedIds = claim.kind === 'claimed' ? claim.rows.map((r) => r.id) : [];
    expect(claimedIds).toEqual([other.followUpQueueId]);
    const unsubscribed = await t.db.selectFrom('email_queue').select('status').where('id', '=', message.followUpQueueId).executeTakeFirstOrThrow();
    expect(unsubscribed.status).toBe('cancelled');
  });
});
