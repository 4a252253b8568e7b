/**
 * Rows on the wire: the real SendWorker and SMTP transport against a real SMTP peer that takes
 * its time, with the real sweeper running beside them on real time. A row is `sending` only
 * while it is being handed over (one per connection), a slow send keeps its lease, and a late
 * 250 is recorded whatever the sweeper did meanwhile: a message is never sent twice.
 */
import { enqueueCampaign } from '../../src/queue/enqueue';
import { sweepExpiredLeases, type SweepOptions } from '../../src/queue/sweeper';
import { transportForAccount } from '../../src/sending/account-transport';
import { systemClock } from '../../src/sending/send-worker';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addContacts, createAccount, createCampaign, createClient, queueRows } from '../queue/fixtures';
import { makeWorker, runUntil, testCipher, workerSettings } from './worker-harness';

const database = useTestDatabase();
let peer: SmtpPeer;
beforeAll(async () => {
  peer = await startSmtpPeer();
});
afterAll(async () => {
  await peer.close();
});
beforeEach(() => {
  peer.script = () => undefined;
  peer.received.length = 0;
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scenario(contacts: number, maxConnections = 1) {
  const client = await createClient(database.db);
  const account = await createAccount(database.db, client.id, {
    transport_settings: JSON.stringify({ host: peer.host, port: peer.port, maxConnections }),
    credentials_encrypted: testCipher.encrypt(JSON.stringify({ user: 'u', pass: 'p' })),
  });
  const campaign = await createCampaign(database.db, client.id, { senders: [account.id] });
  await addContacts(database.db, client.id, campaign.id, contacts);
  await enqueueCampaign(database.db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'in-flight.test' });
  const row = await database.db.selectFrom('sender_accounts').selectAll().where('id', '=', account.id).executeTakeFirstOrThrow();
  const transport = transportForAccount(row, testCipher);
  return { account, campaign, transport };
}

const noLookups: SweepOptions = { unknownPolicy: 'requeue', transportFor: async () => undefined };

describe('a send slower than its lease', () => {
  it('keeps its lease while the peer takes its time: the sweeper takes nothing and the late 250 is recorded once', async () => {
    const { account, campaign, transport } = await scenario(1);
    // The 250 comes 4 s after the message, the lease is 1.5 s.
    peer.script = async (context) => (context.stage === 'data' ? (await pause(4_000), undefined) : undefined);
    const settings = workerSettings({ claim: { leaseMs: 1_500 } });
    const { worker } = makeWorker(database.db, account.id, transport, systemClock, settings);
    const reports: Awaited<ReturnType<typeof sweepExpiredLeases>>[] = [];
    let sweeping = true;
    const sweeper = (async () => {
      while (sweeping) {
        reports.push(await sweepExpiredLeases(database.db, new Date(), noLookups));
        await pause(300);
      }
    })();
    try {
      await runUntil(worker, async () => (await queueRows(database.db, campaign.id))[0]?.status === 'sent', 20_000);
    } finally {
      sweeping = false;
      await sweeper;
      await transport.close();
    }
    expect(reports.length).toBeGreaterThan(5);
    expect(reports.every((r) => r.markedUnknown === 0 && r.requeuedClaims === 0 && r.requeuedUnknown === 0)).toBe(true);
    const [row] = await queueRows(database.db, campaign.id);
    expect(row).toMatchObject({ status: 'sent', attempts: 1 });
    expect(peer.received.filter((m) => m.raw.includes(row!.message_id))).toHaveLength(1);
    const logs = await database.db.selectFrom('send_logs').select('outcome').where('queue_id', '=', row!.id).execute();
    expect(logs.map((l) => l.outcome)).toEqual(['accepted']);
  });

  it('records a late 250 as sent even after the sweeper judged the row unknown, and never hands the row out again meanwhile', async () => {
    const { account, campaign, transport } = await scenario(1);
    let handedOver = false;
    peer.script = async (context) => {
      if (context.stage !== 'data') return undefined;
      handedOver = true;
      await pause(3_000);
      return undefined;
    };
    const { worker } = makeWorker(database.db, account.id, transport, systemClock, workerSettings({ claim: { leaseMs: 60_000 } }));
    const running = runUntil(worker, async () => (await queueRows(database.db, campaign.id))[0]?.status === 'sent', 20_000);
    try {
      while (!handedOver) await pause(20);
      // A sweep long after the longest possible send, with the worker not known to be alive:
      // the row is judged unknown, but "cannot tell" settles nothing within the grace period.
      const later = new Date(Date.now() + 3_600_000);
      const report = await sweepExpiredLeases(database.db, later, { ...noLookups, maxSendMs: 300_000, reconcileGraceMs: 900_000 });
      expect(report).toMatchObject({ markedUnknown: 1, requeuedUnknown: 0, held: 0, waitingGrace: 1 });
      expect((await queueRows(database.db, campaign.id))[0]).toMatchObject({ status: 'unknown' });
      await running;
    } finally {
      await transport.close();
    }
    const [row] = await queueRows(database.db, campaign.id);
    expect(row).toMatchObject({ status: 'sent' });
    expect(peer.received.filter((m) => m.raw.includes(row!.message_id))).toHaveLength(1);
    const logs = await database.db.selectFrom('send_logs').select('outcome').where('queue_id', '=', row!.id).orderBy('id').execute();
    expect(logs.map((l) => l.outcome)).toEqual(['unknown', 'accepted']);
  });
});

describe('the sweeper and live workers', () => {
  it("leaves an expired sending row of a worker that may still be running alone, until the longest possible send has passed", async () => {
    const { account, campaign, transport } = await scenario(1);
    let handedOver = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    peer.script = async (context) => {
      if (context.stage !== 'data') return undefined;
      handedOver = true;
      await released;
      return undefined;
    };
    const { worker } = makeWorker(database.db, account.id, transport, systemClock, workerSettings({ claim: { leaseMs: 60_000 } }));
    const running = runUntil(worker, async () => (await queueRows(database.db, campaign.id))[0]?.status === 'sent', 20_000);
    try {
      while (!handedOver) await pause(20);
      const alive: SweepOptions['workerMayBeAlive'] = async (ids) => new Set(ids);
      const soon = new Date(Date.now() + 120_000);
      expect(await sweepExpiredLeases(database.db, soon, { ...noLookups, maxSendMs: 300_000, workerMayBeAlive: alive })).toMatchObject({ leftToLiveWorker: 1, markedUnknown: 0 });
      const afterLongestSend = new Date(Date.now() + 400_000);
      expect(await sweepExpiredLeases(database.db, afterLongestSend, { ...noLookups, maxSendMs: 300_000, reconcileGraceMs: 900_000, workerMayBeAlive: alive })).toMatchObject({ leftToLiveWorker: 0, markedUnknown: 1 });
      release();
      await running;
    } finally {
      release();
      await transport.close();
    }
    expect((await queueRows(database.db, campaign.id))[0]).toMatchObject({ status: 'sent' });
  });
});

describe('rows on the wire', () => {
  it.each([1, 3])('marks at most one row per connection sending at a time (%i connection(s), a batch of 8)', async (connections) => {
    const { account, campaign, transport } = await scenario(8, connections);
    peer.script = async (context) => (context.stage === 'data' ? (await pause(150), undefined) : undefined);
    const { worker } = makeWorker(database.db, account.id, transport, systemClock, workerSettings({ claim: { batchSize: 8 } }));
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await queueRows(database.db, campaign.id);
        most = Math.max(most, rows.filter((r) => r.status === 'sending').length);
        await pause(10);
      }
    })();
    try {
      await runUntil(worker, async () => (await queueRows(database.db, campaign.id)).every((r) => r.status === 'sent'), 20_000);
    } finally {
      sampling = false;
      await sampler;
      await transport.close();
    }
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(connections);
    expect(peer.received).toHaveLength(8);
  });
});
