import crypto from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import type { Config } from '../../src/config';
import { landingSignerFor, trackingSignerFor } from '../../src/tracking/tracking-signer';
import { useTestDatabase } from '../helpers/database';
import { seedSentMessage, type SentMessage } from '../tracking/fixtures';
import { bearer, createWorld, testApp, testConfig, type World } from './admin-api.helpers';

/** CSP directives by name: "default-src 'self'; …" → {'default-src': ["'self'"], …}. */
function directives(csp: string | undefined): Record<string, string[]> {
  return Object.fromEntries(
    (csp ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('security headers', () => {
  const t = useTestDatabase();
  const config: Config = testConfig({}, { server: { requestBodyLimitKb: 1 } });
  let app: Express;
  let world: World;
  let message: SentMessage;
  let landingPath: string;

  beforeAll(async () => {
    app = testApp(t.db, config);
    world = await createWorld(t.db, app, 'headers');
    message = await seedSentMessage(t.db, { clientId: world.a.clientId });
    const sponsor = await t.db.insertInto('sponsors').values({ client_id: world.a.clientId, name: 'Acme' }).returning('id').executeTakeFirstOrThrow();
    const offer = await t.db.insertInto('offers').values({ client_id: world.a.clientId, sponsor_id: sponsor.id, name: 'Trial' }).returning('id').executeTakeFirstOrThrow();
    landingPath = new URL(landingSignerFor(config).landingUrl(message.sentQueueId, offer.id)).pathname;
  });

  const signer = () => trackingSignerFor(config);
  const routeClasses: Array<[string, () => request.Test, number]> = [
    ['an API answer', () => request(app).get('/api/clients').set(bearer(world.ownerToken)), 200],
    ['the OpenAPI document', () => request(app).get('/api/openapi.json'), 200],
    ['the health check', () => request(app).get('/healthz'), 200],
    ['a 404 outside the API', () => request(app).get('/nowhere'), 404],
    ['a 404 inside the API', () => request(app).get('/api/nowhere').set(bearer(world.ownerToken)), 404],
    ['a 400 (malformed JSON)', () => request(app).post('/api/auth/login').set('Content-Type', 'application/json').send('{"email":'), 400],
    ['a 400 (undecodable path)', () => request(app).get('/api/clients/%ZZ'), 400],
    ['a 401', () => request(app).get('/api/clients'), 401],
    ['a 413', () => request(app).post('/api/auth/login').send({ email: 'x@example.com', password: 'x'.repeat(2048) }), 413],
    ['the open pixel', () => request(app).get(new URL(signer().openUrl(message.sentQueueId)).pathname), 200],
    ['a click redirect', () => request(app).get(new URL(signer().clickUrl(message.sentQueueId, message.linkId)).pathname), 302],
    ['the unsubscribe page', () => request(app).get(new URL(signer().unsubscribeUrl(message.sentQueueId)).pathname), 200],
    ['the landing page', () => request(app).get(landingPath), 200],
  ];

  it.each(routeClasses)('are on %s, with a CSP that allows no inline script and no framing', async (_what, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
    const csp = directives(res.headers['content-security-policy']);
    expect(csp).toMatchObject({
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'script-src-attr': ["'none'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    });
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
  });

  it('let the API and its errors be read by this origin only', async () => {
    for (const res of [await request(app).get('/api/openapi.json'), await request(app).get('/api/clients')]) {
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(directives(res.headers['content-security-policy'])['style-src']).toEqual(["'self'"]);
    }
  });

  it('let the recipients’ pages use their own inline style (by its hash, nothing else inline) and webmail load the pixel', async () => {
    for (const path of [new URL(signer().unsubscribeUrl(message.sentQueueId)).pathname, landingPath]) {
      const res = await request(app).get(path);
      const style = /<style>([\s\S]*?)<\/style>/.exec(res.text)![1]!;
      const hash = `'sha256-${crypto.createHash('sha256').update(style).digest('base64')}'`;
      expect(directives(res.headers['content-security-policy'])['style-src']).toEqual(["'self'", hash]);
      expect(res.text).not.toMatch(/<script|style="/);
    }
    const pixel = await request(app).get(new URL(signer().openUrl(message.sentQueueId)).pathname);
    expect(pixel.headers['cross-origin-resource-policy']).toBe('cross-origin');
  });
});
