/**
 * `npm run backup [-- --out DIR] [--with-secrets]`: writes DIR/outreach-<UTC time>.dump
 * (pg_dump custom format; default DIR: DATA_DIR/backups) of DATABASE_URL or of the embedded
 * database (the running server's, or started for the moment). --with-secrets copies
 * DATA_DIR/secrets.json beside it; without it the command reminds you to keep that file safe.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackup } from '../src/backup/backup';
import { CommandError } from '../src/backup/pg-tools';
import { loadConfig } from '../src/config';
import { openCommandDatabase } from '../src/db/command-database';

const USAGE = 'usage: npm run backup -- [--out DIR] [--with-secrets]';

async function main(): Promise<void> {
  let values: { out?: string; 'with-secrets'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { out: { type: 'string' }, 'with-secrets': { type: 'boolean' }, help: { type: 'boolean' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CommandError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.out !== undefined && values.out.trim() === '') throw new CommandError(`--out needs a directory\n${USAGE}`);
  const config = loadConfig();
  const outDir = path.resolve(values.out ?? path.join(config.dataDir, 'backups'));
  const database = await openCommandDatabase(config);
  try {
    const result = await createBackup({ connectionString: database.connectionString, outDir, dataDir: config.dataDir, withSecrets: values['with-secrets'] === true });
    process.stdout.write(`Backup of the ${database.source} database written: ${result.file} (${result.bytes} bytes, pg_dump ${result.tool.major})\n`);
    if (result.secretsFile) process.stdout.write(`Secrets written beside it: ${result.secretsFile} (keep it as safe as a password)\n`);
    if (!values['with-secrets']) {
      process.stderr.write(`Warning: the backup does not include ${path.join(config.dataDir, 'secrets.json')}; without it the stored credentials cannot be decrypted. Keep a copy somewhere safe, or run with --with-secrets.\n`);
    } else if (!result.secretsFile) {
      process.stderr.write(`Warning: ${path.join(config.dataDir, 'secrets.json')} does not exist; nothing to copy.\n`);
    }
    const fromEnv = ['CREDENTIALS_KEYS', 'JWT_SECRET', 'TRACKING_KEYS'].filter((name) => process.env[name]);
    if (fromEnv.length > 0) process.stderr.write(`Note: ${fromEnv.join(', ')} come from the environment, not secrets.json: keep them with the backup too.\n`);
  } finally {
    await database.release();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`backup: ${(error as Error).message}\n`);
  process.exit(1);
});
