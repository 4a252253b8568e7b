/**
 * Issue 15 item 7: today's distinct recipients at Gmail, Yahoo and Microsoft consumer domains,
 * per primary sender domain (subdomains summed), shown on GET /api/stats/domains and warned
 * about (one `bulk_sender_threshold` alert a day) from dns.bulkSenderWarnAt.
 */
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { addContacts, createAccount, createCampaign } from '../queue/fixtures';
import { consumerProvider, warnBulkSenders } from '../../src/dns/bulk-sender';
import type { SendOutcome } from '../../src/db/database';

const t = useTestDatabase();
const NOW = new Date('2026-03-02T15:00:00Z');
const YESTERDAY = new Date('2026-03-01T22:00:00Z');

describe('bulk-sender counts', () => {
  let world: World;
  const config = testConfig({}, { dns: { bulkSenderWarnAt: 5 } });
  const app = () => testApp(t.db, config, () => NOW);

  /** A send from `accountId` to a new contact at `domain`, logged with `outcome` at `at`. */
  async function send(accountId: string, campaignId: string, domain: string, at: Date, outcome: SendOutcome = 'accepted', times = 1) {
    const [contact] = await addContacts(t.db, world.a.clientId, campaignId, 1, { domain });
    const step = await t.db.selectFrom('sequence_steps').select('id').where('campaign_id', '=', campaignId).executeTakeFirstOrThrow();
    const messageId = `<${contact!.id}@brand.test>`;
    const row = await t.db
      .insertInto('email_queue')
      .values({ client_id: world.a.clientId, campaign_id: campaignId, contact_id: contact!.id, step_id: step.id, step_number: 1, account_id: accountId, to_email: contact!.email, recipient_domain: domain, status: 'sent', run_after: at, sent_at: at, message_id: messageId })
      .returning('id')
      .executeTakeFirstOrThrow();
    // `times` > 1: the same recipient logged again (an attempt that was reconciled as accepted twice counts once).
    for (let i = 1; i <= times; i++) await t.db.insertInto('send_logs').values({ queue_id: row.id, client_id: world.a.clientId, campaign_id: campaignId, account_id: accountId, message_id: messageId, attempt: i, outcome, created_at: at }).execute();
  }

  beforeAll(async () => {
    world = await createWorld(t.db, app(), 'bulk');
  });

  it('knows the consumer domains of each provider', () => {
    const patterns = config.dns.consumerDomains;
    expect(['gmail.com', 'googlemail.com', 'yahoo.co.uk', 'aol.com', 'hotmail.fr', 'live.com', 'msn.com', 'outlook.com', 'example.org', 'yahoo-inc.example'].map((d) => consumerProvider(d, patterns))).toEqual([
      'gmail',
      'gmail',
      'yahoo',
      'yahoo',
      'microsoft',
      'microsoft',
      'microsoft',
      'microsoft',
      undefined,
      undefined,
    ]);
  });

  it("counts today's consumer recipients per primary domain, and warns once from the threshold", async () => {
    const mail = await createAccount(t.db, world.a.clientId, { email: 'ann@mail.brand.test' });
    const news = await createAccount(t.db, world.a.clientId, { email: 'bob@news.brand.test' });
    const campaign = await createCampaign(t.db, world.a.clientId, { senders: [mail.id, news.id] });
    await send(mail.id, campaign.id, 'gmail.com', NOW, 'accepted', 2); // one recipient, twice
    await send(mail.id, campaign.id, 'googlemail.com', NOW);
    await send(news.id, campaign.id, 'yahoo.co.uk', NOW);
    await send(news.id, campaign.id, 'hotmail.fr', NOW);
    await send(mail.id, campaign.id, 'example.org', NOW); // not a consumer domain
    await send(mail.id, campaign.id, 'gmail.com', YESTERDAY); // another day
    await send(mail.id, campaign.id, 'gmail.com', NOW, 'recipient_hard'); // not delivered

    const stats = await request(app()).get('/api/stats/domains').set(bearer(world.a.adminToken));
    expect(stats.status).toBe(200);
    const mailDomain = stats.body.domains.find((d: { domain: string }) => d.domain === 'mail.brand.test');
    expect(mailDomain.bulkSender).toEqual({ primaryDomain: 'brand.test', day: '2026-03-02', consumerRecipients: 4, byProvider: { gmail: 2, yahoo: 1, microsoft: 1, other: 0 }, warnAt: 5, limit: 5000, warning: false });

    expect(await warnBulkSenders(t.db, config.dns, NOW)).toBe(0);
    await send(news.id, campaign.id, 'outlook.com', NOW);
    expect(await warnBulkSenders(t.db, config.dns, NOW)).toBe(1);
    expect(await warnBulkSenders(t.db, config.dns, NOW)).toBe(0);
    const alerts = await t.db.selectFrom('alerts').select(['severity', 'message']).where('code', '=', 'bulk_sender_threshold').where('client_id', '=', world.a.clientId).execute();
    expect(alerts).toEqual([{ severity: 'warning', message: expect.stringMatching(/^Primary domain brand\.test has sent to 5 Gmail \/ Yahoo \/ Microsoft consumer recipients today/) }]);
    const after = await request(app()).get('/api/stats/domains').set(bearer(world.a.adminToken));
    expect(after.body.domains.find((d: { domain: string }) => d.domain === 'news.brand.test').bulkSender).toMatchObject({ consumerRecipients: 5, warning: true });
    // Another client never sees them.
    const other = await request(app()).get('/api/stats/domains').set(bearer(world.b.adminToken));
    expect(other.body.domains).toEqual([]);
  });
});
