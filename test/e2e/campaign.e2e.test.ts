/**
 * A client runs a real two-step campaign end to end: everything is set up through the public
 * HTTP API (owner → client → client admin → domain, three SMTP mailboxes, 200 contacts, a
 * campaign), then the real SendWorker of each mailbox sends through the real SMTP transport to
 * a local smtp-server, and the messages that arrive are used as a recipient would use them:
 * open pixel, tracked link, one-click unsubscribe. The workers run on a clock the test
 * drives, so the follow-up delay passes without waiting.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { simpleParser, type ParsedMail } from 'mailparser';
import request from 'supertest';
import type { Config } from '../../src/config';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { createApp, createTrackingEventWriterFor } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { Schedules } from '../../src/orchestrator/schedules';
import { openAccountTransport } from '../../src/sending/account-transport';
import { SendWorker } from '../../src/sending/send-worker';
import { TRANSPARENT_GIF } from '../../src/tracking/pixel';
import type { TrackingEventWriter } from '../../src/tracking/tracking-event.writer';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import type { Transport } from '../../src/transports/transport';
import { bearer, createUser, login, testConfig, TEST_PASSWORD } from '../http/admin-api.helpers';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type ReceivedMessage, type SmtpPeer } from '../helpers/smtp-peer';
import { ControlledClock, runUntil, silentLogger, workerSettings } from '../sending/worker-harness';

const CONTACT_COUNT = 200;
const FOLLOW_UP_DELAY_MINUTES = 60;
const SMTP_LOGIN = { user: 'e2e-mailbox-login', pass: 'e2e-mailbox-password' };
const POSTAL_ADDRESS = '42 Harbour Road, Portsmouth PO1 2AB, United Kingdom';
const CLICK_TARGET = 'https://www.example.com/pricing?plan=team&ref=e2e';
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

const logger = createLogger('error');
const database = useTestDatabase();

interface Received {
  raw: ReceivedMessage;
  mail: ParsedMail;
  messageId: string;
  to: string;
  from: string;
  /** Unfolded header values by lower-case name, as they were on the wire. */
  header: (name: string) => string | undefined;
}

async function parse(message: ReceivedMessage): Promise<Received> {
  const mail = await simpleParser(message.raw);
  const lines = new Map(mail.headerLines.map((h) => [h.key, h.line.slice(h.line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim()]));
  return { raw: message, mail, messageId: mail.messageId ?? '', to: message.to[0] ?? '', from: message.from, header: (name) => lines.get(name.toLowerCase()) };
}

function csvOfContacts(count: number): string {
  const rows = ['email,first_name,last_name,company'];
  for (let i = 0; i < count; i++) rows.push(`recipient${String(i).padStart(3, '0')}@example.com,First${i},Last${i},Company ${i}`);
  return `${rows.join('\n')}\n`;
}

describe('a client runs a two-step campaign end to end through the API and real SMTP sending', () => {
  let peer: SmtpPeer;
  let config: Config;
  let app: Express;
  let events: TrackingEventWriter;

  beforeAll(async () => {
    peer = await startSmtpPeer({ auth: SMTP_LOGIN });
    // The workers' controlled clock stamps sent_at, so how soon after "sending" a click comes
    // depends on how long the run took; the link-scanner window (a click within N seconds of
    // the send is a scanner) would make the human click below flaky. Everything else is default.
    const overrides = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-e2e-')), 'config.json');
    fs.writeFileSync(overrides, JSON.stringify({ tracking: { scannerClickWindowSeconds: 0 } }));
    config = testConfig({ CONFIG_FILE: overrides, BASE_URL: 'https://track.e2e.example' });
    events = createTrackingEventWriterFor({ config, db: database.db, logger });
    app = createApp({ config, db: database.db, logger, trackingEvents: events });
  });
  afterAll(async () => {
    await events?.stop();
    await peer?.close();
  });

  /** Runs the real SendWorker of every account at once, each with its own real SMTP transport, until `done()`. */
  async function runWorkers(accountIds: string[], clock: ControlledClock, done: () => Promise<boolean>): Promise<void> {
    const cipher = createCredentialCipher(config.credentialKeys);
    const signer = trackingSignerFor(config);
    const transports: Transport[] = [];
    try {
      for (const id of accountIds) {
        const transport = await openAccountTransport(database.db, id, cipher);
        if (!transport) throw new Error(`no transport for account ${id}`);
        transports.push(transport);
      }
      const exits = await Promise.all(
        accountIds.map((id, i) => {
          const worker = new SendWorker(id, {
            db: database.db,
            transport: transports[i] as Transport,
            clock,
            logger: silentLogger,
            signer,
            // Limits of the process are lifted (the accounts' own limits come from the API).
            settings: workerSettings({ claim: { batchSize: 5 } }),
          });
          return runUntil(worker, done, 60_000);
        }),
      );
      for (const exit of exits) expect(exit.reason).toBe('stopped');
    } finally {
      await Promise.all(transports.map((t) => t.close()));
    }
  }

  const sentCount = async (campaignId: string, stepNumber: number) =>
    Number(
      (
        await database.db
          .selectFrom('email_queue')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('campaign_id', '=', campaignId)
          .where('step_number', '=', stepNumber)
          .where('status', '=', 'sent')
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('delivers step 1 to every contact with working tracking and unsubscribe, threads the follow-up from the same mailbox, skips the unsubscriber, the stats add up, and the campaign completes', async () => {
    // --- Owner creates the client and its admin; the admin sets everything up. ---
    await createUser(database.db, 'owner@e2e.example', 'owner', null);
    const owner = await login(app, 'owner@e2e.example');
    const client = await request(app).post('/api/clients').set(bearer(owner.accessToken)).send({ name: 'Harbour Outreach Ltd', postalAddress: POSTAL_ADDRESS });
    expect(client.status).toBe(201);
    const clientId = (client.body as { id: string }).id;
    const adminUser = await request(app)
      .post('/api/users')
      .set(bearer(owner.accessToken))
      .send({ email: 'admin@harbour.example', password: TEST_PASSWORD, role: 'client_admin', clientId });
    expect(adminUser.status).toBe(201);
    const admin = bearer((await login(app, 'admin@harbour.example')).accessToken);

    const domain = await request(app).post('/api/domains').set(admin).send({ domain: 'mail.harbour.example' });
    expect(domain.status).toBe(201);
    const domainId = (domain.body as { id: string }).id;

    const accountIds: string[] = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const account = await request(app)
        .post('/api/accounts')
        .set(admin)
        .send({
          transport: 'smtp',
          email: `${name}@mail.harbour.example`,
          displayName: `${name[0]!.toUpperCase()}${name.slice(1)} Harbour`,
          domainId,
          transportSettings: { host: peer.host, port: peer.port, secure: false, requireTLS: false },
          credentials: SMTP_LOGIN,
          dailyLimit: 100_000,
          hourlyLimit: 100_000,
          minGapSeconds: 0,
          warmupEnabled: false,
        });
      expect(account.status).toBe(201);
      expect(JSON.stringify(account.body)).not.toContain(SMTP_LOGIN.pass);
      accountIds.push((account.body as { id: string }).id);
    }

    const campaign = await request(app)
      .post('/api/campaigns')
      .set(admin)
      .send({
        name: 'Spring pricing',
        timeZone: 'UTC',
        useRecipientTimeZone: false,
        sendDays: [1, 2, 3, 4, 5, 6, 7],
        windowStartMinute: 0,
        windowEndMinute: 1440,
        dailyLimit: null,
        trackOpens: true,
        trackClicks: true,
        stopOnReply: true,
        senderAccountIds: accountIds,
        steps: [
          {
            subject: 'A question for {{company|your team}}',
            bodyHtml: `<p>Hi {{first_name|there}},</p><p>Have a look at <a href="${CLICK_TARGET.replace(/&/g, '&amp;')}">our team plan</a>.</p>`,
            bodyText: `Hi {{first_name|there}},\n\nHave a look at our team plan: ${CLICK_TARGET}\n`,
            delayMinutes: 0,
          },
          { subject: '', bodyHtml: '<p>Just following up on my note, {{first_name|there}}.</p>', bodyText: 'Just following up on my note, {{first_name|there}}.', delayMinutes: FOLLOW_UP_DELAY_MINUTES },
        ],
      });
    expect(campaign.status).toBe(201);
    const campaignId = (campaign.body as { id: string }).id;

    const imported = await request(app).post(`/api/campaigns/${campaignId}/contacts/import`).set(admin).set('Content-Type', 'text/csv').send(csvOfContacts(CONTACT_COUNT));
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ rows: CONTACT_COUNT, imported: CONTACT_COUNT, invalid: 0, suppressed: 0, attachedToCampaign: CONTACT_COUNT });

    const started = await request(app).post(`/api/campaigns/${campaignId}/start`).set(admin);
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ campaign: { status: 'running' }, queued: CONTACT_COUNT, skippedSuppressed: 0 });

    // --- Step 1: the three mailboxes' workers send to everyone. ---
    const clock = new ControlledClock(Date.now());
    await runWorkers(accountIds, clock, async () => (await sentCount(campaignId, 1)) === CONTACT_COUNT);

    const step1 = await Promise.all(peer.received.map(parse));
    expect(step1).toHaveLength(CONTACT_COUNT);
    expect(new Set(step1.map((m) => m.messageId)).size).toBe(CONTACT_COUNT);
    expect(new Set(step1.map((m) => m.to)).size).toBe(CONTACT_COUNT);
    const senderEmails = new Set(accountIds.map((_, i) => `${['alice', 'bob', 'carol'][i]}@mail.harbour.example`));
    // The pool was used: every mailbox sent part of step 1, and nothing else sent.
    expect(new Set(step1.map((m) => m.from))).toEqual(senderEmails);
    for (const m of step1) {
      expect(m.raw.user).toBe(SMTP_LOGIN.user);
      expect(m.messageId).toMatch(/^<[^@<>\s]+@mail\.harbour\.example>$/);
      expect(m.header('list-unsubscribe')).toMatch(/^<https:\/\/track\.e2e\.example\/u\/[^>\s]+>$/);
      expect(m.header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      const unsubscribeUrl = m.header('list-unsubscribe')!.slice(1, -1);
      const html = typeof m.mail.html === 'string' ? m.mail.html : '';
      expect(html).toContain(`href="${unsubscribeUrl}"`);
      expect(html).toContain(POSTAL_ADDRESS);
      expect(m.mail.text).toContain(`Unsubscribe: ${unsubscribeUrl}`);
      expect(m.mail.text).toContain(POSTAL_ADDRESS);
      expect(html).toMatch(/<img src="https:\/\/track\.e2e\.example\/t\/o\/[^"]+\.gif"/);
      // Click tracking rewrote the link: the original target is not in the HTML any more.
      expect(html).toMatch(/<a href="https:\/\/track\.e2e\.example\/t\/c\/[^"]+">our team plan<\/a>/);
      expect(html).not.toContain('www.example.com/pricing');
    }

    // --- A recipient opens, clicks, and another one unsubscribes with one click. ---
    const reader = step1.find((m) => m.to === 'recipient007@example.com')!;
    const readerHtml = reader.mail.html as string;
    const pixelPath = new URL(/<img src="([^"]+)"/.exec(readerHtml)![1]!).pathname;
    const pixel = await request(app)
      .get(pixelPath)
      .set('User-Agent', BROWSER_UA)
      .buffer(true)
      .parse((res, callback) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => callback(null, Buffer.concat(chunks)));
      });
    expect(pixel.status).toBe(200);
    expect(pixel.headers['content-type']).toBe('image/gif');
    expect(pixel.body).toEqual(TRANSPARENT_GIF);

    const clickPath = new URL(/<a href="(https:\/\/track\.e2e\.example\/t\/c\/[^"]+)"/.exec(readerHtml)![1]!).pathname;
    const click = await request(app).get(clickPath).set('User-Agent', BROWSER_UA).redirects(0);
    expect(click.status).toBe(302);
    expect(click.headers.location).toBe(CLICK_TARGET);

    const leaver = step1.find((m) => m.to === 'recipient042@example.com')!;
    const unsubscribePath = new URL(leaver.header('list-unsubscribe')!.slice(1, -1)).pathname;
    const unsubscribe = await request(app).post(unsubscribePath).type('form').send('List-Unsubscribe=One-Click').redirects(0);
    expect(unsubscribe.status).toBe(200);
    expect(unsubscribe.headers['set-cookie']).toBeUndefined();

    // --- Step 2: the follow-up delay passes on the workers' clock. ---
    clock.advance((FOLLOW_UP_DELAY_MINUTES + 1) * 60_000);
    await runWorkers(accountIds, clock, async () => (await sentCount(campaignId, 2)) === CONTACT_COUNT - 1);

    const all = await Promise.all(peer.received.map(parse));
    expect(all).toHaveLength(2 * CONTACT_COUNT - 1);
    expect(new Set(all.map((m) => m.messageId)).size).toBe(all.length);
    const step1ByRecipient = new Map(step1.map((m) => [m.to, m]));
    const step2 = all.slice(CONTACT_COUNT);
    expect(new Set(step2.map((m) => m.to)).size).toBe(CONTACT_COUNT - 1);
    expect(step2.some((m) => m.to === leaver.to)).toBe(false);
    expect(all.filter((m) => m.to === leaver.to)).toHaveLength(1);
    for (const m of step2) {
      const first = step1ByRecipient.get(m.to)!;
      expect(first).toBeDefined();
      expect(m.from).toBe(first.from);
      expect(m.mail.inReplyTo).toBe(first.messageId);
      expect(m.header('in-reply-to')).toBe(first.messageId);
      expect(m.header('references')).toBe(first.messageId);
      expect(m.mail.subject).toBe(`Re: ${first.mail.subject}`);
      expect(m.header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      expect(m.mail.text).toContain(POSTAL_ADDRESS);
    }

    // --- The numbers add up, from the stats API and against what the peer received. ---
    await events.flush();
    const stats = await request(app).get(`/api/campaigns/${campaignId}/stats`).set(admin);
    expect(stats.status).toBe(200);
    const body = stats.body as {
      totals: Record<string, number>;
      steps: Array<Record<string, number>>;
      accounts: Array<Record<string, number> & { accountId: string | null }>;
    };
    expect(body.totals).toMatchObject({ queued: 0, sent: 2 * CONTACT_COUNT - 1, bounced: 0, replied: 0, unsubscribed: 1 });
    expect(body.totals.sent).toBe(peer.received.length);
    expect(body.totals.opened).toBeGreaterThanOrEqual(1);
    expect(body.totals.clicked).toBeGreaterThanOrEqual(1);
    expect(body.steps.map((s) => [s.stepNumber, s.sent, s.queued])).toEqual([
      [1, CONTACT_COUNT, 0],
      [2, CONTACT_COUNT - 1, 0],
    ]);
    const byAccount = new Map(body.accounts.map((a) => [a.accountId, a.sent]));
    const accountEmails = await request(app).get('/api/accounts').set(admin);
    for (const account of (accountEmails.body as { accounts: Array<{ id: string; email: string; status: string }> }).accounts) {
      expect(account.status).toBe('active');
      expect(byAccount.get(account.id)).toBe(all.filter((m) => m.from === account.email).length);
    }

    // No failures: every row ended sent, except the unsubscriber's follow-up, which never went out.
    const rows = await database.db.selectFrom('email_queue').select(['status', 'step_number', 'to_email']).where('campaign_id', '=', campaignId).execute();
    expect(rows.filter((r) => r.status !== 'sent')).toEqual(rows.filter((r) => r.step_number === 2 && r.to_email === leaver.to && r.status !== 'sent'));
    expect(rows.filter((r) => r.status !== 'sent').every((r) => ['cancelled', 'suppressed'].includes(r.status))).toBe(true);
    const sendLogs = await database.db.selectFrom('send_logs').select('outcome').where('campaign_id', '=', campaignId).execute();
    expect(sendLogs).toHaveLength(2 * CONTACT_COUNT - 1);
    expect(sendLogs.every((l) => l.outcome === 'accepted')).toBe(true);
    // The unsubscriber's follow-up is the one row neither sent nor waiting, and the stats say which state it is in.
    expect(body.totals.cancelled! + body.totals.suppressed!).toBe(1);

    // --- Nothing is left waiting: the completion job (run as its schedule runs it) completes the campaign. ---
    const schedules = new Schedules({ db: database.db, config, logger, onNewDay: () => undefined });
    expect(await schedules.completeCampaigns()).toBe(1);
    const finished = await request(app).get(`/api/campaigns/${campaignId}`).set(admin);
    expect(finished.body).toMatchObject({ status: 'completed', completedAt: expect.any(String) });
  }, 180_000);
});
