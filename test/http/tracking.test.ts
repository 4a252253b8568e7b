import type { Express } from 'express';
import request from 'supertest';
import type { Config } from '../../src/config';
import { createDb } from '../../src/db/connection';
import { findFreePort } from '../../src/db/embedded-postgres';
import { createApp, createTrackingEventWriterFor } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { TRANSPARENT_GIF } from '../../src/tracking/pixel';
import type { TrackingEventWriter } from '../../src/tracking/tracking-event.writer';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import { useTestDatabase } from '../helpers/database';
import { seedSentMessage } from '../tracking/fixtures';
import { testConfig } from './admin-api.helpers';

const logger = createLogger('error');
const BROWSER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

/** Binary bodies (the GIF) as a Buffer. */
function binary(res: request.Response, callback: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
}

describe('public tracking endpoints', () => {
  const t = useTestDatabase();
  const config: Config = testConfig();
  const signer = trackingSignerFor(config);
  let app: Express;
  let events: TrackingEventWriter;

  beforeAll(() => {
    events = createTrackingEventWriterFor({ config, db: t.db, logger });
    app = createApp({ config, db: t.db, logger, trackingEvents: events });
  });
  afterAll(async () => {
    await events.stop();
  });

  const pixelPath = (queueId: number) => new URL(signer.openUrl(queueId)).pathname;
  const clickPath = (queueId: number, linkId: number) => new URL(signer.clickUrl(queueId, linkId)).pathname;
  const unsubscribePath = (queueId: number) => new URL(signer.unsubscribeUrl(queueId)).pathname;

  describe('open pixel', () => {
    it('answers the 43-byte transparent GIF with no-cache headers and stores the open in a batch', async () => {
      const message = await seedSentMessage(t.db);
      const res = await request(app).get(pixelPath(message.sentQueueId)).set('User-Agent', BROWSER_UA).buffer(true).parse(binary);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('image/gif');
      expect(res.body).toEqual(TRANSPARENT_GIF);
      expect(TRANSPARENT_GIF.length).toBe(43);
      expect(res.headers['cache-control']).toMatch(/no-store/);
      expect(res.headers['cache-control']).toMatch(/no-cache/);
      expect(res.headers.pragma).toBe('no-cache');

      await events.flush();
      const opens = await t.db.selectFrom('open_events').selectAll().where('queue_id', '=', message.sentQueueId).execute();
      expect(opens).toHaveLength(1);
      expect(opens[0]).toMatchObject({ client_id: message.clientId, campaign_id: message.campaignId, user_agent: BROWSER_UA, automated_reason: null });
    });

    it('still answers the GIF for a forged, altered or malformed token and records nothing', async () => {
      const message = await seedSentMessage(t.db);
      const good = pixelPath(message.sentQueueId);
      const token = good.slice('/t/o/'.length, -'.gif'.length);
      const otherId = token.replace(/^o\d+/, `o${message.followUpQueueId}`);
      const paths = [
        `/t/o/${otherId}.gif`,
        `/t/o/${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}.gif`,
        `/t/o/${token}`,
        '/t/o/garbage.gif',
        `/t/o/${new URL(signer.unsubscribeUrl(message.sentQueueId)).pathname.slice(3)}.gif`,
      ];
      for (const path of paths) {
        const res = await request(app).get(path).set('User-Agent', BROWSER_UA).buffer(true).parse(binary);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(TRANSPARENT_GIF);
      }
      await events.flush();
      const count = await t.db.selectFrom('open_events').select((eb) => eb.fn.countAll<number>().as('n')).where('campaign_id', '=', message.campaignId).executeTakeFirstOrThrow();
      expect(count.n).toBe(0);
    });

    it('still answers the GIF when the database is unreachable', async () => {
      const closedPort = await findFreePort();
      const deadDb = createDb(`postgres://nobody@127.0.0.1:${closedPort}/none`, { poolMax: 1, idleTimeoutMs: 100 });
      const deadEvents = createTrackingEventWriterFor({ config, db: deadDb, logger });
      try {
        const deadApp = createApp({ config, db: deadDb, logger, trackingEvents: deadEvents });
        const res = await request(deadApp).get(pixelPath(42)).set('User-Agent', BROWSER_UA).buffer(true).parse(binary);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(TRANSPARENT_GIF);
        await deadEvents.flush();
        // The failed write keeps the event for a later flush instead of losing it.
        expect(deadEvents.stats().buffered).toBe(1);
      } finally {
        await deadEvents.stop();
        await deadDb.destroy();
      }
    });
  });

  describe('click redirect', () => {
    it('redirects to the target stored for the link and records the click', async () => {
      const message = await seedSentMessage(t.db, { linkUrl: 'https://example.org/pricing?plan=pro' });
      const res = await request(app).get(clickPath(message.sentQueueId, message.linkId)).set('User-Agent', BROWSER_UA);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('https://example.org/pricing?plan=pro');
      await events.flush();
      const clicks = await t.db.selectFrom('click_events').selectAll().where('queue_id', '=', message.sentQueueId).execute();
      expect(clicks).toHaveLength(1);
      expect(clicks[0]).toMatchObject({ link_id: message.linkId, campaign_id: message.campaignId, automated_reason: null });
    });

    it('answers a tampered or forged token with a 4xx JSON error and never a redirect', async () => {
      const message = await seedSentMessage(t.db);
      const good = clickPath(message.sentQueueId, message.linkId).slice('/t/c/'.length);
      const [payload, signature] = good.split('.') as [string, string];
      const tampered = [
        `${payload.replace(`-${message.linkId}`, `-${message.linkId + 1}`)}.${signature}`,
        `${payload.replace(/^c\d+/, `c${message.followUpQueueId}`)}.${signature}`,
        `${payload}.${signature.slice(0, -1)}${signature.endsWith('x') ? 'y' : 'x'}`,
        `${payload}.`,
        payload,
        'c1-1.AAAAAAAAAAAAAAAAAAAAAA',
        new URL(signer.openUrl(message.sentQueueId)).pathname.slice(5, -4),
        '%00%0d%0aLocation:%20evil.example',
      ];
      for (const token of tampered) {
        const res = await request(app).get(`/t/c/${token}`).set('User-Agent', BROWSER_UA);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.headers.location).toBeUndefined();
        // A NUL is refused before any route reads the path.
        expect(res.body.error.code).toBe(token.includes('%00') ? 'invalid_path' : 'invalid_token');
      }
    });

    it('refuses a correctly signed token whose link belongs to another message step', async () => {
      const message = await seedSentMessage(t.db);
      const other = await seedSentMessage(t.db);
      const res = await request(app).get(clickPath(message.sentQueueId, other.linkId)).set('User-Agent', BROWSER_UA);
      expect(res.status).toBe(404);
      expect(res.headers.location).toBeUndefined();
      expect(res.body.error.code).toBe('link_not_found');
    });
  });

  describe('unsubscribe', () => {
    it('shows a page naming the address with a confirm button, and GET alone unsubscribes nobody', async () => {
      const message = await seedSentMessage(t.db);
      const res = await request(app).get(unsubscribePath(message.sentQueueId));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain(message.email);
      expect(res.text).toMatch(/<form method="post"/);
      expect(res.text).toMatch(/<button type="submit">Unsubscribe<\/button>/);
      expect(await t.db.selectFrom('suppressions').selectAll().where('client_id', '=', message.clientId).execute()).toEqual([]);
      const followUp = await t.db.selectFrom('email_queue').select('status').where('id', '=', message.followUpQueueId).executeTakeFirstOrThrow();
      expect(followUp.status).toBe('queued');
    });

    it('answers a forged unsubscribe link with 400 on GET and POST and changes nothing', async () => {
      const message = await seedSentMessage(t.db);
      const forged = unsubscribePath(message.sentQueueId).replace(/u(\d+)\./, `u${message.followUpQueueId}.`);
      expect((await request(app).get(forged)).status).toBe(400);
      const post = await request(app).post(forged).type('form').send('List-Unsubscribe=One-Click');
      expect(post.status).toBe(400);
      expect(post.body.error.code).toBe('invalid_token');
      expect(await t.db.selectFrom('suppressions').selectAll().where('client_id', '=', message.clientId).execute()).toEqual([]);
    });

    it('takes an RFC 8058 one-click POST with 200, no redirect and no cookie, and stops the follow-up before the next claim', async () => {
      const message = await seedSentMessage(t.db);
      // The same address at another client must stay mailable by that client.
      const otherClient = await seedSentMessage(t.db, { email: message.email });
      const res = await request(app).post(unsubscribePath(message.sentQueueId)).type('form').send('List-Unsubscribe=One-Click');
      expect(res.status).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['set-cookie']).toBeUndefined();

      const suppression = await t.db.selectFrom('suppressions').selectAll().where('client_id', '=', message.clientId).executeTakeFirstOrThrow();
      expect(suppression).toMatchObject({ email: message.email, reason: 'unsubscribed' });
      expect(suppression.source).toMatch(/^one_click:campaign:/);
      const rows = await t.db.selectFrom('email_queue').select(['id', 'status']).where('contact_id', '=', message.contactId).orderBy('id').execute();
      expect(rows).toEqual([
        { id: message.sentQueueId, status: 'sent' },
        { id: message.followUpQueueId, status: 'cancelled' },
      ]);
      const membership = await t.db.selectFrom('campaign_contacts').select('status').where('contact_id', '=', message.contactId).executeTakeFirstOrThrow();
      expect(membership.status).toBe('unsubscribed');

      const untouched = await t.db.selectFrom('email_queue').select('status').where('id', '=', otherClient.followUpQueueId).executeTakeFirstOrThrow();
      expect(untouched.status).toBe('queued');
      expect(await t.db.selectFrom('suppressions').selectAll().where('client_id', '=', otherClient.clientId).execute()).toEqual([]);
    });

    it('unsubscribes from the confirm button of the page, and a second POST is harmless', async () => {
      const message = await seedSentMessage(t.db);
      const first = await request(app).post(unsubscribePath(message.sentQueueId)).type('form').send('confirm=yes');
      expect(first.status).toBe(200);
      expect(first.text).toContain('You are unsubscribed');
      const second = await request(app).post(unsubscribePath(message.sentQueueId)).type('form').send('confirm=yes');
      expect(second.status).toBe(200);
      const rows = await t.db.selectFrom('suppressions').selectAll().where('client_id', '=', message.clientId).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.source).toMatch(/^unsubscribe_page:/);
      const page = await request(app).get(unsubscribePath(message.sentQueueId));
      expect(page.text).toContain('You are unsubscribed');
      expect(page.text).not.toMatch(/<form/);
    });
  });

  describe('machine opens and clicks', () => {
    it('flags privacy-proxy opens, HEAD requests and scanner or too-fast clicks, and leaves human ones unflagged', async () => {
      const message = await seedSentMessage(t.db, { sentAt: new Date(Date.now() - 2_000) });
      const older = await seedSentMessage(t.db, { sentAt: new Date(Date.now() - 3_600_000) });
      await request(app).get(pixelPath(message.sentQueueId)).set('User-Agent', 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)');
      await request(app).get(pixelPath(message.sentQueueId)).set('User-Agent', 'Mozilla/5.0').set('X-Forwarded-For', '17.58.100.4');
      await request(app).head(pixelPath(message.sentQueueId)).set('User-Agent', BROWSER_UA);
      await request(app).get(pixelPath(message.sentQueueId)).set('User-Agent', BROWSER_UA).set('X-Forwarded-For', '203.0.113.9');
      await request(app).get(clickPath(message.sentQueueId, message.linkId)).set('User-Agent', BROWSER_UA);
      await request(app).get(clickPath(older.sentQueueId, older.linkId)).set('User-Agent', 'Mozilla/5.0 Barracuda Sentinel');
      await request(app).get(clickPath(older.sentQueueId, older.linkId)).set('User-Agent', BROWSER_UA);
      await events.flush();

      const opens = await t.db.selectFrom('open_events').select(['automated_reason', 'ip']).where('queue_id', '=', message.sentQueueId).execute();
      expect(opens.map((o) => [o.automated_reason, o.ip]).sort()).toEqual(
        [
          ['head_request', expect.any(String)],
          ['privacy_proxy_ip', '17.58.100.4'],
          ['privacy_proxy_ua', expect.any(String)],
          [null, '203.0.113.9'],
        ].sort(),
      );
      const fast = await t.db.selectFrom('click_events').select('automated_reason').where('queue_id', '=', message.sentQueueId).execute();
      expect(fast.map((c) => c.automated_reason)).toEqual(['fast_click']);
      const later = await t.db.selectFrom('click_events').select('automated_reason').where('queue_id', '=', older.sentQueueId).execute();
      expect(later.map((c) => c.automated_reason ?? 'human').sort()).toEqual(['human', 'scanner_ua']);
    });
  });

  describe('guards', () => {
    it('carries security headers on every public endpoint', async () => {
      const message = await seedSentMessage(t.db);
      for (const path of [pixelPath(message.sentQueueId), clickPath(message.sentQueueId, message.linkId), unsubscribePath(message.sentQueueId), '/t/c/forged']) {
        const res = await request(app).get(path).set('User-Agent', BROWSER_UA);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['x-powered-by']).toBeUndefined();
      }
    });

    it('answers 429 JSON past the per-IP limit, while the pixel keeps answering its GIF', async () => {
      const limited: Config = { ...config, tracking: { ...config.tracking, publicRateLimitPerMinute: 3 } };
      const limitedEvents = createTrackingEventWriterFor({ config: limited, db: t.db, logger });
      const limitedApp = createApp({ config: limited, db: t.db, logger, trackingEvents: limitedEvents });
      try {
        const message = await seedSentMessage(t.db);
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push((await request(limitedApp).get(clickPath(message.sentQueueId, message.linkId)).set('User-Agent', BROWSER_UA)).status);
        expect(statuses).toEqual([302, 302, 302, 429]);
        const refused = await request(limitedApp).get(unsubscribePath(message.sentQueueId));
        expect(refused.status).toBe(429);
        expect(refused.headers['content-type']).toMatch(/application\/json/);
        expect(refused.body.error.code).toBe('rate_limited');

        for (let i = 0; i < 5; i++) {
          const pixel = await request(limitedApp).get(pixelPath(message.sentQueueId)).set('User-Agent', BROWSER_UA).buffer(true).parse(binary);
          expect(pixel.status).toBe(200);
          expect(pixel.body).toEqual(TRANSPARENT_GIF);
        }
        await limitedEvents.flush();
        const opens = await t.db.selectFrom('open_events').select('id').where('queue_id', '=', message.sentQueueId).execute();
        expect(opens).toHaveLength(3);
      } finally {
        await limitedEvents.stop();
      }
    });
  });
});
