/**
 * The completion job (run directly, as its schedule would) over campaigns set up and started
 * through the HTTP API and sent by the real SendWorker through the real SMTP transport.
 */
import type { Express } from 'express';
import request from 'supertest';
import { attachContacts } from '../../src/campaigns/campaign.repository';
import { enqueueAddedContacts } from '../../src/campaigns/campaign.service';
import type { Config } from '../../src/config';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { createLogger } from '../../src/logger';
import { createSweep } from '../../src/orchestrator/sweep';
import { Schedules } from '../../src/orchestrator/schedules';
import { openAccountTransport } from '../../src/sending/account-transport';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { ControlledClock, makeWorker, runUntil, workerSettings } from '../sending/worker-harness';

const t = useTestDatabase();
const logger = createLogger('error');
const SMTP_LOGIN = { user: 'done-login', pass: 'done-password' };

describe('campaign completion', () => {
  let config: Config;
  let app: Express;
  let world: World;
  let peer: SmtpPeer;
  let schedules: Schedules;
  const admin = () => bearer(world.a.adminToken);
  const clock = new ControlledClock(Date.now());

  beforeAll(async () => {
    config = testConfig();
    // The API and the workers share one clock, which only the test moves.
    app = testApp(t.db, config, () => clock.now());
    world = await createWorld(t.db, app, 'done');
    await addSenderDomain(app, world.a.adminToken, 'done-mail.example');
    peer = await startSmtpPeer({
      auth: SMTP_LOGIN,
      script: ({ stage, rcpt, to }) => {
        if (stage === 'rcpt' && rcpt?.startsWith('bounce')) return { code: 550, message: '5.1.1 user unknown' };
        if (stage === 'data' && to.some((address) => address.startsWith('lost'))) return 'drop';
        return undefined;
      },
    });
    schedules = new Schedules({ db: t.db, config, logger, onNewDay: () => undefined });
  });
  afterAll(async () => {
    await peer?.close();
  });

  /** A started campaign with its own SMTP mailbox, for `emails` (their local part says how the peer answers). */
  async function startedCampaign(name: string, emails: string[], followUpMinutes?: number) {
    const account = await request(app)
      .post('/api/accounts')
      .set(admin())
      .send({ transport: 'smtp', email: `${name}@done-mail.example`, transportSettings: { host: peer.host, port: peer.port, requireTLS: false }, credentials: SMTP_LOGIN, dailyLimit: 1000, hourlyLimit: 1000, minGapSeconds: 0, warmupEnabled: false });
    expect(account.status).toBe(201);
    const steps = [{ subject: 'Hello', bodyText: 'Hello' }, ...(followUpMinutes === undefined ? [] : [{ subject: '', bodyText: 'Again', delayMinutes: followUpMinutes }])];
    const campaign = await request(app)
      .post('/api/campaigns')
      .set(admin())
      .send({ name, timeZone: 'UTC', sendDays: [1, 2, 3, 4, 5, 6, 7], windowStartMinute: 0, windowEndMinute: 1440, senderAccountIds: [account.body.id], steps });
    expect(campaign.status).toBe(201);
    const imported = await request(app).post(`/api/campaigns/${campaign.body.id}/contacts/import`).set(admin()).set('Content-Type', 'text/csv').send(`email\n${emails.join('\n')}\n`);
    expect(imported.status).toBe(200);
    expect((await request(app).post(`/api/campaigns/${campaign.body.id}/start`).set(admin())).status).toBe(200);
    return { id: campaign.body.id as string, accountId: account.body.id as string };
  }

  const rows = (campaignId: string) => t.db.selectFrom('email_queue').select(['status', 'step_number', 'to_email']).where('campaign_id', '=', campaignId).orderBy('id').execute();

  /** Runs the account's real worker until no row of the campaign waits to be sent now. */
  async function sendDue(c: { id: string; accountId: string }) {
    const transport = await openAccountTransport(t.db, c.accountId, createCredentialCipher(config.credentialKeys));
    try {
      const { worker } = makeWorker(t.db, c.accountId, transport!, clock, workerSettings());
      // One query: two would race with the claim (queued when the first looks, claimed when the second does).
      await runUntil(worker, async () =>
        (
          await t.db
            .selectFrom('email_queue')
            .select('id')
            .where('campaign_id', '=', c.id)
            .where((eb) => eb.or([eb('status', 'in', ['claimed', 'sending']), eb.and([eb('status', '=', 'queued'), eb('run_after', '<=', clock.now())])]))
            .execute()
        ).length === 0,
      );
    } finally {
      await transport?.close();
    }
  }

  const campaign = async (id: string) => (await request(app).get(`/api/campaigns/${id}`).set(admin())).body as { status: string; completedAt: string | null };

  it('completes a running campaign once every row has reached a terminal state, with completed_at and an audit row, once', async () => {
    const c = await startedCampaign('all-terminal', ['ok1@r.example', 'ok2@r.example', 'bounce1@r.example']);
    await sendDue(c);
    expect((await rows(c.id)).map((r) => r.status).sort()).toEqual(['bounced', 'sent', 'sent']);

    const at = new Date(clock.now().getTime() + 1000);
    expect(await schedules.completeCampaigns(at)).toBe(1);
    expect(await campaign(c.id)).toMatchObject({ status: 'completed', completedAt: at.toISOString() });
    const audit = await t.db.selectFrom('audit_log').selectAll().where('entity_id', '=', c.id).where('action', '=', 'campaign.completed').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ client_id: world.a.clientId, actor_type: 'system', entity_type: 'campaign', details: expect.objectContaining({ queueRows: { sent: 2, bounced: 1 } }) });

    expect(await schedules.completeCampaigns(new Date(at.getTime() + 60_000))).toBe(0);
    expect(await campaign(c.id)).toMatchObject({ status: 'completed', completedAt: at.toISOString() });
    // A completed campaign takes no more contacts.
    const late = await request(app).post(`/api/campaigns/${c.id}/contacts/import`).set(admin()).set('Content-Type', 'text/csv').send('email\nlate@r.example\n');
    expect(late.status).toBe(409);
  });

  it('keeps a campaign running while a row is held for an operator, or a follow-up is still to come', async () => {
    const held = await startedCampaign('held-row', ['ok3@r.example', 'lost1@r.example']);
    await sendDue(held);
    // Past the reconcile grace period: a plain SMTP relay cannot say whether the row went out.
    await createSweep(config, logger)(t.db, new Date(clock.now().getTime() + config.sending.reconcileGraceMs));
    expect((await rows(held.id)).map((r) => r.status).sort()).toEqual(['held', 'sent']);

    const followUp = await startedCampaign('follow-up', ['ok4@r.example'], 24 * 60);
    await sendDue(followUp);
    expect((await rows(followUp.id)).map((r) => [r.step_number, r.status])).toEqual([
      [1, 'sent'],
      [2, 'queued'],
    ]);

    expect(await schedules.completeCampaigns(clock.now())).toBe(0);
    expect((await campaign(held.id)).status).toBe('running');
    expect((await campaign(followUp.id)).status).toBe('running');

    // The follow-up goes out a day later: nothing is left, and the campaign completes.
    clock.advance(24 * 60 * 60_000 + 60_000);
    await sendDue(followUp);
    expect((await rows(followUp.id)).map((r) => r.status)).toEqual(['sent', 'sent']);
    expect(await schedules.completeCampaigns(clock.now())).toBe(1);
    expect((await campaign(followUp.id)).status).toBe('completed');
    expect((await campaign(held.id)).status).toBe('running');
  });

  it('leaves paused and cancelled campaigns as they are', async () => {
    const paused = await startedCampaign('paused', ['ok5@r.example']);
    await sendDue(paused);
    expect((await request(app).post(`/api/campaigns/${paused.id}/pause`).set(admin())).status).toBe(200);
    const cancelled = await startedCampaign('cancelled', ['ok6@r.example']);
    const cancel = await request(app).post(`/api/campaigns/${cancelled.id}/cancel`).set(admin());
    expect(cancel.status).toBe(200);

    expect(await schedules.completeCampaigns(clock.now())).toBe(0);
    expect((await campaign(paused.id)).status).toBe('paused');
    expect(await campaign(cancelled.id)).toMatchObject({ status: 'cancelled', completedAt: cancel.body.campaign.completedAt });
  });

  it('keeps a campaign running while an active contact is still to be queued, but not for a suppressed address', async () => {
    const c = await startedCampaign('suppressed-late', ['ok7@r.example']);
    await sendDue(c);
    // A suppressed contact added to the running campaign is attached and never queued.
    const contact = await request(app).post('/api/contacts').set(admin()).send({ email: 'gone@r.example' });
    expect((await request(app).post('/api/suppressions').set(admin()).send({ email: 'gone@r.example' })).status).toBe(201);
    const attached = await request(app).post(`/api/campaigns/${c.id}/contacts`).set(admin()).send({ contactIds: [contact.body.id] });
    expect(attached.body).toEqual({ attached: 1, queued: 0 });

    // Every API path queues what it attaches to a running campaign in the same transaction;
    // this contact stands for one attached by any path that does not.
    const other = await startedCampaign('unqueued', ['ok8@r.example']);
    await sendDue(other);
    const unqueued = await request(app).post('/api/contacts').set(admin()).send({ email: 'waiting@r.example' });
    await t.db.insertInto('campaign_contacts').values({ campaign_id: other.id, contact_id: unqueued.body.id }).execute();

    expect(await schedules.completeCampaigns(clock.now())).toBe(1);
    expect((await campaign(c.id)).status).toBe('completed');
    expect((await campaign(other.id)).status).toBe('running');
  });

  it('skips a campaign whose new contacts are being queued, and then sees their rows', async () => {
    const c = await startedCampaign('importing', ['ok9@r.example']);
    await sendDue(c);
    const contact = await request(app).post('/api/contacts').set(admin()).send({ email: 'newcomer@r.example' });

    // What the contact routes do, in a transaction held open while the job runs: under READ
    // COMMITTED the job cannot see the uncommitted rows, so only the campaign's lock stops it.
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let queuedRows!: () => void;
    const queued = new Promise<void>((resolve) => (queuedRows = resolve));
    const importing = t.db.transaction().execute(async (trx) => {
      await attachContacts(trx, c.id, world.a.clientId, [contact.body.id]);
      expect(await enqueueAddedContacts(trx, c.id, clock.now(), { messageIdDomain: 'done.example' })).toBe(1);
      queuedRows();
      await committed;
    });
    await queued;
    expect(await schedules.completeCampaigns(clock.now())).toBe(0);
    commit();
    await importing;

    expect(await schedules.completeCampaigns(clock.now())).toBe(0);
    expect((await campaign(c.id)).status).toBe('running');
    await sendDue(c);
    expect(await schedules.completeCampaigns(clock.now())).toBe(1);
    expect((await campaign(c.id)).status).toBe('completed');
  });
});
