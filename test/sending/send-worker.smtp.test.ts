import { sql } from 'kysely';
import { createDb } from '../../src/db/connection';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { sweepExpiredLeases } from '../../src/queue/sweeper';
import { openAccountTransport, transportForAccount } from '../../src/sending/account-transport';
import type { Transport } from '../../src/transports/transport';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpAnswer, type SmtpPeer, type SmtpStage } from '../helpers/smtp-peer';
import { addContacts, createAccount, createCampaign, createClient, queueRows } from '../queue/fixtures';
import { ControlledClock, makeWorker, runUntil, testCipher, workerSettings } from './worker-harness';

const database = useTestDatabase();
const START = new Date('2026-03-02T12:00:00Z');
const CREDENTIALS = { user: 'sender-login', pass: 'right-password' };

let peer: SmtpPeer;
beforeAll(async () => {
  peer = await startSmtpPeer({ auth: CREDENTIALS });
});
afterAll(async () => {
  await peer.close();
});
beforeEach(async () => {
  peer.script = () => undefined;
  // Every test shares the peer's host (one provider) and recipient domain: start each with closed breakers.
  await database.db.deleteFrom('circuit_breakers').execute();
});

const answerAt = (stage: SmtpStage, answer: SmtpAnswer) => (context: { stage: SmtpStage }) => (context.stage === stage ? answer : undefined);

async function scenario(options: { contacts?: number; senders?: number; credentials?: typeof CREDENTIALS; steps?: Array<{ delayMinutes: number }> } = {}) {
  const client = await createClient(database.db);
  const accounts = [];
  for (let i = 0; i < (options.senders ?? 1); i++) {
    accounts.push(
      await createAccount(database.db, client.id, {
        transport_settings: JSON.stringify({ host: peer.host, port: peer.port }),
        credentials_encrypted: testCipher.encrypt(JSON.stringify(options.credentials ?? CREDENTIALS)),
      }),
    );
  }
  const campaign = await createCampaign(database.db, client.id, { senders: accounts.map((a) => a.id), ...(options.steps ? { steps: options.steps } : {}) });
  const contacts = await addContacts(database.db, client.id, campaign.id, options.contacts ?? 1);
  await enqueueCampaign(database.db, campaign.id, START, { messageIdDomain: 'smtp.test' });
  return { client, accounts, account: accounts[0]!, campaign, contacts };
}

async function transportOf(accountId: string): Promise<Transport> {
  const account = await database.db.selectFrom('sender_accounts').selectAll().where('id', '=', accountId).executeTakeFirstOrThrow();
  return transportForAccount(account, testCipher);
}

async function rowsOf(campaignId: string) {
  return queueRows(database.db, campaignId);
}

async function logsOf(queueId: number) {
  return database.db.selectFrom('send_logs').selectAll().where('queue_id', '=', queueId).orderBy('id').execute();
}

async function accountRow(id: string) {
  return database.db.selectFrom('sender_accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function runOnce(accountId: string, clock: ControlledClock, done: () => Promise<boolean>, settings = workerSettings()) {
  const transport = await transportOf(accountId);
  const { worker, messages } = makeWorker(database.db, accountId, transport, clock, settings);
  try {
    const exit = await runUntil(worker, done);
    return { exit, messages };
  } finally {
    await transport.close();
  }
}

describe('send worker with the real SMTP transport against a scripted SMTP server', () => {
  it('250: the row is sent with its fixed Message-ID, logged, and the peer receives it once', async () => {
    const { account, campaign } = await scenario({ contacts: 3 });
    const clock = new ControlledClock(START.getTime());
    const { messages } = await runOnce(account.id, clock, async () => (await rowsOf(campaign.id)).every((r) => r.status === 'sent'));
    const rows = await rowsOf(campaign.id);
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'sent', attempts: 1, lease_token: null });
      expect(peer.received.filter((m) => m.raw.includes(`Message-ID: ${row.message_id}`))).toHaveLength(1);
      expect(await logsOf(row.id)).toMatchObject([{ outcome: 'accepted', smtp_code: 250, attempt: 1, account_id: account.id }]);
    }
    expect(messages.some((m) => m.type === 'status' && m.state === 'sending')).toBe(true);
    const beat = await database.db.selectFrom('worker_heartbeats').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(beat).toMatchObject({ pid: process.pid, node_id: 'test-node' });
  });

  it.each([
    ['421 at RCPT', 'rcpt', { code: 421, message: '4.3.2 Service shutting down' }],
    ['450 at RCPT', 'rcpt', { code: 450, message: '4.2.1 Mailbox busy' }],
    ['451 at DATA', 'data', { code: 451, message: '4.7.1 Greylisted, try again later' }],
    ['452 4.2.2 at DATA', 'data', { code: 452, message: '4.2.2 Mailbox full, try later' }],
  ] as const)('%s: the row is retried with backoff, then failed after the maximum attempts', async (_name, stage, answer) => {
    const { account, campaign } = await scenario();
    peer.script = answerAt(stage, answer);
    const clock = new ControlledClock(START.getTime());
    const settings = workerSettings({ record: { maxAttempts: 3, retryBaseSeconds: 60 } });
    await runOnce(account.id, clock, async () => (await rowsOf(campaign.id))[0]!.attempts === 1, settings);
    const [row] = await rowsOf(campaign.id);
    expect(row).toMatchObject({ status: 'queued', attempts: 1, lease_token: null });
    const delayMs = row!.run_after.getTime() - START.getTime();
    // Attempt 1: 60 s with jitter into [30 s, 60 s].
    expect(delayMs).toBeGreaterThanOrEqual(30_000);
    expect(delayMs).toBeLessThanOrEqual(60_000);

    // Not before run_after; then twice more, the last one failing the row.
    clock.set(new Date(row!.run_after.getTime() - 1000));
    await runOnce(account.id, clock, async () => true);
    expect((await rowsOf(campaign.id))[0]!.attempts).toBe(1);
    for (let attempt = 2; attempt <= 3; attempt++) {
      clock.set(new Date((await rowsOf(campaign.id))[0]!.run_after.getTime() + 1000));
      await runOnce(account.id, clock, async () => (await rowsOf(campaign.id))[0]!.attempts === attempt, settings);
    }
    const [final] = await rowsOf(campaign.id);
    expect(final).toMatchObject({ status: 'failed', attempts: 3 });
    expect((await logsOf(final!.id)).map((l) => [l.outcome, l.smtp_code])).toEqual([
      ['transient', answer.code],
      ['transient', answer.code],
      ['transient', answer.code],
    ]);
    expect(peer.received.some((m) => m.raw.includes(final!.message_id))).toBe(false);
    expect((await accountRow(account.id)).consecutive_failures).toBe(3);
  });

  it.each([
    ['550 5.1.1', { code: 550, message: '5.1.1 User unknown' }],
    ['550 5.1.10', { code: 550, message: '5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup' }],
  ] as const)('%s: the row bounces, the address is suppressed for the client and the contact is bounced', async (_name, answer) => {
    const { account, campaign, client, contacts } = await scenario({ steps: [{ delayMinutes: 0 }, { delayMinutes: 10 }] });
    peer.script = answerAt('rcpt', answer);
    const clock = new ControlledClock(START.getTime());
    await runOnce(account.id, clock, async () => (await rowsOf(campaign.id))[0]!.status === 'bounced');
    const rows = await rowsOf(campaign.id);
    expect(rows).toHaveLength(1); // no follow-up
    expect(rows[0]).toMatchObject({ status: 'bounced', attempts: 1 });
    expect(await logsOf(rows[0]!.id)).toMatchObject([{ outcome: 'recipient_hard', smtp_code: answer.code }]);
    expect(await database.db.selectFrom('bounces').selectAll().where('queue_id', '=', rows[0]!.id).execute()).toMatchObject([
      { bounce_type: 'hard', email: contacts[0]!.email, account_id: account.id, code: answer.message.split(' ')[0] },
    ]);
    expect(await database.db.selectFrom('suppressions').select(['reason']).where('client_id', '=', client.id).where('email', '=', contacts[0]!.email).execute()).toEqual([
      { reason: 'hard_bounce' },
    ]);
    const link = await database.db.selectFrom('campaign_contacts').select('status').where('contact_id', '=', contacts[0]!.id).executeTakeFirstOrThrow();
    expect(link.status).toBe('bounced');
    expect((await accountRow(account.id)).status).toBe('active');
  });

  it('554 5.7.1: the sender is paused with a reason and an audit row, and another sender of the pool sends the row', async () => {
    const { accounts, campaign } = await scenario({ senders: 2 });
    const [blocked, other] = accounts as [(typeof accounts)[0], (typeof accounts)[0]];
    peer.script = (context) => (context.stage === 'rcpt' && context.from === blocked.email ? { code: 554, message: '5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1' } : undefined);
    const clock = new ControlledClock(START.getTime());
    await runOnce(blocked.id, clock, async () => (await accountRow(blocked.id)).status === 'paused');
    const [row] = await rowsOf(campaign.id);
    expect(row).toMatchObject({ status: 'queued', account_id: null, attempts: 0 });
    expect(await logsOf(row!.id)).toMatchObject([{ outcome: 'sender_reputation', smtp_code: 554, account_id: blocked.id }]);
    expect(await accountRow(blocked.id)).toMatchObject({ status: 'paused', pause_reason: 'sender_reputation', probe_pending: true });
    const audit = await database.db.selectFrom('audit_log').selectAll().where('entity_id', '=', blocked.id).execute();
    expect(audit).toMatchObject([{ action: 'account.auto_paused', actor_type: 'worker', details: expect.objectContaining({ reason: 'sender_reputation' }) }]);
    // The reservation was given back: the blocked sender's counters are empty again.
    const counters = await sql<{ count: number }>`select count from rate_counters where scope = 'account' and scope_key = ${blocked.id}`.execute(database.db);
    expect(counters.rows.every((c) => c.count === 0)).toBe(true);

    await runOnce(other.id, clock, async () => (await rowsOf(campaign.id))[0]!.status === 'sent');
    expect(await logsOf(row!.id)).toMatchObject([{ outcome: 'sender_reputation' }, { outcome: 'accepted', account_id: other.id }]);
  });

  it('535: the account is suspended with an alert and an audit row, the row goes back unsent, and the worker exits', async () => {
    const { account, campaign } = await scenario({ credentials: { user: 'sender-login', pass: 'wrong-password' } });
    const clock = new ControlledClock(START.getTime());
    const { exit, messages } = await runOnce(account.id, clock, async () => false);
    expect(exit).toMatchObject({ reason: 'inactive', detail: 'suspended (auth_failed)' });
    expect(messages.some((m) => m.type === 'status' && m.state === 'inactive')).toBe(true);
    const [row] = await rowsOf(campaign.id);
    expect(row).toMatchObject({ status: 'queued', account_id: null, attempts: 0 });
    expect(await logsOf(row!.id)).toMatchObject([{ outcome: 'auth', smtp_code: 535 }]);
    expect(await accountRow(account.id)).toMatchObject({ status: 'suspended', pause_reason: 'auth_failed' });
    expect(await database.db.selectFrom('alerts').selectAll().where('account_id', '=', account.id).execute()).toMatchObject([{ severity: 'critical', code: 'account_auth_failed' }]);
    const audit = await database.db.selectFrom('audit_log').select(['action', 'details']).where('entity_id', '=', account.id).execute();
    expect(audit.map((a) => a.action)).toEqual(['account.suspended']);
    expect(JSON.stringify(audit)).not.toContain('wrong-password');
  });

  it('connection dropped after DATA: the row becomes unknown, is never resent blindly, and the sweeper holds it for an operator', async () => {
    const { account, campaign } = await scenario();
    peer.script = answerAt('data', 'drop');
    const clock = new ControlledClock(START.getTime());
    await runOnce(account.id, clock, async () => (await rowsOf(campaign.id))[0]!.status === 'unknown');
    const [row] = await rowsOf(campaign.id);
    expect(await logsOf(row!.id)).toMatchObject([{ outcome: 'unknown' }]);

    // The worker keeps running and does not pick it up again.
    peer.script = () => undefined;
    await runOnce(account.id, clock, async () => true);
    expect((await rowsOf(campaign.id))[0]!.status).toBe('unknown');

    const report = await sweepExpiredLeases(database.db, clock.now(), {
      unknownPolicy: 'hold',
      transportFor: (accountId) => openAccountTransport(database.db, accountId, testCipher),
    });
    expect(report).toMatchObject({ held: 1, reconciledSent: 0, requeuedUnknown: 0 });
    expect((await rowsOf(campaign.id))[0]).toMatchObject({ status: 'held', last_error: 'delivery cannot be verified' });
    expect(peer.received.some((m) => m.raw.includes(row!.message_id))).toBe(false);
  });
});

describe('reservations and what the worker says about failures', () => {
  const accountDayCount = async (accountId: string) =>
    (await sql<{ count: number }>`select coalesce(sum(count), 0)::int as count from rate_counters where scope = 'account' and window_kind = 'day' and scope_key = ${accountId}`.execute(database.db)).rows[0]?.count;

  it('gives the daily quota back for a deferral that never reached the recipient, keeps it for a bounce, and logs the class, reason and reply of each', async () => {
    const lines: Array<{ message: string; meta?: Record<string, unknown> }> = [];
    const capture = (message: string, meta?: Record<string, unknown>) => lines.push({ message, ...(meta ? { meta } : {}) });
    const deferred = await scenario();
    peer.script = answerAt('rcpt', { code: 421, message: '4.7.0 Try again later, closing connection' });
    const clock = new ControlledClock(START.getTime());
    const transport = await transportOf(deferred.account.id);
    const { worker } = makeWorker(database.db, deferred.account.id, transport, clock, workerSettings(), { info: capture, warn: capture, error: capture, debug: () => undefined });
    await runUntil(worker, async () => (await rowsOf(deferred.campaign.id))[0]!.attempts === 1);
    await transport.close();
    expect(await accountDayCount(deferred.account.id)).toBe(0);
    const line = lines.find((l) => l.message === 'send not accepted');
    expect(line?.meta).toMatchObject({ outcome: 'transient', code: 421, response: expect.stringContaining('Try again later') });
    expect((await rowsOf(deferred.campaign.id))[0]!.last_error).toMatch(/^transient.*: 421 4\.7\.0 Try again later/);

    const bounced = await scenario();
    peer.script = answerAt('rcpt', { code: 550, message: '5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in virtual mailbox table' });
    await runOnce(bounced.account.id, clock, async () => (await rowsOf(bounced.campaign.id))[0]!.status === 'bounced');
    expect(await accountDayCount(bounced.account.id)).toBe(1);
  });
});

describe('what each class of failure does', () => {
  it('retries a soft bounce (mailbox full) a few times, then fails the row without suppressing the address', async () => {
    const { account, campaign, client, contacts } = await scenario();
    peer.script = answerAt('rcpt', { code: 552, message: '5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm' });
    const clock = new ControlledClock(START.getTime());
    const settings = workerSettings({ record: { maxAttempts: 6, softBounceMaxAttempts: 2 } });
    await runOnce(account.id, clock, async () => (await rowsOf(campaign.id))[0]!.attempts === 1, settings);
    expect((await rowsOf(campaign.id))[0]).toMatchObject({ status: 'queued', attempts: 1 });
    clock.set(new Date((await rowsOf(campaign.id))[0]!.run_after.getTime() + 1000));
    await runOnce(account.id, clock, async () => (await rowsOf(campaign.id))[0]!.status === 'failed', settings);
    const [row] = await rowsOf(campaign.id);
    expect(row).toMatchObject({ status: 'failed', attempts: 2 });
    expect(row!.last_error).toMatch(/^recipient_soft\/mailbox_full: 552 5\.2\.2/);
    expect((await logsOf(row!.id)).map((l) => [l.outcome, l.reason])).toEqual([
      ['recipient_soft', 'mailbox_full'],
      ['recipient_soft', 'mailbox_full'],
    ]);
    const suppressed = await database.db.selectFrom('suppressions').select('email').where('client_id', '=', client.id).execute();
    expect(suppressed).toEqual([]);
    const bounces = await database.db.selectFrom('bounces').select(['bounce_type', 'code']).where('queue_id', '=', row!.id).execute();
    expect(bounces).toEqual([
      { bounce_type: 'soft', code: '5.2.2' },
      { bounce_type: 'soft', code: '5.2.2' },
    ]);
    const link = await database.db.selectFrom('campaign_contacts').select('status').where('contact_id', '=', contacts[0]!.id).executeTakeFirstOrThrow();
    expect(link.status).toBe('active');
    expect((await accountRow(account.id)).status).toBe('active');
  });

  it("stops every mailbox of the sender domain with one alert when a receiver refuses the domain's authentication, and leaves other domains sending", async () => {
    const { accounts, campaign, client } = await scenario({ senders: 2 });
    const [refused, sameDomain] = accounts as [(typeof accounts)[0], (typeof accounts)[0]];
    const otherDomain = await createAccount(database.db, client.id, {
      email: `other-${Date.now()}@elsewhere.test`,
      transport_settings: JSON.stringify({ host: peer.host, port: peer.port }),
      credentials_encrypted: testCipher.encrypt(JSON.stringify(CREDENTIALS)),
    });
    await database.db.insertInto('campaign_senders').values({ campaign_id: campaign.id, account_id: otherDomain.id }).execute();
    peer.script = (context) =>
      context.stage === 'data' && context.from.endsWith('@sender.test')
        ? { code: 550, message: '5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.' }
        : undefined;
    const clock = new ControlledClock(START.getTime());
    await runOnce(refused.id, clock, async () => (await accountRow(refused.id)).status === 'paused');
    for (const id of [refused.id, sameDomain.id]) expect(await accountRow(id)).toMatchObject({ status: 'paused', pause_reason: 'sender_auth', probe_pending: true });
    expect((await accountRow(otherDomain.id)).status).toBe('active');
    const alerts = await database.db.selectFrom('alerts').select(['code', 'severity', 'message']).where('client_id', '=', client.id).execute();
    expect(alerts).toMatchObject([{ code: 'sender_domain_auth_failed', severity: 'critical', message: expect.stringContaining('sender.test') }]);
    const [row] = await rowsOf(campaign.id);
    expect(row).toMatchObject({ status: 'queued', account_id: null, attempts: 0 });
    expect(await logsOf(row!.id)).toMatchObject([{ outcome: 'sender_auth', reason: expect.stringMatching(/^auth_/), account_id: refused.id }]);

    // The row goes to a mailbox of another domain.
    await runOnce(otherDomain.id, clock, async () => (await rowsOf(campaign.id))[0]!.status === 'sent');
    expect((await logsOf(row!.id)).map((l) => l.outcome)).toEqual(['sender_auth', 'accepted']);
  });
});

describe('two workers for one account at once', () => {
  it('never exceed the account limits and never send a row twice', async () => {
    const { account, campaign } = await scenario({ contacts: 40 });
    await database.db.updateTable('sender_accounts').set({ daily_limit: 15, hourly_limit: 12 }).where('id', '=', account.id).execute();
    const clock = new ControlledClock(START.getTime());
    const other = createDb(database.url, { poolMax: 1, idleTimeoutMs: 1000 });
    const transports = [await transportOf(account.id), await transportOf(account.id)];
    try {
      const settings = workerSettings({ claim: { batchSize: 3 } });
      const workers = [makeWorker(database.db, account.id, transports[0]!, clock, settings).worker, makeWorker(other, account.id, transports[1]!, clock, settings).worker];
      const sentCount = async () => (await rowsOf(campaign.id)).filter((r) => r.status === 'sent').length;
      await Promise.all(workers.map((w) => runUntil(w, async () => (await sentCount()) >= 12)));
      // The hour is full: a second round in the same hour sends nothing more.
      const more = [makeWorker(database.db, account.id, transports[0]!, clock, settings).worker, makeWorker(other, account.id, transports[1]!, clock, settings).worker];
      await Promise.all(more.map((w) => runUntil(w, async () => true)));
      expect(await sentCount()).toBe(12);
      // Next hour: only the 3 left of the day.
      clock.advance(60 * 60_000);
      const next = [makeWorker(database.db, account.id, transports[0]!, clock, settings).worker, makeWorker(other, account.id, transports[1]!, clock, settings).worker];
      await Promise.all(next.map((w) => runUntil(w, async () => (await sentCount()) >= 15)));
      const again = [makeWorker(database.db, account.id, transports[0]!, clock, settings).worker, makeWorker(other, account.id, transports[1]!, clock, settings).worker];
      await Promise.all(again.map((w) => runUntil(w, async () => true)));
      const rows = await rowsOf(campaign.id);
      expect(rows.filter((r) => r.status === 'sent')).toHaveLength(15);
      expect(rows.filter((r) => ['claimed', 'sending', 'unknown'].includes(r.status))).toEqual([]);
      for (const row of rows) {
        const copies = peer.received.filter((m) => m.raw.includes(`Message-ID: ${row.message_id}`)).length;
        expect(copies).toBe(row.status === 'sent' ? 1 : 0);
      }
    } finally {
      for (const t of transports) await t.close();
      await other.destroy();
    }
  });
});

describe('sender safety through the worker', () => {
  it('pauses an account whose bounce rate passes the threshold over the last sends, then resumes it after the cool-down with one probe', async () => {
    const { account, campaign, contacts } = await scenario({ contacts: 24 });
    const bouncing = new Set([contacts[3]!.email, contacts[9]!.email]);
    peer.script = (context) => (context.stage === 'rcpt' && context.rcpt && bouncing.has(context.rcpt) ? { code: 550, message: '5.1.1 User unknown' } : undefined);
    const clock = new ControlledClock(START.getTime());
    const settings = workerSettings({ claim: { batchSize: 1 }, record: { health: { bounceRateThresholdPct: 5, bounceWindowSends: 20, consecutiveFailuresToPause: 5 }, cooldownMinutes: 60 } });
    await runOnce(account.id, clock, async () => (await accountRow(account.id)).status === 'paused', settings);
    const paused = await accountRow(account.id);
    expect(paused).toMatchObject({ pause_reason: 'bounce_rate', probe_pending: true });
    expect(paused.health_score).toBeLessThan(100);
    const sentBefore = (await rowsOf(campaign.id)).filter((r) => r.status === 'sent').length;
    expect(sentBefore).toBe(18); // 20 attempts: 18 sent + 2 bounced
    const audit = await database.db.selectFrom('audit_log').select(['action', 'details']).where('entity_id', '=', account.id).execute();
    expect(audit).toMatchObject([{ action: 'account.auto_paused', details: expect.objectContaining({ reason: 'bounce_rate' }) }]);

    // Still cooling down: nothing is sent.
    clock.advance(59 * 60_000);
    await runOnce(account.id, clock, async () => true, settings);
    expect((await rowsOf(campaign.id)).filter((r) => r.status === 'sent')).toHaveLength(18);

    // Cool-down over: one probe, then normal sending.
    clock.advance(2 * 60_000);
    await runOnce(account.id, clock, async () => (await accountRow(account.id)).status === 'active', settings);
    expect(await accountRow(account.id)).toMatchObject({ status: 'active', probe_pending: false, pause_reason: null });
    const actions = (await database.db.selectFrom('audit_log').select('action').where('entity_id', '=', account.id).orderBy('id').execute()).map((a) => a.action);
    expect(actions).toEqual(['account.auto_paused', 'account.resumed']);
  });

  it("pauses an account after N consecutive failures and opens the recipient domain's breaker, never the provider's, on 4xx replies to RCPT", async () => {
    const { account } = await scenario({ contacts: 6 });
    peer.script = answerAt('rcpt', { code: 451, message: '4.3.0 Temporary failure' });
    const clock = new ControlledClock(START.getTime());
    const settings = workerSettings({ record: { maxAttempts: 10, health: { bounceRateThresholdPct: 5, bounceWindowSends: 20, consecutiveFailuresToPause: 4 }, circuitBreaker: { failuresToOpen: 3, openSeconds: 300 } } });
    await runOnce(account.id, clock, async () => (await accountRow(account.id)).status === 'paused', settings);
    expect(await accountRow(account.id)).toMatchObject({ pause_reason: 'consecutive_failures' });
    const breakers = await database.db.selectFrom('circuit_breakers').selectAll().execute();
    expect(breakers.filter((b) => b.scope === 'provider')).toEqual([]);
    const domain = breakers.find((b) => b.scope === 'recipient_domain' && b.scope_key === 'example.test');
    expect(domain?.consecutive_failures).toBeGreaterThanOrEqual(3);
    expect(domain?.opened_until?.getTime()).toBe(START.getTime() + 300_000);
  });

  it("opens the provider breaker of the account's client when its relay refuses connections, and counts no recipient domain", async () => {
    const { account, client } = await scenario({ contacts: 4 });
    const closed = await startSmtpPeer();
    await closed.close(); // a port nothing listens on any more
    await database.db.updateTable('sender_accounts').set({ transport_settings: JSON.stringify({ host: '127.0.0.1', port: closed.port }) }).where('id', '=', account.id).execute();
    const clock = new ControlledClock(START.getTime());
    const settings = workerSettings({ record: { maxAttempts: 10, circuitBreaker: { failuresToOpen: 3, openSeconds: 300 } } });
    await runOnce(account.id, clock, async () => (await database.db.selectFrom('circuit_breakers').select('opened_until').where('scope', '=', 'provider').executeTakeFirst())?.opened_until != null, settings);
    const breakers = await database.db.selectFrom('circuit_breakers').selectAll().execute();
    expect(breakers.map((b) => [b.scope, b.scope_key])).toEqual([['provider', `${client.id}|smtp:127.0.0.1:${closed.port}`]]);
  });

  it('pauses an account at its next claim after any complaint', async () => {
    const { account, client, campaign } = await scenario({ contacts: 3 });
    await database.db.insertInto('complaints').values({ client_id: client.id, account_id: account.id, email: 'someone@example.test', source: 'fbl', received_at: START }).execute();
    const clock = new ControlledClock(START.getTime());
    await runOnce(account.id, clock, async () => (await accountRow(account.id)).status === 'paused');
    expect(await accountRow(account.id)).toMatchObject({ pause_reason: 'complaint' });
    expect((await rowsOf(campaign.id)).every((r) => r.status === 'queued')).toBe(true);
  });

  it('stops on request after the batch in flight and releases nothing it already handed over', async () => {
    const { account, campaign } = await scenario({ contacts: 5 });
    const clock = new ControlledClock(START.getTime());
    const { exit } = await runOnce(account.id, clock, async () => (await rowsOf(campaign.id)).some((r) => r.status === 'sent'), workerSettings({ claim: { batchSize: 2 } }));
    expect(exit.reason).toBe('stopped');
    const rows = await rowsOf(campaign.id);
    expect(rows.filter((r) => ['claimed', 'sending', 'unknown'].includes(r.status))).toEqual([]);
    expect(rows.filter((r) => r.status === 'sent').length).toBe(exit.sent);
  });
});
