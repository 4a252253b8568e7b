/**
 * `npm run erase -- --email person@example.com [--client <client id>]`: erases a person
 * (src/erasure/erasure.service.ts) for one client, or for every client without --client, and
 * prints what went per table as JSON. The audit row names the operating-system user as the
 * actor (actor_type 'system'), and the address' keyed hash, never the address.
 */
import os from 'node:os';
import { sql } from 'kysely';
import { clientExists } from '../src/clients/client.repository';
import { loadConfig } from '../src/config';
import { normalizeEmail } from '../src/contacts/email-address';
import { createDb } from '../src/db/connection';
import { migrateToLatest } from '../src/db/migrate';
import { eraseAddress } from '../src/erasure/erasure.service';
import { openCommandDatabase } from '../src/db/command-database';

const USAGE = 'usage: npm run erase -- --email person@example.com [--client CLIENT_ID]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function argument(name: string): string | undefined {
  const args = process.argv.slice(2);
  const index = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (index < 0) return undefined;
  const arg = args[index] ?? '';
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[index + 1];
}

async function main(): Promise<void> {
  const email = normalizeEmail(argument('email') ?? '');
  if (!email) throw new Error(`--email must be an address; ${USAGE}`);
  const clientId = argument('client') ?? null;
  if (clientId !== null && !UUID.test(clientId)) throw new Error(`--client must be a client id (uuid); ${USAGE}`);

  const config = loadConfig();
  const { connectionString, release } = await openCommandDatabase(config);
  const db = createDb(connectionString, { poolMax: 1, idleTimeoutMs: 1000, addressHashKey: config.addressHashKey });
  try {
    await sql`select 1`.execute(db);
    await migrateToLatest(db);
    if (clientId !== null && !(await clientExists(db, clientId))) throw new Error(`no client ${clientId}`);
    const result = await eraseAddress(db, config.addressHashKey, { email, clientId }, { type: 'system', id: `cli:${os.userInfo().username}` });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await db.destroy();
    await release();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`erase: ${(error as Error).message}\n`);
  process.exit(1);
});
