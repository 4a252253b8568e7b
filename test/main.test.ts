/**
 * The compiled server as a newcomer runs it (`node dist/src/main.js`, built by `npm test`'s
 * pretest): bad input at start stops with one clear line; the embedded default starts,
 * answers /healthz, stops cleanly on SIGTERM and keeps its data across restarts; the first
 * owner is created with `npm run create-admin` while it runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findFreePort } from '../src/db/embedded-postgres';
import { useTestDatabase } from './helpers/database';

const MAIN = path.resolve(__dirname, '../dist/src/main.js');
const CREATE_ADMIN = path.resolve(__dirname, '../dist/scripts/create-admin.js');

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...extra };
  return env;
}

function startMain(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MAIN], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { child, stdout: [], stderr: [], exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stdout?.on('data', (chunk: Buffer) => run.stdout.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => run.stderr.push(chunk.toString()));
  return run;
}

async function waitForHealthy(port: number, run: Run): Promise<Response> {
  for (let i = 0; i < 600; i++) {
    if (run.child.exitCode !== null) throw new Error(`server exited: ${run.stderr.join('')}`);
    try {
      return await fetch(`http://127.0.0.1:${port}/healthz`);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('server did not come up');
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-main-'));

describe('starting the server', () => {
  const t = useTestDatabase();

  beforeAll(() => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
  });

  it.each([
    ['a malformed DATABASE_URL', { DATABASE_URL: 'postgres//nohost' }, /^outreach: cannot start: Invalid environment: DATABASE_URL: expected a URL/],
    ['a tunable of the wrong type', { CONFIG_FILE: '__bad_config__' }, /^outreach: cannot start: Invalid configuration: sending\.maxAttempts: .*number/],
    ['an unwritable data directory', { DATA_DIR: '/dev/null/outreach' }, /^outreach: cannot start: Data directory \/dev\/null\/outreach is not writable/],
    ['a database that does not answer', { DATABASE_URL: '__closed_port__' }, /^outreach: cannot start: Cannot connect to the database at 127\.0\.0\.1:\d+\/x: ECONNREFUSED/],
  ])('stops with one clear line on %s', async (_what, env, expected) => {
    const dir = tempDir();
    const resolved: Record<string, string> = { DATA_DIR: dir, ...env };
    if (resolved.CONFIG_FILE === '__bad_config__') {
      resolved.CONFIG_FILE = path.join(dir, 'bad.json');
      fs.writeFileSync(resolved.CONFIG_FILE, JSON.stringify({ sending: { maxAttempts: 'many' } }));
    }
    if (resolved.DATABASE_URL === '__closed_port__') resolved.DATABASE_URL = `postgres://u:secretpw@127.0.0.1:${await findFreePort()}/x`;
    const run = startMain(resolved);
    expect(await run.exited).toBe(1);
    const lines = run.stderr.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
    expect(lines[0]).not.toContain('secretpw');
    expect(lines[0]).not.toMatch(/\n\s+at /);
  });

  it('serves /healthz on a given DATABASE_URL and exits 0 on SIGTERM', async () => {
    const port = await findFreePort();
    const run = startMain({ DATA_DIR: tempDir(), PORT: String(port), DATABASE_URL: t.url });
    const res = await waitForHealthy(port, run);
    expect(res.status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stdout.join('')).toMatch(/"message":"server stopped"/);
  });

  it('runs on embedded Postgres by default and keeps the data across a restart', async () => {
    const dataDir = tempDir();
    const port = await findFreePort();
    const first = startMain({ DATA_DIR: dataDir, PORT: String(port) });
    expect((await waitForHealthy(port, first)).status).toBe(200);

    const started = first.stdout.join('').split('\n').find((line) => line.includes('embedded Postgres started'));
    const pgPort = JSON.parse(started ?? '{}').port as number;
    const secrets = JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as { embeddedPostgresPassword: string };
    const connect = async (dbPort: number) => {
      const client = new pg.Client({ host: '127.0.0.1', port: dbPort, user: 'postgres', password: secrets.embeddedPostgresPassword, database: 'outreach' });
      await client.connect();
      return client;
    };
    const writer = await connect(pgPort);
    await writer.query(`insert into clients (name) values ('survives restarts')`);
    await writer.end();

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = startMain({ DATA_DIR: dataDir, PORT: String(port) });
    expect((await waitForHealthy(port, second)).status).toBe(200);
    const restarted = second.stdout.join('').split('\n').find((line) => line.includes('embedded Postgres started'));
    const reader = await connect(JSON.parse(restarted ?? '{}').port as number);
    const { rows } = await reader.query(`select name from clients`);
    await reader.end();
    expect(rows).toEqual([{ name: 'survives restarts' }]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);

  it('lets the first owner in while the embedded server runs: create-admin uses its cluster and prints its URL', async () => {
    const dataDir = tempDir();
    const port = await findFreePort();
    const server = startMain({ DATA_DIR: dataDir, PORT: String(port) });
    try {
      expect((await waitForHealthy(port, server)).status).toBe(200);
      expect(server.stdout.join('')).toContain('No owner account yet');

      // Started without PORT, as a newcomer would in a second terminal: the URL must still be the server's.
      const created = await promisify(execFile)(process.execPath, [CREATE_ADMIN, '--email', 'First@Example.com', '--password', 'a-long-password-1'], {
        env: baseEnv({ DATA_DIR: dataDir }),
      });
      expect(created.stdout).toContain('Owner first@example.com created.');
      expect(created.stdout).toContain(`POST http://localhost:${port}/api/auth/login`);

      const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'first@example.com', password: 'a-long-password-1' }),
      });
      expect(login.status).toBe(200);
      expect(((await login.json()) as { accessToken?: string }).accessToken).toEqual(expect.any(String));

      // A second owner with the same address is refused with a message, and the server is untouched.
      const again = promisify(execFile)(process.execPath, [CREATE_ADMIN, '--email', 'first@example.com', '--password', 'a-long-password-1'], { env: baseEnv({ DATA_DIR: dataDir }) });
      await expect(again).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'server.json'))).toBe(false);
  }, 120_000);
});
