import net from 'node:net';
import { sql } from 'kysely';
import { claimBatch } from '../../src/queue/claim';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { markSending } from '../../src/queue/queue.repository';
import { sweepExpiredLeases, type SweepOptions } from '../../src/queue/sweeper';
import { openAccountTransport } from '../../src/sending/account-transport';
import { insertSinkMessage } from '../../src/transports/sink-message.repository';
import { useTestDatabase } from '../helpers/database';
import { type ImapPeer, startImapPeer } from '../peers/imap-peer';
import { testCipher } from '../sending/worker-harness';
import { addContacts, createAccount, createCampaign, createClient, liftedClaimSettings, queueRows } from './fixtures';

const database = useTestDatabase();
const NOW = new Date('2026-03-02T12:00:00Z');
const LEASE_MS = 60_000;
const AFTER_LEASE = new Date(NOW.getTime() + LEASE_MS + 1);

const options = (overrides: Partial<SweepOptions> = {}): SweepOptions => ({
  unknownPolicy: 'hold',
  transportFor: (accountId) => openAccountTransport(database.db, accountId, testCipher, { db: database.db, sink: { host: '127.0.0.1', port: 2525 } }),
  ...overrides,
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An account of `transport`, `count` rows claimed by it, the first `sending` of them marked sending. */
async function leased(transport: 'sink' | 'smtp', count: number, sending: number, settings: Record<string, unknown> = {}, timeZone = 'UTC') {
  const client = await createClient(database.db);
  const account = await createAccount(database.db, client.id, {
    time_zone: timeZone,
    transport,
    transport_settings: JSON.stringify({ host: '127.0.0.1', port: 2525, ...settings }),
    ...(transport === 'smtp' ? { credentials_encrypted: testCipher.encrypt(JSON.stringify({ user: 'u', pass: 'p' })) } : {}),
  });
  const campaign = await createCampaign(database.db, client.id, { senders: [account.id], steps: [{ delayMinutes: 0 }, { delayMinutes: 5 }] });
  await addContacts(database.db, client.id, campaign.id, count);
  await enqueueCampaign(database.db, campaign.id, NOW, { messageIdDomain: 'sweeper.test' });
  const claim = await claimBatch(database.db, account.id, NOW, liftedClaimSettings({ batchSize: count, leaseMs: LEASE_MS }));
  if (claim.kind !== 'claimed') throw new Error('expected a claim');
  await markSending(database.db, claim.rows.slice(0, sending).map((r) => r.id), claim.leaseToken, NOW, new Date(NOW.getTime() + LEASE_MS));
  return { client, account, campaign, rows: claim.rows };
}

async function accountCounters(accountId: string) {
  return (await sql<{ window_kind: string; count: number }>`select window_kind, count from rate_counters where scope = 'account' and scope_key = ${accountId} order by window_kind`.execute(database.db)).rows;
}

describe('sweepExpiredLeases', () => {
  it('leaves leases that have not expired alone', async () => {
    const { campaign } = await leased('sink', 2, 1);
    const report = await sweepExpiredLeases(database.db, new Date(NOW.getTime() + LEASE_MS - 1), options());
    expect(report).toMatchObject({ requeuedClaims: 0, markedUnknown: 0 });
    expect((await queueRows(database.db, campaign.id)).map((r) => r.status).sort()).toEqual(['claimed', 'sending']);
    // Leave nothing leased for the next test, which counts what one sweep does.
    await sweepExpiredLeases(database.db, AFTER_LEASE, options());
  });

  it('puts expired claims back in the queue with their reservations released, and turns expired sends into unknown rows that are reconciled', async () => {
    const { account, campaign, rows } = await leased('sink', 3, 2);
    // The first sending row did reach the mailbox; the second did not.
    await insertSinkMessage(database.db, { mailFrom: account.email, rcptTo: [rows[0]!.to_email], messageId: rows[0]!.message_id, subject: 'x', raw: 'x' });
    expect(await accountCounters(account.id)).toEqual([{ window_kind: 'day', count: 3 }, { window_kind: 'hour', count: 3 }]);

    const report = await sweepExpiredLeases(database.db, AFTER_LEASE, options());

    expect(report).toMatchObject({ requeuedClaims: 1, markedUnknown: 2, reconciledSent: 1, requeuedUnknown: 1, held: 0 });
    const byId = new Map((await queueRows(database.db, campaign.id)).map((r) => [r.id, r]));
    expect(byId.get(rows[0]!.id)).toMatchObject({ status: 'sent', attempts: 1, last_error: 'found in Sent mail' });
    expect(byId.get(rows[1]!.id)).toMatchObject({ status: 'queued', attempts: 0, last_error: 'not found in Sent mail', lease_token: null });
    expect(byId.get(rows[2]!.id)).toMatchObject({ status: 'queued', lease_token: null });
    // The reconciled send counts; the two that go back do not.
    expect(await accountCounters(account.id)).toEqual([{ window_kind: 'day', count: 1 }, { window_kind: 'hour', count: 1 }]);
    // The reconciled step 1 queues its follow-up from the same mailbox.
    const followUps = [...byId.values()].filter((r) => r.step_number === 2);
    expect(followUps).toMatchObject([{ contact_id: rows[0]!.contact_id, account_id: account.id, status: 'queued' }]);
    const logs = await database.db.selectFrom('send_logs').select(['queue_id', 'outcome']).where('campaign_id', '=', campaign.id).orderBy('id').execute();
    expect(logs.filter((l) => l.queue_id === rows[0]!.id).map((l) => l.outcome)).toEqual(['unknown', 'reconciled']);
  });

  it("releases an expired claim from the account's local-day counter when the account is in another zone", async () => {
    // NOW is 21:00 on 2 March in Tokyo, whose day began at 15:00 UTC on 1 March.
    const { account, campaign } = await leased('sink', 2, 0, {}, 'Asia/Tokyo');
    const dayCounter = async () =>
      (await sql<{ window_start: Date; count: number }>`select window_start, count from rate_counters where scope = 'account' and scope_key = ${account.id} and window_kind = 'day'`.execute(database.db)).rows.map((r) => ({ start: r.window_start.toISOString(), count: r.count }));
    expect(await dayCounter()).toEqual([{ start: '2026-03-01T15:00:00.000Z', count: 2 }]);

    await sweepExpiredLeases(database.db, AFTER_LEASE, options());

    expect((await queueRows(database.db, campaign.id)).map((r) => r.status)).toEqual(['queued', 'queued']);
    expect(await dayCounter()).toEqual([{ start: '2026-03-01T15:00:00.000Z', count: 0 }]);
  });

  it('holds rows it cannot verify (plain SMTP relay) under the hold policy, and requeues them under the requeue policy', async () => {
    const held = await leased('smtp', 1, 1);
    expect(await sweepExpiredLeases(database.db, AFTER_LEASE, options())).toMatchObject({ markedUnknown: 1, held: 1 });
    expect((await queueRows(database.db, held.campaign.id))[0]).toMatchObject({ status: 'held' });

    const requeued = await leased('smtp', 1, 1);
    expect(await sweepExpiredLeases(database.db, AFTER_LEASE, options({ unknownPolicy: 'requeue' }))).toMatchObject({ markedUnknown: 1, requeuedUnknown: 1 });
    expect((await queueRows(database.db, requeued.campaign.id))[0]).toMatchObject({ status: 'queued' });
  });

  it('keeps a row unknown when its Sent mail cannot be searched right now', async () => {
    const { campaign } = await leased('smtp', 1, 1, { imap: { host: '127.0.0.1', port: await closedPort(), secure: false } });
    const report = await sweepExpiredLeases(database.db, AFTER_LEASE, options());
    expect(report).toMatchObject({ markedUnknown: 1, lookupFailed: 1, held: 0, requeuedUnknown: 0 });
    expect((await queueRows(database.db, campaign.id))[0]).toMatchObject({ status: 'unknown' });
  });

  describe('with an SMTP account whose Sent mail is on a real IMAP server', () => {
    let imap: ImapPeer;
    // leased() gives SMTP accounts the credentials u / p, which the IMAP login reuses.
    beforeAll(async () => (imap = await startImapPeer({ user: 'u', pass: 'p' })));
    afterAll(async () => imap?.stop());

    it('marks an unknown row sent when its Message-ID is in the Sent folder, and puts it back in the queue when it is not', async () => {
      const { account, campaign, rows } = await leased('smtp', 2, 2, { imap: { host: imap.host, port: imap.port, secure: false } });
      await imap.appendMessage('Sent', rows[0]!.message_id);

      const report = await sweepExpiredLeases(database.db, AFTER_LEASE, options());

      // lookupFailed is not asserted: the row an earlier test left unreachable counts there again.
      expect(report).toMatchObject({ markedUnknown: 2, reconciledSent: 1, requeuedUnknown: 1, held: 0 });
      const byId = new Map((await queueRows(database.db, campaign.id)).map((r) => [r.id, r]));
      expect(byId.get(rows[0]!.id)).toMatchObject({ status: 'sent', last_error: 'found in Sent mail' });
      expect(byId.get(rows[1]!.id)).toMatchObject({ status: 'queued', last_error: 'not found in Sent mail', lease_token: null });
      expect([...byId.values()].filter((r) => r.step_number === 2)).toMatchObject([{ contact_id: rows[0]!.contact_id, account_id: account.id, status: 'queued' }]);
    });
  });

  it('does not touch a row that a late worker already recorded', async () => {
    const { campaign, rows } = await leased('sink', 1, 1);
    await sql`update email_queue set status = 'sent', lease_token = null where id = ${rows[0]!.id}`.execute(database.db);
    expect(await sweepExpiredLeases(database.db, AFTER_LEASE, options())).toMatchObject({ markedUnknown: 0 });
    expect((await queueRows(database.db, campaign.id))[0]!.status).toBe('sent');
  });

  it("sweeps only one account's expired leases and unknown rows when given that account, leaving another account's alone", async () => {
    const dead = await leased('sink', 3, 2);
    const alive = await leased('sink', 2, 1);
    await sql`update email_queue set status = 'unknown' where id = ${alive.rows[0]!.id}`.execute(database.db);

    const report = await sweepExpiredLeases(database.db, AFTER_LEASE, options({ accountId: dead.account.id }));

    expect(report).toMatchObject({ requeuedClaims: 1, markedUnknown: 2, requeuedUnknown: 2, lookupFailed: 0 });
    expect((await queueRows(database.db, dead.campaign.id)).map((r) => r.status)).toEqual(['queued', 'queued', 'queued']);
    expect((await queueRows(database.db, alive.campaign.id)).map((r) => r.status).sort()).toEqual(['claimed', 'unknown']);

    const rest = await sweepExpiredLeases(database.db, AFTER_LEASE, options({ accountId: alive.account.id }));
    expect(rest).toMatchObject({ requeuedClaims: 1, markedUnknown: 0, requeuedUnknown: 1 });
  });
});
