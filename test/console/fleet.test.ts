/**
 * The fleet and mailbox pages in real Chromium: 50 sink mailboxes made through the API, then
 * search, filter, sort, select two and pause them in bulk, pause one from its row, open a
 * mailbox page; a client viewer sees the same table with no way to change anything.
 */
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { insertSendLogs } from '../../src/sending/send-log.repository';
import { addSenderDomain, bearer, createUser, login, testApp } from '../http/admin-api.helpers';
import { useTestDatabase } from '../helpers/database';
import { launchBrowser, listen, openConsole, screenshot, seriousA11yViolations, signIn } from '../helpers/browser';

const database = useTestDatabase();
let browser: Browser;
let server: Awaited<ReturnType<typeof listen>>;
let clientId: string;
const ids = new Map<string, string>();

const rows = (page: Page) => page.locator('table.vt tbody tr:not(.vt-spacer)');
const countText = (page: Page) => page.locator('.fleet-count').textContent();

beforeAll(async () => {
  browser = await launchBrowser();
  const app = testApp(database.db);
  server = await listen(app);
  await createUser(database.db, 'fleet-owner@example.com', 'owner', null);
  const owner = (await login(app, 'fleet-owner@example.com')).accessToken;
  const client = await request(app).post('/api/clients').set(bearer(owner)).send({ name: 'Acme Fleet', postalAddress: '1 Main St' });
  expect(client.status).toBe(201);
  clientId = client.body.id;
  await createUser(database.db, 'fleet-viewer@example.com', 'client_viewer', clientId);
  await addSenderDomain(app, owner, 'fleet-one.example.com', { clientId });
  await addSenderDomain(app, owner, 'fleet-two.example.com', { clientId });
  for (let i = 0; i < 50; i++) {
    const email = `box${String(i).padStart(2, '0')}@fleet-${i % 5 === 0 ? 'two' : 'one'}.example.com`;
    const res = await request(app).post('/api/accounts').set(bearer(owner)).send({ clientId, email, transport: 'sink', dailyLimit: 50 + i, status: i >= 45 ? 'paused' : 'active' });
    expect(res.status).toBe(201);
    ids.set(email, res.body.id);
  }
  // A receiver's answer with markup in it: shown as text on the mailbox page.
  await insertSendLogs(database.db, [
    { queueId: 1, clientId, campaignId: '00000000-0000-4000-8000-000000000001', accountId: ids.get('box01@fleet-one.example.com')!, messageId: '<f1@fleet-one.example.com>', attempt: 1, outcome: 'recipient_soft', code: 552, enhancedCode: '5.2.2', response: '552 5.2.2 <img src=x onerror=alert(1)> mailbox full', at: new Date() },
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the fleet page', () => {
  test('an owner searches, filters, sorts, pauses two in bulk and one from its row, and opens a mailbox', async () => {
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await signIn(page, 'fleet-owner@example.com', undefined, '/fleet');
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await page.getByText('50 mailboxes').waitFor();
    // Windowed: the 50 rows are not all in the DOM, yet the table says how many there are.
    expect(await page.locator('table.vt').getAttribute('aria-rowcount')).toBe('51');
    expect(await rows(page).count()).toBeLessThan(50);
    expect(await page.getByRole('cell', { name: 'Acme Fleet' }).count()).toBeGreaterThan(0);
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.getByLabel('Search address').fill('box1');
    await page.getByText('10 of 50 mailboxes').waitFor();
    expect(await rows(page).count()).toBe(10);
    await page.getByLabel('Search address').fill('');

    await page.getByLabel('Status').selectOption('paused');
    await page.getByText('5 of 50 mailboxes').waitFor();
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Domain').selectOption('fleet-two.example.com');
    await page.getByText('10 of 50 mailboxes').waitFor();
    await page.getByLabel('Domain').selectOption('');
    await page.getByLabel('Provider').selectOption('sink');
    await page.getByText('50 mailboxes').waitFor();

    // Sorted by address; Enter on the header's button turns it descending.
    expect(await page.getByRole('columnheader', { name: /Address/ }).getAttribute('aria-sort')).toBe('ascending');
    await page.getByRole('button', { name: 'Address' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('th[aria-sort="descending"]', { hasText: 'Address' }).waitFor();
    expect(await rows(page).first().getByRole('link').textContent()).toBe('box49@fleet-one.example.com');
    await page.getByRole('button', { name: 'Health' }).click();
    await page.locator('th[aria-sort="ascending"]', { hasText: 'Health' }).waitFor();
    await page.getByRole('button', { name: 'Address' }).click();
    await page.locator('th[aria-sort="ascending"]', { hasText: 'Address' }).waitFor();

    await page.getByLabel('Select box02@fleet-one.example.com').check();
    await page.getByLabel('Select box03@fleet-one.example.com').check();
    expect(await countText(page)).toContain('2 selected');
    await page.getByRole('button', { name: 'Pause selected' }).click();
    await page.getByText('Paused 2 of 2 mailboxes').waitFor();
    const api = request(server.baseUrl);
    const token = (await login(testApp(database.db), 'fleet-owner@example.com')).accessToken;
    for (const email of ['box02@fleet-one.example.com', 'box03@fleet-one.example.com']) {
      expect((await api.get(`/api/accounts/${ids.get(email)}`).set(bearer(token))).body.status).toBe('paused');
    }

    await page.getByRole('button', { name: 'Pause box04@fleet-one.example.com' }).click();
    await page.getByText('box04@fleet-one.example.com paused').waitFor();
    expect((await api.get(`/api/accounts/${ids.get('box04@fleet-one.example.com')}`).set(bearer(token))).body.status).toBe('paused');
    await page.getByRole('button', { name: 'Resume box04@fleet-one.example.com' }).waitFor();
    await screenshot(page, 'fleet');

    await page.getByRole('link', { name: 'box01@fleet-one.example.com' }).click();
    await page.getByRole('heading', { name: 'box01@fleet-one.example.com' }).waitFor();
    await page.getByRole('heading', { name: 'Recent send results' }).waitFor();
    await page.getByText('mailbox full').waitFor();
    // The receiver's markup is text, never an element.
    expect(await page.getByText('<img src=x onerror=alert(1)>', { exact: false }).count()).toBe(1);
    expect(await page.locator('main img').count()).toBe(0);
    await page.getByRole('figure').waitFor();
    await page.getByRole('button', { name: 'Pause mailbox' }).click();
    await page.getByRole('button', { name: 'Resume mailbox' }).waitFor();
    expect((await api.get(`/api/accounts/${ids.get('box01@fleet-one.example.com')}`).set(bearer(token))).body.status).toBe('paused');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'mailbox');
    expect(errors).toEqual([]);
    await context.close();
  });

  test('a client viewer sees the fleet and a mailbox with no write controls', async () => {
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await signIn(page, 'fleet-viewer@example.com', undefined, '/fleet');
    await page.getByText('50 mailboxes').waitFor();
    expect(await page.getByRole('checkbox').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Pause|Resume|Apply limits/ }).count()).toBe(0);
    expect(await page.getByRole('columnheader', { name: 'Client' }).count()).toBe(0);
    await page.getByRole('link', { name: 'box00@fleet-two.example.com' }).click();
    await page.getByRole('heading', { name: 'box00@fleet-two.example.com' }).waitFor();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    expect(await page.getByRole('button', { name: /Pause|Resume/ }).count()).toBe(0);
    expect(await seriousA11yViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
