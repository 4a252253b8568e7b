/**
 * Dev mail in real Chromium: mail captured by the real sink SMTP server shows in the console;
 * its HTML renders in a sandboxed frame with no script run and no remote content fetched; its
 * text, headers and raw source are readable; the preview URL is signed and expires. And adding a
 * sink mailbox through the console's form.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import type { Browser } from 'playwright-core';
import request from 'supertest';
import { startSinkServer, type SinkServer } from '../../src/transports/sink-server';
import { createUser, testApp } from '../http/admin-api.helpers';
import { useTestDatabase } from '../helpers/database';
import { launchBrowser, listen, openConsole, screenshot, seriousA11yViolations, signIn } from '../helpers/browser';

const database = useTestDatabase();
let browser: Browser;
let server: Awaited<ReturnType<typeof listen>>;
let sink: SinkServer;
let tracker: http.Server;
const trackerHits: string[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
  server = await listen(testApp(database.db));
  sink = await startSinkServer(database.db, { port: 0 });
  tracker = http.createServer((req, res) => {
    trackerHits.push(req.url ?? '');
    res.end('x');
  });
  await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
  await createUser(database.db, 'devmail-owner@example.com', 'owner', null);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sink?.close();
  tracker?.close();
});

async function sendToSink(subject: string, html: string, text: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true });
  await transport.sendMail({ from: 'Sender <sender@outreach.test>', to: 'lead@example.com', subject, html, text });
  transport.close();
}

describe('Dev mail', () => {
  test('shows captured mail: rendered without scripts or remote content, text, headers and source', async () => {
    const trackerUrl = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}`;
    await sendToSink(
      'Quick question about your pricing',
      `<p style="color:#b91c1c">Hello <b>Ada</b></p><script>parent.__pwned = 1; window.__pwned = 1;</script><img src="${trackerUrl}/pixel.gif" alt=""><img src="x" onerror="parent.__pwned = 2">`,
      'Hello Ada, plain text part',
    );
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await signIn(page, 'devmail-owner@example.com');
    await page.getByRole('link', { name: 'Dev mail' }).click();
    await page.getByRole('button', { name: 'Quick question about your pricing' }).click();
    await page.getByRole('heading', { name: 'Quick question about your pricing' }).waitFor();

    const frame = page.frameLocator('iframe.mail-preview');
    await frame.getByText('Hello').waitFor();
    expect(await frame.locator('b').textContent()).toBe('Ada');
    expect(await page.getByTitle(/Rendered message/).getAttribute('sandbox')).toBe('');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(trackerHits).toEqual([]); // the remote image was never fetched
    await screenshot(page, 'dev-mail');
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.getByRole('tab', { name: 'Text' }).click();
    await page.getByText('Hello Ada, plain text part').waitFor();
    await page.getByRole('tab', { name: 'Headers' }).click();
    await page.getByRole('cell', { name: 'subject', exact: true }).waitFor();
    await page.getByRole('tab', { name: 'Source' }).click();
    expect(await page.getByLabel('Raw source').textContent()).toContain('Content-Type: multipart/alternative');
    // The frame's own CSP blocks its inline script and remote image: those reports belong to the
    // message, not to the console; the console itself logged nothing.
    expect(errors.filter((e) => !/Content Security Policy|Blocked script execution|sandboxed/i.test(e))).toEqual([]);
    await context.close();
  });

  test('the preview URL is signed and refuses a forged or expired signature', async () => {
    const owner = await request(server.baseUrl).post('/api/auth/login').send({ email: 'devmail-owner@example.com', password: 'correct horse battery' });
    const list = await request(server.baseUrl).get('/api/sink/messages').set('authorization', `Bearer ${owner.body.accessToken}`);
    const id = list.body.messages[0].id as number;
    const detail = await request(server.baseUrl).get(`/api/sink/messages/${id}`).set('authorization', `Bearer ${owner.body.accessToken}`);
    expect(detail.body.hasHtml).toBe(true);
    const good = await request(server.baseUrl).get(detail.body.previewPath);
    expect(good.status).toBe(200);
    expect(good.headers['content-security-policy']).toMatch(/default-src 'none'.*sandbox/);
    expect(good.headers['x-frame-options']).toBe('SAMEORIGIN');
    const forged = await request(server.baseUrl).get((detail.body.previewPath as string).replace(/signature=[^&]+/, 'signature=AAAA'));
    expect(forged.status).toBe(403);
    const expired = await request(server.baseUrl).get((detail.body.previewPath as string).replace(/expires=\d+/, 'expires=1000'));
    expect(expired.status).toBe(403);
    const otherId = await request(server.baseUrl).get((detail.body.previewPath as string).replace(`/sink-preview/${id}`, `/sink-preview/${id + 1}`));
    expect(otherId.status).toBe(403);
  });

  test('adds a sink mailbox through the form, showing the API field errors', async () => {
    const client = await database.db.insertInto('clients').values({ name: 'Devmail Client', postal_address: '1 Main St' }).returning('id').executeTakeFirstOrThrow();
    await database.db.insertInto('sender_domains').values({ client_id: client.id, domain: 'devmail.test' }).execute();
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await signIn(page, 'devmail-owner@example.com', undefined, '/fleet/new');
    await page.getByRole('heading', { name: 'Add a mailbox' }).waitFor();
    await page.getByLabel('Client').selectOption({ label: 'Devmail Client' });
    await page.getByLabel('Email address').fill('ada@not-their-domain.test');
    await page.getByRole('button', { name: 'Add mailbox' }).click();
    await page.getByRole('alert').waitFor();
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'mailbox-new');
    errors.length = 0; // the refused POST is logged by the browser as a failed request

    await page.getByLabel('Email address').fill('ada@devmail.test');
    await page.getByRole('button', { name: 'Add mailbox' }).click();
    await page.waitForURL(/\/fleet\/[0-9a-f-]{36}$/);
    const account = await database.db.selectFrom('sender_accounts').select(['transport', 'client_id']).where('email', '=', 'ada@devmail.test').executeTakeFirstOrThrow();
    expect(account).toEqual({ transport: 'sink', client_id: client.id });
    expect(errors).toEqual([]);
    await context.close();
  });
});
