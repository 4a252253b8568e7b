/**
 * Restoring a physical backup (./physical-backup.ts) into the embedded default's cluster
 * directory, DATA_DIR/postgres: when it is missing or empty, or (force) in place of the cluster
 * there, which is moved aside to DATA_DIR/postgres.before-restore-<time>, never deleted.
 *
 * States of one restore: checked (no server on the directory; archive and secrets fit) →
 * unpacked (into DATA_DIR/postgres.restoring-…, checked against its manifest) → placed (the old
 * cluster moved aside, the new one renamed into place) → proven (started once: Postgres
 * replays the backup's WAL to its end, the outreach database answers; stopped again). A
 * failure at any step removes only what this restore unpacked and moves the old cluster back.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { backupStamp } from './backup';
import { MANIFEST_FILE, missingMembers, parseManifest, runTar, type PhysicalManifest } from './physical-archive';
import { CommandError, pgToolMajor } from './pg-tools';
import { withDatabase } from '../db/admin';
import { EMBEDDED_DATABASE, startEmbeddedPostgres } from '../db/embedded-postgres';
import { postgresBinaries, postgresUserIds } from '../db/postmaster';
import { createLogger } from '../logger';

export interface PhysicalRestoreOptions {
  file: string;
  /** DATA_DIR: the cluster goes to DATA_DIR/postgres. */
  dataDir: string;
  /** The embedded superuser's password the server will use (secrets.json). */
  embeddedPassword: string;
  force: boolean;
  now?: Date;
}

export interface PhysicalRestoreResult {
  clusterDir: string;
  /** Where the cluster that was there before now is, when force moved it. */
  setAside?: string;
  manifest: PhysicalManifest;
}

/** How long the proving start may take: it replays all WAL written while the backup ran. */
const REPLAY_TIMEOUT_MS = 30 * 60_000;

/** Whether a live process holds the directory's postmaster.pid (starting, running or stopping). */
function postmasterAlive(clusterDir: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but another user's (Postgres runs as `postgres` when we are root).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, uid, gid);
    else fs.lchownSync(full, uid, gid);
  }
}

/** Refusals that need no unpacking: a server on the directory, or a cluster there without force. */
export function checkPhysicalRestoreTarget(dataDir: string, force: boolean): void {
  const clusterDir = path.join(dataDir, 'postgres');
  if (postmasterAlive(clusterDir)) {
    throw new CommandError(`a PostgreSQL server is running on ${clusterDir} (the outreach server, or a command using it): stop it first`);
  }
  if (!force && fs.existsSync(clusterDir) && fs.readdirSync(clusterDir).length > 0) {
    throw new CommandError(`${clusterDir} already holds a database cluster: pass --force to move it aside (to ${clusterDir}.before-restore-<time>, kept) and restore in its place`);
  }
}

/** Unpacks the archive into `work` and checks it against its manifest and this installation. */
async function unpack(options: PhysicalRestoreOptions, work: string): Promise<PhysicalManifest> {
  try {
    await runTar(['--extract', '--gzip', '--ignore-zeros', '--no-same-owner', '--same-permissions', `--file=${options.file}`, `--directory=${work}`]);
  } catch (error) {
    throw new CommandError(`${options.file} is damaged or incomplete: ${(error as Error).message}`);
  }
  const manifestFile = path.join(work, MANIFEST_FILE);
  if (!fs.existsSync(manifestFile)) throw new CommandError(`${options.file} is a .tar.gz but not a backup made by npm run backup (no ${MANIFEST_FILE} in it)`);
  const manifest = parseManifest(fs.readFileSync(manifestFile, 'utf8'), options.file);
  const missing = missingMembers(manifest, (member) => fs.existsSync(path.join(work, member)));
  if (missing.length > 0) throw new CommandError(`${options.file} is incomplete: it lacks ${missing.join(', ')}`);
  const installed = pgToolMajor(postgresBinaries().postgres);
  if (installed !== manifest.postgresMajor) {
    throw new CommandError(
      `${options.file} is a PostgreSQL ${manifest.postgresMajor} data directory, but the embedded PostgreSQL installed here is ${installed ?? 'missing'}: ` +
        `install the version of this project that made the backup (its embedded-postgres ${manifest.postgresMajor}), restore there, then upgrade`,
    );
  }
  if (crypto.createHash('sha256').update(options.embeddedPassword).digest('hex') !== manifest.embeddedPasswordSha256) {
    throw new CommandError(
      `the secrets.json in ${options.dataDir} is not the one this backup was taken with (its database password differs): ` +
        `restore with --secrets <the backup's .secrets.json> into a DATA_DIR that has no secrets.json yet`,
    );
  }
  fs.rmSync(manifestFile);
  return manifest;
}

/** Starts the restored cluster once: WAL replay to the end of the backup, then a query. */
async function prove(clusterDir: string, password: string): Promise<void> {
  let embedded;
  try {
    embedded = await startEmbeddedPostgres({ dataDir: clusterDir, password, logger: createLogger('error'), startTimeoutMs: REPLAY_TIMEOUT_MS });
  } catch (error) {
    throw new CommandError(`the restored cluster does not start: ${(error as Error).message.trim()}`);
  }
  try {
    const client = new pg.Client({ connectionString: withDatabase(embedded.connectionString, EMBEDDED_DATABASE) });
    try {
      await client.connect();
      await client.query('select 1');
    } catch (error) {
      throw new CommandError(`the restored cluster started but its ${EMBEDDED_DATABASE} database does not answer: ${(error as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  } finally {
    await embedded.stop();
  }
}

export async function restorePhysicalBackup(options: PhysicalRestoreOptions): Promise<PhysicalRestoreResult> {
  checkPhysicalRestoreTarget(options.dataDir, options.force);
  const clusterDir = path.join(options.dataDir, 'postgres');
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  // Beside the target, so placing it is a rename on the same file system.
  const work = fs.mkdtempSync(`${clusterDir}.restoring-`);
  let setAside: string | undefined;
  let placed = false;
  try {
    const manifest = await unpack(options, work);
    const ids = postgresUserIds();
    if (ids.uid !== undefined && ids.gid !== undefined) chownTree(work, ids.uid, ids.gid);
    if (fs.existsSync(clusterDir)) {
      if (fs.readdirSync(clusterDir).length > 0) {
        setAside = `${clusterDir}.before-restore-${backupStamp(options.now ?? new Date())}`;
        fs.renameSync(clusterDir, setAside);
      } else {
        fs.rmdirSync(clusterDir);
      }
    }
    fs.renameSync(work, clusterDir);
    placed = true;
    await prove(clusterDir, options.embeddedPassword);
    return { clusterDir, manifest, ...(setAside ? { setAside } : {}) };
  } catch (error) {
    fs.rmSync(placed ? clusterDir : work, { recursive: true, force: true });
    if (setAside) fs.renameSync(setAside, clusterDir);
    throw error;
  }
}
