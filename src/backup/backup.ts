/**
 * One logical backup: a pg_dump custom-format archive (compressed, restorable table by table
 * with pg_restore) named by its UTC time, and optionally the DATA_DIR secrets beside it.
 * Without secrets.json (or CREDENTIALS_KEYS) the stored credentials in the dump cannot be
 * decrypted. The embedded default is backed up physically instead (./physical-backup.ts):
 * Debian's pg_dump is older than its PostgreSQL 17 and refuses it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findPgTool, libpqConnection, runPgTool, serverMajorVersion, type PgTool } from './pg-tools';

export const SECRETS_FILE = 'secrets.json';
/** The first five bytes of every pg_dump custom-format archive. */
const CUSTOM_FORMAT_MAGIC = 'PGDMP';

export interface BackupOptions {
  connectionString: string;
  outDir: string;
  /** DATA_DIR, whose secrets.json is copied when withSecrets. */
  dataDir: string;
  withSecrets: boolean;
  now?: Date;
}

export interface BackupResult {
  file: string;
  bytes: number;
  secretsFile?: string;
  tool: PgTool;
}

/** Logical backups are pg_dump custom-format files, physical ones two-part .tar.gz (./physical-archive.ts). */
export type BackupMode = 'logical' | 'physical';
const EXTENSIONS: Record<BackupMode, string> = { logical: '.dump', physical: '.tar.gz' };

/** 20240131-235959Z: sorts by time, no ':' (not allowed on every file system). */
export function backupStamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '').replace('T', '-');
}

/** outreach-20240131-235959Z.dump (logical) or outreach-20240131-235959Z.tar.gz (physical). */
export function backupFileName(now: Date, mode: BackupMode = 'logical'): string {
  return `outreach-${backupStamp(now)}${EXTENSIONS[mode]}`;
}

/** The secrets copy that belongs to a backup file: outreach-….dump (or .tar.gz) → outreach-….secrets.json. */
export function secretsFileFor(backupFile: string): string {
  return backupFile.replace(/\.(dump|tar\.gz)$/, '') + '.secrets.json';
}

/** Copies DATA_DIR/secrets.json beside a backup file (mode 0600); undefined when there is none. */
export function copySecretsBeside(backupFile: string, dataDir: string): string | undefined {
  const source = path.join(dataDir, SECRETS_FILE);
  if (!fs.existsSync(source)) return undefined;
  const target = secretsFileFor(backupFile);
  fs.copyFileSync(source, target);
  fs.chmodSync(target, 0o600);
  return target;
}

export function isCustomFormatArchive(file: string): boolean {
  const handle = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(CUSTOM_FORMAT_MAGIC.length);
    fs.readSync(handle, head, 0, head.length, 0);
    return head.toString('latin1') === CUSTOM_FORMAT_MAGIC;
  } finally {
    fs.closeSync(handle);
  }
}

export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const tool = findPgTool('pg_dump', await serverMajorVersion(options.connectionString));
  // Backups hold password hashes and sealed credentials: private directory, private files.
  fs.mkdirSync(options.outDir, { recursive: true, mode: 0o700 });
  const file = path.join(options.outDir, backupFileName(options.now ?? new Date()));
  // Written under another name and renamed when complete, so an interrupted run (a cron job
  // killed, a full disk) never leaves a file that looks like a backup.
  const partial = `${file}.partial`;
  const { dbnameArg, env } = libpqConnection(options.connectionString);
  try {
    fs.writeFileSync(partial, '', { mode: 0o600 });
    await runPgTool(tool, ['--format=custom', '--compress=6', `--file=${partial}`, dbnameArg], env);
    fs.renameSync(partial, file);
  } finally {
    fs.rmSync(partial, { force: true });
  }
  const secretsFile = options.withSecrets ? copySecretsBeside(file, options.dataDir) : undefined;
  return { file, bytes: fs.statSync(file).size, tool, ...(secretsFile ? { secretsFile } : {}) };
}
