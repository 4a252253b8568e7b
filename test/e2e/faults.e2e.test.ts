/**
 * Fault injection during a real campaign: the compiled server (orchestrator, sweeper, HTTP)
 * on a Postgres cluster of this test's own, real PM2, compiled workers, and a real SMTP peer.
 * While 2,000 mails go out, the test SIGKILLs workers, restarts Postgres, SIGKILLs and restarts
 * the server, and the peer answers some messages only after the lease has expired and drops
 * the connection after taking others (the sender cannot know those were delivered).
 *
 * Afterwards: every row is terminal or held for an operator, no Message-ID arrived twice,
 * none is missing, and the rows left uncertain (held) are no more than the messages that were
 * actually on the wire when a fault hit: the rows `sending` at each worker kill, plus the
 * connections dropped after the message was taken.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { ensureDatabase, withDatabase } from '../../src/db/admin';
import { createDb, type Db } from '../../src/db/connection';
import { findFreePort } from '../../src/db/embedded-postgres';
import { isProcessAlive, readEnvironVariable } from '../../src/orchestrator/proc-stats';
import { WORKER_MARKER_VAR } from '../../src/orchestrator/pm2-supervisor';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { waitFor } from '../helpers/wait-for';
import { createUser, JWT_SECRET, TEST_PASSWORD } from '../http/admin-api.helpers';

jest.setTimeout(300_000);

const MAIN = path.resolve(__dirname, '../../dist/src/main.js');
const EMAILS = 2_000;
const ACCOUNTS = 4;
const LEASE_MS = 3_000;
const SMTP_LOGIN = { user: 'fault-login', pass: 'fault-password' };

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pg: PrivatePostgres;
let db: Db;
let peer: SmtpPeer;
let tempDir: string;
let port: number;
let server: ChildProcess | undefined;
let serverLog = '';
let env: NodeJS.ProcessEnv;

/** Delivered-then-dropped messages: each was on the wire when its connection broke. */
let droppedAfterTaking = 0;
let delayedPastLease = 0;

function startServer(): ChildProcess {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
  return child;
}

async function healthy(): Promise<void> {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, 'server healthy', 60_000);
}

async function call(method: string, route: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

async function statusCounts(campaignId: string): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }>`select status, count(*)::int as n from email_queue where campaign_id = ${campaignId} group by status`.execute(db);
  return Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
}

beforeAll(async () => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-faults-'));
  pg = await startPrivatePostgres();
  await ensureDatabase(pg.url, 'outreach');
  const url = withDatabase(pg.url, 'outreach');
  db = createDb(url, { poolMax: 2, idleTimeoutMs: 1000 });
  db.getExecutor(); // lazily connects

  let taken = 0;
  peer = await startSmtpPeer({
    auth: SMTP_LOGIN,
    script: async (context) => {
      if (context.stage !== 'data') return undefined;
      taken += 1;
      await pause(15);
      if (taken % 97 === 0) {
        droppedAfterTaking += 1;
        return 'accept-then-drop';
      }
      if (taken % 61 === 0) {
        delayedPastLease += 1;
        await pause(LEASE_MS + 1_500);
      }
      return undefined;
    },
  });

  port = await findFreePort();
  const configFile = path.join(tempDir, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      sending: {
        leaseMs: LEASE_MS,
        maxSendMs: 30_000,
        reconcileGraceMs: 2_000,
        unknownPolicy: 'hold',
        claimBatchSize: 5,
        idlePollMs: 5_000,
        globalPerMinute: 1_000_000,
        recipientDomainDailyLimit: 1_000_000,
        senderDomainDailyLimit: 1_000_000,
      },
      orchestrator: {
        reconcileIntervalMs: 1_000,
        heartbeatIntervalMs: 500,
        heartbeatStaleMs: 15_000,
        sweepIntervalMs: 1_000,
        nodeLeaseMs: 5_000,
        workerStopTimeoutMs: 15_000,
        restartBackoffBaseMs: 200,
        restartBackoffMaxMs: 1_000,
        maxRestartsPerHour: 1_000,
      },
      sink: { enabled: false },
    }),
  );
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: url,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: path.join(tempDir, 'data'),
    CONFIG_FILE: configFile,
    PM2_HOME: path.join(tempDir, 'pm2'),
    NODE_ID: 'fault-node',
    JWT_SECRET,
    LOG_LEVEL: 'warn',
  };
  server = startServer();
  await healthy();
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
  }
  // A daemon the killed server left behind: stop it and any worker it still runs.
  const pidFile = path.join(tempDir ?? '', 'pm2', 'pm2.pid');
  if (tempDir && fs.existsSync(pidFile)) {
    const daemon = Number(fs.readFileSync(pidFile, 'utf8'));
    if (isProcessAlive(daemon)) process.kill(daemon, 'SIGKILL');
  }
  await db?.destroy();
  await peer?.close();
  await pg?.destroy();
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});

describe('a campaign under fault injection', () => {
  it('ends with every row terminal or held, nothing sent twice or lost, and no more rows uncertain than messages on the wire at the faults', async () => {
    // Set up as a user would, through the API.
    await createUser(db, 'faults-owner@example.com', 'owner', null);
    const token = String((await call('POST', '/api/auth/login', undefined, { email: 'faults-owner@example.com', password: TEST_PASSWORD })).body.accessToken);
    const client = await call('POST', '/api/clients', token, { name: 'Faults Ltd', postalAddress: '1 Fault Lane' });
    expect(client.status).toBe(201);
    expect((await call('POST', '/api/domains', token, { clientId: client.body.id, domain: 'faults.example' })).status).toBe(201);
    const accountIds: string[] = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const account = await call('POST', '/api/accounts', token, {
        clientId: client.body.id,
        email: `sender${i}@faults.example`,
        transport: 'smtp',
        transportSettings: { host: peer.host, port: peer.port, requireTLS: false },
        credentials: SMTP_LOGIN,
        minGapSeconds: 0,
        dailyLimit: 100_000,
        hourlyLimit: 100_000,
        warmupEnabled: false,
      });
      expect(account.status).toBe(201);
      accountIds.push(String(account.body.id));
    }
    const campaign = await call('POST', '/api/campaigns', token, {
      clientId: client.body.id,
      name: 'Under fire',
      timeZone: 'UTC',
      sendDays: [1, 2, 3, 4, 5, 6, 7],
      windowStartMinute: 0,
      windowEndMinute: 1440,
      senderAccountIds: accountIds,
      steps: [{ subject: 'Hello {{first_name|there}}', bodyText: 'Hi {{first_name|there}}, a short note.' }],
    });
    expect(campaign.status).toBe(201);
    const campaignId = String(campaign.body.id);
    const csv = ['email,first_name', ...Array.from({ length: EMAILS }, (_, i) => `lead${i}@recipients${i % 20}.example,Lead${i}`)].join('\n');
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'leads.csv');
    const imported = await fetch(`http://127.0.0.1:${port}/api/campaigns/${campaignId}/contacts/import`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    expect(imported.status).toBe(200);
    expect((await call('POST', `/api/campaigns/${campaignId}/start`, token)).status).toBe(200);

    const sentSoFar = async () => (await statusCounts(campaignId)).sent ?? 0;
    const atSent = async (fraction: number) => waitFor(async () => (await sentSoFar()) >= EMAILS * fraction, `${fraction * 100} % sent`, 120_000);

    let workerKills = 0;
    // Distinct rows: one left `sending` by a kill may still be so at the next kill of that account.
    const onTheWireAtKills = new Set<number>();
    const killAWorker = async () => {
      const beats = await db.selectFrom('worker_heartbeats').select(['account_id', 'pid']).where('account_id', 'in', accountIds).execute();
      const victim = beats.find((b) => b.pid && isProcessAlive(b.pid) && readEnvironVariable(b.pid, WORKER_MARKER_VAR) === b.account_id);
      if (!victim?.pid) return;
      process.kill(victim.pid, 'SIGKILL');
      await waitFor(async () => !isProcessAlive(victim.pid!), 'killed worker gone', 5_000);
      workerKills += 1;
      const sending = await sql<{ id: number }>`select id from email_queue where status = 'sending' and claimed_by_account_id = ${victim.account_id}`.execute(db);
      for (const row of sending.rows) onTheWireAtKills.add(row.id);
    };

    await atSent(0.1);
    await killAWorker();
    await atSent(0.2);
    await killAWorker();

    await atSent(0.3);
    await pg.restart({ downMs: 3_000 });

    await atSent(0.45);
    server!.kill('SIGKILL');
    await new Promise((r) => server!.once('exit', r));
    await pause(1_000);
    server = startServer();
    await healthy();

    await atSent(0.6);
    await killAWorker();
    await atSent(0.75);
    await killAWorker();

    // Everything settles: sent, or held for an operator after its grace period.
    await waitFor(
      async () => {
        const counts = await statusCounts(campaignId);
        return (counts.queued ?? 0) + (counts.claimed ?? 0) + (counts.sending ?? 0) + (counts.unknown ?? 0) === 0;
      },
      'every row settled',
      150_000,
    );

    const counts = await statusCounts(campaignId);
    const rows = await db.selectFrom('email_queue').select(['message_id', 'status']).where('campaign_id', '=', campaignId).execute();
    const received = new Map<string, number>();
    for (const message of peer.received) {
      const id = /^Message-ID:\s*(\S+)/im.exec(message.raw)?.[1] ?? '';
      received.set(id, (received.get(id) ?? 0) + 1);
    }
    const duplicates = [...received.values()].filter((n) => n > 1).length;
    const sentButMissing = rows.filter((r) => r.status === 'sent' && received.get(r.message_id) !== 1).length;
    const receivedButNotSentOrHeld = [...received.keys()].filter((id) => !rows.some((r) => r.message_id === id && (r.status === 'sent' || r.status === 'held'))).length;
    const onTheWire = onTheWireAtKills.size + droppedAfterTaking;
    process.stdout.write(
      `faults: ${workerKills} worker kills (${onTheWireAtKills.size} rows on the wire), 1 Postgres restart, 1 server kill, ${droppedAfterTaking} connections dropped after DATA, ${delayedPastLease} answers past the lease; ` +
        `rows ${JSON.stringify(counts)}; uncertain (held) ${counts.held ?? 0} of ${onTheWire} on the wire at faults; duplicates ${duplicates}\n`,
    );

    expect(rows).toHaveLength(EMAILS);
    expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['sent']));
    expect((counts.sent ?? 0) + (counts.held ?? 0)).toBe(EMAILS);
    expect(duplicates).toBe(0);
    expect(sentButMissing).toBe(0);
    expect(receivedButNotSentOrHeld).toBe(0);
    expect(workerKills).toBeGreaterThanOrEqual(3);
    expect(counts.held ?? 0).toBeLessThanOrEqual(onTheWire);
    expect(serverLog).not.toMatch(/Unhandled 'error' event|uncaughtException/);
  });
});
