import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('contacts CSV import', () => {
  let world: World;
  const upload = (csv: string, path = '/api/contacts/import', token = world.a.adminToken) =>
    request(world.app).post(path).set(bearer(token)).attach('file', Buffer.from(csv), 'contacts.csv');
  const contactCount = async (clientId: string) =>
    (await t.db.selectFrom('contacts').select((eb) => eb.fn.countAll<number>().as('n')).where('client_id', '=', clientId).executeTakeFirstOrThrow()).n;

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'imp');
    await t.db.insertInto('suppressions').values({ client_id: world.a.clientId, email: 'gone@example.com', reason: 'unsubscribed' }).execute();
  });

  it('imports valid rows, reports bad rows by line, and counts duplicates and suppressed addresses', async () => {
    const csv = [
      'Email,First Name,last_name,Company,Time Zone,plan',
      'ann@example.com,Ann,Lee,Acme,Europe/Berlin,gold',
      'not-an-email,Bob,,,,',
      'ANN@example.com,Ann again,,,,',
      'gone@example.com,Gone,,,,',
      '"carl@example.com","Carl ""CJ""",Jones,"Big, Co",,silver',
      'dora@example.com,"Dora\nBcc: victim@example.com",,,,',
      'ed@example.com,Ed,,,Mars/Olympus,',
      'fay@example.com,Fay,,,',
    ].join('\n');
    const res = await upload(csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows: 8, imported: 2, existing: 0, duplicatesInFile: 1, suppressed: 1, invalid: 4, attachedToCampaign: 0, errorsTruncated: false });
    expect(res.body.errors).toEqual([
      { line: 3, field: 'email', message: 'not a valid email address' },
      // The quoted field spans two physical lines; the error names the line the record ends on.
      { line: 8, field: 'first_name', message: 'contains line breaks or control characters' },
      { line: 9, field: 'time_zone', message: 'unknown time zone "Mars/Olympus"' },
      { line: 10, field: '*', message: 'expected 6 columns, found 5' },
    ]);
    const stored = await t.db.selectFrom('contacts').selectAll().where('client_id', '=', world.a.clientId).orderBy('email').execute();
    expect(stored.map((c) => [c.email, c.first_name, c.company, c.time_zone, c.custom_fields])).toEqual([
      ['ann@example.com', 'Ann', 'Acme', 'Europe/Berlin', { plan: 'gold' }],
      ['carl@example.com', 'Carl "CJ"', 'Big, Co', null, { plan: 'silver' }],
    ]);
  });

  it('counts addresses that are already contacts as existing and leaves them unchanged', async () => {
    const res = await upload('email,first_name\nann@example.com,Changed\nnew@example.com,New\n');
    expect(res.body).toMatchObject({ rows: 2, imported: 1, existing: 1 });
    const ann = await t.db.selectFrom('contacts').select('first_name').where('email', '=', 'ann@example.com').executeTakeFirstOrThrow();
    expect(ann.first_name).toBe('Ann');
  });

  it('rejects a malformed file as a whole, with the line, and imports nothing from it', async () => {
    const before = await contactCount(world.a.clientId);
    const rows = Array.from({ length: 12_000 }, (_, i) => `bulk${i}@example.com,Bulk`);
    const res = await upload(['email,first_name', ...rows, 'broken@example.com,"unclosed quote', 'more@example.com,x'].join('\n'));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('malformed_csv');
    expect(res.body.error.details.line).toBeGreaterThanOrEqual(12_002);
    // 12,000 good rows came before the break (more than one batch): none of them stayed.
    expect(await contactCount(world.a.clientId)).toBe(before);
  });

  it('rejects a file without an email column or without any rows', async () => {
    const noEmail = await upload('name,company\nAnn,Acme\n');
    expect(noEmail.status).toBe(400);
    expect(noEmail.body.error.code).toBe('invalid_csv_header');
    expect((await upload('')).status).toBe(400);
    const twice = await upload('email,email\na@example.com,b@example.com\n');
    expect(twice.status).toBe(400);
  });

  it('in strict mode rejects the whole file when any row is invalid', async () => {
    const before = await contactCount(world.a.clientId);
    const res = await upload('email\ngood1@example.com\nbad address\ngood2@example.com\n', '/api/contacts/import?strict=true');
    expect(res.status).toBe(422);
    expect(res.body.error.details.errors).toEqual([{ line: 3, field: 'email', message: 'not a valid email address' }]);
    expect(await contactCount(world.a.clientId)).toBe(before);
  });

  it('accepts a raw text/csv body as well as multipart', async () => {
    const res = await request(world.app).post('/api/contacts/import').set(bearer(world.a.adminToken)).set('Content-Type', 'text/csv').send('email\nraw@example.com\n');
    expect(res.status).toBe(200);
    expect(res.body.imported).toBe(1);
  });

  it('refuses other content types and multipart requests without a file', async () => {
    const json = await request(world.app).post('/api/contacts/import').set(bearer(world.a.adminToken)).send({ email: 'x@example.com' });
    expect(json.status).toBe(415);
    const noFile = await request(world.app).post('/api/contacts/import').set(bearer(world.a.adminToken)).field('note', 'hi');
    expect(noFile.status).toBe(400);
  });

  it('answers 413 for a file over the limit and imports nothing', async () => {
    const config = testConfig();
    config.imports.maxCsvBytes = 2000;
    const limited = testApp(t.db, config);
    const before = await contactCount(world.a.clientId);
    const csv = ['email', ...Array.from({ length: 200 }, (_, i) => `big${i}@example.com`)].join('\n');
    const res = await request(limited).post('/api/contacts/import').set(bearer(world.a.adminToken)).attach('file', Buffer.from(csv), 'c.csv');
    expect(res.status).toBe(413);
    const raw = await request(limited).post('/api/contacts/import').set(bearer(world.a.adminToken)).set('Content-Type', 'text/csv').send(csv);
    expect(raw.status).toBe(413);
    expect(await contactCount(world.a.clientId)).toBe(before);
  });

  it('attaches imported and already-known contacts to a campaign, skipping suppressed ones', async () => {
    const campaign = await t.db.insertInto('campaigns').values({ client_id: world.a.clientId, name: 'import target' }).returning('id').executeTakeFirstOrThrow();
    const res = await upload('email\nann@example.com\nfresh@example.com\ngone@example.com\n', `/api/campaigns/${campaign.id}/contacts/import`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ imported: 1, existing: 1, suppressed: 1, attachedToCampaign: 2 });
    const members = await t.db
      .selectFrom('campaign_contacts')
      .innerJoin('contacts', 'contacts.id', 'campaign_contacts.contact_id')
      .select('contacts.email')
      .where('campaign_id', '=', campaign.id)
      .orderBy('contacts.email')
      .execute();
    expect(members.map((m) => m.email)).toEqual(['ann@example.com', 'fresh@example.com']);
  });

  it('keeps each client’s contacts apart: the same address imports separately for client B', async () => {
    const res = await upload('email\nann@example.com\n', '/api/contacts/import', world.b.adminToken);
    expect(res.body.imported).toBe(1);
    const owner = await request(world.app).post('/api/contacts/import').set(bearer(world.ownerToken)).attach('file', Buffer.from('email\nz@example.com\n'), 'c.csv');
    expect(owner.status).toBe(400);
    expect(owner.body.error.details.issues[0].path).toBe('clientId');
    const scoped = await request(world.app).post(`/api/contacts/import?clientId=${world.b.clientId}`).set(bearer(world.ownerToken)).attach('file', Buffer.from('email\nz@example.com\n'), 'c.csv');
    expect(scoped.body.imported).toBe(1);
  });
});

describe('contacts API', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'capi');
  });

  it('creates, reads, updates, lists and deletes a contact', async () => {
    const auth = bearer(world.a.adminToken);
    const created = await request(world.app).post('/api/contacts').set(auth).send({ email: 'Jo@Example.com', firstName: 'Jo', customFields: { plan: 'gold' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'jo@example.com', firstName: 'Jo', customFields: { plan: 'gold' }, clientId: world.a.clientId });
    const id = created.body.id as string;
    expect((await request(world.app).post('/api/contacts').set(auth).send({ email: 'jo@example.com' })).status).toBe(409);
    expect((await request(world.app).get(`/api/contacts/${id}`).set(auth)).body.email).toBe('jo@example.com');
    const patched = await request(world.app).patch(`/api/contacts/${id}`).set(auth).send({ company: 'Acme', timeZone: 'America/New_York' });
    expect(patched.body).toMatchObject({ company: 'Acme', timeZone: 'America/New_York' });
    const listed = await request(world.app).get('/api/contacts?search=jo@').set(auth);
    expect(listed.body.contacts.map((c: { id: string }) => c.id)).toEqual([id]);
    expect((await request(world.app).delete(`/api/contacts/${id}`).set(auth)).status).toBe(204);
    expect((await request(world.app).get(`/api/contacts/${id}`).set(auth)).status).toBe(404);
  });

  it('rejects invalid addresses, header injection in names, unknown fields and wrong types', async () => {
    const auth = bearer(world.a.adminToken);
    const cases: Array<[object, string]> = [
      [{ email: 'not an address' }, 'email'],
      [{}, 'email'],
      [{ email: 'a@example.com', firstName: 'Eve\r\nBcc: all@example.com' }, 'firstName'],
      [{ email: 'a@example.com', lastName: 42 }, 'lastName'],
      [{ email: 'a@example.com', timeZone: 'Nowhere/Land' }, 'timeZone'],
      [{ email: 'a@example.com', customFields: { 'Bad Key': 'x' } }, 'customFields.Bad Key'],
      [{ email: 'a@example.com', admin: true }, ''],
    ];
    for (const [body, path] of cases) {
      const res = await request(world.app).post('/api/contacts').set(auth).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
  });
});
