/**
 * The physical backup archive of the embedded default (written by ./physical-backup.ts, read
 * by ./physical-restore.ts): one .tar.gz made of two gzip members, each a tar of its own.
 *
 *   1. the data directory, copied while the server runs, without what the PostgreSQL manual
 *      ("Making a Base Backup Using the Low Level API") says to leave out, and without
 *      global/pg_control;
 *   2. what only exists once the copy is done: outreach-backup.json (the manifest below),
 *      backup_label (and tablespace_map) from pg_backup_stop, global/pg_control (copied
 *      last, as pg_basebackup does), and the WAL segments from the backup's start to its end.
 *
 * Reading it needs `tar --ignore-zeros`, since plain tar stops at the end of the first part.
 * That is why pg_control is in the second part: a data directory unpacked without it does
 * not start at all, rather than starting without backup_label and silently inconsistent.
 * GNU tar (Debian's `tar`) does the work.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CommandError } from './pg-tools';

export const MANIFEST_FILE = 'outreach-backup.json';
export const MANIFEST_FORMAT = 'outreach-physical-backup';

export interface PhysicalManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  createdAt: string;
  /** The data directory's PG_VERSION: the server binaries that can run it. */
  postgresMajor: number;
  serverVersion: string;
  label: string;
  startLsn: string;
  stopLsn: string;
  timeline: number;
  walSegments: string[];
  /**
   * SHA-256 of the embedded superuser's password (from secrets.json) the cluster was made
   * with: a restore can tell, before touching anything, whether the secrets it would run the
   * cluster with fit it. The password is 24 random bytes, so its hash gives nothing away.
   */
  embeddedPasswordSha256: string;
}

/** Directories whose contents Postgres rebuilds at start (the directories themselves are kept). */
const REBUILT_DIRECTORIES = ['pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans'];

/**
 * GNU tar options that leave out of part 1 what the manual (and pg_basebackup) leave out.
 * Exclusions are positional in GNU tar: they must come before the directory they apply to.
 */
export const DATA_DIRECTORY_EXCLUSIONS = [
  '--anchored',
  // The running server's own files; a copy of them would stop or confuse the restored one.
  '--exclude=./postmaster.pid',
  '--exclude=./postmaster.opts',
  '--exclude=./postgresql.auto.conf.tmp',
  '--exclude=./current_logfiles.tmp',
  '--exclude=./backup_label',
  '--exclude=./tablespace_map',
  '--exclude=./backup_manifest',
  // Copied last, into part 2 (see above).
  '--exclude=./global/pg_control',
  ...REBUILT_DIRECTORIES.map((dir) => `--exclude=./${dir}/*`),
  '--no-anchored',
  // Temporary files of running queries and relation cache files, anywhere.
  '--exclude=pgsql_tmp*',
  '--exclude=pg_internal.init*',
];

/** Subdirectories of pg_wal a data directory is expected to have (part 2 adds them, empty). */
export const WAL_SUBDIRECTORIES = ['archive_status', 'summaries'];

/** What a usable archive must hold besides its WAL segments. */
export const REQUIRED_MEMBERS = [MANIFEST_FILE, 'backup_label', 'PG_VERSION', 'global/pg_control'];

/**
 * Runs GNU tar to the end. `liveFiles`: the files are being written while tar reads them, so
 * exit code 1 ("some files differ": a file changed, shrank or vanished while read) is expected
 * and fine, as the manual says; WAL replay makes them consistent. `stdout`: a file descriptor
 * to write the archive to (tar --file=-).
 */
export function runTar(args: string[], options: { liveFiles?: boolean; stdout?: number } = {}): Promise<void> {
  const stdio: StdioOptions = ['ignore', options.stdout ?? 'ignore', 'pipe'];
  const warnings = options.liveFiles ? ['--warning=no-file-changed', '--warning=no-file-removed', '--warning=no-file-shrank'] : [];
  return new Promise((resolve, reject) => {
    const child = spawn('tar', [...warnings, ...args], { stdio });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(new CommandError(error.code === 'ENOENT' ? 'tar is not installed (GNU tar is needed: apt-get install tar)' : `tar could not run: ${error.message}`)),
    );
    child.on('close', (code, signal) => {
      if (code === 0 || (code === 1 && options.liveFiles)) return resolve();
      const lines = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(new CommandError(`tar failed (${signal ?? `exit ${code}`}): ${lines || 'no message'}`));
    });
  });
}

/** The members of an archive, without the leading "./" (reads and so checks all of it). */
export async function listArchive(file: string): Promise<Set<string>> {
  const listing = path.join(path.dirname(file), `.${path.basename(file)}.list`);
  const out = fs.openSync(listing, 'w', 0o600);
  try {
    await runTar(['--list', '--gzip', '--ignore-zeros', `--file=${file}`], { stdout: out });
    return new Set(
      fs
        .readFileSync(listing, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((name) => name.replace(/^\.\//, '').replace(/\/$/, '')),
    );
  } finally {
    fs.closeSync(out);
    fs.rmSync(listing, { force: true });
  }
}

/** Why an unpacked archive cannot be used, or undefined when it holds everything it should. */
export function missingMembers(manifest: PhysicalManifest, has: (member: string) => boolean): string[] {
  return [...REQUIRED_MEMBERS, ...manifest.walSegments.map((segment) => `pg_wal/${segment}`)].filter((member) => !has(member));
}

export function parseManifest(text: string, source: string): PhysicalManifest {
  let parsed: Partial<PhysicalManifest>;
  try {
    parsed = JSON.parse(text) as Partial<PhysicalManifest>;
  } catch (error) {
    throw new CommandError(`${source}: the backup's ${MANIFEST_FILE} is not JSON (${(error as Error).message})`);
  }
  if (parsed.format !== MANIFEST_FORMAT || parsed.version !== 1 || !Array.isArray(parsed.walSegments) || typeof parsed.postgresMajor !== 'number') {
    throw new CommandError(`${source}: the backup's ${MANIFEST_FILE} is not one written by npm run backup (format ${MANIFEST_FORMAT}, version 1)`);
  }
  return parsed as PhysicalManifest;
}
