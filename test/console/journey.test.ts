/**
 * The console's main job, end to end, as a new operator does it: the compiled server (real
 * orchestrator, real PM2 workers, the dev sink) on a fresh database, driven only through the
 * console in Chromium. The owner creates a client, its sender domain, two sink mailboxes and
 * the client's users; builds a two-step campaign, uploads contacts and starts it; reads the
 * mail in Dev mail; a recipient opens a tracked link; the campaign's figures move; a mailbox is
 * paused from the fleet table. Another client's admin cannot see the campaign, and the client's
 * viewer gets no write controls. Every page visited: no console error, no serious axe violation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { findFreePort } from '../../src/db/embedded-postgres';
import { createUser, TEST_PASSWORD } from '../http/admin-api.helpers';
import { useTestDatabase } from '../helpers/database';
import { startServerProcess, waitForListening, type ServerRun } from '../helpers/server-process';
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn, type ConsolePage } from '../helpers/browser';

jest.setTimeout(420_000);

const database = useTestDatabase();
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const CONTACTS = ['ada@lovelace.example', 'grace@hopper.example', 'alan@turing.example'];

let browser: Browser;
let run: ServerRun;
let tempDir: string;
let baseUrl: string;

beforeAll(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-console-journey-'));
  const port = await findFreePort();
  const sinkPort = await findFreePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const configFile = path.join(tempDir, 'config.json');
  // A click seconds after the send is a link scanner by default; the recipient here is quick.
  fs.writeFileSync(configFile, JSON.stringify({ sink: { enabled: true, host: '127.0.0.1', port: sinkPort }, tracking: { scannerClickWindowSeconds: 0 } }));
  run = startServerProcess({ DATABASE_URL: database.url, PORT: String(port), HOST: '127.0.0.1', BASE_URL: baseUrl, DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2') });
  expect((await waitForListening(port, run)).status).toBe(200);
  await createUser(database.db, 'owner@journey.test', 'owner', null);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  if (run && run.child.exitCode === null) {
    run.child.kill('SIGTERM');
    await run.exited;
  }
  fs.rmSync(tempDir, { recursive: true, force: true });
});

async function pageChecked(session: ConsolePage, name: string): Promise<void> {
  expect(await seriousA11yViolations(session.page)).toEqual([]);
  await screenshot(session.page, `journey-${name}`);
}

async function addSinkMailbox(page: Page, email: string): Promise<void> {
  await page.goto('/fleet/new');
  await page.getByLabel('Client').selectOption({ label: 'Harbour Ltd' });
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Minimum gap (seconds)').fill('0');
  await page.getByRole('button', { name: 'Add mailbox' }).click();
  await page.waitForURL(/\/fleet\/[0-9a-f-]{36}$/);
}

async function createUserInConsole(page: Page, email: string, role: string, client: string): Promise<void> {
  await page.getByRole('button', { name: 'New user' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Initial password').fill(TEST_PASSWORD);
  await page.getByLabel('Role', { exact: true }).selectOption(role);
  await page.locator('#user-client').selectOption({ label: client });
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.getByRole('cell', { name: email, exact: true }).waitFor();
}

describe('the console, end to end on the compiled server', () => {
  let campaignPath: string;

  test('the owner sets up a client and runs a two-step campaign; the mail, the click and the figures show', async () => {
    const session = await openConsole(browser, baseUrl);
    const { page, errors } = session;
    await signIn(page, 'owner@journey.test');

    // A client, its sender domain and its users.
    for (const name of ['Harbour Ltd', 'Other Co']) {
      await page.getByRole('link', { name: 'Clients' }).click();
      await page.getByRole('button', { name: 'New client' }).click();
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Postal address').fill('2 Quay St, Portsmouth PO1 3AB');
      await page.getByRole('button', { name: 'Create client' }).click();
      await page.getByRole('cell', { name, exact: true }).waitFor();
    }
    await pageChecked(session, 'clients');
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.getByRole('button', { name: 'Add a domain' }).click();
    await page.getByLabel('Domain', { exact: true }).fill('harbour.test');
    await page.locator('#domain-client').selectOption({ label: 'Harbour Ltd' });
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('cell', { name: 'harbour.test', exact: true }).waitFor();
    await pageChecked(session, 'domains');
    await page.getByRole('link', { name: 'Users' }).click();
    await createUserInConsole(page, 'viewer@harbour.test', 'client_viewer', 'Harbour Ltd');
    await createUserInConsole(page, 'admin@other.test', 'client_admin', 'Other Co');

    // Two sink mailboxes: their mail is captured in Dev mail.
    await addSinkMailbox(page, 'ann@harbour.test');
    await addSinkMailbox(page, 'bob@harbour.test');

    // A two-step campaign: the follow-up right after the first step, sending all day, every day.
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByLabel('Client').selectOption({ label: 'Harbour Ltd' });
    await page.getByLabel('Name', { exact: true }).fill('Harbour intro');
    await page.getByLabel('Step 1 subject').fill('Hello {{first_name}}');
    await page.getByLabel('Step 1 html body').fill('<p>Hi {{first_name}},</p><p><a href="https://www.example.com/pricing">See our pricing</a></p>');
    await page.getByLabel('Step 1 text body').fill('Hi {{first_name}}, see https://www.example.com/pricing');
    await page.getByRole('button', { name: 'Add step' }).click();
    await page.getByLabel('Step 2 subject').fill('Following up, {{first_name|friend}}');
    await page.getByLabel('Step 2 text body').fill('Any thoughts, {{first_name|friend}}?');
    await page.getByLabel('Step 2 delay after step 1: days').fill('0');
    await page.getByLabel('Starts at (HH:MM)').fill('00:00');
    await page.getByLabel('Ends at (HH:MM)').fill('24:00');
    for (const day of ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']) await page.getByLabel(day, { exact: true }).check();
    await page.getByLabel('Track clicks (links go through this server)').check();
    await page.getByLabel('ann@harbour.test').check();
    await page.getByLabel('bob@harbour.test').check();
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}\/edit$/);
    await page.getByLabel('Contacts CSV file').setInputFiles({
      name: 'contacts.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`email,first_name\n${CONTACTS.map((email) => `${email},${email.split('@')[0]!.replace(/^./, (c) => c.toUpperCase())}`).join('\n')}\n`),
    });
    await page.getByRole('button', { name: 'Upload contacts' }).click();
    await page.getByRole('status').filter({ hasText: '3 added to the campaign' }).waitFor();
    await pageChecked(session, 'campaign-builder');
    await page.getByRole('link', { name: 'Campaign page' }).click();
    await page.getByRole('heading', { name: 'Harbour intro' }).waitFor();
    campaignPath = new URL(page.url()).pathname;
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText(/sending begins/).waitFor();

    // The workers send both steps to the sink; Dev mail shows them.
    await page.getByRole('link', { name: 'Dev mail' }).click();
    await page.getByRole('button', { name: 'Following up, Ada' }).waitFor({ timeout: 180_000 });
    await page.getByRole('button', { name: 'Hello Grace' }).click();
    await page.frameLocator('iframe.mail-preview').getByText('See our pricing').waitFor();
    await pageChecked(session, 'dev-mail');
    // Clicks are tracked in the HTML part (the text part keeps the real address).
    const tracked = await page.frameLocator('iframe.mail-preview').getByRole('link', { name: 'See our pricing' }).getAttribute('href');
    expect(tracked).toMatch(new RegExp(`^${baseUrl.replace(/[.:/]/g, '\\$&')}/t/`));
    await page.getByRole('tab', { name: 'Text' }).click();
    expect(await page.locator('pre.message-text').textContent()).toContain('Hi Grace, see https://www.example.com/pricing');

    // The recipient follows the link: redirected to the real page, counted as a person's click.
    const click = await fetch(tracked as string, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA, accept: 'text/html', 'accept-language': 'en-GB,en;q=0.9' } });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe('https://www.example.com/pricing');

    // The figures move: six sent, one person clicked.
    const card = (label: string) => page.locator('.card').filter({ has: page.getByText(label, { exact: true }) }).locator('.value');
    await page.goto(campaignPath);
    await page.getByRole('heading', { name: 'Harbour intro' }).waitFor();
    for (let attempt = 0; (await card('Clicked (people)').textContent()) !== '1' || (await card('Sent').textContent()) !== '6'; attempt++) {
      if (attempt > 30) throw new Error(`figures did not move: sent ${await card('Sent').textContent()}, clicked ${await card('Clicked (people)').textContent()}`);
      await page.waitForTimeout(2000);
      await page.reload();
      await page.getByRole('heading', { name: 'Harbour intro' }).waitFor();
    }
    await pageChecked(session, 'campaign');

    // Pause a mailbox from the fleet table.
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('button', { name: 'Pause ann@harbour.test' }).click();
    await page.getByRole('button', { name: 'Resume ann@harbour.test' }).waitFor();
    const paused = await database.db.selectFrom('sender_accounts').select('status').where('email', '=', 'ann@harbour.test').executeTakeFirstOrThrow();
    expect(paused.status).toBe('paused');
    await pageChecked(session, 'fleet');
    expect(errors).toEqual([]);
    await session.context.close();
  });

  test("another client's admin cannot see the campaign; the client's viewer has no write controls", async () => {
    const other = await openConsole(browser, baseUrl);
    await signIn(other.page, 'admin@other.test', TEST_PASSWORD, campaignPath);
    await other.page.getByText('This campaign does not exist or is not yours to see.').waitFor();
    expect(await other.page.getByText('Harbour intro').count()).toBe(0);
    await other.page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await other.page.getByText('No campaigns yet.').waitFor();
    expect(other.errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    await other.context.close();

    const viewer = await openConsole(browser, baseUrl);
    await signIn(viewer.page, 'viewer@harbour.test', TEST_PASSWORD, campaignPath);
    await viewer.page.getByRole('heading', { name: 'Harbour intro' }).waitFor();
    for (const name of ['Start', 'Pause', 'Resume', 'Cancel campaign']) expect(await viewer.page.getByRole('button', { name }).count()).toBe(0);
    await viewer.page.getByRole('link', { name: 'Fleet' }).click();
    await viewer.page.getByRole('cell', { name: 'bob@harbour.test' }).waitFor();
    expect(await viewer.page.getByRole('button', { name: /^(Pause|Resume)/ }).count()).toBe(0);
    expect(await viewer.page.getByRole('checkbox').count()).toBe(0);
    expect(viewer.errors).toEqual([]);
    await viewer.context.close();
  });
});
