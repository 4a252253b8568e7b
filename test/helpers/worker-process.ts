/** Runs the compiled worker (dist/, `npm run build` first) as a real process against real Postgres. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';

export const WORKER_ENTRY = path.join(PROJECT_ROOT, 'dist', 'workers', 'send-worker.js');

export interface WorkerRunOptions {
  databaseUrl: string;
  /** Holds config.json and data/. */
  tempDir: string;
  codeCacheDir?: string;
  nodeArgs?: string[];
}

/** Starts a worker for an account with nothing to send, resolves once it waits for work, stops it, and returns its stderr. */
export async function startUntilWaiting(accountId: string, options: WorkerRunOptions): Promise<string> {
  const args = [...(options.nodeArgs ?? []), WORKER_ENTRY, '--account', accountId, ...(options.codeCacheDir ? ['--code-cache-dir', options.codeCacheDir] : [])];
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: options.databaseUrl,
      DATA_DIR: path.join(options.tempDir, 'data'),
      CONFIG_FILE: path.join(options.tempDir, 'config.json'),
      JWT_SECRET: 'worker-process-test-secret-worker-process-test',
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
  return stderr;
}
