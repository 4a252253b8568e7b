/**
 * Sends happen on time, with the real orchestrator, real PM2, the compiled worker and real
 * time: a follow-up goes out when it is due (not at the worker's 5-minute safety poll), and
 * editing a running campaign's window wakes its sleeping worker at once. Everything a user
 * does goes through the HTTP API; the workers run with the default idlePollMs (5 minutes) and
 * reconcile interval (30 s), so neither can be what makes the sends timely.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { loadConfig, type Config } from '../../src/config';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { Orchestrator } from '../../src/orchestrator/orchestrator';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { waitFor } from '../helpers/wait-for';
import { addSenderDomain, bearer, createUser, JWT_SECRET, login } from '../http/admin-api.helpers';

jest.setTimeout(180_000);

afterAll(async () => {
  await orchestrator?.stop({ killDaemon: true });
  await peer?.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});
const t = useTestDatabase();
const logger = createLogger('error');
let tempDir: string;
let config: Config;
let peer: SmtpPeer;
let orchestrator: Orchestrator | undefined;
let app: Express;
let token: string;

beforeAll(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-timely-'));
  const configFile = path.join(tempDir, 'config.json');
  // Only what a test needs to see quickly; idlePollMs and reconcileIntervalMs stay at their defaults.
  fs.writeFileSync(configFile, JSON.stringify({ orchestrator: { heartbeatIntervalMs: 1000, workerStopTimeoutMs: 10_000, nodeLeaseMs: 60_000 } }));
  config = loadConfig({ DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2'), NODE_ID: 'node-timely', LOG_LEVEL: 'warn', JWT_SECRET });
  expect(config.sending.idlePollMs).toBe(300_000);
  expect(config.orchestrator.reconcileIntervalMs).toBe(30_000);
  peer = await startSmtpPeer();
  app = createApp({ config, db: t.db, logger });
  await createUser(t.db, 'timely-owner@example.com', 'owner', null);
  token = (await login(app, 'timely-owner@example.com')).accessToken;
  orchestrator = new Orchestrator({ db: t.db, connectionString: t.url, config, logger, workerEnv: { CONFIG_FILE: configFile }, listen: true });
  await orchestrator.start();
});

const api = () => request(app);

/** A client, one sink mailbox (no gap) at the peer, and a campaign with these steps and window, started through the API. */
async function launch(name: string, steps: Array<{ delayMinutes: number }>, window: { windowStartMinute: number; windowEndMinute: number }) {
  const client = await api().post('/api/clients').set(bearer(token)).send({ name, postalAddress: '1 Main St, Springfield' });
  expect(client.status).toBe(201);
  // Each client sends from a domain of its own.
  await addSenderDomain(app, token, `${name}.sender.example`, { clientId: client.body.id });
  const account = await api()
    .post('/api/accounts')
    .set(bearer(token))
    .send({ clientId: client.body.id, email: `box@${name}.sender.example`, transport: 'sink', transportSettings: { host: peer.host, port: peer.port }, minGapSeconds: 0, warmupEnabled: false });
  expect(account.status).toBe(201);
  const campaign = await api()
    .post('/api/campaigns')
    .set(bearer(token))
    .send({
      clientId: client.body.id,
      name,
      timeZone: 'UTC',
      sendDays: [1, 2, 3, 4, 5, 6, 7],
      ...window,
      senderAccountIds: [account.body.id],
      steps: steps.map((s, i) => ({ subject: `Step ${i + 1} for {{first_name|you}}`, bodyText: `Hello {{first_name|there}}, step ${i + 1}.`, delayMinutes: s.delayMinutes })),
    });
  expect(campaign.status).toBe(201);
  const imported = await api().post(`/api/campaigns/${campaign.body.id}/contacts/import`).set(bearer(token)).attach('file', Buffer.from(`email,first_name\n${name}-lead@example.com,Lee\n`), 'contacts.csv');
  expect(imported.status).toBe(200);
  const started = await api().post(`/api/campaigns/${campaign.body.id}/start`).set(bearer(token));
  expect(started.status).toBe(200);
  return { accountId: account.body.id as string, campaignId: campaign.body.id as string };
}

const rows = (campaignId: string) => t.db.selectFrom('email_queue').selectAll().where('campaign_id', '=', campaignId).orderBy('step_number').execute();
const workerPid = async (accountId: string) => (await orchestrator!.supervisor.list()).find((p) => p.accountId === accountId && p.status === 'online' && p.pid > 0)?.pid;

describe('sends on time', () => {
  it('sends a follow-up within 5 s of its due time, by the same worker, which slept until then', async () => {
    const { accountId, campaignId } = await launch('followup', [{ delayMinutes: 0 }, { delayMinutes: 1 }], { windowStartMinute: 0, windowEndMinute: 1440 });
    await orchestrator!.reconcile();
    const first = await waitFor(async () => (await rows(campaignId)).find((r) => r.step_number === 1 && r.status === 'sent'), 'step 1 sent', 30_000);
    const pid = await workerPid(accountId);
    expect(pid).toBeDefined();
    // The same process all along the wait: no stop and start every reconcile.
    const pids = new Set<number | undefined>();
    const second = await waitFor(async () => {
      const sent = (await rows(campaignId)).find((r) => r.step_number === 2 && r.status === 'sent');
      if (!sent) pids.add(await workerPid(accountId));
      return sent;
    }, 'step 2 sent', 100_000);
    const due = first.sent_at!.getTime() + 60_000;
    expect(second.sent_at!.getTime()).toBeGreaterThanOrEqual(due);
    expect(second.sent_at!.getTime() - due).toBeLessThanOrEqual(5_000);
    expect([...pids]).toEqual([pid]);
  });

  it("wakes a worker waiting for its campaign's window as soon as the window is edited to open", async () => {
    const nowMinute = new Date().getUTCHours() * 60 + new Date().getUTCMinutes();
    // Opens in two hours and lasts an hour: closed now.
    const closed = { windowStartMinute: (nowMinute + 120) % 1440, windowEndMinute: (nowMinute + 180) % 1440 };
    const { accountId, campaignId } = await launch('window', [{ delayMinutes: 0 }], closed);
    await orchestrator!.reconcile();
    const waiting = await waitFor(async () => {
      const beat = await t.db.selectFrom('worker_heartbeats').selectAll().where('account_id', '=', accountId).executeTakeFirst();
      // Two hours is beyond the keep-alive: the worker exits (idle_exit) until shortly before then.
      return (beat?.state === 'waiting' || beat?.state === 'idle_exit') && beat.details.reason === 'outside_window' ? beat : undefined;
    }, 'worker waiting for the window', 30_000);
    // It knows when the window opens, so it would sleep (or stay exited) until then.
    expect(new Date(String(waiting.details.until)).getTime()).toBeGreaterThan(Date.now() + 110 * 60_000);
    expect((await rows(campaignId))[0]!.status).toBe('queued');

    const edited = await api().patch(`/api/campaigns/${campaignId}`).set(bearer(token)).send({ windowStartMinute: 0, windowEndMinute: 1440 });
    expect(edited.status).toBe(200);
    const editedAt = Date.now();
    const sent = await waitFor(async () => (await rows(campaignId)).find((r) => r.status === 'sent'), 'row sent after the edit', 20_000);
    expect(sent.sent_at!.getTime() - editedAt).toBeLessThan(5_000);
  });
});
