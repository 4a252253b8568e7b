/**
 * `npm run create-admin -- --email you@example.com [--password …]`: creates an owner account.
 * Without --password it asks on a terminal, or (no terminal) generates one and prints it.
 * Uses DATABASE_URL, or the embedded database under DATA_DIR (the server must be stopped then,
 * because the embedded cluster belongs to one process at a time).
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { sql } from 'kysely';
import { createOwner, generatePassword } from '../src/auth/owner-setup';
import { loadConfig } from '../src/config';
import { ensureDatabase, withDatabase } from '../src/db/admin';
import { createDb } from '../src/db/connection';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
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

function embeddedServerRunning(pgDataDir: string): boolean {
  const pidFile = path.join(pgDataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return false;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 && fs.existsSync(`/proc/${pid}`);
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
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!connectionString) {
    const pgDataDir = path.join(config.dataDir, 'postgres');
    if (embeddedServerRunning(pgDataDir)) {
      throw new Error('the embedded database is in use by a running server: stop the server first, or set DATABASE_URL');
    }
    const embedded = await startEmbeddedPostgres({ dataDir: pgDataDir, password: config.embeddedPostgresPassword, logger: createLogger('warn') });
    stopEmbedded = embedded.stop;
    await ensureDatabase(embedded.connectionString, 'outreach');
    connectionString = withDatabase(embedded.connectionString, 'outreach');
  }
  const db = createDb(connectionString, { poolMax: 1, idleTimeoutMs: 1000 });
  try {
    await sql`select 1`.execute(db);
    await migrateToLatest(db);
    const owner = await createOwner(db, email, password);
    process.stdout.write(`Owner ${owner.email} created.\n`);
    if (generated) process.stdout.write(`Generated password (shown once, change it after logging in): ${password}\n`);
    process.stdout.write(`Log in: POST ${config.baseUrl}/api/auth/login with {"email":"${owner.email}","password":"…"}\n`);
  } catch (error) {
    if (isUniqueViolation(error)) throw new Error(`a user with email ${email} already exists`, { cause: error });
    throw error;
  } finally {
    await db.destroy();
    await stopEmbedded?.();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`create-admin: ${(error as Error).message}\n`);
  process.exit(1);
});
