/**
 * The console's fleet page in Debian's Chromium, with 1,200 mailboxes (the design's fleet),
 * served by the real app (compiled console in dist/web) over a fresh database:
 *   console_fleet_render_ms  navigation to /fleet (signed in: the session is restored from
 *                            the tab's refresh token) until the table's first rows are in the
 *                            DOM; median of RENDER_RUNS navigations. Goal ≤ 1,000 ms.
 *   console_fleet_filter_ms  one keystroke in the search box until the filtered table has
 *                            been rendered and a frame painted; median of FILTER_RUNS. Goal ≤ 100 ms.
 *   console_bundle_kb        gzipped size (level 9) of every JS file the browser fetched for the
 *                            first page: index.html's entry chunk and what the fleet page loads
 *                            lazily. Goal ≤ 150 KB.
 * Runs alone with `npm run bench -- --only console-fleet`.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import { insertAccounts, type NewAccount } from '../../src/accounts/account.repository';
import { hashPassword } from '../../src/auth/password';
import { loadConfig } from '../../src/config';
import { createApp } from '../../src/http/app';
import { CONSOLE_DIR } from '../../src/http/console.routes';
import { createLogger } from '../../src/logger';
import { withBenchDatabase } from './bench-database';
import type { BenchContext } from './registry';

export const name = 'console-fleet';

const MAILBOXES = 1200;
const RENDER_RUNS = 7;
const FILTER_RUNS = 9;
const PASSWORD = 'bench password 1200';
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const FIRST_ROW = 'table.vt tbody tr[aria-rowindex="2"]';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator(FIRST_ROW).waitFor();
}

/**
 * One keystroke measured inside the page: the input event is dispatched as typing does, then
 * the clock stops once the row count says the table was filtered and the next frame is painted.
 * Written as a string: this script is compiled without the DOM's types.
 */
const KEYSTROKE = `(async ([value]) => {
  const input = document.getElementById('fleet-search');
  const count = document.querySelector('.fleet-count');
  const before = count.textContent;
  const start = performance.now();
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  while (count.textContent === before) await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return performance.now() - start;
})`;

export async function run(context: BenchContext): Promise<Record<string, number>> {
  if (!fs.existsSync(path.join(CONSOLE_DIR, 'index.html'))) throw new Error('the console is not built: run npm run build');
  const config = loadConfig();
  return withBenchDatabase(async ({ db }) => {
    const client = await db.insertInto('clients').values({ name: 'bench fleet' }).returning('id').executeTakeFirstOrThrow();
    const accounts: NewAccount[] = Array.from({ length: MAILBOXES }, (_, i) => ({
      email: `box${String(i).padStart(4, '0')}@fleet${i % 12}.example.com`,
      transport: 'sink',
      status: i % 17 === 0 ? 'paused' : 'active',
      dailyLimit: 50 + (i % 100),
    }));
    for (let i = 0; i < accounts.length; i += 500) await insertAccounts(db, client.id, accounts.slice(i, i + 500));
    await db.insertInto('users').values({ email: 'bench-owner@example.com', role: 'owner', client_id: null, password_hash: await hashPassword(PASSWORD) }).execute();

    const server = http.createServer(createApp({ config, db, logger: createLogger('error') }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    try {
      // Bundle: a fresh browser context (empty cache), everything fetched up to the fleet's rows.
      const bundleContext = await browser.newContext({ baseURL, viewport: { width: 1440, height: 900 } });
      const bundlePage = await bundleContext.newPage();
      const scripts = new Set<string>();
      bundlePage.on('response', (response) => {
        const url = new URL(response.url());
        if (url.pathname.endsWith('.js')) scripts.add(url.pathname);
      });
      await signIn(bundlePage, 'bench-owner@example.com');
      let gzipped = 0;
      for (const script of scripts) gzipped += zlib.gzipSync(fs.readFileSync(path.join(CONSOLE_DIR, script)), { level: 9 }).length;
      context.log(`first page JS: ${[...scripts].map((s) => path.basename(s)).join(', ')}`);

      // Render: the same tab navigating to /fleet again and again (assets cached, session restored).
      const renders: number[] = [];
      for (let i = 0; i < RENDER_RUNS; i++) {
        await bundlePage.goto('about:blank');
        const start = performance.now();
        await bundlePage.goto('/fleet');
        await bundlePage.locator(FIRST_ROW).waitFor();
        renders.push(performance.now() - start);
      }
      const timeline = (await bundlePage.evaluate(
        `[['html', 0, Math.round(performance.getEntriesByType('navigation')[0].responseEnd)], ...performance.getEntriesByType('resource').map((e) => [e.name.replace(location.origin, '').slice(0, 40), Math.round(e.startTime), Math.round(e.responseEnd)])]`,
      )) as [string, number, number][];
      context.log(`last navigation (ms from its start): ${timeline.map(([what, from, to]) => `${what} ${from}–${to}`).join('; ')}`);
      const apiMs = (await bundlePage.evaluate(
        `performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/accounts')).map((e) => Math.round(e.responseEnd - e.startTime))`,
      )) as number[];
      context.log(`GET /api/accounts pages of the last navigation, ms: ${apiMs.join(' ')}`);
      const rowsInDom = await bundlePage.locator('table.vt tbody tr').count();
      context.log(`render ms: ${renders.map((ms) => ms.toFixed(0)).join(' ')}; rows in the DOM for ${MAILBOXES} mailboxes: ${rowsInDom}`);

      const filters: number[] = [];
      for (let i = 0; i < FILTER_RUNS; i++) {
        const digit = String((i % 9) + 1);
        filters.push(await bundlePage.evaluate(`${KEYSTROKE}(['${digit}'])`));
        await bundlePage.evaluate(`${KEYSTROKE}([''])`);
      }
      context.log(`filter ms: ${filters.map((ms) => ms.toFixed(1)).join(' ')}`);
      await bundleContext.close();
      return {
        console_fleet_render_ms: Math.round(median(renders)),
        console_fleet_filter_ms: Math.round(median(filters) * 10) / 10,
        console_bundle_kb: Math.round(gzipped / 102.4) / 10,
      };
    } finally {
      await browser.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
}
