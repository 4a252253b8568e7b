/**
 * pixel_rps: open-pixel requests per second through the real app (helmet, rate limiter,
 * token check, automation check, batched event writes) over loopback with many concurrent
 * keep-alive connections, counting only opens that end up stored; pixel_rps_ratio: that
 * figure over the rps of a bare node:http server answering the same GIF, measured in the
 * same run with the same load generator.
 *
 * The load generator runs in a worker thread so it does not share the server's event loop.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { loadConfig, type Config } from '../../src/config';
import { createApp, createTrackingEventWriterFor } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { sendPixel } from '../../src/tracking/pixel';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import { withBenchDatabase } from './bench-database';
import type { BenchContext } from './registry';

export const name = 'pixel';

const CONNECTIONS = 64;
const WARMUP_MS = 1_000;
const MEASURE_MS = 5_000;
const MESSAGES = 2_000;

/** Plain JS for the worker: `connections` loops of sequential keep-alive GETs until the deadline. */
const LOAD_GENERATOR = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { port, paths, connections, warmupMs, measureMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const start = Date.now();
const measureFrom = start + warmupMs;
const deadline = measureFrom + measureMs;
let ok = 0, failed = 0, next = 0;
function one() {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: paths[next++ % paths.length], agent, headers: { 'User-Agent': 'Mozilla/5.0 (bench) Chrome/126.0' } }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve(res.statusCode === 200 && bytes === 43));
    });
    req.on('error', () => resolve(false));
  });
}
async function loop() {
  while (Date.now() < deadline) {
    const good = await one();
    if (Date.now() >= measureFrom && Date.now() < deadline) good ? ok++ : failed++;
  }
}
Promise.all(Array.from({ length: connections }, loop)).then(() => {
  agent.destroy();
  parentPort.postMessage({ ok, failed, seconds: measureMs / 1000 });
});
`;

async function measure(port: number, paths: string[]): Promise<{ rps: number; ok: number; failed: number }> {
  const worker = new Worker(LOAD_GENERATOR, { eval: true, workerData: { port, paths, connections: CONNECTIONS, warmupMs: WARMUP_MS, measureMs: MEASURE_MS } });
  const result = await new Promise<{ ok: number; failed: number; seconds: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  return { rps: Math.round(result.ok / result.seconds), ok: result.ok, failed: result.failed };
}

async function listen(server: http.Server): Promise<number> {
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const base = loadConfig();
  // The per-IP limit is on (it is part of the path being measured) but set above the load.
  const config: Config = { ...base, tracking: { ...base.tracking, publicRateLimitPerMinute: 100_000_000 } };
  const logger = createLogger('error');
  const signer = trackingSignerFor(config);

  return withBenchDatabase(async ({ db }) => {
    const client = await db.insertInto('clients').values({ name: 'bench' }).returning('id').executeTakeFirstOrThrow();
    const campaign = await db.insertInto('campaigns').values({ client_id: client.id, name: 'bench' }).returning('id').executeTakeFirstOrThrow();
    const step = await db.insertInto('sequence_steps').values({ campaign_id: campaign.id, step_number: 1, subject: 's' }).returning('id').executeTakeFirstOrThrow();
    const contacts = await db
      .insertInto('contacts')
      .values(Array.from({ length: MESSAGES }, (_, i) => ({ client_id: client.id, email: `r${i}@example.com`, email_domain: 'example.com' })))
      .returning(['id', 'email'])
      .execute();
    const rows = await db
      .insertInto('email_queue')
      .values(
        contacts.map((c, i) => ({
          client_id: client.id,
          campaign_id: campaign.id,
          contact_id: c.id,
          step_id: step.id,
          step_number: 1,
          to_email: c.email,
          recipient_domain: 'example.com',
          status: 'sent' as const,
          sent_at: new Date(),
          message_id: `<bench-${i}@example.com>`,
        })),
      )
      .returning('id')
      .execute();
    const paths = rows.map((r) => new URL(signer.openUrl(r.id)).pathname);

    // Bare server before and after the app, averaged, so load from anything else on the
    // machine during the run weighs on both sides alike.
    const measureBare = async () => {
      const bareServer = http.createServer((req, res) => sendPixel(res, req.method));
      const result = await measure(await listen(bareServer), paths);
      await close(bareServer);
      return result.rps;
    };
    const bareBefore = await measureBare();

    const events = createTrackingEventWriterFor({ config, db, logger });
    const appServer = http.createServer(createApp({ config, db, logger, trackingEvents: events }));
    const appPort = await listen(appServer);
    const app = await measure(appPort, paths);
    await close(appServer);
    await events.stop();
    const stored = Number(
      (await db.selectFrom('open_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
    );
    const { dropped } = events.stats();
    context.log(`app: ${app.rps} req/s (${app.ok} ok, ${app.failed} failed in the window); ${stored} opens stored in all (warm-up included), ${dropped} dropped`);

    const bareAfter = await measureBare();
    const bare = { rps: Math.round((bareBefore + bareAfter) / 2) };
    context.log(`bare node:http: ${bareBefore} req/s before, ${bareAfter} after`);

    // Only opens that were stored count: if the writer dropped any, the figure says so.
    const storedShare = dropped === 0 ? 1 : stored / (stored + dropped);
    const pixelRps = Math.round(app.rps * storedShare);
    return { pixel_rps: pixelRps, pixel_rps_ratio: Math.round((pixelRps / bare.rps) * 1000) / 1000 };
  });
}
