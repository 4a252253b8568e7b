/**
 * `npm run restore -- FILE [--secrets SECRETS_FILE] [--force]`: restores a backup made by
 * `npm run backup` into DATABASE_URL or the embedded database. The target must be empty unless
 * --force. --secrets puts the backup's secrets.json into DATA_DIR first (a new machine, before
 * its first start), so the restored credentials can be decrypted.
 */
import { parseArgs } from 'node:util';
import { CommandError } from '../src/backup/pg-tools';
import { checkBackupFile, installSecrets, restoreBackup } from '../src/backup/restore';
import { dataDirFrom, loadConfig } from '../src/config';
import { openCommandDatabase } from '../src/db/command-database';

const USAGE = 'usage: npm run restore -- FILE [--secrets SECRETS_FILE] [--force]';

async function main(): Promise<void> {
  let values: { secrets?: string; force?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ options: { secrets: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean' } }, strict: true, allowPositionals: true }));
  } catch (error) {
    throw new CommandError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new CommandError(`expected exactly one backup file\n${USAGE}`);
  checkBackupFile(file);
  if (values.secrets !== undefined) {
    const outcome = installSecrets(values.secrets, dataDirFrom());
    process.stdout.write(`Secrets ${outcome === 'installed' ? 'installed into' : 'already in'} ${dataDirFrom()}\n`);
  }
  const config = loadConfig();
  const database = await openCommandDatabase(config);
  try {
    const result = await restoreBackup({ connectionString: database.connectionString, file, force: values.force === true });
    process.stdout.write(`Restored ${file} into the ${database.source} database${result.replaced ? ' (replacing what it held)' : ''} with pg_restore ${result.tool.major}.\n`);
    process.stdout.write('Start the server as usual: it applies any newer migrations at start.\n');
  } finally {
    await database.release();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`restore: ${(error as Error).message}\n`);
  process.exit(1);
});
