/**
 * `npm run backup [-- --out DIR] [--with-secrets] [--logical]`: writes a backup named by its
 * UTC time into DIR (default DATA_DIR/backups), choosing how by the database:
 * - the embedded default (the running server's cluster, or one started for the moment):
 *   physical, outreach-<time>.tar.gz, a copy of its data directory taken online
 *   (src/backup/physical-backup.ts); no pg_dump needed;
 * - DATABASE_URL, or the embedded default with --logical: pg_dump custom format,
 *   outreach-<time>.dump (needs a pg_dump at least as new as the server).
 * --with-secrets copies DATA_DIR/secrets.json beside it; without it the command reminds you to
 * keep that file safe.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackup } from '../src/backup/backup';
import { createPhysicalBackup } from '../src/backup/physical-backup';
import { CommandError } from '../src/backup/pg-tools';
import { loadConfig } from '../src/config';
import { openCommandDatabase } from '../src/db/command-database';

const USAGE = 'usage: npm run backup -- [--out DIR] [--with-secrets] [--logical]';

async function main(): Promise<void> {
  let values: { out?: string; 'with-secrets'?: boolean; logical?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { out: { type: 'string' }, 'with-secrets': { type: 'boolean' }, logical: { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
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
  const withSecrets = values['with-secrets'] === true;
  const database = await openCommandDatabase(config);
  let secretsFile: string | undefined;
  try {
    if (database.embeddedDataDir && !values.logical) {
      const result = await createPhysicalBackup({
        connectionString: database.connectionString,
        pgDataDir: database.embeddedDataDir,
        embeddedPassword: config.embeddedPostgresPassword,
        outDir,
        dataDir: config.dataDir,
        withSecrets,
      });
      secretsFile = result.secretsFile;
      process.stdout.write(
        `Backup of the ${database.source} database written: ${result.file} (${result.bytes} bytes; physical: PostgreSQL ${result.manifest.postgresMajor} data directory ` +
          `with the WAL of ${result.manifest.walSegments.length} segment(s) from ${result.manifest.startLsn} to ${result.manifest.stopLsn})\n`,
      );
    } else {
      const result = await createBackup({ connectionString: database.connectionString, outDir, dataDir: config.dataDir, withSecrets });
      secretsFile = result.secretsFile;
      process.stdout.write(`Backup of the ${database.source} database written: ${result.file} (${result.bytes} bytes; logical: pg_dump ${result.tool.major} custom format)\n`);
    }
  } finally {
    await database.release();
  }
  if (secretsFile) process.stdout.write(`Secrets written beside it: ${secretsFile} (keep it as safe as a password)\n`);
  if (!withSecrets) {
    process.stderr.write(`Warning: the backup does not include ${path.join(config.dataDir, 'secrets.json')}; without it the stored credentials cannot be decrypted. Keep a copy somewhere safe, or run with --with-secrets.\n`);
  } else if (!secretsFile) {
    process.stderr.write(`Warning: ${path.join(config.dataDir, 'secrets.json')} does not exist; nothing to copy.\n`);
  }
  const fromEnv = ['CREDENTIALS_KEYS', 'JWT_SECRET', 'TRACKING_KEYS'].filter((name) => process.env[name]);
  if (fromEnv.length > 0) process.stderr.write(`Note: ${fromEnv.join(', ')} come from the environment, not secrets.json: keep them with the backup too.\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`backup: ${(error as Error).message}\n`);
  process.exit(1);
});
