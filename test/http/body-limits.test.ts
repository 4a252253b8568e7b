/**
 * Every body limit counts the bytes actually received: a body sent with Transfer-Encoding:
 * chunked (no Content-Length to check up front) is stopped at the same limit, with a 413,
 * before anything is parsed or stored.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Config } from '../../src/config';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from './admin-api.helpers';

interface Answer {
  status: number;
  body: { error?: { code?: string; details?: { limitBytes?: number } } };
}

/** One request with Transfer-Encoding: chunked, `body` written in 1 KiB chunks. */
function sendChunked(port: number, method: string, path: string, headers: Record<string, string>, body: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'Transfer-Encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
    });
    req.on('error', reject);
    const bytes = Buffer.from(body);
    for (let offset = 0; offset < bytes.length; offset += 1024) req.write(bytes.subarray(offset, offset + 1024));
    req.end();
  });
}

describe('body limits on the bytes received', () => {
  const t = useTestDatabase();
  // Small limits, so a test body over them stays small.
  const config: Config = testConfig({}, { server: { requestBodyLimitKb: 8 }, imports: { maxCsvBytes: 4096 } });
  let server: http.Server;
  let port: number;
  let world: World;
  let sponsorKey: string;
  let offerId: string;

  beforeAll(async () => {
    const app = testApp(t.db, config);
    world = await createWorld(t.db, app, 'limits');
    const sponsor = await request(app).post('/api/sponsors').set(bearer(world.a.adminToken)).send({ name: 'Acme' });
    sponsorKey = (await request(app).post(`/api/sponsors/${sponsor.body.id}/keys`).set(bearer(world.a.adminToken))).body.key;
    offerId = (await request(app).post(`/api/sponsors/${sponsor.body.id}/offers`).set(bearer(world.a.adminToken)).send({ name: 'Trial' })).body.id;
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** A lead of about `kib` KiB: 50 data fields of 1000 characters are allowed, 27 of them make 27 KiB. */
  const leadOf = (kib: number) =>
    JSON.stringify({ offerId, email: 'big@example.com', data: Object.fromEntries(Array.from({ length: kib }, (_, i) => [`f${i}`, 'x'.repeat(1000)])) });
  const leadHeaders = (key: string) => ({ 'Content-Type': 'application/json', 'X-Api-Key': sponsorKey, 'Idempotency-Key': key });

  it('refuses a 27 KiB sponsor lead sent chunked with 413 at the lead limit (16 KiB), and stores nothing', async () => {
    expect(config.sponsors.leadBodyLimitKb).toBe(16);
    const answer = await sendChunked(port, 'POST', '/api/sponsors/leads', leadHeaders('chunked-27k'), leadOf(27));
    expect(answer).toEqual({ status: 413, body: { error: { code: 'payload_too_large', message: expect.any(String), details: { limitBytes: 16 * 1024 } } } });
    expect(await t.db.selectFrom('leads').select('id').execute()).toEqual([]);
  });

  it('stores a lead under the limit sent chunked', async () => {
    const answer = await sendChunked(port, 'POST', '/api/sponsors/leads', leadHeaders('chunked-2k'), leadOf(2));
    expect(answer.status).toBe(201);
  });

  it('refuses an admin JSON body over server.requestBodyLimitKb sent chunked with 413, creating nothing', async () => {
    const body = JSON.stringify({ name: 'Too big', steps: [{ subject: 'Hi', bodyText: 'x'.repeat(9 * 1024) }] });
    const answer = await sendChunked(port, 'POST', '/api/campaigns', { 'Content-Type': 'application/json', ...bearer(world.a.adminToken) }, body);
    expect(answer).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large', details: { limitBytes: 8 * 1024 } } } });
    expect(await t.db.selectFrom('campaigns').select('id').where('name', '=', 'Too big').execute()).toEqual([]);
  });

  const csvOver = (bytes: number) => `email,first_name\n${Array.from({ length: Math.ceil(bytes / 30) }, (_, i) => `reader${i}@example.com,Ada\n`).join('')}`;

  it('refuses a text/csv upload over imports.maxCsvBytes sent chunked with 413, importing nothing', async () => {
    const answer = await sendChunked(port, 'POST', '/api/contacts/import', { 'Content-Type': 'text/csv', ...bearer(world.a.adminToken) }, csvOver(16 * 1024));
    expect(answer).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(await t.db.selectFrom('contacts').select('id').execute()).toEqual([]);
  });

  it('refuses a multipart CSV upload over imports.maxCsvBytes sent chunked with 413, importing nothing', async () => {
    const boundary = 'limit-boundary';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\nContent-Type: text/csv\r\n\r\n${csvOver(16 * 1024)}\r\n--${boundary}--\r\n`;
    const answer = await sendChunked(port, 'POST', '/api/contacts/import', { 'Content-Type': `multipart/form-data; boundary=${boundary}`, ...bearer(world.a.adminToken) }, body);
    expect(answer).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(await t.db.selectFrom('contacts').select('id').execute()).toEqual([]);
  });
});
