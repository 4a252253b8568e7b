/**
 * The console's admin pages in real Chromium over the real app and database: Inbox, Alerts,
 * Domains, Suppressions, Users, Clients, Sponsors. Each page is loaded as the owner with data
 * made through the API (or the product's own ingest and alert paths), one write is done
 * through the UI and checked through the API, no console error is logged, axe finds no
 * serious violation and a screenshot is written. A reply carrying HTML and script shows as
 * text and runs nothing; a client viewer sees no write control on any of these pages.
 */
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { raiseAlert } from '../../src/alerts/alerts';
import { ingestInboundMessage } from '../../src/inbound/ingest';
import { useTestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/wait-for';
import { launchBrowser, listen, openConsole, screenshot, seriousA11yViolations, signIn, type ConsolePage } from '../helpers/browser';
import { bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';
import { inboundDeps, inboundWorld, type InboundWorld } from '../inbound/inbound-world';

const database = useTestDatabase();
let browser: Browser;
let server: Awaited<ReturnType<typeof listen>>;
let world: World;
let mail: InboundWorld;
const open: ConsolePage[] = [];

const REPLY_TO = '<admin-pages-step1@mail.harbour.test>';
const HOSTILE = '<script>window.__pwned=1</script><b>bold</b>';

function hostileReply(): Buffer {
  return Buffer.from(
    [
      'From: Jane Prospect <jane@prospect.test>',
      'To: bob@mail.harbour.test',
      'Subject: Re: Tuesday <img src=x onerror="window.__pwned=2">',
      'Message-ID: <hostile-reply@prospect.test>',
      `In-Reply-To: ${REPLY_TO}`,
      `References: ${REPLY_TO}`,
      'Date: Thu, 03 Dec 2026 10:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Hi Bob, ${HOSTILE}`,
      '<img src=x onerror="window.__pwned=3">',
      'Jane',
      '',
    ].join('\r\n'),
  );
}

const api = (method: 'get' | 'post', path: string, token = world.ownerToken) => request(world.app)[method](`/api${path}`).set(bearer(token));

async function signedIn(email: string, at: string): Promise<ConsolePage> {
  const session = await openConsole(browser, server.baseUrl);
  open.push(session);
  await signIn(session.page, email);
  await session.page.goto(at);
  return session;
}

/** The checks every page ends with. */
async function finish(session: ConsolePage, name: string): Promise<void> {
  expect(session.errors).toEqual([]);
  expect(await seriousA11yViolations(session.page)).toEqual([]);
  await screenshot(session.page, name);
}

/** Buttons a viewer must never get on these pages. */
const WRITE_BUTTON = /^(new |add |suppress|import|delete|remove|edit|acknowledge|reclassify|check now|transfer|issue|revoke|send test|create)/i;
async function writeButtons(page: Page): Promise<string[]> {
  const names = await page.getByRole('button').evaluateAll((buttons) => buttons.map((b) => (b.getAttribute('aria-label') ?? b.textContent ?? '').trim()));
  return names.filter((n) => WRITE_BUTTON.test(n));
}

beforeAll(async () => {
  browser = await launchBrowser();
  const app = testApp(database.db);
  server = await listen(app);
  world = await createWorld(database.db, app, 'adm');
  mail = await inboundWorld(database.db, { clientId: world.a.clientId, accountEmail: 'bob@mail.harbour.test', contacts: [{ email: 'jane@prospect.test', messageId: REPLY_TO }], sentAt: new Date('2026-12-02T09:00:00Z') });
  await ingestInboundMessage(database.db, { accountId: mail.accountId, source: 'imap', sourceKey: 'hostile-1', raw: hostileReply(), receivedAt: new Date('2026-12-03T10:00:05Z') }, inboundDeps());
  const domain = await api('post', '/domains').send({ domain: 'mail.harbour.test', clientId: world.a.clientId, dkimSelector: 's1' });
  expect(domain.status).toBe(201);
  await raiseAlert(database.db, { clientId: world.a.clientId, accountId: mail.accountId, severity: 'critical', code: 'account_auth_failed', entityKey: `account:${mail.accountId}`, message: 'bob@mail.harbour.test: authentication failed', details: {} });
  await raiseAlert(database.db, { clientId: world.a.clientId, accountId: null, severity: 'warning', code: 'blocklist_listed', entityKey: 'sending_domain:mail.harbour.test:dbl.example.test', message: 'mail.harbour.test is listed on dbl.example.test', details: { target: 'mail.harbour.test', zone: 'dbl.example.test' } });
  expect((await api('post', '/suppressions').send({ email: 'already@blocked.test', clientId: world.a.clientId })).status).toBe(201);
  expect((await api('post', '/sponsors').send({ name: 'Acme Leads', clientId: world.a.clientId })).status).toBe(201);
}, 60_000);

afterEach(async () => {
  for (const session of open.splice(0)) await session.context.close();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the inbox page', () => {
  test('shows a hostile reply as text, runs none of it, and reclassifies it', async () => {
    const session = await signedIn('adm-owner@example.com', '/inbox');
    const { page } = session;
    await page.getByRole('button', { name: /Re: Tuesday/ }).click();
    const text = page.locator('pre.reply-text');
    await text.waitFor();
    expect(await text.textContent()).toContain(HOSTILE);
    expect(await text.locator('b, script, img').count()).toBe(0);
    expect(await page.getByRole('heading', { name: /Re: Tuesday <img src=x onerror/ }).count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await finish(session, 'inbox');

    await page.getByLabel('New class').selectOption('auto_reply');
    await page.getByRole('button', { name: 'Reclassify', exact: true }).click();
    await page.getByText('Reclassified as Auto-reply').waitFor();
    const list = await api('get', '/inbound?kind=auto_reply');
    expect(list.body.messages.map((m: { subject: string }) => m.subject)).toEqual([expect.stringContaining('Re: Tuesday')]);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(session.errors).toEqual([]);
  });
});

describe('the alerts page', () => {
  test('lists open alerts, acknowledges one, and adds an e-mail channel', async () => {
    const session = await signedIn('adm-owner@example.com', '/alerts');
    const { page } = session;
    await page.getByText('bob@mail.harbour.test: authentication failed').waitFor();
    await finish(session, 'alerts');

    await page.getByRole('button', { name: /^Acknowledge account_auth_failed/ }).click();
    await page.getByText(/^acknowledged /).waitFor();
    const acknowledged = await api('get', '/alerts?acknowledged=true');
    expect(acknowledged.body.alerts.map((a: { code: string }) => a.code)).toEqual(['account_auth_failed']);

    await page.getByRole('button', { name: 'Add a channel' }).click();
    await page.getByLabel('Channel name').fill('On-call');
    await page.getByLabel('Send to').fill('not an address');
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.locator('#channel-to-error').waitFor();
    session.errors.length = 0; // the 400 above is logged by the browser itself
    await page.getByLabel('Send to').fill('oncall@example.com');
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.getByRole('cell', { name: 'oncall@example.com', exact: true }).waitFor();
    const channels = await api('get', '/alert-channels');
    expect(channels.body.channels).toEqual([expect.objectContaining({ kind: 'email', name: 'On-call', to: 'oncall@example.com', clientId: null })]);
    await page.getByRole('button', { name: 'Send a test to On-call' }).click();
    await page.getByText('Test message queued for On-call').waitFor();
    expect(session.errors).toEqual([]);
  });
});

describe('the domains page', () => {
  test('shows the records to publish and the blocklist listing, and adds a domain', async () => {
    const session = await signedIn('adm-owner@example.com', '/domains');
    const { page } = session;
    await page.getByRole('button', { name: 'DNS of mail.harbour.test' }).click();
    await page.getByText('_dmarc.mail.harbour.test').waitFor();
    expect(await page.getByRole('button', { name: /^Copy DMARC value/ }).count()).toBe(1);
    await page.getByText(/dbl\.example\.test: mail\.harbour\.test is listed/).waitFor();
    await finish(session, 'domains');

    await page.getByRole('button', { name: 'Add a domain' }).click();
    await page.getByLabel('Domain', { exact: true }).fill('news.harbour.test');
    await page.locator('#domain-client').selectOption({ label: 'adm-b' });
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('cell', { name: 'news.harbour.test', exact: true }).waitFor();
    const domains = await api('get', '/domains');
    expect(domains.body.domains).toEqual(expect.arrayContaining([expect.objectContaining({ domain: 'news.harbour.test', clientId: world.b.clientId })]));
    expect(session.errors).toEqual([]);
  });
});

describe('the suppressions page', () => {
  test('searches, and suppresses an address', async () => {
    const session = await signedIn('adm-owner@example.com', '/suppressions');
    const { page } = session;
    await page.getByRole('cell', { name: 'already@blocked.test', exact: true }).waitFor();
    await page.getByLabel('Search').fill('nobody-matches');
    await page.getByText('No suppressed addresses match.').waitFor();
    await page.getByLabel('Search').fill('');
    await page.getByRole('cell', { name: 'already@blocked.test', exact: true }).waitFor();
    await finish(session, 'suppressions');

    await page.getByRole('button', { name: 'Suppress an address' }).click();
    await page.getByLabel('Email address').fill('stop@please.test');
    await page.locator('#supp-client').selectOption({ label: 'adm-a' });
    await page.getByRole('button', { name: 'Suppress', exact: true }).click();
    await page.getByRole('cell', { name: 'stop@please.test', exact: true }).waitFor();
    const list = await api('get', '/suppressions?search=stop@please.test');
    expect(list.body.suppressions).toEqual([expect.objectContaining({ email: 'stop@please.test', reason: 'manual', clientId: world.a.clientId })]);

    await page.getByRole('button', { name: 'Remove stop@please.test' }).click();
    await page.getByRole('button', { name: 'Confirm remove' }).click();
    await page.getByRole('cell', { name: 'stop@please.test', exact: true }).waitFor({ state: 'detached' });
    expect((await api('get', '/suppressions?search=stop@please.test')).body.suppressions).toEqual([]);
    expect(session.errors).toEqual([]);
  });
});

describe('the users page', () => {
  test('creates a client user, showing the API’s field error first', async () => {
    const session = await signedIn('adm-owner@example.com', '/users');
    const { page } = session;
    await page.getByRole('cell', { name: 'adm-a-viewer@example.com', exact: true }).waitFor();
    await finish(session, 'users');

    await page.getByRole('button', { name: 'New user' }).click();
    await page.getByLabel('Email').fill('new-admin@example.com');
    await page.getByLabel('Initial password').fill('short');
    await page.getByLabel('Role', { exact: true }).selectOption('client_admin');
    await page.locator('#user-client').selectOption({ label: 'adm-a' });
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.locator('#user-password-error').waitFor();
    session.errors.length = 0; // the browser logs the 400 itself
    await page.getByLabel('Initial password').fill('a much longer password');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('cell', { name: 'new-admin@example.com', exact: true }).waitFor();
    const users = await api('get', '/users?limit=500');
    expect(users.body.users).toEqual(expect.arrayContaining([expect.objectContaining({ email: 'new-admin@example.com', role: 'client_admin', clientId: world.a.clientId })]));

    await page.getByLabel('Role of new-admin@example.com').selectOption('client_viewer');
    await waitFor(async () => (await api('get', '/users?limit=500')).body.users.find((u: { email: string; role: string }) => u.email === 'new-admin@example.com' && u.role === 'client_viewer'), 'the role change', 10_000);
    expect(session.errors).toEqual([]);
  });
});

describe('the clients page', () => {
  test('creates a client (field error next to the field), edits and deletes it', async () => {
    const session = await signedIn('adm-owner@example.com', '/clients');
    const { page } = session;
    await page.getByRole('cell', { name: 'adm-a', exact: true }).waitFor();
    await finish(session, 'clients');

    await page.getByRole('button', { name: 'New client' }).click();
    await page.getByLabel('Name').fill('Harbour Ltd');
    await page.getByLabel('Postal address').fill('2 Quay St\nPortsmouth');
    await page.getByLabel('Tracking domain').fill('not a host');
    await page.getByRole('button', { name: 'Create client' }).click();
    expect(await page.locator('#client-tracking-error').textContent()).toMatch(/host name/);
    session.errors.length = 0; // the browser logs the 400 itself
    await page.getByLabel('Tracking domain').fill('track.harbour.test');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByRole('cell', { name: 'Harbour Ltd', exact: true }).waitFor();
    const created = (await api('get', '/clients')).body.clients.find((c: { name: string }) => c.name === 'Harbour Ltd');
    expect(created).toMatchObject({ postalAddress: '2 Quay St\nPortsmouth', trackingDomain: 'track.harbour.test' });

    await page.getByRole('button', { name: 'Edit Harbour Ltd' }).click();
    await page.getByLabel('Daily limit').fill('900');
    await page.getByRole('button', { name: 'Save client' }).click();
    await page.getByRole('cell', { name: '900', exact: true }).waitFor();
    expect((await api('get', `/clients/${created.id}`)).body.dailyLimit).toBe(900);

    await page.getByRole('button', { name: 'Delete Harbour Ltd' }).click();
    await page.getByRole('button', { name: 'Delete Harbour Ltd and all its data' }).click();
    await page.getByRole('cell', { name: 'Harbour Ltd', exact: true }).waitFor({ state: 'detached' });
    expect((await api('get', `/clients/${created.id}`)).status).toBe(404);
    expect(session.errors).toEqual([]);
  });
});

describe('the sponsors page', () => {
  test('issues an API key shown once, and creates an offer', async () => {
    const session = await signedIn('adm-owner@example.com', '/sponsors');
    const { page } = session;
    await page.getByRole('button', { name: 'Open Acme Leads' }).click();
    await page.getByText('No API keys.').waitFor();
    await finish(session, 'sponsors');

    await page.getByRole('button', { name: 'Issue an API key' }).click();
    const key = (await page.locator('code.secret-value').textContent())!.trim();
    const sponsor = (await api('get', '/sponsors')).body.sponsors[0];
    const keys = await api('get', `/sponsors/${sponsor.id}/keys`);
    expect(keys.body.keys).toHaveLength(1);
    expect(key.startsWith(`sk_${keys.body.keys[0].prefix}_`)).toBe(true);
    await page.getByRole('button', { name: 'I stored it' }).click();
    expect(await page.locator('code.secret-value').count()).toBe(0);

    await page.getByLabel('Offer name').fill('Free audit');
    await page.getByLabel('Lead fields').fill('company, phone');
    await page.getByRole('button', { name: 'Create offer' }).click();
    await page.getByRole('cell', { name: 'company, phone', exact: true }).waitFor();
    const offers = await api('get', `/sponsors/${sponsor.id}/offers`);
    expect(offers.body.offers).toEqual([expect.objectContaining({ name: 'Free audit', leadFields: ['company', 'phone'] })]);
    expect(session.errors).toEqual([]);
  });
});

describe('a client viewer', () => {
  test('reads every admin page with no write control on any', async () => {
    const session = await signedIn('adm-a-viewer@example.com', '/inbox');
    const { page } = session;
    await page.getByRole('button', { name: /Re: Tuesday/ }).click();
    await page.locator('pre.reply-text').waitFor();
    expect(await writeButtons(page)).toEqual([]);
    const pages: Array<[string, string]> = [
      ['/alerts', 'bob@mail.harbour.test: authentication failed'],
      ['/domains', 'mail.harbour.test'],
      ['/suppressions', 'already@blocked.test'],
      ['/users', 'adm-a-admin@example.com'],
      ['/clients', 'adm-a'],
      ['/sponsors', 'Acme Leads'],
    ];
    for (const [path, shows] of pages) {
      await page.goto(path);
      await page.getByText(shows, { exact: true }).first().waitFor();
      expect({ path, buttons: await writeButtons(page) }).toEqual({ path, buttons: [] });
      expect(await page.locator('main input[type=checkbox], main select[aria-label^="Role of"]').count()).toBe(0);
    }
    await finish(session, 'viewer-sponsors');
  });
});
