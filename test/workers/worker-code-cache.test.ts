/**
 * The worker's process entry (workers/send-worker.ts) compiles its bundle with V8's code cache
 * when given --code-cache-dir: the first worker through a start writes it, the next ones read
 * it, and a cache V8 cannot use is replaced without stopping the worker. Runs the compiled
 * worker from dist/ (`npm run build` first) against real Postgres.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';
import { useTestDatabase } from '../helpers/database';
import { createAccount, createClient } from '../queue/fixtures';

const database = useTestDatabase();
const WORKER = path.join(PROJECT_ROOT, 'dist', 'workers', 'send-worker.js');
let tempDir: string;
let cacheDir: string;

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-code-cache-'));
  cacheDir = path.join(tempDir, 'code-cache');
  fs.writeFileSync(path.join(tempDir, 'config.json'), '{}');
});
afterEach(() => fs.rmSync(tempDir, { recursive: true, force: true }));

/** Starts a worker for an account with nothing to send and resolves once it waits for work; then stops it. */
async function startUntilWaiting(accountId: string): Promise<void> {
  const child = spawn(process.execPath, [WORKER, '--account', accountId, '--code-cache-dir', cacheDir], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: database.url,
      DATA_DIR: path.join(tempDir, 'data'),
      CONFIG_FILE: path.join(tempDir, 'config.json'),
      JWT_SECRET: 'code-cache-test-secret-code-cache-test-secret',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: { type?: string; state?: string }) => {
        if (message.type === 'status' && message.state === 'waiting') resolve();
      });
      void exited.then((code) => reject(new Error(`worker exited (${code}) before waiting: ${stderr}`)));
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

function cacheFiles(): string[] {
  return fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : [];
}

async function idleAccount(): Promise<string> {
  const client = await createClient(database.db);
  const account = await createAccount(database.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: '127.0.0.1', port: 2525 }) });
  return account.id;
}

describe('worker code cache', () => {
  it('is written by the first worker once it has started and read, not rewritten, by the next', async () => {
    const accountId = await idleAccount();
    await startUntilWaiting(accountId);
    const files = cacheFiles();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^send-worker-\d+-\d+-v\d+\.\d+\.\d+\.v8cache$/);
    const file = path.join(cacheDir, files[0] as string);
    const written = fs.statSync(file);
    expect(written.size).toBeGreaterThan(100_000);

    await startUntilWaiting(accountId);
    // Accepted by V8, so left alone: a rejected cache would have been replaced (a new inode).
    expect(fs.statSync(file).ino).toBe(written.ino);
    expect(cacheFiles()).toEqual(files);
  });

  it('replaces a cache V8 rejects, and the worker runs all the same', async () => {
    const accountId = await idleAccount();
    await startUntilWaiting(accountId);
    const file = path.join(cacheDir, cacheFiles()[0] as string);
    fs.writeFileSync(file, 'not a code cache');

    await startUntilWaiting(accountId);
    expect(fs.readFileSync(file).length).toBeGreaterThan(100_000);
    expect(cacheFiles()).toHaveLength(1);
  });

  it('runs uncached when the cache directory cannot be written', async () => {
    const accountId = await idleAccount();
    fs.writeFileSync(path.join(tempDir, 'code-cache'), 'a file where the directory should be');
    await startUntilWaiting(accountId);
    expect(fs.readFileSync(path.join(tempDir, 'code-cache'), 'utf8')).toBe('a file where the directory should be');
  });
});
