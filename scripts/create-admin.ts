/**
 * `npm run create-admin -- --email you@example.com [--password …]`: creates an owner account.
 * Without --password it asks on a terminal, or (no terminal) generates one and prints it.
 * Uses DATABASE_URL, or the embedded database under DATA_DIR: the running server's cluster
 * when the server is up (connecting to the port its postmaster.pid names), else a cluster it
 * starts for the moment and stops again.
 */
import path from 'node:path';
import readline from 'node:readline';
import { sql } from 'kysely';
import { createOwner, generatePassword } from '../src/auth/owner-setup';
import { loadConfig } from '../src/config';
import { ensureDatabase, withDatabase } from '../src/db/admin';
import { createDb } from '../src/db/connection';
import { EMBEDDED_DATABASE, startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { runningPostmasterPort } from '../src/db/postmaster';
import { readRunningServerInfo } from '../src/running-server';
import { migrateToLatest } from '../src/db/migrate';
import { isUniqueViolation } from '../src/http/db-errors';
import { createLogger } from '../src/logger';

function argument(name: string): string | undefined {
  const args = process.argv.slice(2);
  const index = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (index < 0) return undefined;
  const arg = args[index] ?? '';
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[index + 1];
}

async function askHidden(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const output = rl as unknown as { _writeToOutput: (text: string) => void };
  let asked = false;
  output._writeToOutput = (text: string) => {
    if (!asked) process.stdout.write(text);
    asked = true;
  };
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  process.stdout.write('\n');
  return answer;
}

/** A connection string for the embedded database, and how to let go of it afterwards. */
async function embeddedDatabase(dataDir: string, password: string): Promise<{ connectionString: string; release: () => Promise<void> }> {
  const pgDataDir = path.join(dataDir, 'postgres');
  const runningPort = runningPostmasterPort(pgDataDir);
  if (runningPort !== undefined) {
    const server = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${runningPort}/postgres`;
    return { connectionString: withDatabase(server, EMBEDDED_DATABASE), release: async () => undefined };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: pgDataDir, password, logger: createLogger('warn') });
  await ensureDatabase(embedded.connectionString, EMBEDDED_DATABASE);
  return { connectionString: withDatabase(embedded.connectionString, EMBEDDED_DATABASE), release: embedded.stop };
}

async function main(): Promise<void> {
  const email = argument('email');
  if (!email) throw new Error('usage: npm run create-admin -- --email you@example.com [--password PASSWORD]');
  let password = argument('password');
  let generated = false;
  if (!password) {
    if (process.stdin.isTTY) password = await askHidden('Password (empty to generate one): ');
    if (!password) {
      password = generatePassword();
      generated = true;
    }
  }

  const config = loadConfig();
  let connectionString = config.databaseUrl;
  let release = async (): Promise<void> => undefined;
  if (!connectionString) ({ connectionString, release } = await embeddedDatabase(config.dataDir, config.embeddedPostgresPassword));
  const db = createDb(connectionString, { poolMax: 1, idleTimeoutMs: 1000 });
  try {
    await sql`select 1`.execute(db);
    await migrateToLatest(db);
    const owner = await createOwner(db, email, password);
    process.stdout.write(`Owner ${owner.email} created.\n`);
    if (generated) process.stdout.write(`Generated password (shown once, change it after logging in): ${password}\n`);
    const baseUrl = readRunningServerInfo(config.dataDir)?.baseUrl ?? config.baseUrl;
    process.stdout.write(`Log in: POST ${baseUrl}/api/auth/login with {"email":"${owner.email}","password":"…"}\n`);
  } catch (error) {
    if (isUniqueViolation(error)) throw new Error(`a user with email ${email} already exists`, { cause: error });
    throw error;
  } finally {
    await db.destroy();
    await release();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`create-admin: ${(error as Error).message}\n`);
  process.exit(1);
});
