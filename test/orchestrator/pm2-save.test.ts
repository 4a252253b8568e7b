/**
 * Saving PM2's process list for boot (`pm2 startup` resurrects it) with real PM2 (its own
 * PM2_HOME), the compiled server under `pm2 start ecosystem.config.js` and a worker sending:
 * `npm run pm2:save` leaves the workers out of the dump, so a reboot (`pm2 kill`, then
 * `pm2 resurrect`) starts the server alone, which starts its workers itself. A plain
 * `pm2 save` still holds the worker: resurrected, it exits before it loads anything (its
 * server is gone), and the new server removes it without counting a crash.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/config';
import { findFreePort } from '../../src/db/embedded-postgres';
import { WORKER_NAMESPACE, workerName } from '../../src/orchestrator/pm2-supervisor';
import { countRecentRestarts } from '../../src/orchestrator/worker.repository';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useTestDatabase } from '../helpers/database';
import { waitForListening } from '../helpers/server-process';
import { waitFor } from '../helpers/wait-for';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';

jest.setTimeout(300_000);

const PM2_BIN = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'pm2');
const SAVE_SCRIPT = path.join(PROJECT_ROOT, 'dist', 'scripts', 'pm2-save.js');
const run = promisify(execFile);
const t = useTestDatabase();

interface Pm2App {
  name: string;
  pid: number;
  pm2_env: { namespace?: string; status?: string; args?: string[] };
}

describe('saving the PM2 process list for boot', () => {
  let dir: string;
  let env: Record<string, string>;
  let port: number;
  const shell = () => ({ cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  const pm2 = (...args: string[]) => run(PM2_BIN, args, shell());
  const jlist = async () => JSON.parse((await pm2('jlist')).stdout) as Pm2App[];
  const onlineWorkers = async () => (await jlist()).filter((a) => a.pm2_env.namespace === WORKER_NAMESPACE && a.pm2_env.status === 'online' && a.pid > 0);
  const dump = () => JSON.parse(fs.readFileSync(path.join(env.PM2_HOME!, 'dump.pm2'), 'utf8')) as { name: string; namespace?: string }[];
  const serverLog = () => ['out', 'error'].map((kind) => fs.readFileSync(path.join(env.PM2_HOME!, 'logs', `outreach-server-${kind}.log`), 'utf8')).join('\n');
  const sentCount = async () => Number((await t.db.selectFrom('email_queue').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'sent').executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-pm2-save-'));
    port = await findFreePort();
    const sinkPort = await findFreePort();
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ sink: { enabled: true, host: '127.0.0.1', port: sinkPort }, orchestrator: { workerStopTimeoutMs: 20_000, workerKeepAliveSeconds: 0 } }));
    env = { DATA_DIR: path.join(dir, 'data'), PM2_HOME: path.join(dir, 'pm2'), PORT: String(port), CONFIG_FILE: configFile, DATABASE_URL: t.url, LOG_LEVEL: 'info' };
    // One sink account sending a row every 2 s for the whole test.
    const client = await createClient(t.db);
    const account = await createAccount(t.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: '127.0.0.1', port: sinkPort }), min_gap_seconds: 2 });
    accountId = account.id;
    accountEmail = account.email;
    const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
    await addContacts(t.db, client.id, campaign.id, 300);
    await enqueueCampaign(t.db, campaign.id, new Date(), { messageIdDomain: 'pm2-save.test' });
  });
  afterAll(async () => {
    if (env) await pm2('kill').catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let accountId: string;
  let accountEmail: string;

  /** Like a reboot: the daemon and everything in it end, then `pm2 startup`'s unit resurrects the dump. */
  async function reboot(): Promise<void> {
    await pm2('kill');
    await pm2('resurrect');
    expect((await waitForListening(port)).status).toBe(200);
  }

  it('npm run pm2:save leaves the workers out: a reboot starts the server alone, and it starts its worker again', async () => {
    await pm2('start', path.join(PROJECT_ROOT, 'ecosystem.config.js'));
    expect((await waitForListening(port)).status).toBe(200);
    await waitFor(async () => (await sentCount()) >= 1, 'the worker sending');
    expect(await onlineWorkers()).toHaveLength(1);

    const saved = await run(process.execPath, [SAVE_SCRIPT], shell());
    expect(saved.stdout).toMatch(/Saved 1 app\(s\) to .*dump\.pm2: outreach-server \(online\); 1 worker\(s\) left out/);
    expect(dump().map((a) => a.name)).toEqual(['outreach-server']);

    await reboot();
    // Only the server came back from the dump; the worker online now is the new server's.
    const apps = await jlist();
    const server = apps.find((a) => a.name === 'outreach-server');
    expect(server?.pm2_env.status).toBe('online');
    const [worker] = await waitFor(async () => ((await onlineWorkers()).length === 1 ? onlineWorkers() : undefined), 'the new server starting its worker');
    expect(worker!.pm2_env.args).toEqual(expect.arrayContaining(['--supervisor-pid', String(server!.pid)]));
    const before = await sentCount();
    await waitFor(async () => (await sentCount()) > before, 'sending again after the reboot');
    expect(await countRecentRestarts(t.db, accountId, 3_600_000)).toBe(0);
  });

  it('a worker a plain pm2 save kept exits at once when resurrected, and the new server removes it without counting a crash', async () => {
    await pm2('save');
    expect(dump().filter((a) => a.namespace === WORKER_NAMESPACE).map((a) => a.name)).toEqual([workerName({ id: accountId, email: accountEmail })]);
    const workerLog = path.join(env.DATA_DIR!, 'logs', `${workerName({ id: accountId, email: accountEmail })}.log`);

    await reboot();
    await waitFor(async () => fs.existsSync(workerLog) && /is gone; exiting without starting/.test(fs.readFileSync(workerLog, 'utf8')), 'the resurrected worker exiting before it starts');
    await waitFor(async () => /removing workers whose server is gone/.test(serverLog()), 'the new server removing the resurrected entry');
    const server = (await jlist()).find((a) => a.name === 'outreach-server');
    const [worker] = await waitFor(async () => ((await onlineWorkers()).length === 1 ? onlineWorkers() : undefined), 'the new server starting its own worker');
    expect(worker!.pm2_env.args).toEqual(expect.arrayContaining(['--supervisor-pid', String(server!.pid)]));
    const before = await sentCount();
    await waitFor(async () => (await sentCount()) > before, 'sending again');
    expect(await countRecentRestarts(t.db, accountId, 3_600_000)).toBe(0);
    expect(serverLog()).not.toMatch(/worker crashed|exited unexpectedly/);
    // Every row sent once.
    const sent = await t.db.selectFrom('email_queue').select('message_id').where('status', '=', 'sent').execute();
    expect(new Set(sent.map((r) => r.message_id)).size).toBe(sent.length);
  });

  it('refuses to save a daemon that runs no server', async () => {
    const emptyHome = path.join(dir, 'pm2-none');
    await expect(run(process.execPath, [SAVE_SCRIPT], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, PM2_HOME: emptyHome } })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/pm2:save: no PM2 daemon runs for .*pm2-none/),
    });
  });
});
