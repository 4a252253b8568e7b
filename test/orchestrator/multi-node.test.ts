/**
 * Two real servers (dist/src/main.js: run `npm run build` first), each a node with its own
 * PM2 daemon, on one database: they split the accounts; when one is killed (SIGKILL, its PM2
 * daemon and workers left behind) the other takes its accounts over, and no account is ever
 * driven by two workers for longer than one lease period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { PROJECT_ROOT } from '../../src/config';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { WORKER_MARKER_VAR } from '../../src/orchestrator/pm2-supervisor';
import { readEnvironVariable } from '../../src/orchestrator/proc-stats';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { useTestDatabase } from '../helpers/database';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';
import { waitFor as waitForValue } from '../helpers/wait-for';

jest.setTimeout(180_000);

const LEASE_MS = 3000;
let tempDir: string;
let peer: SmtpPeer;
const servers: ChildProcess[] = [];
/** This file's accounts: cleanup must not touch the workers of test files running alongside. */
const ourAccounts = new Set<string>();

afterAll(async () => {
  for (const server of servers) if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
  await Promise.all(servers.map((s) => (s.exitCode === null && s.signalCode === null ? new Promise((r) => s.once('exit', r)) : undefined)));
  // Node A's daemon outlived it by design; end it and anything it still runs.
  for (const node of ['a', 'b']) {
    const pidFile = path.join(tempDir, `pm2-${node}`, 'pm2.pid');
    if (fs.existsSync(pidFile)) {
      try {
        process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  for (const pid of workerPids(ourAccounts).keys()) process.kill(pid, 'SIGKILL');
  await peer?.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});
const t = useTestDatabase();

beforeAll(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-nodes-'));
  peer = await startSmtpPeer();
});

/** Live worker processes on this machine for our accounts: pid → account. */
function workerPids(accounts?: Set<string>): Map<number, string> {
  const found = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const account = readEnvironVariable(Number(entry), WORKER_MARKER_VAR);
    if (account && (!accounts || accounts.has(account))) found.set(Number(entry), account);
  }
  return found;
}

function startNode(name: string, configFile: string): ChildProcess {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: t.url,
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ID: `node-${name}`,
      DATA_DIR: path.join(tempDir, `data-${name}`),
      PM2_HOME: path.join(tempDir, `pm2-${name}`),
      CONFIG_FILE: configFile,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  servers.push(child);
  return child;
}

const waitFor = <T>(probe: () => Promise<T | undefined | false>, what: string, limitMs = 90_000): Promise<T> => waitForValue(probe, what, limitMs);

it('splits the accounts between two nodes, and the survivor takes over a killed node without driving any account twice', async () => {
  const configFile = path.join(tempDir, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      sending: { leaseMs: 3000, idlePollMs: 300, unknownPolicy: 'hold' },
      orchestrator: { reconcileIntervalMs: 1000, heartbeatIntervalMs: 500, nodeLeaseMs: LEASE_MS, workerStopTimeoutMs: 10_000, sweepIntervalMs: 1000, workerLogs: 'none' },
    }),
  );
  const client = await createClient(t.db);
  const accountIds: string[] = [];
  for (let i = 0; i < 4; i++) {
    const account = await createAccount(t.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: peer.host, port: peer.port }), min_gap_seconds: 1 });
    const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
    await addContacts(t.db, client.id, campaign.id, 200);
    await enqueueCampaign(t.db, campaign.id, new Date(), { messageIdDomain: 'nodes.test' });
    accountIds.push(account.id);
    ourAccounts.add(account.id);
  }
  const ours = new Set(accountIds);

  // Watch the whole time: how long has each account had two live workers at once?
  const doubleSince = new Map<string, number>();
  let longestDoubleMs = 0;
  const watcher = setInterval(() => {
    const counts = new Map<string, number>();
    for (const account of workerPids(ours).values()) counts.set(account, (counts.get(account) ?? 0) + 1);
    const now = Date.now();
    for (const id of accountIds) {
      if ((counts.get(id) ?? 0) > 1) {
        const since = doubleSince.get(id) ?? now;
        doubleSince.set(id, since);
        longestDoubleMs = Math.max(longestDoubleMs, now - since);
      } else {
        doubleSince.delete(id);
      }
    }
  }, 100);

  try {
    const nodeA = startNode('a', configFile);
    await waitFor(async () => new Set(workerPids(ours).values()).size === 4, 'node A running all four workers');
    startNode('b', configFile);

    const owners = async () => {
      const rows = await t.db.selectFrom('sender_accounts').select(['owner_node_id']).where('id', 'in', accountIds).execute();
      return rows.map((r) => r.owner_node_id);
    };
    await waitFor(async () => {
      const o = await owners();
      return o.filter((n) => n === 'node-a').length === 2 && o.filter((n) => n === 'node-b').length === 2 && new Set(workerPids(ours).values()).size === 4;
    }, 'an even split with a worker for every account');

    nodeA.kill('SIGKILL');
    await waitFor(async () => {
      const o = await owners();
      const live = [...workerPids(ours).values()];
      return o.every((n) => n === 'node-b') && live.length === 4 && new Set(live).size === 4;
    }, 'node B driving all four accounts, one worker each');
  } finally {
    clearInterval(watcher);
  }
  expect(longestDoubleMs).toBeLessThan(LEASE_MS);

  // Nothing went out twice, and no account went over its limits.
  const ids = peer.received.map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw)?.[1] ?? '');
  expect(ids.length).toBeGreaterThan(0);
  expect(new Set(ids).size).toBe(ids.length);
  const { rows: overLimit } = await sql<{ count: number; daily_limit: number }>`
    select rc.count, a.daily_limit from rate_counters rc join sender_accounts a on rc.scope_key = a.id::text
    where rc.scope = 'account' and rc.window_kind = 'day'`.execute(t.db);
  expect(overLimit.length).toBeGreaterThan(0);
  for (const row of overLimit) expect(row.count).toBeLessThanOrEqual(row.daily_limit);
});
