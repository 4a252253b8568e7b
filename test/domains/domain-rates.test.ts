/**
 * Complaint and hard-bounce rates per sender domain: complaints and bounces through the real
 * entry points (applyFeedbackEvent, the SMTP-time bounce writer) over sends recorded as the
 * send journal records them, judged against the thresholds (one alert per level crossed, the
 * domain's mailboxes paused at the pause line) and shown by GET /api/domains, /domains/:id and
 * /stats/domains.
 */
import request from 'supertest';
import { applyFeedbackEvent } from '../../src/inbound/feedback-event';
import { insertBounce } from '../../src/sending/bounce-outcome.repository';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { account, inboundDeps, inboundWorld, type InboundWorld } from '../inbound/inbound-world';
import { createAccount } from '../queue/fixtures';

const t = useTestDatabase();
const SENT = new Date('2026-12-03T09:00:00Z');
const NOW = new Date('2026-12-04T14:00:00Z');
// Lines low enough for a test of twenty sends: 5 % warns, 15 % pauses, judged from 10 sends.
const RATES = { domainRateWindowDays: 7, domainRateMinSends: 10, domainComplaintRateWarnPct: 5, domainComplaintRatePausePct: 15 };
const deps = inboundDeps(RATES, () => NOW);
const DOMAIN = 'mail.rates.test';
const contactEmail = (i: number) => `reader${i}@rates-client.test`;

describe('complaint and bounce rates per sender domain', () => {
  let world: World;
  let rows: InboundWorld;
  let otherMailbox: string;
  let domainId: string;
  const get = (path: string) => request(world.app).get(path).set(bearer(world.a.adminToken));
  const complain = (i: number) =>
    applyFeedbackEvent(t.db, { source: 'ses', eventId: `complaint-${i}`, kind: 'complaint', recipient: contactEmail(i), messageId: `<rates-${i}@${DOMAIN}>`, clientId: world.a.clientId, occurredAt: NOW }, deps);
  const alerts = () => t.db.selectFrom('alerts').select(['code', 'severity']).where('client_id', '=', world.a.clientId).where('code', 'like', 'sender_domain%').orderBy('id').execute();

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db, testConfig({}, { inbound: RATES }), () => NOW), 'rates');
    const created = await request(world.app).post('/api/domains').set(bearer(world.a.adminToken)).send({ domain: DOMAIN });
    expect(created.status).toBe(201);
    domainId = created.body.id;
    rows = await inboundWorld(t.db, {
      clientId: world.a.clientId,
      accountEmail: `bob@${DOMAIN}`,
      contacts: Array.from({ length: 20 }, (_, i) => ({ email: contactEmail(i), messageId: `<rates-${i}@${DOMAIN}>` })),
      sentAt: SENT,
    });
    otherMailbox = (await createAccount(t.db, world.a.clientId, { email: `carol@${DOMAIN}` })).id;
  });

  it('counts the sends of the domain’s mailboxes in the window', async () => {
    const res = await get(`/api/domains/${domainId}`);
    expect(res.status).toBe(200);
    expect(res.body.rates).toEqual({ windowDays: 7, sends: 20, hardBounces: 0, complaints: 0, complaintRatePct: 0, bounceRatePct: 0, judged: true });
  });

  it('warns once when the complaint rate crosses the warning line, and pauses the domain’s mailboxes once it crosses the pause line', async () => {
    await complain(0); // 1 in 20: 5 %
    expect(await alerts()).toEqual([{ code: 'sender_domain_complaint_rate_warning', severity: 'warning' }]);
    await complain(1); // 10 %: still the warning level, no second alert
    expect(await alerts()).toHaveLength(1);
    expect(await account(t.db, otherMailbox)).toMatchObject({ status: 'active' });
    await complain(2); // 15 %
    expect(await alerts()).toEqual([
      { code: 'sender_domain_complaint_rate_warning', severity: 'warning' },
      { code: 'sender_domain_complaint_rate', severity: 'critical' },
    ]);
    expect(await account(t.db, otherMailbox)).toMatchObject({ status: 'paused', pause_reason: 'complaint_rate' });
    await complain(3); // 20 %: already paused and alerted
    expect(await alerts()).toHaveLength(2);
  });

  it('counts hard bounces at SMTP time and returned alike in the bounce rate, shown in the list and the domain', async () => {
    const contact = rows.contacts.get(contactEmail(10))!;
    await insertBounce(t.db, { type: 'hard', clientId: world.a.clientId, queueId: contact.step1, accountId: rows.accountId, email: contactEmail(10), code: '5.1.1', diagnostic: '550 5.1.1 no such user', at: NOW });
    await applyFeedbackEvent(
      t.db,
      { source: 'ses', eventId: 'bounce-11', kind: 'bounce', recipient: contactEmail(11), messageId: `<rates-11@${DOMAIN}>`, status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown', clientId: world.a.clientId, occurredAt: NOW },
      deps,
    );
    const expected = { windowDays: 7, sends: 20, hardBounces: 2, complaints: 4, complaintRatePct: 20, bounceRatePct: 10, judged: true };
    expect((await get(`/api/domains/${domainId}`)).body.rates).toEqual(expected);
    const list = await get('/api/domains');
    expect(list.body.domains.find((d: { id: string }) => d.id === domainId).rates).toEqual(expected);
    const stats = await get('/api/stats/domains');
    expect(stats.status).toBe(200);
    expect(stats.body.domains).toEqual([{ clientId: world.a.clientId, domain: DOMAIN, ...expected, bulkSender: expect.objectContaining({ primaryDomain: 'rates.test' }) }]);
  });

  it('leaves out what is older than the window', async () => {
    const later = testApp(t.db, testConfig({}, { inbound: RATES }), () => new Date(NOW.getTime() + 8 * 86_400_000));
    const res = await request(later).get(`/api/domains/${domainId}`).set(bearer(world.a.adminToken));
    expect(res.body.rates).toEqual({ windowDays: 7, sends: 0, hardBounces: 0, complaints: 0, complaintRatePct: 0, bounceRatePct: 0, judged: false });
  });
});
