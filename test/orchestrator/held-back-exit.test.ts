/**
 * Workers whose due rows are all held back by a recipient-domain day counter or breaker
 * (issue 18): they exit until that ends instead of polling as residents, and are started again
 * in time. The real orchestrator, real PM2, the compiled worker (`npm run build` first), real
 * Postgres, a real SMTP peer and real time; keep-alive 3 s, wake lead 2 s, a reconcile interval
 * of 10 minutes (so the wake timer, not the interval, starts a worker in time), and a
 * recipient-domain limit of 1 a day.
 */
import { countRecentRestarts } from '../../src/orchestrator/worker.repository';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useOnDemandOrchestrator } from '../helpers/on-demand-orchestrator';
import { waitFor } from '../helpers/wait-for';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';

jest.setTimeout(180_000);

const KEEP_ALIVE_S = 3;
const LEAD_S = 2;

const { t, harness } = useOnDemandOrchestrator({
  name: 'held-back',
  listen: true,
  sending: { recipientDomainDailyLimit: 1 },
  orchestrator: { workerKeepAliveSeconds: KEEP_ALIVE_S, workerWakeLeadSeconds: LEAD_S },
});

/** A sink account with one running campaign of `contacts` contacts at `recipientDomain`. */
async function accountWithRows(recipientDomain: string, contacts: number) {
  const client = await createClient(t.db);
  const account = await createAccount(t.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: harness.peer.host, port: harness.peer.port }) });
  const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
  await addContacts(t.db, client.id, campaign.id, contacts, { domain: recipientDomain });
  return { accountId: account.id, campaignId: campaign.id };
}

const sentRows = async (accountId: string) =>
  (await t.db.selectFrom('email_queue').select(['id', 'sent_at']).where('claimed_by_account_id', '=', accountId).where('status', '=', 'sent').orderBy('sent_at').execute()).map((r) => ({ ...r, sent_at: r.sent_at as Date }));
const beatOf = (accountId: string) => t.db.selectFrom('worker_heartbeats').selectAll().where('account_id', '=', accountId).executeTakeFirst();
const onlineWorker = async (accountId: string) => (await harness.orchestrator.supervisor.list()).find((p) => p.accountId === accountId && p.status === 'online' && p.pid > 0);

async function waitForIdleExit(accountId: string, what: string) {
  return waitFor(async () => {
    const b = await beatOf(accountId);
    return b?.state === 'idle_exit' && !(await onlineWorker(accountId)) ? b : undefined;
  }, what, 45_000);
}

describe('workers whose due rows are held back', () => {
  it("exits until the next UTC midnight when its only due row goes to a recipient domain whose day counter is full, and is not started before", async () => {
    const full = `full-${Date.now().toString(36)}.test`;
    const { accountId, campaignId } = await accountWithRows(full, 2);
    await enqueueCampaign(t.db, campaignId, new Date(), { messageIdDomain: 'held.test' });
    await harness.orchestrator.reconcile();

    // The first row fills the domain's counter for the day (limit 1); the second waits for the next day.
    await waitFor(async () => ((await sentRows(accountId)).length === 1 ? true : undefined), 'first send', 30_000);
    const beat = await waitForIdleExit(accountId, 'worker exited idle behind the full counter');
    const now = new Date();
    const nextUtcMidnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
    expect(beat.details).toMatchObject({ reason: 'limit:recipient_domain/day', until: nextUtcMidnight.toISOString() });
    expect(await countRecentRestarts(t.db, accountId, 3_600_000)).toBe(0);

    // Its row is due and the account has quota, yet the orchestrator leaves it asleep.
    await harness.orchestrator.reconcile();
    expect(await onlineWorker(accountId)).toBeUndefined();
    expect((await beatOf(accountId))?.state).toBe('idle_exit');
    const states = await t.db.selectFrom('email_queue').select('status').where('campaign_id', '=', campaignId).execute();
    expect(states.map((s) => s.status).sort()).toEqual(['queued', 'sent']);
  });

  it("exits while its recipient domain's breaker is open, is started again before it closes and sends within 5 s of it", async () => {
    const down = `down-${Date.now().toString(36)}.test`;
    const { accountId, campaignId } = await accountWithRows(down, 1);
    // Open long enough that a worker started on a loaded machine still finds it open.
    const opensAt = new Date(Date.now() + 45_000);
    await t.db.insertInto('circuit_breakers').values({ scope: 'recipient_domain', scope_key: down, consecutive_failures: 5, opened_until: opensAt }).execute();
    await enqueueCampaign(t.db, campaignId, new Date(), { messageIdDomain: 'held.test' });
    await harness.orchestrator.reconcile();

    const beat = await waitForIdleExit(accountId, 'worker exited idle behind the open breaker');
    expect(beat.details).toMatchObject({ reason: 'recipient_domain_breaker_open', until: opensAt.toISOString() });
    expect(await sentRows(accountId)).toHaveLength(0);

    const [sent] = await waitFor(async () => ((await sentRows(accountId)).length === 1 ? sentRows(accountId) : undefined), 'send after the breaker closed', 90_000);
    expect(sent!.sent_at.getTime()).toBeGreaterThanOrEqual(opensAt.getTime());
    expect(sent!.sent_at.getTime() - opensAt.getTime()).toBeLessThanOrEqual(5_000);
    expect(await countRecentRestarts(t.db, accountId, 3_600_000)).toBe(0);
  });
});
