/**
 * `npm run rotate-keys`: re-encrypts every stored credential with the first key of
 * CREDENTIALS_KEYS (or DATA_DIR's generated key) and prints what it changed per table. Rotate
 * by prepending a new key to CREDENTIALS_KEYS (restart the server with it), run this, then drop
 * the old key. Works on DATABASE_URL or the embedded database, the server running or not.
 */
import { sql } from 'kysely';
import { CommandError } from '../src/backup/pg-tools';
import { loadConfig } from '../src/config';
import { createCredentialCipher } from '../src/crypto/credential-cipher';
import { describeRotation, rotateCredentials } from '../src/crypto/credential-rotation';
import { openCommandDatabase } from '../src/db/command-database';
import { createDb } from '../src/db/connection';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    process.stdout.write('usage: npm run rotate-keys (the keys come from CREDENTIALS_KEYS, the first one encrypts)\n');
    return;
  }
  if (args.length > 0) throw new CommandError(`unexpected arguments: ${args.join(' ')}\nusage: npm run rotate-keys`);
  const config = loadConfig();
  const newest = config.credentialKeys[0];
  const database = await openCommandDatabase(config);
  const db = createDb(database.connectionString, { poolMax: 1, idleTimeoutMs: 1000 });
  try {
    await sql`select 1`.execute(db);
    const counts = await rotateCredentials(db, createCredentialCipher(config.credentialKeys));
    process.stdout.write(`Credentials re-encrypted with key "${newest?.id}":\n${describeRotation(counts)}\n`);
  } finally {
    await db.destroy();
    await database.release();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`rotate-keys: ${(error as Error).message}\n`);
  process.exit(1);
});
