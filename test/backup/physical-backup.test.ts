/**
 * `npm run backup` / `npm run restore` of the embedded default (physical: its PostgreSQL 17
 * data directory and WAL, no pg_dump), as an operator runs them: the embedded cluster runs as
 * the server runs it (same code, DATA_DIR/postgres), the app writes to it while the backup is
 * taken, the backup is restored into the DATA_DIR of a new machine, and the real server started
 * there serves the same data and opens the stored credential. Refusals leave everything as it
 * was: a cluster already there (without --force), a running server, a damaged archive, secrets
 * that do not fit, DATABASE_URL.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import request from 'supertest';
import { sql } from 'kysely';
import { withDatabase, ensureDatabase } from '../../src/db/admin';
import { createDb, type Db } from '../../src/db/connection';
import { EMBEDDED_DATABASE, findFreePort, startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/db/embedded-postgres';
import { migrateToLatest } from '../../src/db/migrate';
import { loadConfig } from '../../src/config';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { createLogger } from '../../src/logger';
import { addSenderDomain, bearer, createWorld, TEST_PASSWORD, testApp, type World } from '../http/admin-api.helpers';
import { startServerProcess, waitForListening, type ServerRun } from '../helpers/server-process';
import { runCommand as run } from './backup-commands.helpers';

/**
 * What a command left in a DATA_DIR, but the node's own id: any command that reads the config
 * writes DATA_DIR/node-id on first use (src/secrets.ts), and a restored machine is a new node.
 */
const machineFiles = (dir: string) => fs.readdirSync(dir).filter((name) => name !== 'node-id').sort();

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-physical-'));
// As root, Postgres runs as `postgres`, which must be able to reach the DATA_DIRs below.
fs.chmodSync(root, 0o711);
/** The old machine's DATA_DIR, whose embedded cluster is backed up. */
const source = path.join(root, 'source');
const configFile = path.join(root, 'config.json');
const embeddedEnv = (dataDir: string) => ({ DATABASE_URL: undefined, DATA_DIR: dataDir, CONFIG_FILE: configFile });
const newDataDir = (name: string) => path.join(root, name);

interface Secrets {
  credentialKeyId: string;
  credentialKey: string;
  embeddedPostgresPassword: string;
}
const readSecrets = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Secrets;

/** Every file under a directory with its size and modification time: "nothing changed" in one value. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[path.relative(dir, full)] = `${fs.statSync(full).size}@${fs.statSync(full).mtimeMs}`;
    }
  };
  walk(dir);
  return files;
}

async function clientNames(baseUrl: string, token: string): Promise<string[]> {
  const names: string[] = [];
  for (let offset = 0; ; offset += 500) {
    const res = await fetch(`${baseUrl}/api/clients?limit=500&offset=${offset}`, { headers: bearer(token) });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { clients: { name: string }[]; total: number };
    names.push(...page.clients.map((c) => c.name));
    if (names.length >= page.total || page.clients.length === 0) return names;
  }
}

describe('physical backup of the embedded default', () => {
  let embedded: EmbeddedPostgresHandle | undefined;
  let db: Db | undefined;
  let world: World;
  let archive: string;
  let secretsFile: string;
  const servers: ServerRun[] = [];

  beforeAll(async () => {
    fs.writeFileSync(configFile, JSON.stringify({ orchestrator: { enabled: false }, sink: { enabled: false } }));
    const config = loadConfig({ DATA_DIR: source, CONFIG_FILE: configFile, LOG_LEVEL: 'error' });
    // What `npm start` does without DATABASE_URL: DATA_DIR/postgres, the password from secrets.json.
    embedded = await startEmbeddedPostgres({ dataDir: path.join(source, 'postgres'), password: config.embeddedPostgresPassword, logger: createLogger('error') });
    await ensureDatabase(embedded.connectionString, EMBEDDED_DATABASE);
    db = createDb(withDatabase(embedded.connectionString, EMBEDDED_DATABASE), { poolMax: 3, idleTimeoutMs: 1000 });
    await migrateToLatest(db);
    world = await createWorld(db, testApp(db, config), 'pb');
    await addSenderDomain(world.app, world.a.adminToken, 'mail.pb.example.com');
    const account = await request(world.app)
      .post('/api/accounts')
      .set(bearer(world.a.adminToken))
      .send({ email: 'pat@mail.pb.example.com', transport: 'smtp', transportSettings: { host: 'smtp.example.com', port: 587 }, credentials: { user: 'pat', pass: 'pat-secret' } });
    expect(account.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGTERM');
    await Promise.all(servers.map((server) => server.exited));
    await db?.destroy();
    await embedded?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const addClient = async (name: string) => {
    const res = await request(world.app).post('/api/clients').set(bearer(world.ownerToken)).send({ name, postalAddress: '1 Main St' });
    expect(res.status).toBe(201);
  };

  it('backs up the running cluster while the app writes, and a new machine restored from it serves the same data', async () => {
    for (const name of ['pb-before-1', 'pb-before-2']) await addClient(name);

    // The app keeps writing, one client at a time, for as long as the backup runs.
    let running = true;
    const backup = run('backup', ['--with-secrets'], embeddedEnv(source)).finally(() => (running = false));
    const during: string[] = [];
    while (running) {
      const name = `pb-during-${String(during.length).padStart(5, '0')}`;
      await addClient(name);
      during.push(name);
    }
    const result = await backup;
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/^Backup of the embedded \(running server\) database written: .*outreach-\d{8}-\d{6}Z\.tar\.gz \(\d+ bytes; physical: PostgreSQL 17 data directory with the WAL of \d+ segment\(s\) from \S+ to \S+\)$/m);
    expect(during.length).toBeGreaterThan(0);
    await addClient('pb-after');

    const files = fs.readdirSync(path.join(source, 'backups')).sort();
    expect(files).toEqual([expect.stringMatching(/^outreach-\d{8}-\d{6}Z\.secrets\.json$/), expect.stringMatching(/^outreach-\d{8}-\d{6}Z\.tar\.gz$/)]);
    [secretsFile, archive] = files.map((file) => path.join(source, 'backups', file)) as [string, string];
    expect(fs.statSync(archive).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(secretsFile, 'utf8')).toBe(fs.readFileSync(path.join(source, 'secrets.json'), 'utf8'));
    // The running cluster is untouched: no backup_label or slot left behind.
    expect(fs.existsSync(path.join(source, 'postgres', 'backup_label'))).toBe(false);
    expect((await sql`select slot_name from pg_replication_slots`.execute(db!)).rows).toEqual([]);

    const newMachine = newDataDir('new-machine');
    const restored = await run('restore', [archive, '--secrets', secretsFile], embeddedEnv(newMachine));
    expect(restored.stderr).toBe('');
    expect(restored).toMatchObject({ code: 0 });
    expect(restored.stdout).toContain(`Restored ${archive} (physical: PostgreSQL 17 data directory of `);
    expect(restored.stdout).toContain(`into the embedded database at ${path.join(newMachine, 'postgres')}`);
    expect(fs.existsSync(path.join(newMachine, 'postgres', 'postmaster.pid'))).toBe(false);

    // The real server on the new machine, as `npm start` runs it.
    const port = await findFreePort();
    const server = startServerProcess({ DATA_DIR: newMachine, PORT: String(port), HOST: '127.0.0.1', CONFIG_FILE: configFile, PM2_HOME: path.join(root, 'pm2') });
    servers.push(server);
    await waitForListening(port, server, 120_000);
    const baseUrl = `http://127.0.0.1:${port}`;
    const login = async (email: string) => {
      const res = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: TEST_PASSWORD }) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { accessToken: string }).accessToken;
    };
    const adminToken = await login('pb-a-admin@example.com');
    const accounts = await fetch(`${baseUrl}/api/accounts`, { headers: bearer(adminToken) });
    expect(accounts.status).toBe(200);
    expect(await accounts.json()).toEqual((await request(world.app).get('/api/accounts').set(bearer(world.a.adminToken))).body);

    // Everything written before the backup began is there, nothing written after it ended;
    // of the writes made while it ran, an unbroken first part (each committed before the next).
    const names = await clientNames(baseUrl, await login('pb-owner@example.com'));
    expect(names).toEqual(expect.arrayContaining(['pb-a', 'pb-b', 'pb-before-1', 'pb-before-2']));
    expect(names).not.toContain('pb-after');
    const restoredDuring = names.filter((name) => name.startsWith('pb-during-')).sort();
    expect(restoredDuring).toEqual(during.slice(0, restoredDuring.length));

    // The stored credential opens with the secrets the backup carried.
    const started = server.logLines().find((line) => line.message === 'embedded Postgres started');
    const secrets = readSecrets(secretsFile);
    const client = new pg.Client({ host: '127.0.0.1', port: Number(started?.port), user: 'postgres', password: secrets.embeddedPostgresPassword, database: EMBEDDED_DATABASE });
    await client.connect();
    const sealed = await client.query<{ credentials_encrypted: string }>(`select credentials_encrypted from sender_accounts where email = 'pat@mail.pb.example.com'`);
    await client.end();
    const cipher = createCredentialCipher([{ id: secrets.credentialKeyId, key: Buffer.from(secrets.credentialKey, 'base64') }]);
    expect(JSON.parse(cipher.decrypt(sealed.rows[0]!.credentials_encrypted))).toEqual({ user: 'pat', pass: 'pat-secret' });

    // While that server runs on it, even --force is refused, and nothing moves.
    const before = fs.readdirSync(root).sort();
    const busy = await run('restore', [archive, '--force'], embeddedEnv(newMachine));
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/^restore: a PostgreSQL server is running on .*new-machine\/postgres .*stop it first/);
    expect(fs.readdirSync(root).sort()).toEqual(before);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 300_000);

  it('takes a backup with the cluster started for the moment when the server is down', async () => {
    await db?.destroy();
    db = undefined;
    await embedded?.stop();
    embedded = undefined;
    const outDir = path.join(root, 'offline-backups');
    const result = await run('backup', ['--out', outDir], embeddedEnv(source));
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/^Backup of the embedded \(started for this command\) database written: .*\.tar\.gz .*physical/);
    expect(result.stderr).toMatch(/Warning: the backup does not include .*secrets\.json/);
    expect(fs.readdirSync(outDir)).toEqual([expect.stringMatching(/^outreach-.*\.tar\.gz$/)]);
    expect(fs.existsSync(path.join(source, 'postgres', 'postmaster.pid'))).toBe(false);
  }, 120_000);

  it('refuses a cluster already there without --force, and with it keeps the old one aside', async () => {
    const machine = newDataDir('second-machine');
    expect((await run('restore', [archive, '--secrets', secretsFile], embeddedEnv(machine))).code).toBe(0);
    const cluster = path.join(machine, 'postgres');
    const untouched = snapshot(cluster);

    const refused = await run('restore', [archive], embeddedEnv(machine));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^restore: .*second-machine\/postgres already holds a database cluster: pass --force to move it aside/);
    expect(refused.stdout).toBe('');
    expect(snapshot(cluster)).toEqual(untouched);
    expect(machineFiles(machine)).toEqual(['postgres', 'secrets.json']);

    const forced = await run('restore', [archive, '--force'], embeddedEnv(machine));
    expect(forced.stderr).toBe('');
    expect(forced).toMatchObject({ code: 0 });
    const aside = fs.readdirSync(machine).filter((name) => name.startsWith('postgres.before-restore-'));
    expect(aside).toHaveLength(1);
    expect(forced.stdout).toContain(`is kept at ${path.join(machine, aside[0]!)}`);
    expect(snapshot(path.join(machine, aside[0]!))).toEqual(untouched);
    expect(fs.existsSync(path.join(cluster, 'PG_VERSION'))).toBe(true);
  }, 180_000);

  it.each([
    ['truncated', (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2)), /is damaged or incomplete: tar failed/],
    ['with bytes overwritten in the middle', (bytes: Buffer) => Buffer.concat([bytes.subarray(0, 4096), Buffer.alloc(4096, 0x55), bytes.subarray(8192)]), /is damaged or incomplete: tar failed/],
  ])('refuses an archive %s, leaving the target as it was', async (_what, damage, message) => {
    const machine = newDataDir(`damaged-${Math.random().toString(16).slice(2, 8)}`);
    const damaged = path.join(root, `damaged-${path.basename(machine)}.tar.gz`);
    fs.writeFileSync(damaged, damage(fs.readFileSync(archive)));
    const result = await run('restore', [damaged, '--secrets', secretsFile], embeddedEnv(machine));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^restore: ${damaged.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} ${message.source}`));
    // Only the secrets it was told to install: no cluster, nothing half-unpacked.
    expect(machineFiles(machine)).toEqual(['secrets.json']);
  }, 120_000);

  it.each([
    ['of another PostgreSQL major version', (dir: string) => {
      const manifestFile = path.join(dir, 'outreach-backup.json');
      fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, 'utf8')), postgresMajor: 16 }));
    }, /is a PostgreSQL 16 data directory, but the embedded PostgreSQL installed here is 17/],
    ['without its manifest (a .tar.gz of something else)', (dir: string) => fs.rmSync(path.join(dir, 'outreach-backup.json')), /is a \.tar\.gz but not a backup made by npm run backup/],
    ['without its WAL', (dir: string) => fs.rmSync(path.join(dir, 'pg_wal'), { recursive: true }), /is incomplete: it lacks pg_wal\/0000/],
  ])('refuses an archive %s, leaving the target as it was', async (_what, alter, message) => {
    const unpacked = fs.mkdtempSync(path.join(root, 'repack-'));
    execFileSync('tar', ['-xzif', archive, '-C', unpacked]);
    alter(unpacked);
    const repacked = `${unpacked}.tar.gz`;
    execFileSync('tar', ['-czf', repacked, '-C', unpacked, '.']);
    const machine = newDataDir(`altered-${path.basename(unpacked)}`);
    const result = await run('restore', [repacked, '--secrets', secretsFile], embeddedEnv(machine));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(machineFiles(machine)).toEqual(['secrets.json']);
  }, 120_000);

  it('refuses secrets that do not fit the backup, leaving no cluster behind', async () => {
    const machine = newDataDir('other-secrets');
    loadConfig({ DATA_DIR: machine, LOG_LEVEL: 'error' }); // a machine that generated its own secrets.json
    const secretsBefore = fs.readFileSync(path.join(machine, 'secrets.json'), 'utf8');
    const result = await run('restore', [archive], embeddedEnv(machine));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^restore: the secrets\.json in .*other-secrets is not the one this backup was taken with .*--secrets/);
    expect(fs.readdirSync(machine).filter((name) => name.startsWith('postgres'))).toEqual([]);
    expect(fs.readFileSync(path.join(machine, 'secrets.json'), 'utf8')).toBe(secretsBefore);
  }, 120_000);

  it.each([
    ['without secrets on a new machine', [] as string[], {}, /^restore: .* has no secrets\.json: pass --secrets <the backup's \.secrets\.json>/],
    ['into a DATABASE_URL server', [] as string[], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' }, /^restore: .* is a physical backup of the embedded default: it restores only into the embedded default \(unset DATABASE_URL\)/],
  ])('refuses a physical restore %s, creating nothing', async (_what, args, env, message) => {
    const machine = newDataDir(`refused-${Math.random().toString(16).slice(2, 8)}`);
    const result = await run('restore', [archive, ...args], { ...embeddedEnv(machine), ...env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(fs.existsSync(machine)).toBe(false);
  });
});
