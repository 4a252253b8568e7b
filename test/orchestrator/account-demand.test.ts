/**
 * What reconcile reads about each owned account (listAccountDemand): whether it has work due
 * within the horizon (start a worker) and whether it has any work ahead (keep a running one),
 * for every place work can wait: its own rows, rows it holds, and the pool of the campaigns
 * it sends for; only running campaigns count, except for rows it already holds.
 */
import { sql } from 'kysely';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { listAccountDemand, listNextDue } from '../../src/orchestrator/account-demand.repository';
import { useTestDatabase } from '../helpers/database';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';

const database = useTestDatabase();
const HORIZON_MS = 60_000;

type RowState = 'queued' | 'claimed' | 'sending' | 'sent' | 'unknown' | 'held';

/**
 * One queue row in a campaign of its own that `senders` send for: the account's own row
 * (account_id set) or a pool row (account_id null), due `inMs` from now.
 */
async function queueRow(clientId: string, options: { senders: string[]; owner?: string; claimedBy?: string; status: RowState; inMs: number; campaign?: 'running' | 'paused' }) {
  const campaign = await createCampaign(database.db, clientId, { senders: options.senders, status: options.campaign ?? 'running' });
  await addContacts(database.db, clientId, campaign.id, 1);
  await enqueueCampaign(database.db, campaign.id, new Date(), { messageIdDomain: 'demand.test' });
  const inFlight = options.status === 'claimed' || options.status === 'sending';
  await sql`
    update email_queue set status = ${options.status}, account_id = ${options.owner ?? null}, run_after = now() + make_interval(secs => ${options.inMs / 1000}),
      claimed_by_account_id = ${inFlight ? (options.claimedBy ?? options.owner ?? null) : null},
      lease_token = ${inFlight ? sql`gen_random_uuid()` : null}, lease_expires_at = ${inFlight ? sql`now() + interval '5 minutes'` : null}
    where campaign_id = ${campaign.id}`.execute(database.db);
}

describe('account demand (what reconcile reads)', () => {
  it('tells work due within the horizon from work further ahead, for own rows, held rows and the pool', async () => {
    const client = await createClient(database.db);
    const account = async () => (await createAccount(database.db, client.id)).id;
    const minute = 60_000;
    const day = 24 * 60 * minute;
    const cases: Array<{ name: string; build: (id: string) => Promise<void>; hasWork: boolean; hasFutureWork: boolean }> = [
      { name: 'nothing at all', build: async () => undefined, hasWork: false, hasFutureWork: false },
      { name: 'own row due', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'queued', inMs: -minute }), hasWork: true, hasFutureWork: true },
      { name: 'own row due within the horizon', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'queued', inMs: HORIZON_MS / 2 }), hasWork: true, hasFutureWork: true },
      { name: 'own row beyond the horizon', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'queued', inMs: 2 * day }), hasWork: false, hasFutureWork: true },
      { name: 'own row due, campaign paused', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'queued', inMs: -minute, campaign: 'paused' }), hasWork: false, hasFutureWork: false },
      { name: 'own row claimed', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'claimed', inMs: -minute }), hasWork: true, hasFutureWork: true },
      { name: 'own row sending, campaign paused', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'sending', inMs: -minute, campaign: 'paused' }), hasWork: true, hasFutureWork: false },
      { name: 'own row sent', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'sent', inMs: -minute }), hasWork: false, hasFutureWork: false },
      { name: 'own row unknown', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'unknown', inMs: -minute }), hasWork: false, hasFutureWork: false },
      { name: 'own row held', build: (id) => queueRow(client.id, { senders: [id], owner: id, status: 'held', inMs: -minute }), hasWork: false, hasFutureWork: false },
      // A pool row keeps account_id null when claimed: only claimed_by_account_id says who holds it.
      { name: 'pool row claimed by it', build: (id) => queueRow(client.id, { senders: [id], claimedBy: id, status: 'sending', inMs: -minute }), hasWork: true, hasFutureWork: true },
      { name: 'pool row due', build: (id) => queueRow(client.id, { senders: [id], status: 'queued', inMs: -minute }), hasWork: true, hasFutureWork: true },
      { name: 'pool row within the horizon', build: (id) => queueRow(client.id, { senders: [id], status: 'queued', inMs: HORIZON_MS / 2 }), hasWork: true, hasFutureWork: true },
      { name: 'pool row beyond the horizon', build: (id) => queueRow(client.id, { senders: [id], status: 'queued', inMs: 2 * day }), hasWork: false, hasFutureWork: true },
      { name: 'pool row due, campaign paused', build: (id) => queueRow(client.id, { senders: [id], status: 'queued', inMs: -minute, campaign: 'paused' }), hasWork: false, hasFutureWork: false },
      {
        name: "pool row due in a campaign it does not send for",
        build: async () => queueRow(client.id, { senders: [await account()], status: 'queued', inMs: -minute }),
        hasWork: false,
        hasFutureWork: false,
      },
      {
        name: "another account's own row due in a campaign it sends for",
        build: async (id) => {
          const other = await account();
          await queueRow(client.id, { senders: [id, other], owner: other, status: 'queued', inMs: -minute });
        },
        hasWork: false,
        hasFutureWork: false,
      },
      {
        name: 'own row beyond the horizon and a pool row due',
        build: async (id) => {
          await queueRow(client.id, { senders: [id], owner: id, status: 'queued', inMs: 2 * day });
          await queueRow(client.id, { senders: [id], status: 'queued', inMs: -minute });
        },
        hasWork: true,
        hasFutureWork: true,
      },
    ];
    const ids: string[] = [];
    for (const c of cases) {
      const id = await account();
      await c.build(id);
      ids.push(id);
    }

    const demand = await listAccountDemand(database.db, ids, HORIZON_MS);
    const byId = new Map(demand.map((d) => [d.accountId, d]));
    expect(demand).toHaveLength(cases.length);
    expect(demand.map((d) => d.accountId)).toEqual([...ids].sort());
    expect(cases.map((c, i) => ({ name: c.name, hasWork: byId.get(ids[i]!)!.hasWork, hasFutureWork: byId.get(ids[i]!)!.hasFutureWork }))).toEqual(
      cases.map((c) => ({ name: c.name, hasWork: c.hasWork, hasFutureWork: c.hasFutureWork })),
    );
  });

  it('answers only for the accounts asked about, and nothing for none', async () => {
    const client = await createClient(database.db);
    const [a, b] = [(await createAccount(database.db, client.id)).id, (await createAccount(database.db, client.id)).id];
    await queueRow(client.id, { senders: [a, b], status: 'queued', inMs: -60_000 });
    expect((await listAccountDemand(database.db, [b], HORIZON_MS)).map((d) => [d.accountId, d.hasWork])).toEqual([[b, true]]);
    expect(await listAccountDemand(database.db, [], HORIZON_MS)).toEqual([]);
  });

  it('says when each account is next due (who gets a worker first under maxWorkers): its own rows, its pools, not before its gap ends', async () => {
    const client = await createClient(database.db);
    const account = async () => (await createAccount(database.db, client.id)).id;
    const [own, pooled, both, gapped, paused, idle] = [await account(), await account(), await account(), await account(), await account(), await account()];
    const minute = 60_000;
    await queueRow(client.id, { senders: [own], owner: own, status: 'queued', inMs: 5 * minute });
    // One pool of three senders: its earliest row counts for each of them.
    await queueRow(client.id, { senders: [pooled, both, gapped], status: 'queued', inMs: 20 * minute });
    await queueRow(client.id, { senders: [pooled, both, gapped], status: 'queued', inMs: 10 * minute });
    await queueRow(client.id, { senders: [both], owner: both, status: 'queued', inMs: 2 * minute });
    await sql`update sender_accounts set next_send_at = now() + interval '30 minutes' where id = ${gapped}`.execute(database.db);
    await queueRow(client.id, { senders: [paused], status: 'queued', inMs: minute, campaign: 'paused' });
    const due = await listNextDue(database.db, [own, pooled, both, gapped, paused, idle]);
    const inMinutes = (id: string) => (due.has(id) ? Math.round((due.get(id)!.getTime() - Date.now()) / minute) : undefined);
    expect([own, pooled, both, gapped, paused, idle].map(inMinutes)).toEqual([5, 10, 2, 30, undefined, undefined]);
  });
});
