/**
 * One running two-step campaign with a queue row in every state, reached the way they are
 * reached in production: set up through the HTTP API, sent by the real SendWorker through the
 * real SMTP transport to a scripted SMTP server, recovered by the server's own sweep, contacts
 * added to the running campaign through the API, one batch claimed by the real claim.
 *
 *   contact   step 1                                  step 2 (60 minutes later)
 *   sent-a    250 → sent                              250 → sent
 *   sent-b    250 → sent                              contact replied meanwhile → cancelled
 *   bounce    550 5.1.1 → bounced
 *   fail      451, one attempt allowed → failed
 *   lost      connection dropped after DATA → unknown → sweep, no Sent lookup → held
 *   blocked   suppressed through the API after the start → suppressed
 *   retry     (imported into the running campaign) 451, more attempts allowed → queued later (scheduled, retrying)
 *   lost2     (imported into the running campaign) dropped after DATA → unknown
 *   due-1/2   (added by id to the running campaign) a worker claims one and has not sent it
 *             yet → claimed (in flight, `inFlight` says which); the other → queued, due
 */
import type { Express } from 'express';
import request from 'supertest';
import type { Config } from '../../src/config';
import type { Db } from '../../src/db/connection';
import { claimBatch } from '../../src/queue/claim';
import { createSweep } from '../../src/orchestrator/sweep';
import { openAccountTransport } from '../../src/sending/account-transport';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { createLogger } from '../../src/logger';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { liftedClaimSettings } from '../queue/fixtures';
import { ControlledClock, makeWorker, runUntil, workerSettings } from '../sending/worker-harness';

export const STATE_CONTACTS = ['sent-a', 'sent-b', 'bounce', 'fail', 'lost', 'blocked', 'retry', 'lost2', 'due-1', 'due-2'] as const;
export type StateContact = (typeof STATE_CONTACTS)[number];
export const FOLLOW_UP_MINUTES = 60;

export interface CampaignInEveryState {
  app: Express;
  config: Config;
  world: World;
  campaignId: string;
  accountId: string;
  accountEmail: string;
  email: (name: StateContact) => string;
  /** due-1 or due-2: the one claimed; the other is due. */
  inFlight: StateContact;
  due: StateContact;
  close(): Promise<void>;
}

const SMTP_LOGIN = { user: 'states-login', pass: 'states-password' };

export async function campaignInEveryState(db: Db, prefix: string): Promise<CampaignInEveryState> {
  const config = testConfig();
  const app = testApp(db, config);
  const world = await createWorld(db, app, prefix);
  const admin = bearer(world.a.adminToken);
  const email = (name: StateContact) => `${name}@${prefix}-recipients.example`;
  const script: Partial<Record<string, { code: number; message: string }>> = {
    [email('bounce')]: { code: 550, message: '5.1.1 user unknown' },
    [email('fail')]: { code: 451, message: '4.3.0 try again later' },
    [email('retry')]: { code: 451, message: '4.3.0 try again later' },
  };
  const peer: SmtpPeer = await startSmtpPeer({
    auth: SMTP_LOGIN,
    script: ({ stage, rcpt, to }) => {
      if (stage === 'rcpt' && rcpt) return script[rcpt];
      if (stage === 'data' && (to.includes(email('lost')) || to.includes(email('lost2')))) return 'drop';
      return undefined;
    },
  });

  const ok = async (call: request.Test, status = 200) => {
    const answer = await call;
    if (answer.status !== status) throw new Error(`API call answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body as Record<string, unknown>;
  };
  const accountEmail = `sender@${prefix}-mail.example`;
  await addSenderDomain(app, world.a.adminToken, `${prefix}-mail.example`);
  const account = await ok(
    request(app)
      .post('/api/accounts')
      .set(admin)
      .send({
        transport: 'smtp',
        email: accountEmail,
        transportSettings: { host: peer.host, port: peer.port, secure: false, requireTLS: false },
        credentials: SMTP_LOGIN,
        dailyLimit: 100_000,
        hourlyLimit: 100_000,
        minGapSeconds: 0,
        warmupEnabled: false,
      }),
    201,
  );
  const accountId = account.id as string;
  const campaign = await ok(
    request(app)
      .post('/api/campaigns')
      .set(admin)
      .send({
        name: `${prefix} every state`,
        timeZone: 'UTC',
        sendDays: [1, 2, 3, 4, 5, 6, 7],
        windowStartMinute: 0,
        windowEndMinute: 1440,
        senderAccountIds: [accountId],
        steps: [
          { subject: 'Hello', bodyText: 'Hello there' },
          { subject: '', bodyText: 'Following up', delayMinutes: FOLLOW_UP_MINUTES },
        ],
      }),
    201,
  );
  const campaignId = campaign.id as string;
  const csv = (names: StateContact[]) => `email\n${names.map(email).join('\n')}\n`;
  await ok(request(app).post(`/api/campaigns/${campaignId}/contacts/import`).set(admin).set('Content-Type', 'text/csv').send(csv(['sent-a', 'sent-b', 'bounce', 'fail', 'lost', 'blocked'])));
  await ok(request(app).post(`/api/campaigns/${campaignId}/start`).set(admin));
  await ok(request(app).post('/api/suppressions').set(admin).send({ email: email('blocked') }), 201);

  const statusOf = async (name: StateContact, step: number) =>
    (await db.selectFrom('email_queue').select('status').where('campaign_id', '=', campaignId).where('to_email', '=', email(name)).where('step_number', '=', step).executeTakeFirst())?.status;
  const cipher = createCredentialCipher(config.credentialKeys);
  const runWorker = async (clock: ControlledClock, maxAttempts: number, done: () => Promise<boolean>) => {
    const transport = await openAccountTransport(db, accountId, cipher);
    if (!transport) throw new Error('no transport');
    try {
      const { worker } = makeWorker(db, accountId, transport, clock, workerSettings({ record: { maxAttempts } }));
      await runUntil(worker, done, 30_000);
    } finally {
      await transport.close();
    }
  };

  // Step 1 of the first contacts; one attempt allowed, so a 451 fails the row.
  const clock = new ControlledClock(Date.now());
  await runWorker(clock, 1, async () => (await statusOf('sent-b', 1)) === 'sent' && (await statusOf('fail', 1)) === 'failed' && (await statusOf('lost', 1)) === 'unknown' && (await statusOf('bounce', 1)) === 'bounced' && (await statusOf('sent-a', 1)) === 'sent');
  // The server's own sweep, once `lost` has been unknown for the reconcile grace period: a plain
  // SMTP relay cannot say whether it went out.
  await createSweep(config, createLogger('error'))(db, new Date(clock.now().getTime() + config.sending.reconcileGraceMs));
  // Stand-in for reply processing (not built yet): sent-b answered, so its follow-up must not go.
  await db.updateTable('campaign_contacts').set({ status: 'replied' }).where('campaign_id', '=', campaignId).where('contact_id', '=', (await db.selectFrom('contacts').select('id').where('email', '=', email('sent-b')).executeTakeFirstOrThrow()).id).execute();

  // Contacts imported into the running campaign are queued at once; the follow-ups come due.
  const imported = await ok(request(app).post(`/api/campaigns/${campaignId}/contacts/import`).set(admin).set('Content-Type', 'text/csv').send(csv(['retry', 'lost2'])));
  if (imported.queued !== 2) throw new Error(`import into the running campaign queued ${String(imported.queued)}`);
  clock.advance((FOLLOW_UP_MINUTES + 1) * 60_000);
  await runWorker(clock, 5, async () => (await statusOf('sent-a', 2)) === 'sent' && (await statusOf('sent-b', 2)) === 'cancelled' && (await statusOf('lost2', 1)) === 'unknown' && (await statusOf('retry', 1)) === 'queued' && (await db.selectFrom('email_queue').select('attempts').where('to_email', '=', email('retry')).executeTakeFirstOrThrow()).attempts === 1);

  // Contacts added by id to the running campaign; a worker claims one of them and has not sent it yet.
  const ids: string[] = [];
  for (const name of ['due-1', 'due-2'] as const) ids.push((await ok(request(app).post('/api/contacts').set(admin).send({ email: email(name) }), 201)).id as string);
  const attached = await ok(request(app).post(`/api/campaigns/${campaignId}/contacts`).set(admin).send({ contactIds: ids }));
  if (attached.queued !== 2) throw new Error(`attaching to the running campaign queued ${String(attached.queued)}`);
  const claim = await claimBatch(db, accountId, new Date(), liftedClaimSettings({ batchSize: 1 }));
  if (claim.kind !== 'claimed' || claim.rows.length !== 1) throw new Error(`expected one row claimed, got ${JSON.stringify(claim)}`);
  const inFlight = claim.rows[0]?.to_email === email('due-1') ? 'due-1' : 'due-2';

  return { app, config, world, campaignId, accountId, accountEmail, email, inFlight, due: inFlight === 'due-1' ? 'due-2' : 'due-1', close: () => peer.close() };
}
