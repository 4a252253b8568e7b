/**
 * The feedback loop end to end: a client sets up a two-step campaign through the API, the real
 * SendWorker sends step 1 through the real SMTP transport to a local smtp-server, and what the
 * four recipients' sides write back, built from the mail that really arrived, comes in through
 * ingestInboundMessage as a mailbox reader hands it over: one replies, one hard-bounces by DSN
 * (not at SMTP time), one answers with an out-of-office, one complains (ARF). Afterwards only the
 * auto-replier gets step 2, and only once inbound.autoReplyDelayHours have passed.
 */
import { simpleParser } from 'mailparser';
import request from 'supertest';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { ingestInboundMessage } from '../../src/inbound/ingest';
import { inboundSettingsFrom } from '../../src/inbound/inbound-settings';
import { openAccountTransport } from '../../src/sending/account-transport';
import { SendWorker } from '../../src/sending/send-worker';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addSenderDomain, bearer, createWorld, testApp, testConfig } from '../http/admin-api.helpers';
import { arfFor, dsnFor, outOfOfficeTo, replyTo, type SentMail } from '../inbound/inbound-messages';
import { ControlledClock, runUntil, silentLogger, workerSettings } from '../sending/worker-harness';

const t = useTestDatabase();
const SMTP_LOGIN = { user: 'loop-login', pass: 'loop-password' };
const FOLLOW_UP_MINUTES = 60;
const PEOPLE = ['replier', 'bouncer', 'vacation', 'complainer'] as const;

describe('a two-step campaign hears back from its recipients', () => {
  let peer: SmtpPeer;
  beforeAll(async () => {
    peer = await startSmtpPeer({ auth: SMTP_LOGIN });
  });
  afterAll(async () => {
    await peer?.close();
  });

  it('stops the replier, the bouncer and the complainer, and sends step 2 only to the auto-replier, after its delay', async () => {
    const config = testConfig();
    const app = testApp(t.db, config);
    const world = await createWorld(t.db, app, 'loop');
    const admin = bearer(world.a.adminToken);
    const domainId = await addSenderDomain(app, world.a.adminToken, 'mail.loop.example');
    const account = await request(app)
      .post('/api/accounts')
      .set(admin)
      .send({ transport: 'smtp', email: 'sam@mail.loop.example', displayName: 'Sam', domainId, transportSettings: { host: peer.host, port: peer.port, secure: false, requireTLS: false }, credentials: SMTP_LOGIN, dailyLimit: 1000, hourlyLimit: 1000, minGapSeconds: 0, warmupEnabled: false });
    expect(account.status).toBe(201);
    const accountId = (account.body as { id: string }).id;
    const campaign = await request(app)
      .post('/api/campaigns')
      .set(admin)
      .send({
        name: 'Loop',
        timeZone: 'UTC',
        sendDays: [1, 2, 3, 4, 5, 6, 7],
        windowStartMinute: 0,
        windowEndMinute: 1440,
        stopOnReply: true,
        senderAccountIds: [accountId],
        steps: [
          { subject: 'A question for {{company|you}}', bodyText: 'Hi {{first_name|there}}, a question.', bodyHtml: '', delayMinutes: 0 },
          { subject: '', bodyText: 'Following up, {{first_name|there}}.', bodyHtml: '', delayMinutes: FOLLOW_UP_MINUTES },
        ],
      });
    expect(campaign.status).toBe(201);
    const campaignId = (campaign.body as { id: string }).id;
    const csv = ['email,first_name,company', ...PEOPLE.map((p) => `${p}@${p}-co.example,${p},${p} Co`)].join('\n');
    expect((await request(app).post(`/api/campaigns/${campaignId}/contacts/import`).set(admin).set('Content-Type', 'text/csv').send(csv)).status).toBe(200);
    expect((await request(app).post(`/api/campaigns/${campaignId}/start`).set(admin)).status).toBe(200);

    const clock = new ControlledClock(Date.now());
    const cipher = createCredentialCipher(config.credentialKeys);
    const sentTo = async (step: number) =>
      (await t.db.selectFrom('email_queue').select('to_email').where('campaign_id', '=', campaignId).where('step_number', '=', step).where('status', '=', 'sent').execute()).map((r) => r.to_email);
    const run = async (done: () => Promise<boolean>) => {
      const transport = await openAccountTransport(t.db, accountId, cipher);
      if (!transport) throw new Error('no transport');
      try {
        const worker = new SendWorker(accountId, { db: t.db, transport, clock, logger: silentLogger, signer: trackingSignerFor(config), settings: workerSettings() });
        expect((await runUntil(worker, done, 60_000)).reason).toBe('stopped');
      } finally {
        await transport.close();
      }
    };

    // --- Step 1 goes to all four. ---
    await run(async () => (await sentTo(1)).length === PEOPLE.length);
    const step1 = new Map<string, SentMail>();
    for (const message of peer.received) {
      const mail = await simpleParser(message.raw);
      step1.set(message.to[0]!.split('@')[0]!, { raw: message.raw, messageId: mail.messageId!, from: message.from, to: message.to[0]!, subject: mail.subject ?? '' });
    }
    expect([...step1.keys()].sort()).toEqual([...PEOPLE].sort());

    // --- Their answers arrive in the mailbox, and the reader hands each over (one of them twice). ---
    clock.advance(10 * 60_000);
    const deps = { settings: inboundSettingsFrom(config), now: () => clock.now() };
    const inbound = {
      replier: replyTo(step1.get('replier')!, clock.now(), 'Yes, let us talk on Tuesday.'),
      bouncer: dsnFor(step1.get('bouncer')!, clock.now()),
      vacation: outOfOfficeTo(step1.get('vacation')!, clock.now()),
      complainer: arfFor(step1.get('complainer')!, clock.now()),
    };
    const kinds: Record<string, string> = {};
    for (const [uid, person] of PEOPLE.entries()) {
      const result = await ingestInboundMessage(t.db, { accountId, source: 'imap', sourceKey: `7:${uid + 1}`, raw: inbound[person], receivedAt: clock.now() }, deps);
      kinds[person] = result.kind;
    }
    expect(kinds).toEqual({ replier: 'reply', bouncer: 'bounce', vacation: 'auto_reply', complainer: 'complaint' });
    expect((await ingestInboundMessage(t.db, { accountId, source: 'imap', sourceKey: '7:2', raw: inbound.bouncer, receivedAt: clock.now() }, deps)).duplicate).toBe(true);

    // --- The follow-up delay passes: the three stopped contacts' step 2 never goes; the auto-replier's waits. ---
    const step2 = async () =>
      Object.fromEntries(
        (await t.db.selectFrom('email_queue').select(['to_email', 'status', 'run_after']).where('campaign_id', '=', campaignId).where('step_number', '=', 2).execute()).map((r) => [r.to_email.split('@')[0], r]),
      );
    const waiting = await step2();
    for (const person of ['replier', 'bouncer', 'complainer']) expect(waiting[person]?.status).toBe('cancelled');
    expect(waiting.vacation?.status).toBe('queued');
    const heldUntil = waiting.vacation!.run_after.getTime();
    expect(heldUntil).toBe(clock.now().getTime() + config.inbound.autoReplyDelayHours * 3_600_000);

    // --- The complaint paused the mailbox (inbound.pauseOnComplaint): after its cool-down, the follow-up is its probe. ---
    const paused = await request(app).get(`/api/accounts/${accountId}`).set(admin);
    expect(paused.body).toMatchObject({ status: 'paused', pauseReason: 'complaint' });

    clock.set(new Date(heldUntil + 60_000));
    await run(async () => (await sentTo(2)).length === 1);
    expect(await sentTo(2)).toEqual([step1.get('vacation')!.to]);
    const followUps = peer.received.slice(PEOPLE.length);
    expect(followUps.map((m) => m.to[0])).toEqual([step1.get('vacation')!.to]);
    const sentAt = (await t.db.selectFrom('email_queue').select('sent_at').where('campaign_id', '=', campaignId).where('step_number', '=', 2).where('status', '=', 'sent').executeTakeFirstOrThrow()).sent_at!;
    expect(sentAt.getTime()).toBeGreaterThanOrEqual(heldUntil);

    // --- What the client sees: stats, suppressions, and the inbound messages of the campaign. ---
    const stats = await request(app).get(`/api/campaigns/${campaignId}/stats`).set(admin);
    expect(stats.body.totals).toMatchObject({ sent: PEOPLE.length + 1, bounced: 1, replied: 1, complained: 1, cancelled: 3 });
    const suppressed = await request(app).get('/api/suppressions').set(admin);
    const reasons = Object.fromEntries((suppressed.body.suppressions as Array<{ email: string; reason: string }>).map((s) => [s.email.split('@')[0], s.reason]));
    expect(reasons).toEqual({ bouncer: 'hard_bounce', complainer: 'complaint' });
    const listed = await request(app).get(`/api/inbound?campaignId=${campaignId}`).set(admin);
    expect(listed.body.messages.map((m: { kind: string }) => m.kind).sort()).toEqual(['auto_reply', 'bounce', 'complaint', 'reply']);
    expect((await request(app).get(`/api/accounts/${accountId}`).set(admin)).body).toMatchObject({ status: 'active' });
  }, 120_000);
});
