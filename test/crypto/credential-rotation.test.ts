/**
 * `rotate-keys`: every sealed column re-encrypted with the newest of two keys, counts per
 * table, idempotent, a value no key opens stops its table without changing it, and the list of
 * sealed columns matches the schema's *_encrypted columns.
 */
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import request from 'supertest';
import { sql } from 'kysely';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { describeRotation, rotateCredentials, SEALED_COLUMNS } from '../../src/crypto/credential-rotation';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { useTestDatabase } from '../helpers/database';

const keyA = { id: 'a', key: crypto.randomBytes(32) };
const keyB = { id: 'b', key: crypto.randomBytes(32) };
const keysEnv = (...keys: (typeof keyA)[]) => keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
const dkimKey = () => crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('credential key rotation', () => {
  const t = useTestDatabase();
  let world: World;

  beforeAll(async () => {
    // Everything written through the API while only key A exists.
    const app = testApp(t.db, testConfig({ CREDENTIALS_KEYS: keysEnv(keyA) }));
    world = await createWorld(t.db, app, 'rot');
    const admin = bearer(world.a.adminToken);
    await addSenderDomain(app, world.a.adminToken, 'mail.rot.example.com', { dkimSelector: 's1', dkimPrivateKey: dkimKey() });
    for (const name of ['amy', 'bob', 'cat']) {
      const res = await request(app).post('/api/accounts').set(admin).send({ email: `${name}@mail.rot.example.com`, transport: 'smtp', transportSettings: { host: 'smtp.example.com', port: 587 }, credentials: { user: name, pass: `${name}-secret` } });
      expect(res.status).toBe(201);
    }
    expect((await request(app).post('/api/accounts').set(admin).send({ email: 'sink@mail.rot.example.com', transport: 'sink' })).status).toBe(201);
    expect((await request(app).post('/api/webhook-endpoints').set(admin).send({ provider: 'mailgun', name: 'Mailgun', signingKey: 'key-abcdef0123456789' })).status).toBe(201);
  });

  const sealedAccounts = async () => (await t.db.selectFrom('sender_accounts').select(['email', 'credentials_encrypted']).where('credentials_encrypted', 'is not', null).orderBy('email').execute());

  it('re-encrypts every sealed value with the newest key, keeps the plaintext, and reports per table', async () => {
    const before = await sealedAccounts();
    expect(before.every((row) => row.credentials_encrypted?.startsWith('v1.a.'))).toBe(true);
    const cipher = createCredentialCipher([keyB, keyA]);

    const counts = await rotateCredentials(t.db, cipher);
    expect(counts.find((c) => c.label === 'accounts')).toEqual({ label: 'accounts', reEncrypted: 3, alreadyCurrent: 0 });
    expect(counts.find((c) => c.label === 'domains')).toEqual({ label: 'domains', reEncrypted: 1, alreadyCurrent: 0 });
    expect(counts.find((c) => c.label === 'webhook endpoints')).toEqual({ label: 'webhook endpoints', reEncrypted: 1, alreadyCurrent: 0 });
    expect(describeRotation(counts)).toContain('accounts: 3 re-encrypted, 0 already current');

    const after = await sealedAccounts();
    expect(after.every((row) => row.credentials_encrypted?.startsWith('v1.b.'))).toBe(true);
    // Key A alone can no longer open them; the plaintext is what was stored.
    expect(() => createCredentialCipher([keyA]).decrypt(after[0]?.credentials_encrypted as string)).toThrow();
    expect(after.map((row) => JSON.parse(createCredentialCipher([keyB]).decrypt(row.credentials_encrypted as string)) as unknown)).toEqual([
      { user: 'amy', pass: 'amy-secret' },
      { user: 'bob', pass: 'bob-secret' },
      { user: 'cat', pass: 'cat-secret' },
    ]);
    const domain = await t.db.selectFrom('sender_domains').select('dkim_private_key_encrypted').executeTakeFirstOrThrow();
    expect(createCredentialCipher([keyB]).decrypt(domain.dkim_private_key_encrypted as string)).toContain('BEGIN PRIVATE KEY');

    // Idempotent: a second run changes nothing.
    const again = await rotateCredentials(t.db, cipher);
    expect(again.find((c) => c.label === 'accounts')).toEqual({ label: 'accounts', reEncrypted: 0, alreadyCurrent: 3 });
    expect(await sealedAccounts()).toEqual(after);
  });

  it('stops a table whose value no configured key opens, changing none of its rows', async () => {
    const stranger = { id: 'z', key: crypto.randomBytes(32) };
    const amy = await t.db.selectFrom('sender_accounts').select('id').where('email', '=', 'amy@mail.rot.example.com').executeTakeFirstOrThrow();
    await t.db.updateTable('sender_accounts').set({ credentials_encrypted: createCredentialCipher([stranger]).encrypt('{}') }).where('id', '=', amy.id).execute();
    const before = await sealedAccounts();
    const cipher = createCredentialCipher([keyA, keyB]); // A newest now: every row would change
    await expect(rotateCredentials(t.db, cipher, SEALED_COLUMNS.filter((c) => c.table === 'sender_accounts'))).rejects.toThrow(/sender_accounts\.credentials_encrypted of row .*unknown credential key id "z"/);
    expect(await sealedAccounts()).toEqual(before);
    await t.db.updateTable('sender_accounts').set({ credentials_encrypted: createCredentialCipher([keyB]).encrypt('{"user":"amy","pass":"amy-secret"}') }).where('id', '=', amy.id).execute();
  });

  it('covers every *_encrypted column of the schema', async () => {
    const { rows } = await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
       where table_schema = 'public' and column_name like '%\\_encrypted' order by 1, 2`.execute(t.db);
    const listed = SEALED_COLUMNS.flatMap((s) => s.columns.map((column) => `${s.table}.${column}`)).sort();
    expect(rows.map((r) => `${r.table_name}.${r.column_name}`)).toEqual(listed);
  });

  it('npm run rotate-keys reports per table and refuses arguments', async () => {
    const script = path.join(__dirname, '../../dist/scripts/rotate-keys.js');
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [script, ...args], { env: { ...process.env, DATABASE_URL: t.url, CREDENTIALS_KEYS: keysEnv(keyA, keyB), DATA_DIR: testConfig().dataDir } }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });
    const done = await run([]);
    expect(done).toMatchObject({ code: 0 });
    expect(done.stdout).toContain('Credentials re-encrypted with key "a"');
    expect(done.stdout).toContain('accounts: 3 re-encrypted, 0 already current');
    expect(done.stdout).toContain('webhook endpoints: 1 re-encrypted, 0 already current');
    const bad = await run(['--bogus']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unexpected arguments: --bogus');
  });
});
