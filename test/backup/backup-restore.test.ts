/**
 * `npm run backup` / `npm run restore` of a DATABASE_URL server (logical: pg_dump custom
 * format), as an operator runs them (the compiled scripts): a database filled through the API
 * is backed up with its secrets, restored into a new empty database, and the app started on it
 * serves the same data and still opens the stored credentials. A non-empty target is refused
 * unless --force; bad arguments fail with a message. The embedded default's physical backups:
 * ./physical-backup.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { findPgTool, pgToolCandidates, pgToolMajor, serverMajorVersion } from '../../src/backup/pg-tools';
import { dropDatabase, ensureDatabase, withDatabase } from '../../src/db/admin';
import { createDb, type Db } from '../../src/db/connection';
import { migrateToLatest } from '../../src/db/migrate';
import { loadConfig } from '../../src/config';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { addSenderDomain, bearer, createWorld, login, testApp, type World } from '../http/admin-api.helpers';
import { adminUrl } from '../helpers/database';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { runCommand as run } from './backup-commands.helpers';

/**
 * A server the pg_dump installed here can dump: the tests' own, or, where that one is newer
 * than every pg_dump here (the embedded 17 beside Debian 12's client 15, as in CI), a private
 * cluster of the Debian server whose client is installed.
 */
async function dumpableServer(): Promise<{ url: string; cluster?: PrivatePostgres }> {
  const tests = adminUrl();
  try {
    findPgTool('pg_dump', await serverMajorVersion(tests));
    return { url: tests };
  } catch {
    const newest = Math.max(...pgToolCandidates('pg_dump').map((file) => pgToolMajor(file) ?? 0));
    const binDir = `/usr/lib/postgresql/${newest}/bin`;
    if (!fs.existsSync(path.join(binDir, 'postgres'))) throw new Error(`no pg_dump here can dump the tests' server, and no PostgreSQL ${newest} server to test with instead`);
    const cluster = await startPrivatePostgres({ binDir });
    return { url: cluster.url, cluster };
  }
}

interface Database {
  db: Db;
  url: string;
  name: string;
}

async function newDatabase(server: string, migrated: boolean): Promise<Database> {
  const name = `outreach_backup_${Math.random().toString(16).slice(2, 10)}`;
  await ensureDatabase(server, name);
  const url = withDatabase(server, name);
  const db = createDb(url, { poolMax: 3, idleTimeoutMs: 1000 });
  if (migrated) await migrateToLatest(db);
  return { db, url, name };
}

describe('backup and restore', () => {
  let server: Awaited<ReturnType<typeof dumpableServer>>;
  const source = {} as Database;
  const opened: Database[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-backup-'));
  const outDir = path.join(dataDir, 'backups');
  let world: World;
  let backupFile: string;

  afterAll(async () => {
    for (const database of opened) {
      await database.db.destroy();
      if (!server.cluster) await dropDatabase(server.url, database.name);
    }
    await server?.cluster?.destroy();
  });

  beforeAll(async () => {
    server = await dumpableServer();
    Object.assign(source, await newDatabase(server.url, true));
    opened.push(source);
    const config = loadConfig({ DATA_DIR: dataDir, JWT_SECRET: 'backup-test-jwt-secret-0123456789abcdef', LOG_LEVEL: 'error' });
    world = await createWorld(source.db, testApp(source.db, config), 'bk');
    await addSenderDomain(world.app, world.a.adminToken, 'mail.bk.example.com');
    const account = await request(world.app)
      .post('/api/accounts')
      .set(bearer(world.a.adminToken))
      .send({ email: 'amy@mail.bk.example.com', transport: 'smtp', transportSettings: { host: 'smtp.example.com', port: 587 }, credentials: { user: 'amy', pass: 'amy-secret' } });
    expect(account.status).toBe(201);
  });

  it('writes a timestamped custom-format dump and the secrets beside it', async () => {
    const result = await run('backup', ['--out', outDir, '--with-secrets'], { DATABASE_URL: source.url, DATA_DIR: dataDir });
    expect(result).toMatchObject({ code: 0 });
    const files = fs.readdirSync(outDir).sort();
    expect(files).toHaveLength(2);
    const [dump, secrets] = files as [string, string];
    expect(dump).toMatch(/^outreach-\d{8}-\d{6}Z\.dump$/);
    expect(secrets).toBe(dump.replace('.dump', '.secrets.json'));
    backupFile = path.join(outDir, dump);
    expect(fs.readFileSync(backupFile).subarray(0, 5).toString()).toBe('PGDMP');
    expect(fs.statSync(backupFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(outDir, secrets), 'utf8')).toBe(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8'));
    expect(result.stdout).toContain(`Backup of the DATABASE_URL database written: ${backupFile}`);
    expect(result.stdout).toMatch(/logical: pg_dump \d+ custom format/);
    expect(result.stderr).not.toContain('Warning');
  });

  it('warns that the secrets are not included when not asked to', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-backup-out-'));
    const result = await run('backup', [`--out=${elsewhere}`], { DATABASE_URL: source.url, DATA_DIR: dataDir });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Warning: the backup does not include .*secrets\.json; without it the stored credentials cannot be decrypted/);
    expect(fs.readdirSync(elsewhere)).toHaveLength(1);
  });

  it('restores into a new empty database on which the app serves the same data', async () => {
    const target = await newDatabase(server.url, false);
    opened.push(target);
    {
      const restored = await run('restore', [backupFile], { DATABASE_URL: target.url, DATA_DIR: dataDir });
      expect(restored.stderr).toBe('');
      expect(restored).toMatchObject({ code: 0 });
      expect(restored.stdout).toContain(`Restored ${backupFile} (logical) into the DATABASE_URL database`);

      // The same app configuration (same DATA_DIR secrets) on the restored database.
      const app = testApp(target.db, loadConfig({ DATA_DIR: dataDir, JWT_SECRET: 'another-jwt-secret-after-restore-0123456789', LOG_LEVEL: 'error' }));
      const token = (await login(app, 'bk-a-admin@example.com')).accessToken;
      const list = (path: string, t: string) => request(app).get(path).set(bearer(t));
      const accounts = await list('/api/accounts', token);
      expect(accounts.status).toBe(200);
      expect(accounts.body.total).toBe(1);
      expect(accounts.body).toEqual((await request(world.app).get('/api/accounts').set(bearer(world.a.adminToken))).body);
      const owner = (await login(app, 'bk-owner@example.com')).accessToken;
      expect((await list('/api/domains', owner)).body).toEqual((await request(world.app).get('/api/domains').set(bearer(world.ownerToken))).body);
      // The stored credential opens with the secrets the backup carried.
      const sealed = await target.db.selectFrom('sender_accounts').select('credentials_encrypted').where('email', '=', 'amy@mail.bk.example.com').executeTakeFirstOrThrow();
      const secrets = JSON.parse(fs.readFileSync(backupFile.replace('.dump', '.secrets.json'), 'utf8')) as { credentialKeyId: string; credentialKey: string };
      const cipher = createCredentialCipher([{ id: secrets.credentialKeyId, key: Buffer.from(secrets.credentialKey, 'base64') }]);
      expect(JSON.parse(cipher.decrypt(sealed.credentials_encrypted as string))).toEqual({ user: 'amy', pass: 'amy-secret' });

      // Now not empty: refused without --force, with a message saying why; nothing changed.
      const refused = await run('restore', [backupFile], { DATABASE_URL: target.url, DATA_DIR: dataDir });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^restore: the target database is not empty \(\d+ tables, views or sequences\): .*--force/);
      await target.db.deleteFrom('sender_accounts').execute();
      const forced = await run('restore', [backupFile, '--force'], { DATABASE_URL: target.url, DATA_DIR: dataDir });
      expect(forced).toMatchObject({ code: 0 });
      expect(forced.stdout).toContain('(replacing what it held)');
      expect(await target.db.selectFrom('sender_accounts').select('email').execute()).toEqual([{ email: 'amy@mail.bk.example.com' }]);
    }
  });

  it('restores into the embedded default of a new machine, secrets included, starting its cluster for the moment', async () => {
    const newMachine = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-new-machine-'));
    const secretsFile = backupFile.replace('.dump', '.secrets.json');
    const restored = await run('restore', [backupFile, '--secrets', secretsFile], { DATABASE_URL: undefined, DATA_DIR: newMachine });
    expect(restored.stderr).toBe('');
    expect(restored).toMatchObject({ code: 0 });
    expect(restored.stdout).toContain('Restored');
    expect(restored.stdout).toContain('into the embedded (started for this command) database');
    expect(fs.readFileSync(path.join(newMachine, 'secrets.json'), 'utf8')).toBe(fs.readFileSync(secretsFile, 'utf8'));
    // The cluster was stopped again.
    expect(fs.existsSync(path.join(newMachine, 'postgres', 'postmaster.pid'))).toBe(false);

    // A logical backup of the embedded default (PostgreSQL 17) needs a pg_dump of 17 or newer;
    // without --logical it is physical and needs none (./physical-backup.test.ts).
    let dumpAvailable = true;
    try {
      findPgTool('pg_dump', 17);
    } catch {
      dumpAvailable = false;
    }
    const backup = await run('backup', ['--with-secrets', '--logical'], { DATABASE_URL: undefined, DATA_DIR: newMachine });
    if (dumpAvailable) {
      expect(backup).toMatchObject({ code: 0 });
      expect(backup.stdout).toMatch(/logical: pg_dump \d+ custom format/);
      expect(fs.readdirSync(path.join(newMachine, 'backups'))).toHaveLength(2);
    } else {
      expect(backup.code).toBe(1);
      expect(backup.stderr).toMatch(/^backup: pg_dump for PostgreSQL 17 or newer is not installed .*install postgresql-client-17 .*PG_BIN_DIR/);
    }
    // A different secrets file is never put over the one there.
    const other = path.join(newMachine, 'other.secrets.json');
    fs.writeFileSync(other, JSON.stringify({ jwtSecret: 'x', credentialKey: 'y' }));
    const clash = await run('restore', [backupFile, '--secrets', other], { DATABASE_URL: undefined, DATA_DIR: newMachine });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/secrets\.json already exists and differs/);
  }, 180_000);

  it.each([
    ['backup', ['--bogus'], /^backup: Unknown option '--bogus'[\s\S]*usage: npm run backup/],
    ['backup', ['stray'], /^backup: Unexpected argument 'stray'[\s\S]*usage/],
    ['backup', ['--out='], /^backup: --out needs a directory/],
    ['restore', [], /^restore: expected exactly one backup file\nusage: npm run restore/],
    ['restore', ['a.dump', 'b.dump'], /^restore: expected exactly one backup file/],
    ['restore', ['/nonexistent/x.dump'], /^restore: backup file \/nonexistent\/x\.dump cannot be read \(ENOENT\)/],
    ['restore', [__filename], /^restore: .* is not a backup made by npm run backup \(neither a pg_dump custom-format archive nor a physical \.tar\.gz\)/],
  ] as const)('%s %j fails with a message and exit 1', async (script, args, message) => {
    const result = await run(script, [...args], { DATABASE_URL: source.url, DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
