import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { useTestDatabase } from '../helpers/database';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('sender accounts API', () => {
  let world: World;
  const config = testConfig();
  const api = () => request(world.app);
  const auth = () => bearer(world.a.adminToken);

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db, config), 'acct');
  });

  it('stores SMTP credentials encrypted and never returns them', async () => {
    const domain = await api().post('/api/domains').set(auth()).send({ domain: 'Mail.Example.com', dkimSelector: 's1' });
    expect(domain.status).toBe(201);
    const res = await api()
      .post('/api/accounts')
      .set(auth())
      .send({ email: 'Amy@mail.example.com', displayName: 'Amy', transport: 'smtp', transportSettings: { host: 'smtp.example.com', port: 587 }, credentials: { user: 'amy', pass: 'hunter2-secret' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: 'amy@mail.example.com', transport: 'smtp', hasCredentials: true, domainId: domain.body.id, transportSettings: { host: 'smtp.example.com', port: 587, secure: false, requireTLS: true } });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    expect(JSON.stringify((await api().get(`/api/accounts/${res.body.id}`).set(auth())).body)).not.toContain('hunter2');
    expect(JSON.stringify((await api().get('/api/accounts').set(auth())).body)).not.toContain('hunter2');

    const stored = await t.db.selectFrom('sender_accounts').select('credentials_encrypted').where('id', '=', res.body.id).executeTakeFirstOrThrow();
    expect(stored.credentials_encrypted).toMatch(/^v1\./);
    expect(stored.credentials_encrypted).not.toContain('hunter2');
    expect(JSON.parse(createCredentialCipher(config.credentialKeys).decrypt(stored.credentials_encrypted!))).toEqual({ user: 'amy', pass: 'hunter2-secret' });

    const rotated = await api().patch(`/api/accounts/${res.body.id}`).set(auth()).send({ credentials: { user: 'amy', pass: 'new-secret' }, status: 'paused', dailyLimit: 10 });
    expect(rotated.body).toMatchObject({ status: 'paused', dailyLimit: 10, hasCredentials: true });
    expect(JSON.stringify(rotated.body)).not.toContain('new-secret');
    expect((await api().post('/api/accounts').set(auth()).send({ email: 'amy@mail.example.com', transport: 'sink' })).status).toBe(409);
  });

  it('keeps only the fields the transport uses from a Google service-account key', async () => {
    const KEY = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const res = await api()
      .post('/api/accounts')
      .set(auth())
      .send({ email: 'g@mail.example.com', transport: 'gmail', credentials: { type: 'service_account', project_id: 'p', client_email: 'svc@p.iam.gserviceaccount.com', private_key: KEY, private_key_id: 'k1' } });
    expect(res.status).toBe(201);
    const stored = await t.db.selectFrom('sender_accounts').select('credentials_encrypted').where('id', '=', res.body.id).executeTakeFirstOrThrow();
    expect(JSON.parse(createCredentialCipher(config.credentialKeys).decrypt(stored.credentials_encrypted!))).toEqual({
      type: 'service_account', client_email: 'svc@p.iam.gserviceaccount.com', private_key: KEY, private_key_id: 'k1',
    });
  });

  it('rejects bad accounts with the failing field paths', async () => {
    const cases: Array<[object, string]> = [
      [{ email: 'x@example.com', transport: 'smtp', transportSettings: { host: 'h.example.com', port: 587 }, credentials: { user: 'u' } }, 'credentials.pass'],
      [{ email: 'x@example.com', transport: 'smtp', transportSettings: { host: 'h', port: 70000 }, credentials: { user: 'u', pass: 'p' } }, 'transportSettings.port'],
      [{ email: 'x@example.com', transport: 'carrier-pigeon' }, 'transport'],
      [{ email: 'nope', transport: 'sink' }, 'email'],
      [{ email: 'x@example.com', transport: 'sink', displayName: 'Eve\r\nBcc: all@example.com' }, 'displayName'],
      [{ email: 'x@example.com', transport: 'gmail', credentials: { type: 'oauth2', client_id: 'c' } }, 'credentials.client_secret'],
    ];
    for (const [body, path] of cases) {
      const res = await api().post('/api/accounts').set(auth()).send(body);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
      expect(JSON.stringify(res.body)).not.toMatch(/"pass"|hunter/);
    }
  });

  it('imports hundreds of mailboxes from a CSV with a per-row report', async () => {
    const lines = ['email,display_name,smtp_host,smtp_port,smtp_user,smtp_password,daily_limit'];
    for (let i = 0; i < 300; i++) lines.push(`box${i}@mail.example.com,Box ${i},smtp.example.com,587,box${i},pw-${i}-secret,40`);
    lines.push('box0@mail.example.com,Dup,smtp.example.com,587,u,p,40');
    lines.push('amy@mail.example.com,Exists,smtp.example.com,587,u,p,40');
    lines.push('broken,Nope,smtp.example.com,587,u,p,40');
    lines.push('nopw@mail.example.com,No password,smtp.example.com,587,u,,40');
    const res = await api().post('/api/accounts/import').set(auth()).attach('file', Buffer.from(lines.join('\n')), 'accounts.csv');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 300, skipped: 2, invalid: 2 });
    expect(res.body.rows).toHaveLength(304);
    expect(res.body.rows[0]).toMatchObject({ line: 2, email: 'box0@mail.example.com', status: 'created', accountId: expect.any(String) });
    expect(res.body.rows.slice(300)).toEqual([
      { line: 302, email: 'box0@mail.example.com', status: 'skipped', errors: [{ path: 'email', message: 'appears earlier in the file' }] },
      { line: 303, email: 'amy@mail.example.com', status: 'skipped', errors: [{ path: 'email', message: 'an account with this address exists' }] },
      { line: 304, email: 'broken', status: 'invalid', errors: [{ path: 'email', message: 'not a valid email address' }] },
      { line: 305, email: 'nopw@mail.example.com', status: 'invalid', errors: [expect.objectContaining({ path: 'credentials.pass' })] },
    ]);
    expect(JSON.stringify(res.body)).not.toContain('-secret');
    const stored = await t.db.selectFrom('sender_accounts').select(['credentials_encrypted', 'domain_id', 'daily_limit']).where('email', '=', 'box7@mail.example.com').executeTakeFirstOrThrow();
    expect(stored.daily_limit).toBe(40);
    expect(stored.domain_id).not.toBeNull();
    expect(JSON.parse(createCredentialCipher(config.credentialKeys).decrypt(stored.credentials_encrypted!))).toEqual({ user: 'box7', pass: 'pw-7-secret' });
  });

  it('rejects a malformed accounts CSV as a whole', async () => {
    const before = await t.db.selectFrom('sender_accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const res = await api().post('/api/accounts/import').set(auth()).attach('file', Buffer.from('email,smtp_host\n"zz@mail.example.com,smtp.example.com\n'), 'a.csv');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('malformed_csv');
    const after = await t.db.selectFrom('sender_accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it('documents what each mailbox is doing, and the warm-up start it takes, in the OpenAPI document', async () => {
    const { body } = await api().get('/api/openapi.json');
    const shown = Object.keys(body.paths['/api/accounts/{id}'].get.responses['200'].content['application/json'].schema.properties);
    expect(shown).toEqual(expect.arrayContaining(['warmupStartedOn', 'warmupDay', 'effectiveDailyLimit', 'sentToday', 'nextSendAt', 'waitReason', 'worker', 'lastError']));
    const listed = body.paths['/api/accounts'].get.responses['200'].content['application/json'].schema.properties.accounts.items.properties;
    expect(Object.keys(listed)).toEqual(shown);
    const patch = body.paths['/api/accounts/{id}'].patch.requestBody.content['application/json'].schema.properties;
    expect(patch).toHaveProperty('warmupStartedOn');
    expect(patch).toHaveProperty('warmupDay');
    const create = body.paths['/api/accounts'].post.requestBody.content['application/json'].schema;
    const variants: Array<{ properties: object }> = create.oneOf ?? create.anyOf;
    expect(variants).toHaveLength(3); // smtp, gmail, sink
    for (const variant of variants) expect(Object.keys(variant.properties)).toEqual(expect.arrayContaining(['warmupStartedOn', 'warmupDay', 'status']));
  });

  it('deletes an account', async () => {
    const created = await api().post('/api/accounts').set(auth()).send({ email: 'temp@mail.example.com', transport: 'sink' });
    expect((await api().delete(`/api/accounts/${created.body.id}`).set(auth())).status).toBe(204);
    expect((await api().get(`/api/accounts/${created.body.id}`).set(auth())).status).toBe(404);
  });
});

describe('limits of new accounts', () => {
  const configWith = (sending: object) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-accounts-')), 'override.json');
    fs.writeFileSync(file, JSON.stringify({ sending }));
    return testConfig({ CONFIG_FILE: file });
  };
  const limitsOf = (a: { dailyLimit: number; hourlyLimit: number; minGapSeconds: number }) => [a.dailyLimit, a.hourlyLimit, a.minGapSeconds];

  it('come from sending.defaultDailyLimit, defaultHourlyLimit and minGapSeconds of a CONFIG_FILE override when the caller gives none, through the API and the CSV import', async () => {
    const world = await createWorld(t.db, testApp(t.db, configWith({ defaultDailyLimit: 77, defaultHourlyLimit: 11, minGapSeconds: 33 })), 'defaults');
    const auth = bearer(world.a.adminToken);
    await addSenderDomain(world.app, world.a.adminToken, 'defaults.example.com');
    const bare = await request(world.app).post('/api/accounts').set(auth).send({ email: 'bare@defaults.example.com', transport: 'sink' });
    expect(limitsOf(bare.body)).toEqual([77, 11, 33]);
    const given = await request(world.app).post('/api/accounts').set(auth).send({ email: 'given@defaults.example.com', transport: 'sink', dailyLimit: 5, hourlyLimit: 0, minGapSeconds: 0 });
    expect(limitsOf(given.body)).toEqual([5, 0, 0]);

    const csv = ['email,transport,daily_limit,hourly_limit,min_gap_seconds', 'csv-bare@defaults.example.com,sink,,,', 'csv-given@defaults.example.com,sink,8,4,2'].join('\n');
    expect((await request(world.app).post('/api/accounts/import').set(auth).set('Content-Type', 'text/csv').send(csv)).body).toMatchObject({ created: 2 });
    const noLimitColumns = 'email,transport\ncsv-short@defaults.example.com,sink';
    expect((await request(world.app).post('/api/accounts/import').set(auth).set('Content-Type', 'text/csv').send(noLimitColumns)).body).toMatchObject({ created: 1 });
    const stored = await t.db
      .selectFrom('sender_accounts')
      .select(['email', 'daily_limit', 'hourly_limit', 'min_gap_seconds'])
      .where('email', 'in', ['csv-bare@defaults.example.com', 'csv-given@defaults.example.com', 'csv-short@defaults.example.com'])
      .orderBy('email')
      .execute();
    expect(stored.map((a) => [a.email, a.daily_limit, a.hourly_limit, a.min_gap_seconds])).toEqual([
      ['csv-bare@defaults.example.com', 77, 11, 33],
      ['csv-given@defaults.example.com', 8, 4, 2],
      ['csv-short@defaults.example.com', 77, 11, 33],
    ]);
  });
});

describe('sender domains API', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'dom');
  });

  it('adds, updates and deletes a domain; the DKIM key is write-only', async () => {
    const auth = bearer(world.a.adminToken);
    const key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const created = await request(world.app).post('/api/domains').set(auth).send({ domain: 'dom.example.com', dkimSelector: 's1', dkimPrivateKey: key });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ domain: 'dom.example.com', hasDkimKey: true, spfStatus: 'unchecked' });
    expect(JSON.stringify(created.body)).not.toContain('PRIVATE KEY');
    const stored = await t.db.selectFrom('sender_domains').select('dkim_private_key_encrypted').where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(stored.dkim_private_key_encrypted).toMatch(/^v1\./);
    expect((await request(world.app).post('/api/domains').set(auth).send({ domain: 'DOM.example.com' })).status).toBe(409);
    expect((await request(world.app).post('/api/domains').set(auth).send({ domain: 'not a domain' })).status).toBe(400);
    expect((await request(world.app).post('/api/domains').set(auth).send({ domain: 'x.example.com', dkimPrivateKey: 'plain text' })).status).toBe(400);
    // Shaped like a PEM key but not one, or not RSA (signatures are rsa-sha256): refused, naming the field.
    const fake = '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAsecret\n-----END PRIVATE KEY-----\n';
    const ed25519 = crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    for (const dkimPrivateKey of [fake, ed25519]) {
      const refused = await request(world.app).post('/api/domains').set(auth).send({ domain: 'x.example.com', dkimPrivateKey });
      expect({ status: refused.status, paths: refused.body.error.details.issues.map((i: { path: string }) => i.path) }).toEqual({ status: 400, paths: ['dkimPrivateKey'] });
      expect(JSON.stringify(refused.body)).not.toContain('PRIVATE KEY');
    }
    const patched = await request(world.app).patch(`/api/domains/${created.body.id}`).set(auth).send({ dailyLimit: 500, dkimPrivateKey: null });
    expect(patched.body).toMatchObject({ dailyLimit: 500, hasDkimKey: false });
    expect((await request(world.app).get('/api/domains').set(auth)).body.domains).toHaveLength(1);
    expect((await request(world.app).delete(`/api/domains/${created.body.id}`).set(auth)).status).toBe(204);
  });
});
