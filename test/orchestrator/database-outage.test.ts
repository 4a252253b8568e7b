/**
 * The orchestrator through a database restart with downtime (a cluster of the test's own):
 * its LISTEN connection comes back, its node leases come back, and it reconciles on its own.
 * No account has work, so no PM2 daemon is needed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/db/connection';
import { migrateToLatest } from '../../src/db/migrate';
import { createLogger } from '../../src/logger';
import { Orchestrator, ORCHESTRATOR_CHANNEL } from '../../src/orchestrator/orchestrator';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { waitFor } from '../helpers/wait-for';
import { createAccount, createClient } from '../queue/fixtures';

jest.setTimeout(120_000);

let cluster: PrivatePostgres;
let db: Db;
let orchestrator: Orchestrator | undefined;
let tempDir: string;
let accountId: string;

beforeAll(async () => {
  cluster = await startPrivatePostgres();
  db = createDb(cluster.url, { poolMax: 5, idleTimeoutMs: 60_000 });
  await migrateToLatest(db);
  const client = await createClient(db);
  accountId = (await createAccount(db, client.id, { transport: 'sink' })).id;
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-outage-'));
  const configFile = path.join(tempDir, 'config.json');
  // A reconcile interval far beyond the test: every reconcile seen comes from a notification,
  // the LISTEN connection coming back, or the leases coming back.
  fs.writeFileSync(configFile, JSON.stringify({ orchestrator: { reconcileIntervalMs: 600_000, nodeLeaseMs: 1500 } }));
  const config = loadConfig({ DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2'), NODE_ID: 'node-outage', LOG_LEVEL: 'error' });
  orchestrator = new Orchestrator({ db, connectionString: cluster.url, config, logger: createLogger('error'), listen: true });
  await orchestrator.start();
});

afterAll(async () => {
  await orchestrator?.stop({ killDaemon: true });
  await db?.destroy();
  await cluster?.destroy();
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});

const lastReconcileMs = () => orchestrator!.snapshot().lastReconcileAt?.getTime() ?? 0;

describe('the orchestrator through a database restart', () => {
  it('listens again, holds its leases again and reconciles once the database is back, then reconciles on notifications as before', async () => {
    await waitFor(async () => orchestrator!.listening && lastReconcileMs() > 0, 'first reconcile');
    expect(orchestrator!.leases.ownedIds()).toEqual([accountId]);

    // Down for longer than the lease: the node stops driving the account by its own deadline.
    const restart = cluster.restart({ downMs: 3000 });
    await waitFor(async () => !orchestrator!.listening && orchestrator!.leases.ownedIds().length === 0, 'leases given up during the outage', 10_000);
    await restart;
    const backAt = Date.now();

    await waitFor(async () => orchestrator!.listening, 'LISTEN connection back', 20_000);
    await waitFor(async () => orchestrator!.leases.ownedIds().includes(accountId), 'lease held again', 10_000);
    await waitFor(async () => lastReconcileMs() >= backAt, 'a reconcile after the outage', 10_000);
    const node = await db.selectFrom('nodes').select('id').where('id', '=', 'node-outage').executeTakeFirst();
    expect(node).toEqual({ id: 'node-outage' });

    const before = lastReconcileMs();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sql`select pg_notify(${ORCHESTRATOR_CHANNEL}, '{}')`.execute(db);
    await waitFor(async () => lastReconcileMs() > before, 'a reconcile on a notification', 10_000);
  });
});
