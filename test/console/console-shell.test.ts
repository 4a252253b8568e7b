/**
 * The console's shell in real Chromium: served at / under the strict CSP, first-run path while
 * no owner exists, sign-in, navigation by role, a session that survives a reload of the tab,
 * and the API's JSON 404 kept for non-browser clients.
 */
import type { Browser } from 'playwright-core';
import request from 'supertest';
import { createUser, testApp } from '../http/admin-api.helpers';
import { useTestDatabase } from '../helpers/database';
import { launchBrowser, listen, openConsole, screenshot, seriousA11yViolations, signIn } from '../helpers/browser';

const database = useTestDatabase();
let browser: Browser;
let server: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  browser = await launchBrowser();
  server = await listen(testApp(database.db));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the console shell', () => {
  test('serves index.html to browser navigations, JSON 404 to API clients, hashed assets cached', async () => {
    const page = await request(server.baseUrl).get('/campaigns/123').set('accept', 'text/html,application/xhtml+xml');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(asset).toBeDefined();
    const js = await request(server.baseUrl).get(asset as string);
    expect(js.status).toBe(200);
    expect(js.headers['cache-control']).toContain('immutable');

    const api = await request(server.baseUrl).get('/campaigns/123');
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe('not_found');
    const missingAsset = await request(server.baseUrl).get('/assets/nope.js').set('accept', 'text/html');
    expect(missingAsset.status).toBe(404);
  });

  test('a fresh install shows the first-run command; after it, sign-in works and survives a reload', async () => {
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await page.goto('/');
    await page.getByRole('heading', { name: 'First run: create the owner' }).waitFor();
    expect(await page.locator('.first-run code').first().textContent()).toContain('npm run create-admin');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'first-run');

    await createUser(database.db, 'shell-owner@example.com', 'owner', null);
    await page.reload();
    await page.getByLabel('Email').waitFor();
    expect(await page.getByRole('heading', { name: 'First run: create the owner' }).count()).toBe(0);

    await page.getByLabel('Email').fill('shell-owner@example.com');
    await page.getByLabel('Password').fill('wrong password!!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/invalid|wrong/i);
    // A wrong password is a 401 from the API: the browser logs the failed request itself.
    errors.length = 0;

    await signIn(page, 'shell-owner@example.com');
    await page.getByRole('link', { name: 'Dev mail' }).waitFor();
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    // The access token is never in storage, only the (rotating) refresh token of this tab.
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    expect(stored).not.toMatch(/eyJ/);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  test('a client viewer sees no owner-only pages', async () => {
    const client = await database.db.insertInto('clients').values({ name: 'shell-client', postal_address: '1 Main St' }).returning('id').executeTakeFirstOrThrow();
    await createUser(database.db, 'shell-viewer@example.com', 'client_viewer', client.id);
    const { context, page, errors } = await openConsole(browser, server.baseUrl);
    await signIn(page, 'shell-viewer@example.com');
    expect(await page.getByRole('link', { name: 'Clients' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Dev mail' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Campaigns' }).count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});
