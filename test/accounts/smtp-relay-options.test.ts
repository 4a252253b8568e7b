/**
 * The SMTP options real relays need, along the user's path: an account is set up through the
 * HTTP API (or the account CSV import) with STARTTLS to a relay whose certificate comes from a
 * private CA, no AUTH (the relay allows the host by its address), a pool of several connections
 * and its own EHLO name; then the compiled send worker, started with the environment the server
 * gives its workers (WORKER_NODE_EXTRA_CA_CERTS), sends a campaign to a real smtp-server, which
 * says what it saw. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Config } from '../../src/config';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useTestDatabase } from '../helpers/database';
import { createPrivateCa } from '../helpers/private-ca';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { waitFor } from '../helpers/wait-for';
import { WORKER_ENTRY } from '../helpers/worker-process';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { addContacts, createCampaign, queueRows } from '../queue/fixtures';

const t = useTestDatabase();

let dir: string;
let peer: SmtpPeer;
/** The same relay's address, but its certificate names another host. */
let impostor: SmtpPeer;
let config: Config;
let world: World;
const api = () => request(world.app);
const auth = () => bearer(world.a.adminToken);

beforeAll(async () => {
  if (!fs.existsSync(WORKER_ENTRY)) throw new Error('dist/workers/send-worker.js is missing: run `npm run build` first');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-relay-'));
  const ca = createPrivateCa(dir, 'relay');
  // A relay that offers STARTTLS with the private CA's certificate and needs no AUTH.
  peer = await startSmtpPeer({ tls: ca.issue({ ip: '127.0.0.1' }) });
  impostor = await startSmtpPeer({ tls: ca.issue({ dns: ['relay.elsewhere.example'] }) });
  const configFile = path.join(dir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ sending: { claimBatchSize: 10, globalPerMinute: 1_000_000, recipientDomainDailyLimit: 1_000_000, senderDomainDailyLimit: 1_000_000, idlePollMs: 200 } }));
  config = testConfig({ CONFIG_FILE: configFile, WORKER_NODE_EXTRA_CA_CERTS: ca.caFile });
  world = await createWorld(t.db, testApp(t.db, config), 'relay');
  // An account's address must be on a sender domain of its client.
  await addSenderDomain(world.app, world.a.adminToken, 'harbour.example');
});
afterAll(async () => {
  await peer.close();
  await impostor.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the compiled worker of an account, as the server would start it, until `done()`. */
async function runWorker(accountId: string, done: () => Promise<boolean>): Promise<void> {
  const child = spawn(process.execPath, [WORKER_ENTRY, '--account', accountId], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: t.url, ...config.workerEnv, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor(
      async () => {
        const exitCode = child.exitCode;
        if (await done()) return true;
        if (exitCode !== null) throw new Error(`worker exited (${exitCode}) first: ${output}`);
        return false;
      },
      'the worker',
      30_000,
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const relaySettings = () => ({ host: peer.host, port: peer.port, maxConnections: 3, ehloName: 'mail.harbour.example' });
// Lifted so that the worker sends the whole campaign at once.
const unlimited = { dailyLimit: 10_000, hourlyLimit: 10_000, minGapSeconds: 0, warmupEnabled: false };

describe('SMTP relay options of an account', () => {
  it('sends over STARTTLS with the private CA, without AUTH, over 3 connections and with its EHLO name, as set through the API', async () => {
    const created = await api()
      .post('/api/accounts')
      .set(auth())
      .send({ email: 'outreach@harbour.example', transport: 'smtp', transportSettings: relaySettings(), ...unlimited });
    expect(created.status).toBe(201);
    const shown = { ...relaySettings(), secure: false, requireTLS: true };
    expect(created.body).toMatchObject({ hasCredentials: false, transportSettings: shown });
    expect((await api().get(`/api/accounts/${created.body.id}`).set(auth())).body.transportSettings).toEqual(shown);

    const campaign = await createCampaign(t.db, world.a.clientId, { senders: [created.body.id] });
    await addContacts(t.db, world.a.clientId, campaign.id, 9);
    await enqueueCampaign(t.db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'relay.test' });
    await runWorker(created.body.id, async () => (await queueRows(t.db, campaign.id)).every((r) => r.status === 'sent'));

    expect(peer.received).toHaveLength(9);
    for (const message of peer.received) expect(message).toMatchObject({ secure: true, user: undefined, ehlo: 'mail.harbour.example', from: 'outreach@harbour.example' });
    // The batch went out over three connections at once, no more.
    expect(new Set(peer.received.map((m) => m.sessionId)).size).toBe(3);
    expect(peer.connections.peak).toBe(3);
  });

  it('suspends an account whose relay shows a certificate for another host, saying why, and sends nothing', async () => {
    const created = await api()
      .post('/api/accounts')
      .set(auth())
      .send({ email: 'mitm@harbour.example', transport: 'smtp', transportSettings: { host: impostor.host, port: impostor.port }, ...unlimited });
    expect(created.status).toBe(201);
    const campaign = await createCampaign(t.db, world.a.clientId, { senders: [created.body.id] });
    await addContacts(t.db, world.a.clientId, campaign.id, 2);
    await enqueueCampaign(t.db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'relay.test' });
    const status = async () => (await t.db.selectFrom('sender_accounts').select('status').where('id', '=', created.body.id).executeTakeFirstOrThrow()).status;
    await runWorker(created.body.id, async () => (await status()) === 'suspended');

    expect(impostor.received).toHaveLength(0);
    expect((await queueRows(t.db, campaign.id)).map((r) => r.status)).toEqual(['queued', 'queued']);
    const account = (await api().get(`/api/accounts/${created.body.id}`).set(auth())).body;
    expect(account).toMatchObject({ status: 'suspended', lastError: { outcome: 'auth', reason: 'tls_certificate_invalid', response: expect.stringMatching(/altnames/) } });
    const alerts = await t.db.selectFrom('alerts').select(['code', 'message']).where('account_id', '=', created.body.id).execute();
    expect(alerts).toEqual([{ code: 'account_auth_failed', message: expect.stringMatching(/^Sender mitm@harbour\.example was suspended: .*certificate/) }]);
  });

  it('refuses pool sizes out of 1-10, EHLO names that are not fully qualified host names, and IMAP without credentials, naming the field', async () => {
    const base = { email: 'bad@harbour.example', transport: 'smtp', credentials: { user: 'u', pass: 'p' } };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ maxConnections: 0 }, 'transportSettings.maxConnections'],
      [{ maxConnections: 11 }, 'transportSettings.maxConnections'],
      [{ maxConnections: 2.5 }, 'transportSettings.maxConnections'],
      [{ ehloName: '[127.0.0.1]' }, 'transportSettings.ehloName'],
      [{ ehloName: '127.0.0.1' }, 'transportSettings.ehloName'],
      [{ ehloName: 'localhost' }, 'transportSettings.ehloName'],
      [{ ehloName: 'mail_1.example.com' }, 'transportSettings.ehloName'],
      [{ ehloName: '-mail.example.com' }, 'transportSettings.ehloName'],
      [{ ehloName: 'mail.example.com\r\nRCPT TO:<x@example.com>' }, 'transportSettings.ehloName'],
    ];
    for (const [settings, field] of cases) {
      const res = await api()
        .post('/api/accounts')
        .set(auth())
        .send({ ...base, transportSettings: { host: 'smtp.example.com', port: 587, ...settings } });
      expect({ settings, status: res.status }).toEqual({ settings, status: 400 });
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(field);
    }
    const imapWithoutLogin = await api()
      .post('/api/accounts')
      .set(auth())
      .send({ email: 'bad@harbour.example', transport: 'smtp', transportSettings: { host: 'smtp.example.com', port: 587, imap: { host: 'imap.example.com', port: 993 } } });
    expect(imapWithoutLogin.status).toBe(400);
    expect(imapWithoutLogin.body.error.details.issues).toEqual([expect.objectContaining({ path: 'credentials' })]);
  });

  it('takes implicit TLS by default on port 465, and changes the options and removes the credentials with PATCH', async () => {
    const created = await api()
      .post('/api/accounts')
      .set(auth())
      .send({ email: 'smtps@harbour.example', transport: 'smtp', transportSettings: { host: 'smtp.example.com', port: 465 }, credentials: { user: 'u', pass: 'p' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ hasCredentials: true, transportSettings: { port: 465, secure: true, maxConnections: 1 } });
    expect(created.body.transportSettings).not.toHaveProperty('ehloName');

    const patched = await api()
      .patch(`/api/accounts/${created.body.id}`)
      .set(auth())
      .send({ transportSettings: { host: 'relay.example.com', port: 25, maxConnections: 10, ehloName: 'out1.harbour.example' }, credentials: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ hasCredentials: false, transportSettings: { host: 'relay.example.com', port: 25, secure: false, requireTLS: true, maxConnections: 10, ehloName: 'out1.harbour.example' } });
    const stored = await t.db.selectFrom('sender_accounts').select('credentials_encrypted').where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(stored.credentials_encrypted).toBeNull();

    const gmail = await api()
      .post('/api/accounts')
      .set(auth())
      .send({ email: 'g@harbour.example', transport: 'gmail', credentials: { type: 'oauth2', client_id: 'c', client_secret: 's', refresh_token: 'r' } });
    const gmailWithout = await api().patch(`/api/accounts/${gmail.body.id}`).set(auth()).send({ credentials: null });
    expect(gmailWithout.status).toBe(400);
    expect(gmailWithout.body.error.details.issues).toEqual([expect.objectContaining({ path: 'credentials' })]);
  });

  it('imports the same options from the account CSV, with the same defaults and checks', async () => {
    const csv = [
      'email,smtp_host,smtp_port,smtp_secure,smtp_require_tls,smtp_max_connections,smtp_ehlo_name,smtp_user,smtp_password',
      'relay1@harbour.example,relay.example.com,25,,true,4,mail.harbour.example,,',
      'smtps1@harbour.example,smtp.example.com,465,,,,,login1,secret-1',
      'plain1@harbour.example,smtp.example.com,587,false,false,,,login2,secret-2',
      'toomany@harbour.example,relay.example.com,25,,,20,,,',
      'literal@harbour.example,relay.example.com,25,,,,[127.0.0.1],,',
    ].join('\n');
    const res = await api().post('/api/accounts/import').set(auth()).attach('file', Buffer.from(csv), 'accounts.csv');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 3, invalid: 2 });
    expect(res.body.rows.slice(3)).toEqual([
      expect.objectContaining({ email: 'toomany@harbour.example', status: 'invalid', errors: [expect.objectContaining({ path: 'transportSettings.maxConnections' })] }),
      expect.objectContaining({ email: 'literal@harbour.example', status: 'invalid', errors: [expect.objectContaining({ path: 'transportSettings.ehloName' })] }),
    ]);
    const accounts = await t.db
      .selectFrom('sender_accounts')
      .select(['email', 'transport_settings', 'credentials_encrypted'])
      .where('email', 'in', ['relay1@harbour.example', 'smtps1@harbour.example', 'plain1@harbour.example'])
      .orderBy('email')
      .execute();
    expect(accounts.map((a) => [a.email, a.transport_settings, a.credentials_encrypted !== null])).toEqual([
      ['plain1@harbour.example', { host: 'smtp.example.com', port: 587, secure: false, requireTLS: false, maxConnections: 1 }, true],
      ['relay1@harbour.example', { host: 'relay.example.com', port: 25, secure: false, requireTLS: true, maxConnections: 4, ehloName: 'mail.harbour.example' }, false],
      ['smtps1@harbour.example', { host: 'smtp.example.com', port: 465, secure: true, requireTLS: true, maxConnections: 1 }, true],
    ]);
  });

  it('documents the options in the OpenAPI document', async () => {
    const { body } = await api().get('/api/openapi.json');
    const create = body.paths['/api/accounts'].post.requestBody.content['application/json'].schema;
    const smtp = (create.oneOf ?? create.anyOf).find((v: { properties: { transport: { enum?: string[]; const?: string } } }) => (v.properties.transport.enum?.[0] ?? v.properties.transport.const) === 'smtp');
    expect(smtp.required).not.toContain('credentials');
    const settings = smtp.properties.transportSettings.properties;
    expect(settings.maxConnections).toMatchObject({ minimum: 1, maximum: 10, default: 1, description: expect.any(String) });
    expect(settings.ehloName).toMatchObject({ type: 'string', pattern: expect.any(String), description: expect.stringMatching(/EHLO/) });
    expect(settings.secure.description).toMatch(/465/);
    expect(settings.requireTLS.description).toMatch(/STARTTLS/);
  });
});
