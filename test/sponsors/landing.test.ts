import type { Express } from 'express';
import request from 'supertest';
import type { Config } from '../../src/config';
import { landingSignerFor, trackingSignerFor } from '../../src/tracking/tracking-signer';
import { useTestDatabase } from '../helpers/database';
import { testApp, testConfig } from '../http/admin-api.helpers';
import { seedSentMessage, type SentMessage } from '../tracking/fixtures';

const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

describe('offer landing page from a tracked click', () => {
  const t = useTestDatabase();
  const config: Config = testConfig();
  const landing = landingSignerFor(config);
  const signer = trackingSignerFor(config);
  let app: Express;

  beforeAll(() => {
    app = testApp(t.db, config);
  });

  async function offerCampaign(): Promise<{ message: SentMessage; offerId: string; sponsorId: string }> {
    const client = await t.db.insertInto('clients').values({ name: `landing-${Date.now()}-${Math.random()}` }).returning('id').executeTakeFirstOrThrow();
    const sponsor = await t.db.insertInto('sponsors').values({ client_id: client.id, name: 'Acme', delivery_url: 'http://127.0.0.1:9/x', delivery_secret_encrypted: 'v1.x.x.x.x' }).returning('id').executeTakeFirstOrThrow();
    const offer = await t.db
      .insertInto('offers')
      .values({ client_id: client.id, sponsor_id: sponsor.id, name: 'Solar survey', description: 'Get a free quote', lead_fields: JSON.stringify(['first_name', 'zip_code']) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const message = await seedSentMessage(t.db, { clientId: client.id, linkUrl: landing.offerLinkUrl(offer.id) });
    return { message, offerId: offer.id, sponsorId: sponsor.id };
  }

  it('turns a click on an offer link into the signed landing page, prefilled with the address, and stores the submitted lead for that message', async () => {
    const { message, offerId, sponsorId } = await offerCampaign();
    const click = await request(app).get(new URL(signer.clickUrl(message.sentQueueId, message.linkId)).pathname).set('User-Agent', BROWSER_UA);
    expect(click.status).toBe(302);
    const location = click.headers.location!;
    expect(location).toBe(landing.landingUrl(message.sentQueueId, offerId));

    const path = new URL(location).pathname;
    const form = await request(app).get(path);
    expect(form.status).toBe(200);
    expect(form.text).toContain('Solar survey');
    expect(form.text).toContain(`value="${message.email}"`);
    expect(form.text).toContain('name="first_name"');
    expect(form.text).toContain('name="zip_code"');

    const submitted = await request(app).post(path).type('form').send({ email: message.email, first_name: 'Ada', zip_code: '90210' });
    expect(submitted.status).toBe(200);
    expect(submitted.text).toContain('Thank you');
    const again = await request(app).post(path).type('form').send({ email: message.email, first_name: 'Ada L', zip_code: '90210' });
    expect(again.status).toBe(200);

    const leads = await t.db.selectFrom('leads').selectAll().where('sponsor_id', '=', sponsorId).execute();
    expect(leads).toHaveLength(1);
    expect(leads[0]).toMatchObject({ offer_id: offerId, email: message.email, source_queue_id: message.sentQueueId, data: { first_name: 'Ada', zip_code: '90210' } });
    expect(await t.db.selectFrom('lead_deliveries').select('status').where('lead_id', '=', leads[0]!.id).execute()).toEqual([{ status: 'pending' }]);
  });

  it('refuses a tampered landing token, a bad address and markup in fields, and never shows the raw offer link as a form', async () => {
    const { message, offerId, sponsorId } = await offerCampaign();
    const path = new URL(landing.landingUrl(message.sentQueueId, offerId)).pathname;
    const tampered = path.replace(/\/l\/l\d+-/, `/l/l${message.followUpQueueId}-`);
    expect((await request(app).get(tampered)).status).toBe(400);
    expect((await request(app).post(tampered).type('form').send({ email: 'x@example.com' })).status).toBe(400);

    const badEmail = await request(app).post(path).type('form').send({ email: 'not an address', first_name: '<script>alert(1)</script>' });
    expect(badEmail.status).toBe(400);
    expect(badEmail.text).toContain('valid email');
    expect(badEmail.text).not.toContain('<script>alert(1)</script>');
    expect(badEmail.text).toContain('&lt;script&gt;');
    const tooLong = await request(app).post(path).type('form').send({ email: message.email, first_name: 'x'.repeat(201) });
    expect(tooLong.status).toBe(400);

    expect((await request(app).get(new URL(landing.offerLinkUrl(offerId)).pathname)).status).toBe(404);
    expect(await t.db.selectFrom('leads').select('id').where('sponsor_id', '=', sponsorId).execute()).toEqual([]);
  });
});
