/**
 * The reconcile's view of work in a campaign's sender pool: rows without an account are work
 * for every pool member, due now or later, and for no one else.
 */
import { sql } from 'kysely';
import { listAccountDemand } from '../../src/orchestrator/account-demand.repository';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useTestDatabase } from '../helpers/database';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';

const database = useTestDatabase();
const HOUR_MS = 3_600_000;

async function pool(options: { dueInMs: number; senders?: number }) {
  const client = await createClient(database.db);
  const members = [];
  for (let i = 0; i < (options.senders ?? 2); i++) members.push(await createAccount(database.db, client.id));
  const outsider = await createAccount(database.db, client.id);
  const campaign = await createCampaign(database.db, client.id, { senders: members.map((m) => m.id) });
  await addContacts(database.db, client.id, campaign.id, 3);
  await enqueueCampaign(database.db, campaign.id, new Date(Date.now() + options.dueInMs), { messageIdDomain: 'demand.test' });
  const rows = await database.db.selectFrom('email_queue').select(['account_id', 'status']).where('campaign_id', '=', campaign.id).execute();
  // What this file is about: rows of the pool, not yet any account's.
  expect(rows.map((r) => [r.account_id, r.status])).toEqual([
    [null, 'queued'],
    [null, 'queued'],
    [null, 'queued'],
  ]);
  return { members: members.map((m) => m.id), outsider: outsider.id, campaignId: campaign.id };
}

const work = async (ids: string[], horizonMs: number) =>
  (await listAccountDemand(database.db, ids, horizonMs)).map((d) => ({ id: d.accountId, hasWork: d.hasWork, hasFutureWork: d.hasFutureWork }));

it('counts rows of the sender pool as work for every member, and for no other account', async () => {
  const { members, outsider } = await pool({ dueInMs: -60_000 });
  const demand = await work([...members, outsider], 0);
  expect(demand).toEqual(expect.arrayContaining([...members.map((id) => ({ id, hasWork: true, hasFutureWork: true })), { id: outsider, hasWork: false, hasFutureWork: false }]));
  expect(demand).toHaveLength(3);
});

it('counts pool rows due later as future work, and as work once they are due within the horizon', async () => {
  const { members } = await pool({ dueInMs: 2 * HOUR_MS });
  expect(await work(members, 0)).toEqual(expect.arrayContaining(members.map((id) => ({ id, hasWork: false, hasFutureWork: true }))));
  expect(await work(members, 3 * HOUR_MS)).toEqual(expect.arrayContaining(members.map((id) => ({ id, hasWork: true, hasFutureWork: true }))));
});

it('counts no work in a pool whose campaign is not running', async () => {
  const { members, campaignId } = await pool({ dueInMs: -60_000 });
  await database.db.updateTable('campaigns').set({ status: 'paused' }).where('id', '=', campaignId).execute();
  expect(await work(members, 0)).toEqual(expect.arrayContaining(members.map((id) => ({ id, hasWork: false, hasFutureWork: false }))));
});

it("reads today's sends of an account whose time zone is not a real one as of the UTC day", async () => {
  const { members } = await pool({ dueInMs: -60_000, senders: 1 });
  const id = members[0] as string;
  await database.db.updateTable('sender_accounts').set({ time_zone: 'Not/AZone' }).where('id', '=', id).execute();
  await sql`
    insert into rate_counters (scope, scope_key, window_kind, window_start, count)
    values ('account', ${id}, 'day', date_trunc('day', now() at time zone 'UTC') at time zone 'UTC', 7)
  `.execute(database.db);
  const [demand] = await listAccountDemand(database.db, [id], 0);
  expect(demand).toMatchObject({ accountId: id, hasWork: true, sentToday: 7 });
});
