/**
 * The buffered open/click writer through a database outage (a cluster of the test's own):
 * pixels keep answering, their opens wait in the bounded buffer and are written once the
 * database is back.
 */
import request from 'supertest';
import { createDb, type Db } from '../../src/db/connection';
import { migrateToLatest } from '../../src/db/migrate';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { TRANSPARENT_GIF } from '../../src/tracking/pixel';
import { createTrackingEventWriter, type TrackingEventWriter } from '../../src/tracking/tracking-event.writer';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import { testConfig } from '../http/admin-api.helpers';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { seedSentMessage, type SentMessage } from './fixtures';

jest.setTimeout(120_000);

const logger = createLogger('silent');
const config = testConfig();
const signer = trackingSignerFor(config);
let cluster: PrivatePostgres;
let db: Db;
let message: SentMessage;

beforeAll(async () => {
  cluster = await startPrivatePostgres();
  db = createDb(cluster.url, { poolMax: 3, idleTimeoutMs: 60_000 });
  await migrateToLatest(db);
  message = await seedSentMessage(db);
});
afterAll(async () => {
  await db?.destroy();
  await cluster?.destroy();
});

/** A writer flushed only when the test says so (the timer is far away). */
function writer(maxBuffered: number, batchSize = 100): TrackingEventWriter {
  return createTrackingEventWriter({ db, logger, flushMs: 3_600_000, batchSize, maxBuffered, scannerClickWindowSeconds: 10 });
}

async function openAgents(): Promise<string[]> {
  const rows = await db.selectFrom('open_events').select('user_agent').where('queue_id', '=', message.sentQueueId).orderBy('user_agent').execute();
  return rows.map((r) => r.user_agent ?? '');
}

const browser = (n: number) => `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 reader-${n}`;

describe('tracking events during a database outage', () => {
  afterEach(async () => {
    await db.deleteFrom('open_events').execute();
  });

  it('serves pixels while the database is down, keeps their opens, and writes every one once it is back', async () => {
    const events = writer(100);
    const app = createApp({ config, db, logger, trackingEvents: events });
    const pixel = new URL(signer.openUrl(message.sentQueueId)).pathname;
    await cluster.stop();
    try {
      for (let n = 1; n <= 4; n++) {
        const res = await request(app).get(pixel).set('User-Agent', browser(n)).buffer(true);
        expect(res.status).toBe(200);
        expect(Buffer.from(res.body as Buffer)).toEqual(TRANSPARENT_GIF);
      }
      await events.flush();
      await events.flush();
      expect(events.stats()).toEqual({ buffered: 4, written: 0, dropped: 0 });
    } finally {
      await cluster.start();
    }
    await events.flush();
    expect(events.stats()).toEqual({ buffered: 0, written: 4, dropped: 0 });
    expect(await openAgents()).toEqual([1, 2, 3, 4].map(browser));
    await events.stop();
  });

  it('holds at most maxBuffered events through an outage, giving up the oldest first', async () => {
    const events = writer(3);
    await cluster.stop();
    try {
      for (let n = 1; n <= 5; n++) events.recordOpen({ queueId: message.sentQueueId, ip: '203.0.113.9', userAgent: browser(n), automatedReason: null, occurredAt: new Date() });
      await events.flush();
      expect(events.stats()).toEqual({ buffered: 3, written: 0, dropped: 2 });
    } finally {
      await cluster.start();
    }
    await events.stop();
    expect(await openAgents()).toEqual([3, 4, 5].map(browser));
  });

  it('drops only a batch the database rejects for its data, and writes the batches behind it', async () => {
    const events = writer(100, 2);
    const open = (n: number, ip: string) => ({ queueId: message.sentQueueId, ip, userAgent: browser(n), automatedReason: null, occurredAt: new Date() });
    for (const event of [open(1, 'not-an-address'), open(2, '203.0.113.9'), open(3, '203.0.113.9'), open(4, '203.0.113.9')]) events.recordOpen(event);
    await events.stop();
    expect(events.stats()).toEqual({ buffered: 0, written: 2, dropped: 2 });
    expect(await openAgents()).toEqual([3, 4].map(browser));
  });
});
