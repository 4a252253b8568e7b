/**
 * The owner's `?clientId=` scope selector naming a client that does not exist: creates and
 * imports answer 404 (as for a body clientId that does not exist), never a 500 from the
 * foreign key at the insert; reads answer an empty scope.
 */
import crypto from 'node:crypto';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe("the owner's ?clientId= naming no client", () => {
  let world: World;
  const missing = crypto.randomUUID();
  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'selector');
  });

  it.each([
    ['/api/sponsors', { name: 'Sponsor' }],
    ['/api/campaigns', { name: 'Campaign' }],
    ['/api/contacts', { email: 'someone@example.com' }],
    ['/api/suppressions', { email: 'someone@example.com' }],
  ])('POST %s answers 404', async (path, body) => {
    const res = await request(world.app).post(path).query({ clientId: missing }).set(bearer(world.ownerToken)).send(body);
    expect([res.status, res.body.error?.code]).toEqual([404, 'not_found']);
  });

  it.each(['/api/contacts/import', '/api/suppressions/import'])('POST %s (CSV) answers 404 and imports nothing', async (path) => {
    const res = await request(world.app)
      .post(path)
      .query({ clientId: missing })
      .set(bearer(world.ownerToken))
      .attach('file', Buffer.from('email\nimported@example.com\n'), { filename: 'list.csv', contentType: 'text/csv' });
    expect([res.status, res.body.error?.code]).toEqual([404, 'not_found']);
    expect(await t.db.selectFrom('contacts').select('id').where('email', '=', 'imported@example.com').execute()).toEqual([]);
  });

  it('reads an empty scope', async () => {
    const res = await request(world.app).get('/api/campaigns').query({ clientId: missing }).set(bearer(world.ownerToken));
    expect([res.status, res.body.campaigns]).toEqual([200, []]);
  });
});
