/**
 * The campaign pages in real Chromium, driven as a client admin would: build a two-step
 * campaign (a broken placeholder flagged next to its field while typed), assign sink senders,
 * upload contacts with one bad line and read the per-line report, see the preview for a
 * contact, start, pause and resume, and read the figures (human and automated opens apart).
 * Another client's admin gets a not-found page with none of the data; a viewer gets no write
 * controls. Every page: no console error, no serious axe violation, a screenshot.
 */
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { addSenderDomain, bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';
import { useTestDatabase } from '../helpers/database';
import { launchBrowser, listen, openConsole, screenshot, seriousA11yViolations, signIn } from '../helpers/browser';

const database = useTestDatabase();
let browser: Browser;
let server: Awaited<ReturnType<typeof listen>>;
let world: World;
let campaignId: string;

/** A request the API answers 404 or 403 on purpose is logged by Chromium itself: only those are expected. */
const unexpected = (errors: string[]) => errors.filter((e) => !/Failed to load resource: the server responded with a status of (404|403)/.test(e));

beforeAll(async () => {
  browser = await launchBrowser();
  const app = testApp(database.db);
  server = await listen(app);
  world = await createWorld(database.db, app, 'cpages');
  await addSenderDomain(app, world.a.adminToken, 'cpages-sink.example');
  for (const local of ['ann', 'bob']) {
    const account = await request(app).post('/api/accounts').set(bearer(world.a.adminToken)).send({ transport: 'sink', email: `${local}@cpages-sink.example` });
    expect(account.status).toBe(201);
  }
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function noSeriousViolations(page: Page): Promise<void> {
  expect(await seriousA11yViolations(page)).toEqual([]);
}

describe('campaign pages', () => {
  test('a client admin builds, fills, previews, starts, pauses and resumes a two-step campaign and reads its figures', async () => {
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await signIn(page, 'cpages-a-admin@example.com');
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    await page.getByText('No campaigns yet.').waitFor();
    await page.getByRole('link', { name: 'New campaign' }).click();

    // Builder: settings, two steps, the second with a broken placeholder flagged while typed.
    await page.getByRole('heading', { name: 'New campaign' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Spring outreach');
    await page.getByLabel('Step 1 subject').fill('Hello {{first_name}}');
    await page.getByLabel('Step 1 html body').fill('<p>Hi {{first_name}},</p><p><a href="https://example.com/offer">See the offer</a></p><img src="https://example.com/x.png" alt="logo">');
    await page.getByLabel('Step 1 text body').fill('Hi {{first_name}}, see https://example.com/offer');
    await page.getByRole('button', { name: 'Add step' }).click();
    await page.getByLabel('Step 2 subject').fill('Following up {{first name}}');
    await page.getByText('"{{first name}}" is not {{field}} or {{field|fallback}}').waitFor();
    expect(await page.getByLabel('Step 2 subject').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Step 2 subject').fill('Following up, {{first_name|friend}}');
    await page.getByLabel('Step 2 text body').fill('Any thoughts, {{first_name|friend}}?');
    await page.getByText('is not {{field}}').waitFor({ state: 'detached' });
    expect(await page.getByLabel('Step 2 delay after step 1: days').inputValue()).toBe('2');
    await page.getByLabel('Tue').uncheck();
    await page.getByLabel('Track opens (a pixel)').check();
    await page.getByLabel('ann@cpages-sink.example').check();
    await page.getByLabel('bob@cpages-sink.example').check();
    await noSeriousViolations(page);
    await page.getByRole('button', { name: 'Save draft' }).click();

    // Saved: the edit page of the draft, with contacts upload and preview.
    await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}\/edit$/);
    campaignId = /campaigns\/([0-9a-f-]{36})\/edit/.exec(page.url())?.[1] as string;
    await page.getByRole('heading', { name: 'Edit: Spring outreach' }).waitFor();
    const saved = await request(server.baseUrl).get(`/api/campaigns/${campaignId}`).set(bearer(world.a.adminToken));
    expect(saved.body).toMatchObject({ status: 'draft', sendDays: [1, 3, 4, 5], trackOpens: true, steps: [{ subject: 'Hello {{first_name}}' }, { subject: 'Following up, {{first_name|friend}}', delayMinutes: 2 * 1440 }] });
    expect(saved.body.senderAccountIds).toHaveLength(2);

    await page.getByLabel('Contacts CSV file').setInputFiles({
      name: 'contacts.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('email,first_name,company\nada@lovelace.example,Ada,Engines\nnot-an-address,Bob,Nowhere\ngrace@hopper.example,Grace,Navy\n'),
    });
    await page.getByRole('button', { name: 'Upload contacts' }).click();
    const report = page.getByRole('table').filter({ hasText: 'Lines not imported' });
    await report.waitFor();
    expect(await report.locator('tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/^3\s+email\s+not a valid email address$/)]);
    expect(await page.getByRole('status').filter({ hasText: '3 rows' }).textContent()).toContain('2 added to the campaign');
    expect(await page.locator('#contacts-progress').getAttribute('value')).toBe('100');

    // Preview of step 1 for the first contact: rendered as text, the pixel not loaded.
    const preview = page.getByTestId('preview-1');
    await preview.waitFor();
    await page.getByLabel('Preview step 1 for').selectOption({ label: 'ada@lovelace.example (Ada)' });
    await preview.getByText('Hello Ada').waitFor();
    expect(await preview.textContent()).toContain('See the offer');
    expect(await preview.locator('img').count()).toBe(0);
    await page.getByLabel('Preview step 1 for').selectOption({ label: 'grace@hopper.example (Grace)' });
    await preview.getByText('Hello Grace').waitFor();
    await page.getByLabel('Preview step 2 for').selectOption({ label: 'ada@lovelace.example (Ada)' });
    await page.getByTestId('preview-2').getByText('Following up, Ada').waitFor();
    await noSeriousViolations(page);
    await screenshot(page, 'campaign-builder');

    // Campaign page: start (the API says when sending begins), pause, resume.
    await page.getByRole('link', { name: 'Campaign page' }).click();
    await page.getByRole('heading', { name: 'Spring outreach' }).waitFor();
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText(/sending begins/).waitFor();
    await page.getByText('2 messages queued').waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('.page-header .badge', { hasText: 'paused' }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.page-header .badge', { hasText: 'running' }).waitFor();
    await page.getByText(/sending begins/).waitFor();

    // Asking to cancel asks first; keeping it changes nothing.
    await page.getByRole('button', { name: 'Cancel campaign' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Keep it' }).click();
    expect(await page.getByRole('alertdialog').count()).toBe(0);

    // Ada's message went out; a proxy fetched its pixel, then Ada opened it; Grace's only a proxy.
    const rows = await database.db.selectFrom('email_queue').select(['id', 'to_email', 'client_id', 'step_number']).where('campaign_id', '=', campaignId).execute();
    const ann = await database.db.selectFrom('sender_accounts').select('id').where('email', '=', 'ann@cpages-sink.example').executeTakeFirstOrThrow();
    await database.db.updateTable('email_queue').set({ status: 'sent', sent_at: new Date(), account_id: ann.id }).where('campaign_id', '=', campaignId).execute();
    const event = (email: string, automated_reason: string | null) => {
      const row = rows.find((r) => r.to_email === email)!;
      return { client_id: row.client_id, campaign_id: campaignId, queue_id: row.id, automated_reason, occurred_at: new Date() };
    };
    await database.db.insertInto('open_events').values([event('ada@lovelace.example', 'apple_mpp'), event('ada@lovelace.example', null), event('grace@hopper.example', 'apple_mpp')]).execute();
    await page.reload();
    const card = (label: string) => page.locator('.card', { has: page.locator('.label', { hasText: new RegExp(`^${label.replace(/[()]/g, '\\$&')}$`) }) }).locator('.value');
    await card('Sent').filter({ hasText: '2' }).waitFor();
    expect(await card('Opened (people)').textContent()).toBe('1');
    // The engagement figures come from their own request: waited for, not read at once.
    await card('Opened by proxies or scanners only').filter({ hasText: /^1$/ }).waitFor();
    const perStep = page.getByRole('table').filter({ hasText: 'Per step' });
    expect(await perStep.getByRole('row', { name: /Step 1/ }).innerText()).toMatch(/^Step 1\s+2\s+1\s+0/);
    const perMailbox = page.getByRole('table').filter({ hasText: 'Per mailbox' });
    await perMailbox.getByRole('rowheader', { name: 'ann@cpages-sink.example' }).waitFor();
    await page.getByRole('table').filter({ hasText: 'Automated opens and clicks by reason' }).getByRole('rowheader', { name: 'apple_mpp' }).waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await noSeriousViolations(page);
    await screenshot(page, 'campaign');

    await page.getByRole('link', { name: 'Campaigns' }).click();
    const listed = page.getByRole('row', { name: /Spring outreach/ });
    await listed.waitFor();
    expect(await listed.innerText()).toMatch(/running[\s\S]*2 \/ 2/);
    await page.getByLabel('Status').selectOption('draft');
    await page.getByText('No draft campaigns.').waitFor();
    await page.getByLabel('Status').selectOption('running');
    await listed.waitFor();
    await noSeriousViolations(page);
    await screenshot(page, 'campaigns');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  test('another client’s admin cannot open the campaign: a not-found message and none of its data', async () => {
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await signIn(page, 'cpages-b-admin@example.com');
    await page.goto(`/campaigns/${campaignId}`);
    await page.getByText('This campaign does not exist or is not yours to see.').waitFor();
    expect(await page.getByText('Spring outreach').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Pause' }).count()).toBe(0);
    await page.goto(`/campaigns/${campaignId}/edit`);
    await page.getByText('This campaign does not exist or is not yours to see.').waitFor();
    expect(await page.getByLabel('Step 1 subject').count()).toBe(0);
    await page.goto('/campaigns');
    await page.getByText('No campaigns yet.').waitFor();
    await noSeriousViolations(page);
    expect(unexpected(errors)).toEqual([]);
    await context.close();
  }, 60_000);

  test('a viewer reads campaigns with no write controls', async () => {
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await signIn(page, 'cpages-a-viewer@example.com');
    await page.goto('/campaigns');
    await page.getByRole('row', { name: /Spring outreach/ }).waitFor();
    expect(await page.getByRole('link', { name: 'New campaign' }).count()).toBe(0);

    await page.getByRole('link', { name: 'Spring outreach' }).click();
    await page.getByRole('heading', { name: 'Spring outreach' }).waitFor();
    await page.getByRole('table').filter({ hasText: 'Per step' }).waitFor();
    for (const name of ['Start', 'Pause', 'Resume', 'Cancel campaign']) expect(await page.getByRole('button', { name }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
    await noSeriousViolations(page);

    await page.goto(`/campaigns/${campaignId}/edit`);
    await page.getByText('You can read this campaign; changing it needs an admin.').waitFor();
    expect(await page.getByLabel('Step 1 subject').getAttribute('readonly')).not.toBeNull();
    for (const name of ['Save', 'Add step', 'Upload contacts', 'Remove step 1']) expect(await page.getByRole('button', { name }).count()).toBe(0);
    expect(await page.getByLabel('ann@cpages-sink.example').isDisabled()).toBe(true);
    await page.getByTestId('preview-1').waitFor();
    await noSeriousViolations(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
