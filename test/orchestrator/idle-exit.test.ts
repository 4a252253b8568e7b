/**
 * Workers that live only while they have something to send (issue 18), with the real
 * orchestrator, real PM2, the compiled worker (`npm run build` first), real Postgres, a real
 * SMTP peer and real time. Small tunables: keep-alive 3 s, wake lead 2 s, and a reconcile
 * interval of 10 minutes, so neither the interval nor a poll is what starts a worker in time:
 * the wake timer and the LISTEN nudges are.
 */
import { spawn } from 'node:child_process';
import { countRecentRestarts } from '../../src/orchestrator/worker.repository';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useOnDemandOrchestrator } from '../helpers/on-demand-orchestrator';
import { waitFor } from '../helpers/wait-for';
import { WORKER_ENTRY } from '../helpers/worker-process';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';

jest.setTimeout(180_000);

const KEEP_ALIVE_S = 3;
const LEAD_S = 2;
const GAP_S = 20;
const JITTER_PCT = 30;

const { t, harness } = useOnDemandOrchestrator({
  name: 'idle-exit',
  listen: true,
  sending: { gapJitterPct: JITTER_PCT },
  orchestrator: { workerKeepAliveSeconds: KEEP_ALIVE_S, workerWakeLeadSeconds: LEAD_S },
});

async function sinkAccount(minGapSeconds: number) {
  const client = await createClient(t.db);
  const account = await createAccount(t.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: harness.peer.host, port: harness.peer.port }), min_gap_seconds: minGapSeconds });
  return { clientId: client.id, accountId: account.id };
}

const sentRows = async (accountId: string) =>
  (await t.db.selectFrom('email_queue').select(['id', 'sent_at', 'message_id']).where('claimed_by_account_id', '=', accountId).where('status', '=', 'sent').orderBy('sent_at').execute()).map((r) => ({ ...r, sent_at: r.sent_at as Date }));
const beatOf = (accountId: string) => t.db.selectFrom('worker_heartbeats').selectAll().where('account_id', '=', accountId).executeTakeFirst();
const onlineWorker = async (accountId: string) => (await harness.orchestrator.supervisor.list()).find((p) => p.accountId === accountId && p.status === 'online' && p.pid > 0);
const receivedIds = () => harness.peer.received.map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw)?.[1] ?? '');

/** Waits until the account's worker has exited idle and has no process; returns when it said it would be needed. */
async function waitForIdleExit(accountId: string, what: string): Promise<Date> {
  const beat = await waitFor(async () => {
    const b = await beatOf(accountId);
    return b?.state === 'idle_exit' && !(await onlineWorker(accountId)) ? b : undefined;
  }, what, 30_000);
  return new Date(String(beat.details.until));
}

describe('workers that exit while their next send is far away', () => {
  it('exits after its keep-alive, not as a crash, is started again before its next row is due and sends within gap + jitter + 5 s', async () => {
    const { clientId, accountId } = await sinkAccount(GAP_S);
    const campaign = await createCampaign(t.db, clientId, { senders: [accountId] });
    await addContacts(t.db, clientId, campaign.id, 2);
    await enqueueCampaign(t.db, campaign.id, new Date(), { messageIdDomain: 'idle.test' });
    await harness.orchestrator.reconcile();

    const [first] = await waitFor(async () => ((await sentRows(accountId)).length === 1 ? sentRows(accountId) : undefined), 'first send', 30_000);
    // Its next row waits for the minimum gap (14–26 s): far beyond the keep-alive of 3 s.
    const wakeAt = await waitForIdleExit(accountId, 'worker exited idle after the first send');
    const nextSendAt = (await t.db.selectFrom('sender_accounts').select('next_send_at').where('id', '=', accountId).executeTakeFirstOrThrow()).next_send_at as Date;
    expect(wakeAt.getTime()).toBe(nextSendAt.getTime());
    expect((await beatOf(accountId))?.details.reason).toBe('min_gap');
    // A clean exit: no restart counted, no back-off, account still active.
    expect(await countRecentRestarts(t.db, accountId, 3_600_000)).toBe(0);
    expect(harness.orchestrator.snapshot().backoffUntil.has(accountId)).toBe(false);
    expect((await t.db.selectFrom('sender_accounts').select('status').where('id', '=', accountId).executeTakeFirstOrThrow()).status).toBe('active');

    const second = await waitFor(async () => (await sentRows(accountId))[1], 'second send after the gap', 60_000);
    expect(second.sent_at.getTime()).toBeGreaterThanOrEqual(nextSendAt.getTime());
    expect(second.sent_at.getTime() - nextSendAt.getTime()).toBeLessThanOrEqual(5_000);
    expect(second.sent_at.getTime() - first!.sent_at.getTime()).toBeLessThanOrEqual(GAP_S * (1 + JITTER_PCT / 100) * 1000 + 5_000);
    expect(await countRecentRestarts(t.db, accountId, 3_600_000)).toBe(0);
  });

  it('starts an exited worker at once for new work (a campaign start, a contact import), and not for a row queued for later', async () => {
    const { clientId, accountId } = await sinkAccount(0);
    const nowMinute = new Date().getUTCHours() * 60 + new Date().getUTCMinutes();
    // A campaign whose window opens in two hours: its row waits, so the worker exits.
    const closed = await createCampaign(t.db, clientId, { senders: [accountId], window: { sendDays: [1, 2, 3, 4, 5, 6, 7], startMinute: (nowMinute + 120) % 1440, endMinute: (nowMinute + 180) % 1440 } });
    await addContacts(t.db, clientId, closed.id, 1);
    await enqueueCampaign(t.db, closed.id, new Date(), { messageIdDomain: 'idle.test' });
    await harness.orchestrator.reconcile();
    const wakeAt = await waitForIdleExit(accountId, 'worker exited idle outside the window');
    expect(wakeAt.getTime()).toBeGreaterThan(Date.now() + 110 * 60_000);
    expect((await beatOf(accountId))?.details.reason).toBe('outside_window');

    // A row queued for an hour from now (as a follow-up is) does not start it.
    const open = await createCampaign(t.db, clientId, { senders: [accountId] });
    await addContacts(t.db, clientId, open.id, 1);
    await enqueueCampaign(t.db, open.id, new Date(Date.now() + 3_600_000), { messageIdDomain: 'idle.test' });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await onlineWorker(accountId)).toBeUndefined();
    expect((await beatOf(accountId))?.state).toBe('idle_exit');

    // Contacts imported into the running campaign, due now: started at once, sent within 5 s.
    await addContacts(t.db, clientId, open.id, 1);
    const importedAt = Date.now();
    await enqueueCampaign(t.db, open.id, new Date(), { messageIdDomain: 'idle.test' });
    const sent = await waitFor(async () => (await sentRows(accountId))[0], 'imported contact sent', 20_000);
    expect(sent.sent_at.getTime() - importedAt).toBeLessThan(5_000);
    await waitForIdleExit(accountId, 'worker exited idle again');

    // A campaign started: the same.
    const started = await createCampaign(t.db, clientId, { senders: [accountId], status: 'draft' });
    await addContacts(t.db, clientId, started.id, 1);
    const startedAt = Date.now();
    await t.db.transaction().execute(async (tx) => {
      await tx.updateTable('campaigns').set({ status: 'running' }).where('id', '=', started.id).execute();
      await enqueueCampaign(tx, started.id, new Date(), { messageIdDomain: 'idle.test' });
    });
    await waitFor(async () => ((await sentRows(accountId)).length === 2 ? true : undefined), 'started campaign sent', 20_000);
    const [, second] = await sentRows(accountId);
    expect(second!.sent_at.getTime() - startedAt).toBeLessThan(5_000);
    expect(await countRecentRestarts(t.db, accountId, 3_600_000)).toBe(0);
  });

  it('two workers of one account starting together never both send: one row per gap, each Message-ID once', async () => {
    const { clientId, accountId } = await sinkAccount(GAP_S);
    const campaign = await createCampaign(t.db, clientId, { senders: [accountId] });
    await addContacts(t.db, clientId, campaign.id, 3);
    await enqueueCampaign(t.db, campaign.id, new Date(), { messageIdDomain: 'race.test' });
    const before = harness.peer.received.length;
    // The orchestrator's start, and a second worker of the same account started by hand at the same time.
    const byHand = spawn(process.execPath, [WORKER_ENTRY, '--account', accountId], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: t.url, DATA_DIR: harness.dataDir, CONFIG_FILE: harness.configFile, LOG_LEVEL: 'error' },
      stdio: 'ignore',
    });
    const handExit = new Promise<number | null>((resolve) => byHand.on('exit', resolve));
    await harness.orchestrator.reconcile();
    // Both exit idle once one of them has sent (the next row waits for the gap).
    expect(await handExit).toBe(0);
    expect(await sentRows(accountId)).toHaveLength(1);
    // The account's next row goes after the gap, by whichever worker the orchestrator then runs.
    const sent = await waitFor(async () => ((await sentRows(accountId)).length === 2 ? sentRows(accountId) : undefined), 'second send', 60_000);
    expect(sent[1]!.sent_at.getTime() - sent[0]!.sent_at.getTime()).toBeGreaterThanOrEqual(GAP_S * (1 - JITTER_PCT / 100) * 1000);
    expect(harness.peer.received.length - before).toBe(2);
    const ids = receivedIds();
    expect(new Set(ids).size).toBe(ids.length);
    const states = await t.db.selectFrom('email_queue').select('status').where('campaign_id', '=', campaign.id).execute();
    expect(states.map((s) => s.status).sort()).toEqual(['queued', 'sent', 'sent']);
  });
});
