/**
 * server.trustProxy: whose X-Forwarded-For gives the client's address, on both paths that
 * read it: the open pixel (answered ahead of Express) and Express's req.ip (the click route).
 * The server listens on all addresses; requests come over loopback (nginx on the same
 * machine) or over this machine's own network address, which the server sees as a proxy on
 * another host (nginx on node A in front of node B).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { createApp, createTrackingEventWriterFor } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import { useTestDatabase } from '../helpers/database';
import { seedSentMessage } from '../tracking/fixtures';
import { testConfig } from './admin-api.helpers';

const t = useTestDatabase();
const logger = createLogger('error');
const BROWSER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const CLIENT = '203.0.113.9';
/** This machine's own (non-loopback) IPv4 address: a peer there is not loopback. */
const HOST_ADDRESS = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

async function serve(trustProxy: unknown): Promise<{ get(host: string, path: string): Promise<number>; close(): Promise<void>; flush(): Promise<void>; config: ReturnType<typeof testConfig> }> {
  const config = testConfig({}, { server: { trustProxy } });
  const events = createTrackingEventWriterFor({ config, db: t.db, logger });
  const server = http.createServer(createApp({ config, db: t.db, logger, trackingEvents: events }));
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    config,
    get: async (host, path) => (await fetch(`http://${host}:${port}${path}`, { headers: { 'user-agent': BROWSER_UA, 'x-forwarded-for': CLIENT }, redirect: 'manual' })).status,
    flush: () => events.flush(),
    close: async () => {
      await events.stop();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function recordedIps(queueId: number): Promise<{ open: string | null; click: string | null }> {
  const open = await t.db.selectFrom('open_events').select('ip').where('queue_id', '=', queueId).executeTakeFirst();
  const click = await t.db.selectFrom('click_events').select('ip').where('queue_id', '=', queueId).executeTakeFirst();
  return { open: open?.ip ?? null, click: click?.ip ?? null };
}

/** An open and a click of a fresh message, from `host`, with X-Forwarded-For: the client. */
async function openAndClick(server: Awaited<ReturnType<typeof serve>>, host: string) {
  const message = await seedSentMessage(t.db);
  const signer = trackingSignerFor(server.config);
  expect(await server.get(host, new URL(signer.openUrl(message.sentQueueId)).pathname)).toBe(200);
  expect(await server.get(host, new URL(signer.clickUrl(message.sentQueueId, message.linkId)).pathname)).toBe(302);
  await server.flush();
  return recordedIps(message.sentQueueId);
}

describe('which proxies the server believes (server.trustProxy)', () => {
  it('has a non-loopback address of its own to test from', () => {
    expect(HOST_ADDRESS).toBeDefined();
  });

  it('by default believes a proxy on loopback only: a proxy on another host is taken for the client', async () => {
    const server = await serve(['loopback']);
    try {
      expect(await openAndClick(server, '127.0.0.1')).toEqual({ open: CLIENT, click: CLIENT });
      expect(await openAndClick(server, HOST_ADDRESS!)).toEqual({ open: HOST_ADDRESS, click: HOST_ADDRESS });
    } finally {
      await server.close();
    }
  });

  it('believes a proxy on another host once it is listed (an address or a CIDR range), or by hop count', async () => {
    for (const trust of [['loopback', HOST_ADDRESS!], [`${HOST_ADDRESS!.split('.').slice(0, 3).join('.')}.0/24`], 1]) {
      const server = await serve(trust);
      try {
        expect({ trust, ips: await openAndClick(server, HOST_ADDRESS!) }).toEqual({ trust, ips: { open: CLIENT, click: CLIENT } });
      } finally {
        await server.close();
      }
    }
  });

  it.each([[true], ['loopback'], [[]], [['10.0.0.0/33']], [['not-an-address']], [-1]])('refuses server.trustProxy %j at start, naming the key', (trustProxy) => {
    expect(() => testConfig({}, { server: { trustProxy } })).toThrow(/server\.trustProxy/);
  });
});
