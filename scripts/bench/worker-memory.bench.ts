/**
 * worker_pss_mb_smtp / worker_pss_mb_gmail: proportional set size (PSS, /proc/PID/smaps_rollup)
 * of an idle compiled send-worker of each kind, started as the orchestrator starts it (same
 * node flags and environment, worker-runtime.ts): its account loaded, its transport built, one
 * claim made (nothing is due), then waiting for work. PSS, not RSS: code pages shared between
 * workers are split between them, so the figure is the mean over FLEET idle workers of the
 * kind running side by side (production runs hundreds); the PSS of a single worker with no
 * sibling is logged too.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';
import { WORKER_RUNTIME_ENV } from '../../src/orchestrator/worker-runtime';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { loadOrCreateGeneratedSecrets } from '../../src/secrets';
import type { Db } from '../../src/db/connection';
import { withBenchDatabase } from './bench-database';
import type { BenchContext } from './registry';

export const name = 'worker-memory';

/**
 * How long a worker is idle before it is measured. V8's memory reducer runs in an idle
 * process: it starts 8 s after the last full GC, collects, compacts and shrinks the young
 * generation (2 MB → ~0.3 MB). Measured at 5 s a worker shows ~2 MB it
 * gives back a few seconds later; a worker is idle for minutes at a time, so the figure is
 * the steady state after the reducer (the fleet bench waits 60 s for the same reason). The PSS
 * at 5 s is logged too.
 */
const EARLY_MS = 5_000;
const IDLE_SETTLE_MS = 30_000;
/** Workers of one kind measured together: in production hundreds share the same code pages. */
const FLEET = 8;

function pssKb(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const match = /^Pss:\s+(\d+) kB/m.exec(text);
  if (!match) throw new Error('no Pss line in smaps_rollup');
  return Number(match[1]);
}

/** Starts one idle worker per account, all at once, and returns each one's PSS in MB, 5 s into its wait and settled. */
async function measure(db: Db, url: string, accountIds: string[], env: Record<string, string>): Promise<{ early: number[]; settled: number[] }> {
  const children = accountIds.map((accountId) =>
    spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/workers/send-worker.js'), '--account', accountId], {
      env: { ...WORKER_RUNTIME_ENV, DATABASE_URL: url, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  try {
    // A worker reports its state changes to its parent over IPC, as it does to the orchestrator.
    const waiting = children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.on('message', (message: { type?: string; state?: string }) => {
            if (message.type === 'status' && message.state === 'waiting') resolve();
          });
          child.once('exit', (code) => reject(new Error(`a worker exited (code ${code}) before going idle`)));
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('workers did not go idle within 60 s')), 60_000);
    });
    await Promise.race([Promise.all(waiting), timeout]).finally(() => clearTimeout(timer));
    await new Promise((r) => setTimeout(r, EARLY_MS));
    const early = children.map((child) => pssKb(child.pid as number) / 1024);
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS - EARLY_MS));
    return { early, settled: children.map((child) => pssKb(child.pid as number) / 1024) };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))));
    await db.deleteFrom('worker_heartbeats').where('account_id', 'in', accountIds).execute();
  }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const keyId = 'mem';
  const key = crypto.randomBytes(32);
  const cipher = createCredentialCipher([{ id: keyId, key }]);
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-worker-mem-'));
  // The default tunables: an idle worker waits sending.idlePollMs (5 min) for a nudge.
  fs.writeFileSync(path.join(tempDir, 'config.json'), JSON.stringify({}));
  // Created once here: workers starting together would otherwise race to create it.
  loadOrCreateGeneratedSecrets(path.join(tempDir, 'data'));
  const env = {
    CREDENTIALS_KEYS: `${keyId}:${key.toString('base64')}`,
    DATA_DIR: path.join(tempDir, 'data'),
    CONFIG_FILE: path.join(tempDir, 'config.json'),
    JWT_SECRET: 'memory-bench-secret-memory-bench-secret',
  };
  try {
    return await withBenchDatabase(async ({ db, url }) => {
      const client = await db.insertInto('clients').values({ name: 'memory-bench', settings: '{}' }).returning('id').executeTakeFirstOrThrow();
      const accounts = async (kind: 'smtp' | 'gmail') => {
        const ids: string[] = [];
        for (let i = 0; i < FLEET; i++) {
          const row = await db
            .insertInto('sender_accounts')
            .values({
              client_id: client.id,
              email: `${kind}${i}@memory.test`,
              transport: kind,
              transport_settings: kind === 'smtp' ? JSON.stringify({ host: '127.0.0.1', port: 2525 }) : '{}',
              credentials_encrypted: cipher.encrypt(
                JSON.stringify(kind === 'smtp' ? { user: 'u', pass: 'p' } : { type: 'oauth2', client_id: 'id', client_secret: 'secret', refresh_token: 'refresh' }),
              ),
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          ids.push(row.id);
        }
        return ids;
      };
      const smtpIds = await accounts('smtp');
      const gmailIds = await accounts('gmail');
      const soloSmtp = mean((await measure(db, url, smtpIds.slice(0, 1), env)).settled);
      const soloGmail = mean((await measure(db, url, gmailIds.slice(0, 1), env)).settled);
      context.log(`one idle worker alone (shares code pages with no sibling): smtp ${soloSmtp.toFixed(1)} MB, gmail ${soloGmail.toFixed(1)} MB PSS`);
      const smtp = await measure(db, url, smtpIds, env);
      const gmail = await measure(db, url, gmailIds, env);
      context.log(`idle worker among ${FLEET} of its kind, 5 s into its wait: smtp ${mean(smtp.early).toFixed(1)} MB, gmail ${mean(gmail.early).toFixed(1)} MB PSS each (mean)`);
      const smtpMb = mean(smtp.settled);
      const gmailMb = mean(gmail.settled);
      context.log(`idle worker among ${FLEET} of its kind, ${IDLE_SETTLE_MS / 1000} s into its wait: smtp ${smtpMb.toFixed(1)} MB, gmail ${gmailMb.toFixed(1)} MB PSS each (mean)`);
      return { worker_pss_mb_smtp: Math.round(smtpMb * 10) / 10, worker_pss_mb_gmail: Math.round(gmailMb * 10) / 10 };
    }, 2);
  } finally {
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}
