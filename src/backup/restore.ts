/**
 * Restoring a logical backup made by ./backup.ts into a database: an empty one, or (force) one whose
 * objects the archive's are dropped and recreated. All or nothing: one transaction, stopping
 * at the first error. Owners and grants are not restored, so the archive fits a server whose
 * roles differ (a new machine, the embedded default).
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { isCustomFormatArchive, SECRETS_FILE, type BackupMode } from './backup';
import { CommandError, findPgTool, libpqConnection, runPgTool, serverMajorVersion, type PgTool } from './pg-tools';

export interface RestoreOptions {
  connectionString: string;
  file: string;
  force: boolean;
}

/** How many tables, views and sequences the database holds outside Postgres's own schemas. */
export async function countUserRelations(connectionString: string): Promise<number> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>(
      `select count(*) as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
          and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`,
    );
    return Number(result.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** The first two bytes of every gzip stream (a physical backup is a .tar.gz). */
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** Which kind of backup a file is, by its first bytes: pg_dump custom format or a physical .tar.gz. */
export function checkBackupFile(file: string): BackupMode {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw new CommandError(`backup file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (!stat.isFile()) throw new CommandError(`${file} is not a file`);
  if (isCustomFormatArchive(file)) return 'logical';
  const handle = fs.openSync(file, 'r');
  const head = Buffer.alloc(GZIP_MAGIC.length);
  try {
    fs.readSync(handle, head, 0, head.length, 0);
  } finally {
    fs.closeSync(handle);
  }
  if (head.equals(GZIP_MAGIC)) return 'physical';
  throw new CommandError(`${file} is not a backup made by npm run backup (neither a pg_dump custom-format archive nor a physical .tar.gz)`);
}

export async function restoreBackup(options: RestoreOptions): Promise<{ tool: PgTool; replaced: boolean }> {
  if (checkBackupFile(options.file) !== 'logical') throw new CommandError(`${options.file} is a physical backup: it restores only into the embedded default`);
  const existing = await countUserRelations(options.connectionString);
  if (existing > 0 && !options.force) {
    throw new CommandError(`the target database is not empty (${existing} tables, views or sequences): restore into an empty database, or pass --force to drop and replace what the backup contains`);
  }
  const tool = findPgTool('pg_restore', await serverMajorVersion(options.connectionString));
  const { dbnameArg, env } = libpqConnection(options.connectionString);
  const args = ['--no-owner', '--no-acl', '--exit-on-error', '--single-transaction', ...(existing > 0 ? ['--clean', '--if-exists'] : []), dbnameArg, options.file];
  await runPgTool(tool, args, env);
  return { tool, replaced: existing > 0 };
}

/**
 * Puts a backup's secrets file in DATA_DIR before anything else reads DATA_DIR (the config
 * would generate new secrets otherwise). An identical file already there is fine; a different
 * one is not replaced: it holds the password of an embedded cluster that may already exist.
 */
export function installSecrets(source: string, dataDir: string): 'installed' | 'already there' {
  let text: string;
  try {
    text = fs.readFileSync(source, 'utf8');
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (typeof parsed.credentialKey !== 'string' || typeof parsed.jwtSecret !== 'string') throw new Error('not a secrets.json');
  } catch (error) {
    throw new CommandError(`secrets file ${source} cannot be used: ${(error as Error).message}`);
  }
  const target = path.join(dataDir, SECRETS_FILE);
  if (fs.existsSync(target)) {
    if (fs.readFileSync(target, 'utf8') === text) return 'already there';
    throw new CommandError(`${target} already exists and differs from ${source}: move it away first (without it, credentials encrypted with it are lost; it also holds the embedded database's password, so move DATA_DIR/postgres away with it)`);
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(target, text, { mode: 0o600, flag: 'wx' });
  return 'installed';
}
