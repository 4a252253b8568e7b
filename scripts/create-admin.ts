/**
 * `npm run create-admin -- --email you@example.com [--password …]`: creates an owner account.
 * Without --password it asks on a terminal, or (no terminal) generates one and prints it.
 * Uses DATABASE_URL or the embedded database (src/db/command-database.ts).
 */
import readline from 'node:readline';
import { sql } from 'kysely';
import { createOwner, generatePassword } from '../src/auth/owner-setup';
import { loadConfig } from '../src/config';
import { openCommandDatabase } from '../src/db/command-database';
import { createDb } from '../src/db/connection';
import { readRunningServerInfo } from '../src/running-server';
import { migrateToLatest } from '../src/db/migrate';
import { isUniqueViolation } from '../src/http/db-errors';

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
  const { connectionString, release } = await openCommandDatabase(config);
  const db = createDb(connectionString, { poolMax: 1, idleTimeoutMs: 1000 });
  try {
    await sql`select 1`.execute(db);
    await migrateToLatest(db);
    const owner = await createOwner(db, email, password);
    process.stdout.write(`Owner ${owner.email} created.\n`);
    if (generated) process.stdout.write(`Generated password (shown once, change it after logging in): ${password}\n`);
    const baseUrl = readRunningServerInfo(config.dataDir)?.baseUrl ?? config.baseUrl;
    process.stdout.write(`Sign in: open ${baseUrl}/ (the console), or POST ${baseUrl}/api/auth/login with {"email":"${owner.email}","password":"…"}\n`);
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
