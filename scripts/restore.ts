/**
 * `npm run restore -- FILE [--secrets SECRETS_FILE] [--force]`: restores a backup made by
 * `npm run backup`.
 * - A logical one (.dump) into DATABASE_URL or the embedded database; the target must be empty
 *   unless --force.
 * - A physical one (.tar.gz) into the embedded default's cluster directory, DATA_DIR/postgres,
 *   with the server stopped; a cluster already there is moved aside only with --force.
 * --secrets puts the backup's secrets.json into DATA_DIR first (a new machine, before its
 * first start), so the restored credentials can be decrypted (and, for a physical backup, the
 * restored cluster accepts the server's password).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkPhysicalRestoreTarget, restorePhysicalBackup } from '../src/backup/physical-restore';
import { CommandError } from '../src/backup/pg-tools';
import { checkBackupFile, installSecrets, restoreBackup } from '../src/backup/restore';
import { dataDirFrom, loadConfig, usesDatabaseUrl } from '../src/config';
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
  const mode = checkBackupFile(file);
  const dataDir = dataDirFrom();
  const force = values.force === true;
  if (mode === 'physical') {
    // Everything that can be refused without unpacking is refused before DATA_DIR changes.
    if (usesDatabaseUrl()) {
      throw new CommandError(
        `${file} is a physical backup of the embedded default: it restores only into the embedded default (unset DATABASE_URL). ` +
          'To move to a DATABASE_URL server, restore it here, then take a logical one with npm run backup -- --logical (needs pg_dump 17)',
      );
    }
    checkPhysicalRestoreTarget(dataDir, force);
    if (values.secrets === undefined && !fs.existsSync(path.join(dataDir, 'secrets.json'))) {
      throw new CommandError(`${dataDir} has no secrets.json: pass --secrets <the backup's .secrets.json> (the restored database accepts only the password in it)`);
    }
  }
  if (values.secrets !== undefined) {
    const outcome = installSecrets(values.secrets, dataDir);
    process.stdout.write(`Secrets ${outcome === 'installed' ? 'installed into' : 'already in'} ${dataDir}\n`);
  }
  const config = loadConfig();
  if (mode === 'physical') {
    const result = await restorePhysicalBackup({ file, dataDir: config.dataDir, embeddedPassword: config.embeddedPostgresPassword, force });
    if (result.setAside) process.stdout.write(`The cluster that was in ${result.clusterDir} is kept at ${result.setAside}.\n`);
    process.stdout.write(
      `Restored ${file} (physical: PostgreSQL ${result.manifest.postgresMajor} data directory of ${result.manifest.createdAt}) into the embedded database at ${result.clusterDir}; ` +
        'its WAL was replayed and it started and answered once.\n',
    );
  } else {
    const database = await openCommandDatabase(config);
    try {
      const result = await restoreBackup({ connectionString: database.connectionString, file, force });
      process.stdout.write(`Restored ${file} (logical) into the ${database.source} database${result.replaced ? ' (replacing what it held)' : ''} with pg_restore ${result.tool.major}.\n`);
    } finally {
      await database.release();
    }
  }
  process.stdout.write('Start the server as usual: it applies any newer migrations at start.\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`restore: ${(error as Error).message}\n`);
  process.exit(1);
});
