import { enqueueCampaign } from '../../src/queue/enqueue';
import { SendWorker, type WorkerMessage } from '../../src/sending/send-worker';
import { transportForAccount } from '../../src/sending/account-transport';
import { createTrackingSigner } from '../../src/tracking/tracking-token';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addContacts, createAccount, createCampaign, createClient, queueRows } from '../queue/fixtures';
import { ControlledClock, silentLogger, testCipher, workerSettings } from './worker-harness';

const database = useTestDatabase();
const START = new Date('2026-03-02T12:00:00Z');
const CREDENTIALS = { user: 'sender-login', pass: 'right-password' };

let peer: SmtpPeer;
beforeAll(async () => {
  peer = await startSmtpPeer({ auth: CREDENTIALS });
});
afterAll(async () => {
  await peer.close();
});

async function until(check: () => boolean | Promise<boolean>, guardMs = 10_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An account in a running campaign with nothing queued yet, and its worker (not started). */
async function idleWorker(idlePollMs: number) {
  const client = await createClient(database.db);
  const account = await createAccount(database.db, client.id, {
    transport_settings: JSON.stringify({ host: peer.host, port: peer.port }),
    credentials_encrypted: testCipher.encrypt(JSON.stringify(CREDENTIALS)),
  });
  const campaign = await createCampaign(database.db, client.id, { senders: [account.id] });
  const row = await database.db.selectFrom('sender_accounts').selectAll().where('id', '=', account.id).executeTakeFirstOrThrow();
  const clock = new ControlledClock(START.getTime());
  const messages: WorkerMessage[] = [];
  const worker = new SendWorker(account.id, {
    db: database.db,
    transport: transportForAccount(row, testCipher),
    clock,
    logger: silentLogger,
    signer: createTrackingSigner('test-secret-test-secret-test-secret', 'https://track.example.test'),
    settings: { ...workerSettings(), idlePollMs },
    random: () => 0.5,
    notify: (m) => messages.push(m),
  });
  return { client, account, campaign, clock, messages, worker };
}

const waitingCount = (messages: WorkerMessage[]) => messages.filter((m) => m.type === 'status' && m.state === 'waiting').length;

describe('a waiting send worker', () => {
  it('stays off the database while it waits, beating to its parent, and sends as soon as it is nudged', async () => {
    // The clock never reaches the end of this wait: only a nudge can end it.
    const w = await idleWorker(5 * 60_000);
    const running = w.worker.run();
    try {
      await until(() => waitingCount(w.messages) === 1);
      const beatRow = await database.db.selectFrom('worker_heartbeats').selectAll().where('account_id', '=', w.account.id).executeTakeFirstOrThrow();
      const ipcBeatsBefore = w.messages.filter((m) => m.type === 'heartbeat').length;
      await until(() => w.messages.filter((m) => m.type === 'heartbeat').length > ipcBeatsBefore + 3);
      const beatRowLater = await database.db.selectFrom('worker_heartbeats').selectAll().where('account_id', '=', w.account.id).executeTakeFirstOrThrow();
      expect(beatRowLater.beat_at).toEqual(beatRow.beat_at);
      expect(waitingCount(w.messages)).toBe(1);

      await addContacts(database.db, w.client.id, w.campaign.id, 1);
      await enqueueCampaign(database.db, w.campaign.id, START, { messageIdDomain: 'waiting.test' });
      await new Promise((r) => setTimeout(r, 200));
      expect((await queueRows(database.db, w.campaign.id)).map((r) => r.status)).toEqual(['queued']);

      w.worker.nudge();
      await until(async () => (await queueRows(database.db, w.campaign.id)).every((r) => r.status === 'sent'));
      expect(peer.received).toHaveLength(1);
      // Every status says when, by the worker's (controlled) clock: the parent orders what it
      // relays by it, never by when a message happened to arrive.
      const statuses = w.messages.filter((m) => m.type === 'status');
      expect(statuses.map((m) => m.state)).toEqual(expect.arrayContaining(['waiting', 'sending']));
      for (const m of statuses) {
        expect(typeof m.at).toBe('string');
        expect(Date.parse(String(m.at))).toBeGreaterThanOrEqual(START.getTime());
        expect(Date.parse(String(m.at))).toBeLessThanOrEqual(w.clock.now().getTime());
      }
    } finally {
      w.worker.stop();
      await running;
    }
  });
});
