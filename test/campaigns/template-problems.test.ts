/**
 * Template problems along the API path: a step with a template error is refused when saved
 * (each problem with step, field and position), the preview lists the problems for the chosen
 * contact, and a step saved before the check can neither start nor be previewed as sendable.
 */
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('template problems through the API', () => {
  let world: World;
  let accountId: string;
  const api = () => request(world.app);
  const auth = () => bearer(world.a.adminToken);

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'tpl');
    const account = await t.db.insertInto('sender_accounts').values({ client_id: world.a.clientId, email: 'sender@tpl.example.com', transport: 'sink' }).returning('id').executeTakeFirstOrThrow();
    accountId = account.id;
  });

  const campaignWith = (steps: object[]) => api().post('/api/campaigns').set(auth()).send({ name: `C ${Math.random()}`, steps, senderAccountIds: [accountId] });

  it('refuses to save steps with template errors, listing each with step, field, code and position', async () => {
    const res = await campaignWith([
      { subject: 'Hello', bodyText: 'Fine {{first_name|there}}' },
      { subject: '{Hi|Hello there', bodyText: 'Dear {{first_name,\nsee you', delayMinutes: 60 },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toEqual([
      { path: 'steps.1.subject', problem: 'unclosed_spintax', position: { index: 0, line: 1, column: 1 }, message: expect.stringContaining('never closed') },
      { path: 'steps.1.bodyText', problem: 'unclosed_variable', position: { index: 5, line: 1, column: 6 }, message: expect.stringContaining('"{{" is never closed') },
    ]);

    const good = await campaignWith([{ subject: 'Hello', bodyText: 'Body' }]);
    expect(good.status).toBe(201);
    const put = await api()
      .put(`/api/campaigns/${good.body.id}/steps`)
      .set(auth())
      .send({ steps: [{ subject: 'Hi {{first name}}', bodyHtml: '<p>{A|B}}</p>' }] });
    expect(put.status).toBe(400);
    expect(put.body.error.details.issues.map((i: { path: string; problem: string }) => `${i.path} ${i.problem}`)).toEqual(['steps.0.subject invalid_variable', 'steps.0.bodyHtml unopened_brace']);
  });

  it('saves warnings and lists them, with the variables the chosen contact lacks, in the preview', async () => {
    const campaign = await campaignWith([{ subject: '{Hi||Hello} {{first_name}}', bodyText: 'From {{company|us}} about {{plan}}' }]);
    expect(campaign.status).toBe(201);
    const contact = await api().post('/api/contacts').set(auth()).send({ email: 'noname@example.com', company: 'Acme' });
    const res = await api().get(`/api/campaigns/${campaign.body.id}/steps/1/preview?contactId=${contact.body.id}`).set(auth());
    expect(res.status).toBe(200);
    expect(res.body.problems.map((p: { field: string; code: string; severity: string; position: { column: number }; variable?: string }) => [p.field, p.code, p.severity, p.position.column, p.variable])).toEqual([
      ['subject', 'empty_alternative', 'warning', 5, undefined],
      ['subject', 'missing_value', 'warning', 13, 'first_name'],
      ['bodyText', 'missing_value', 'warning', 27, 'plan'],
    ]);
  });

  it('never starts or previews as sendable a step saved with an error before saves were checked', async () => {
    const campaign = await campaignWith([{ subject: 'Hello', bodyText: 'Body' }]);
    const contact = await api().post('/api/contacts').set(auth()).send({ email: 'legacy@example.com', firstName: 'Lee' });
    await api().post(`/api/campaigns/${campaign.body.id}/contacts`).set(auth()).send({ contactIds: [contact.body.id] });
    await t.db.updateTable('sequence_steps').set({ subject: '{Hi|Hello {{first_name}}' }).where('campaign_id', '=', campaign.body.id).execute();

    const preview = await api().get(`/api/campaigns/${campaign.body.id}/steps/1/preview?contactId=${contact.body.id}`).set(auth());
    expect(preview.status).toBe(422);
    expect(preview.body.error).toMatchObject({ code: 'template_problems', details: { problems: [{ field: 'subject', code: 'unclosed_spintax', severity: 'error', position: { line: 1, column: 1 } }] } });

    const start = await api().post(`/api/campaigns/${campaign.body.id}/start`).set(auth());
    expect(start.status).toBe(422);
    expect(start.body.error.details.issues).toEqual([{ path: 'steps.0.subject', message: expect.stringContaining('never closed') }]);
    expect((await t.db.selectFrom('email_queue').select('id').where('campaign_id', '=', campaign.body.id).execute()).length).toBe(0);
  });
});
