/**
 * The worker's process entry (workers/send-worker.ts) compiles its bundle with V8's code cache
 * when given --code-cache-dir: the first worker through a start writes it, the next ones read
 * it, and a cache V8 cannot use is replaced without stopping the worker. Runs the compiled
 * worker from dist/ (`npm run build` first) against real Postgres.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useTestDatabase } from '../helpers/database';
import { startUntilWaiting as startWorkerUntilWaiting } from '../helpers/worker-process';
import { createAccount, createClient } from '../queue/fixtures';

const database = useTestDatabase();
let tempDir: string;
let cacheDir: string;

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-code-cache-'));
  cacheDir = path.join(tempDir, 'code-cache');
  fs.writeFileSync(path.join(tempDir, 'config.json'), '{}');
});
afterEach(() => fs.rmSync(tempDir, { recursive: true, force: true }));

const startUntilWaiting = (accountId: string) => startWorkerUntilWaiting(accountId, { databaseUrl: database.url, tempDir, codeCacheDir: cacheDir });

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
