/**
 * What a fleet of on-demand workers costs the server and Postgres between sends (issue 18),
 * with the real orchestrator, real PM2, the compiled worker (`npm run build` first), real
 * Postgres, a real SMTP peer and real time: an idle exit is cleared without a reconcile, one
 * reconcile never holds more starts than maxStartingWorkers behind it, and a worker woken
 * a few seconds early keeps its one Postgres session until it sends. No LISTEN and a reconcile
 * interval of 10 minutes: only what is tested starts workers.
 */
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useOnDemandOrchestrator } from '../helpers/on-demand-orchestrator';
import { waitFor } from '../helpers/wait-for';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';

jest.setTimeout(180_000);

const KEEP_ALIVE_S = 10;
const LEAD_S = 2;

const { t, harness } = useOnDemandOrchestrator({
  name: 'wake-costs',
  listen: false,
  sending: { gapJitterPct: 0 },
  orchestrator: { workerKeepAliveSeconds: KEEP_ALIVE_S, workerWakeLeadSeconds: LEAD_S, maxStartingWorkers: 1, startBatchSize: 1 },
});

/** A sink mailbox with `rows` queued rows due now, `minGapSeconds` apart (no jitter). */
async function accountWithWork(rows: number, minGapSeconds: number, status: 'active' | 'paused' = 'active') {
  const client = await createClient(t.db);
  const account = await createAccount(t.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: harness.peer.host, port: harness.peer.port }), min_gap_seconds: minGapSeconds, status });
  const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
  await addContacts(t.db, client.id, campaign.id, rows);
  await enqueueCampaign(t.db, campaign.id, new Date(), { messageIdDomain: 'wake.test' });
  return account.id;
}

const sentRows = async (accountId: string) =>
  (await t.db.selectFrom('email_queue').select(['sent_at']).where('claimed_by_account_id', '=', accountId).where('status', '=', 'sent').orderBy('sent_at').execute()).map((r) => r.sent_at as Date);
const beatOf = (accountId: string) => t.db.selectFrom('worker_heartbeats').selectAll().where('account_id', '=', accountId).executeTakeFirst();
const pm2Entry = async (accountId: string) => (await harness.orchestrator.supervisor.list()).find((p) => p.accountId === accountId);

describe('what on-demand workers cost between sends', () => {
  it('clears an idle exit from PM2 without a reconcile, and wakes it on time from its exit', async () => {
    // A gap beyond the keep-alive: after its first send the worker exits idle.
    const gapS = KEEP_ALIVE_S + 8;
    // (First in this file: no other worker's exit may ask for a reconcile meanwhile.)
    const accountId = await accountWithWork(2, gapS);
    await harness.orchestrator.reconcile();
    const [first] = await waitFor(async () => ((await sentRows(accountId)).length === 1 ? sentRows(accountId) : undefined), 'first send', 30_000);
    const reconciledAt = harness.orchestrator.snapshot().lastReconcileAt;

    const exit = await waitFor(async () => {
      const beat = await beatOf(accountId);
      return beat?.state === 'idle_exit' && !(await pm2Entry(accountId)) ? beat : undefined;
    }, 'idle exit removed from PM2', 15_000);
    // Removed by the exit's own handling: no reconcile ran for it.
    expect(harness.orchestrator.snapshot().lastReconcileAt).toEqual(reconciledAt);

    // Started again by the wake its exit set (no reconcile would otherwise run for 10 minutes).
    const dueMs = new Date(String(exit.details.until)).getTime();
    expect(dueMs - first!.getTime()).toBeLessThanOrEqual(gapS * 1000);
    const sent = await waitFor(async () => ((await sentRows(accountId)).length === 2 ? sentRows(accountId) : undefined), 'second send', 30_000);
    expect(sent[1]!.getTime() - dueMs).toBeGreaterThanOrEqual(0);
    expect(sent[1]!.getTime() - dueMs).toBeLessThanOrEqual(5_000);
  });

  it('starts a wave in rounds of a third of the wake lead, one reconcile after another, until every account due has a worker', async () => {
    // Paused until this node has leased them (a new lease reconciles on its own).
    const count = 12;
    const accounts: string[] = [];
    for (let i = 0; i < count; i++) accounts.push(await accountWithWork(1, 0, 'paused'));
    await waitFor(async () => (accounts.every((id) => harness.orchestrator.leases.isOwned(id)) ? true : undefined), 'accounts leased', 30_000);
    await harness.orchestrator.reconcile();
    await t.db.updateTable('sender_accounts').set({ status: 'active' }).where('id', 'in', accounts).execute();
    // One reconcile asked for (no LISTEN, a 10-minute interval). One worker starts at a time
    // (maxStartingWorkers 1: the next waits for the previous one's first report, a few hundred
    // ms at best), so its round of 2 s / 3 ends before all twelve have started: the reconciles
    // it runs after itself start the rest.
    await harness.orchestrator.reconcile();
    const listed = await harness.orchestrator.supervisor.list();
    expect(listed.filter((p) => accounts.includes(p.accountId)).length).toBeLessThan(count);
    for (const id of accounts) await waitFor(async () => ((await sentRows(id)).length === 1 ? true : undefined), `account ${id} sent`, 60_000);
  });
});
