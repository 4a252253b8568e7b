/**
 * The feedback loop on the real path, issue 14's "Done when": a two-step campaign set up through
 * the API sends, by the real SendWorker, to a real Postfix (test/peers/postfix-peer, logging in
 * with the mailbox's own password through Dovecot's auth) that relays to a scripted remote MX.
 * The MX refuses one contact with 550 5.1.1 after Postfix accepted the message, so the bounce
 * comes back as Postfix's own DSN into the sender's Dovecot mailbox; the other contacts' mail
 * servers deliver a reply, an out-of-office and an ARF complaint to the same mailbox through
 * Postfix. The real IMAP reader (InboundPoller, as src/server.ts wires it into ingestion) reads
 * them. Afterwards only the auto-replier gets step 2, and only once its delay has passed; the
 * suppression list, contact statuses, account health and campaign stats say what happened.
 */
import { simpleParser } from 'mailparser';
import request from 'supertest';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { inboundDeliveryTarget } from '../../src/inbound/readers/delivery-target';
import { openAccountTransport } from '../../src/sending/account-transport';
import { SendWorker } from '../../src/sending/send-worker';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { waitFor } from '../helpers/wait-for';
import { addSenderDomain, bearer, createWorld, testApp, testConfig } from '../http/admin-api.helpers';
import { arfFor, outOfOfficeTo, replyTo, type SentMail } from '../inbound/inbound-messages';
import { poller, withImap } from '../inbound/readers/reading-harness';
import { startImapPeer, type ImapPeer } from '../peers/imap-peer';
import { startPostfixPeer, type PostfixPeer } from '../peers/postfix-peer';
import { ControlledClock, runUntil, silentLogger, workerSettings } from '../sending/worker-harness';

const t = useTestDatabase();
const SENDER = 'sam@mail.loop.example';
const FOLLOW_UP_MINUTES = 60;
const PEOPLE = ['replier', 'bouncer', 'vacation', 'complainer'] as const;
const address = (person: string) => `${person}@${person}-co.example`;

async function inboxSize(imap: ImapPeer): Promise<number> {
  return withImap(imap, async (client) => {
    const status = await client.status('INBOX', { messages: true });
    return status ? (status.messages ?? 0) : 0;
  });
}

describe('a two-step campaign hears back through Postfix, Dovecot and the IMAP reader', () => {
  let mx: SmtpPeer;
  let imap: ImapPeer;
  let postfix: PostfixPeer;
  beforeAll(async () => {
    // The remote MX: the bouncer's mailbox does not exist. Postfix has already accepted the
    // message when it hears so, and returns a DSN to the sender.
    mx = await startSmtpPeer({ script: ({ stage, rcpt }) => (stage === 'rcpt' && rcpt === address('bouncer') ? { code: 550, message: `5.1.1 <${rcpt}>: Recipient address rejected: User unknown in virtual mailbox table` } : undefined) });
    imap = await startImapPeer({ user: SENDER, pass: 'loop-mailbox-password' });
    postfix = await startPostfixPeer({ relayTo: { host: mx.host, port: mx.port }, mailboxes: { [SENDER]: imap.maildir }, saslDovecotSocket: imap.authSocket });
  });
  afterAll(async () => {
    await postfix?.stop();
    await imap?.stop();
    await mx?.close();
  });

  it('stops the replier, the bouncer and the complainer, and sends step 2 only to the auto-replier, after its delay', async () => {
    const config = testConfig();
    const app = testApp(t.db, config);
    const world = await createWorld(t.db, app, 'pfloop');
    const admin = bearer(world.a.adminToken);
    const domainId = await addSenderDomain(app, world.a.adminToken, 'mail.loop.example');
    const account = await request(app)
      .post('/api/accounts')
      .set(admin)
      .send({
        transport: 'smtp',
        email: SENDER,
        displayName: 'Sam',
        domainId,
        transportSettings: { host: postfix.host, port: postfix.port, secure: false, requireTLS: false, imap: { host: imap.host, port: imap.port, secure: false } },
        credentials: { user: imap.user, pass: imap.pass },
        dailyLimit: 1000,
        hourlyLimit: 1000,
        minGapSeconds: 0,
        warmupEnabled: false,
      });
    expect(account.status).toBe(201);
    const accountId = (account.body as { id: string }).id;
    const campaign = await request(app)
      .post('/api/campaigns')
      .set(admin)
      .send({
        name: 'Loop through Postfix',
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
    const csv = ['email,first_name,company', ...PEOPLE.map((p) => `${address(p)},${p},${p} Co`)].join('\n');
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

    // --- Step 1: Postfix accepts all four; the MX takes three and refuses the bouncer. ---
    await run(async () => (await sentTo(1)).length === PEOPLE.length);
    await waitFor(async () => mx.received.length === 3, 'the remote MX to take three step-1 messages', 30_000);
    const step1 = new Map<string, SentMail>();
    for (const message of mx.received) {
      const mail = await simpleParser(message.raw);
      step1.set(message.to[0]!.split('@')[0]!, { raw: message.raw, messageId: mail.messageId!, from: SENDER, to: message.to[0]!, subject: mail.subject ?? '' });
    }
    expect([...step1.keys()].sort()).toEqual(['complainer', 'replier', 'vacation']);

    // --- The contacts' mail servers deliver their answers to the sender through Postfix; Postfix's DSN is there too. ---
    const now = new Date();
    const answers: Array<[string, Buffer]> = [
      [address('replier'), replyTo(step1.get('replier')!, now, 'Yes, let us talk on Tuesday.')],
      [address('vacation'), outOfOfficeTo(step1.get('vacation')!, now)],
      ['fbl@isp.test', arfFor(step1.get('complainer')!, now)],
    ];
    for (const [from, raw] of answers) await postfix.submit({ from, to: SENDER }, raw);
    await waitFor(async () => (await inboxSize(imap)) === 4, `four messages in the sender mailbox (Postfix log:\n${postfix.log()})`, 30_000);

    // --- The real IMAP reader reads the mailbox into ingestion, twice (a lost cursor): each is stored once. ---
    const reader = poller(t.db, inboundDeliveryTarget(t.db, config), { cipher, settings: config.inbound });
    try {
      await reader.drain();
      await t.db.updateTable('inbound_mailboxes').set({ uid_validity: null, last_uid: null, next_poll_at: new Date(Date.now() - 1000) }).execute();
      await reader.drain();
    } finally {
      await reader.stop();
    }
    const stored = await t.db.selectFrom('inbound_messages').select(['kind', 'source', 'account_id']).where('account_id', '=', accountId).execute();
    expect(stored.map((m) => m.kind).sort()).toEqual(['auto_reply', 'bounce', 'complaint', 'reply']);
    expect(new Set(stored.map((m) => m.source))).toEqual(new Set(['imap']));

    // --- The three stopped contacts' step 2 never goes; the auto-replier's waits. ---
    const step2 = async () =>
      Object.fromEntries(
        (await t.db.selectFrom('email_queue').select(['to_email', 'status', 'run_after']).where('campaign_id', '=', campaignId).where('step_number', '=', 2).execute()).map((r) => [r.to_email.split('@')[0], r]),
      );
    const waiting = await step2();
    for (const person of ['replier', 'bouncer', 'complainer']) expect(waiting[person]?.status).toBe('cancelled');
    expect(waiting.vacation?.status).toBe('queued');
    const heldUntil = waiting.vacation!.run_after.getTime();
    expect(heldUntil).toBeGreaterThanOrEqual(now.getTime() + config.inbound.autoReplyDelayHours * 3_600_000);

    const contacts = Object.fromEntries(
      (
        await t.db
          .selectFrom('campaign_contacts')
          .innerJoin('contacts', 'contacts.id', 'campaign_contacts.contact_id')
          .select(['contacts.email', 'campaign_contacts.status'])
          .where('campaign_contacts.campaign_id', '=', campaignId)
          .execute()
      ).map((c) => [c.email.split('@')[0], c.status]),
    );
    expect(contacts).toEqual({ replier: 'replied', bouncer: 'bounced', complainer: 'complained', vacation: 'active' });

    // --- Account health: the complaint paused the mailbox (inbound.pauseOnComplaint). ---
    const paused = await request(app).get(`/api/accounts/${accountId}`).set(admin);
    expect(paused.body).toMatchObject({ status: 'paused', pauseReason: 'complaint' });

    // --- Later: the follow-up is the auto-replier's alone, and it goes through Postfix to the MX. ---
    clock.set(new Date(heldUntil + 60_000));
    await run(async () => (await sentTo(2)).length === 1);
    expect(await sentTo(2)).toEqual([address('vacation')]);
    await waitFor(async () => mx.received.length === 4, 'the follow-up at the remote MX', 30_000);
    expect(mx.received.slice(3).map((m) => m.to[0])).toEqual([address('vacation')]);
    const sentAt = (await t.db.selectFrom('email_queue').select('sent_at').where('campaign_id', '=', campaignId).where('step_number', '=', 2).where('status', '=', 'sent').executeTakeFirstOrThrow()).sent_at!;
    expect(sentAt.getTime()).toBeGreaterThanOrEqual(heldUntil);

    // --- What the client sees: stats, suppressions, the inbound messages of the campaign. ---
    const stats = await request(app).get(`/api/campaigns/${campaignId}/stats`).set(admin);
    expect(stats.body.totals).toMatchObject({ sent: PEOPLE.length + 1, bounced: 1, replied: 1, complained: 1, cancelled: 3 });
    const suppressed = await request(app).get('/api/suppressions').set(admin);
    const reasons = Object.fromEntries((suppressed.body.suppressions as Array<{ email: string; reason: string }>).map((s) => [s.email.split('@')[0], s.reason]));
    expect(reasons).toEqual({ bouncer: 'hard_bounce', complainer: 'complaint' });
    const listed = await request(app).get(`/api/inbound?campaignId=${campaignId}`).set(admin);
    expect(listed.body.messages.map((m: { kind: string }) => m.kind).sort()).toEqual(['auto_reply', 'bounce', 'complaint', 'reply']);
    expect((await request(app).get(`/api/accounts/${accountId}`).set(admin)).body).toMatchObject({ status: 'active' });
  }, 180_000);
});
