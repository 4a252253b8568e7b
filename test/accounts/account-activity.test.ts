import net from 'node:net';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import request from 'supertest';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import type { Database } from '../../src/db/database';
import { claimBatch } from '../../src/queue/claim';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { openAccountTransport } from '../../src/sending/account-transport';
import { pauseAccount } from '../../src/sending/account-state.repository';
import { insertSendLogs, type SendLogEntry } from '../../src/sending/send-log.repository';
import { useTestDatabase } from '../helpers/database';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { addContacts, createCampaign, liftedClaimSettings } from '../queue/fixtures';
import { ControlledClock, makeWorker, runUntil, workerSettings } from '../sending/worker-harness';

const t = useTestDatabase();
const NOW = new Date('2026-03-10T12:00:00Z');
const at = (secondsFromNow: number) => new Date(NOW.getTime() + secondsFromNow * 1000);

describe('what the account API says each mailbox is doing', () => {
  let world: World;
  const config = testConfig();
  let now = NOW;
  const api = () => request(world.app);
  const auth = () => bearer(world.a.adminToken);
  let seq = 0;

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db, config, () => now), 'act');
    await addSenderDomain(world.app, world.a.adminToken, 'act.example.com');
  });
  beforeEach(() => {
    now = NOW;
  });

  const newAccount = async (fields: object = {}) => {
    const res = await api().post('/api/accounts').set(auth()).send({ email: `box-${seq++}@act.example.com`, transport: 'sink', ...fields });
    expect(res.status).toBe(201);
    return res.body as { id: string; clientId: string; email: string };
  };
  const get = async (id: string) => (await api().get(`/api/accounts/${id}`).set(auth())).body;
  const log = (accountId: string, clientId: string, entry: Partial<SendLogEntry> & Pick<SendLogEntry, 'outcome' | 'at'>): SendLogEntry => ({
    queueId: 1,
    clientId,
    campaignId: '00000000-0000-4000-8000-000000000001',
    accountId,
    messageId: `<m${seq++}@act.example.com>`,
    attempt: 1,
    ...entry,
  });
  /** A heartbeat as the worker contract says (written by the lead's worker; here by hand). */
  const beat = (accountId: string, state: string, details: unknown, beatAt: Date) =>
    t.db
      .insertInto('worker_heartbeats')
      .values({ account_id: accountId, node_id: 'node-1', pid: 4242, state, details: JSON.stringify(details), beat_at: beatAt })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ state, details: JSON.stringify(details), beat_at: beatAt }))
      .execute();

  it("shows the real send worker's connection failure as the account's last error, with its class", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const account = await newAccount({ transport: 'smtp', transportSettings: { host: '127.0.0.1', port: closedPort }, credentials: { user: 'u', pass: 'p' }, minGapSeconds: 0 });
    expect(await get(account.id)).toMatchObject({ lastError: null, worker: null });
    const campaign = await createCampaign(t.db, account.clientId, { senders: [account.id] });
    await addContacts(t.db, account.clientId, campaign.id, 1);
    await enqueueCampaign(t.db, campaign.id, NOW, { messageIdDomain: 'activity.test' });

    const transport = await openAccountTransport(t.db, account.id, createCredentialCipher(config.credentialKeys));
    const { worker } = makeWorker(t.db, account.id, transport!, new ControlledClock(NOW.getTime()), workerSettings());
    const failures = () => t.db.selectFrom('send_logs').select('outcome').where('account_id', '=', account.id).execute();
    await runUntil(worker, async () => (await failures()).length > 0);

    const { lastError } = await get(account.id);
    expect(lastError).toMatchObject({ at: NOW.toISOString(), outcome: 'transient', code: null, enhancedCode: null, response: expect.stringContaining('ECONNREFUSED') });
    expect(lastError).toHaveProperty('reason');
  });

  it('shows the latest attempt that was not accepted, past later accepted sends and reconciliations, or null', async () => {
    const failing = await newAccount();
    const healthy = await newAccount();
    const quiet = await newAccount();
    await insertSendLogs(t.db, [
      log(failing.id, failing.clientId, { outcome: 'transient', code: 421, enhancedCode: '4.7.0', response: '421 4.7.0 Try again later', reason: 'rate_limited', at: at(-300) }),
      log(failing.id, failing.clientId, { outcome: 'recipient_hard', code: 550, enhancedCode: '5.1.1', response: '550 5.1.1 No such user', reason: 'user_unknown', at: at(-200) }),
      log(failing.id, failing.clientId, { outcome: 'accepted', code: 250, response: '250 ok', at: at(-100) }),
      log(failing.id, failing.clientId, { outcome: 'reconciled', response: 'found in Sent mail', at: at(-50) }),
      log(healthy.id, healthy.clientId, { outcome: 'accepted', code: 250, response: '250 ok', at: at(-10) }),
    ]);
    expect((await get(failing.id)).lastError).toEqual({ at: at(-200).toISOString(), outcome: 'recipient_hard', reason: 'user_unknown', code: 550, enhancedCode: '5.1.1', response: '550 5.1.1 No such user' });
    expect((await get(healthy.id)).lastError).toBeNull();
    expect((await get(quiet.id)).lastError).toBeNull();
  });

  it("shows the worker's reported state, and its wait reason and end while its heartbeat is fresh", async () => {
    const account = await newAccount();
    await beat(account.id, 'waiting', { sent: 3, reason: 'outside_window', until: at(3600).toISOString() }, at(-30));
    expect(await get(account.id)).toMatchObject({
      worker: { state: 'waiting', stale: false, lastHeartbeatAt: at(-30).toISOString(), sent: 3 },
      waitReason: 'outside_window',
      nextSendAt: at(3600).toISOString(),
    });

    // Older than orchestrator.heartbeatStaleMs: shown as stale, and its wait no longer taken as current.
    now = at(30 + config.orchestrator.heartbeatStaleMs / 1000);
    expect(await get(account.id)).toMatchObject({ worker: { state: 'waiting', stale: true }, waitReason: null, nextSendAt: null });
  });

  it('tolerates heartbeats without details, with malformed ones, or none at all', async () => {
    const bare = await newAccount();
    const odd = await newAccount();
    const none = await newAccount();
    await beat(bare.id, 'starting', {}, at(-1));
    await beat(odd.id, 'waiting', { sent: 'many', reason: 42, until: 'soon' }, at(-1));
    expect(await get(bare.id)).toMatchObject({ worker: { state: 'starting', stale: false, sent: null }, waitReason: null, nextSendAt: null });
    expect(await get(odd.id)).toMatchObject({ worker: { state: 'waiting', sent: null }, waitReason: null, nextSendAt: null });
    await beat(odd.id, 'some-future-state', 'not an object', at(0));
    expect(await get(odd.id)).toMatchObject({ worker: { state: 'some-future-state', stale: false, sent: null }, waitReason: null });
    expect((await get(none.id)).worker).toBeNull();
  });

  it('says why a mailbox without a running worker is not sending, from its own row: daily limit, minimum gap, probe cool-down', async () => {
    // Warm-up day 0: 20 today. The real claim uses them up.
    const limited = await newAccount({ minGapSeconds: 0, dailyLimit: 500, hourlyLimit: 500, timeZone: 'America/New_York' });
    const campaign = await createCampaign(t.db, limited.clientId, { senders: [limited.id] });
    await addContacts(t.db, limited.clientId, campaign.id, 30);
    await enqueueCampaign(t.db, campaign.id, NOW, { messageIdDomain: 'activity.test' });
    expect(await claimBatch(t.db, limited.id, NOW, liftedClaimSettings({ batchSize: 100, warmup: config.warmup }))).toMatchObject({ kind: 'claimed', rows: expect.any(Array) });
    // Until its next local midnight (New York, UTC−4 since 8 March).
    expect(await get(limited.id)).toMatchObject({ sentToday: 20, effectiveDailyLimit: 20, waitReason: 'limit:account/day', nextSendAt: '2026-03-11T04:00:00.000Z' });

    // The default minimum gap (sending.minGapSeconds, 90 s) after one claim.
    const gapped = await newAccount({ dailyLimit: 500, hourlyLimit: 500 });
    const second = await createCampaign(t.db, gapped.clientId, { senders: [gapped.id] });
    await addContacts(t.db, gapped.clientId, second.id, 2);
    await enqueueCampaign(t.db, second.id, NOW, { messageIdDomain: 'activity.test' });
    expect((await claimBatch(t.db, gapped.id, NOW, liftedClaimSettings({ gapJitterPct: 0, warmup: config.warmup }))).kind).toBe('claimed');
    expect(await get(gapped.id)).toMatchObject({ sentToday: 1, waitReason: 'min_gap', nextSendAt: at(90).toISOString() });
    // A worker that reports its own wait is believed over the row.
    await beat(gapped.id, 'waiting', { sent: 1, reason: 'nothing_due' }, NOW);
    expect(await get(gapped.id)).toMatchObject({ waitReason: 'nothing_due', nextSendAt: null });

    const probing = await newAccount();
    await pauseAccount(t.db, probing.id, { reason: 'bounce_rate', until: at(4 * 3600), now: NOW, details: {} });
    expect(await get(probing.id)).toMatchObject({ status: 'paused', pauseReason: 'bounce_rate', waitReason: 'paused:bounce_rate', nextSendAt: at(4 * 3600).toISOString() });

    // Paused or disabled by an operator: nothing to wait for; status says why.
    await api().patch(`/api/accounts/${gapped.id}`).set(auth()).send({ status: 'disabled' });
    expect(await get(gapped.id)).toMatchObject({ status: 'disabled', waitReason: null, nextSendAt: null });
  });
});

describe('the account list at fleet size', () => {
  let world: World;
  const captured: CompiledQuery[] = [];
  let logged: Kysely<Database>;

  beforeAll(async () => {
    // The app over its own connection pool that records every query it sends.
    logged = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: t.url, max: 4 }) }), log: (event) => void captured.push(event.query) });
    world = await createWorld(logged, testApp(logged, testConfig(), () => NOW), 'fleet');
    await addSenderDomain(world.app, world.a.adminToken, 'fleet.example.com');
  });
  afterAll(async () => {
    await logged.destroy();
  });

  it('reads 1,200 mailboxes with their last errors, heartbeats and sends today in two queries a page (plus a count for a full page), the last error through its partial index', async () => {
    const auth = bearer(world.a.adminToken);
    const csv = ['email,transport,daily_limit', ...Array.from({ length: 1200 }, (_, i) => `m${String(i).padStart(4, '0')}@fleet.example.com,sink,300`)].join('\n');
    const imported = await request(world.app).post('/api/accounts/import').set(auth).set('Content-Type', 'text/csv').send(csv);
    expect(imported.body).toMatchObject({ created: 1200 });
    const ids: string[] = imported.body.rows.map((r: { accountId: string }) => r.accountId);

    // A history mostly of accepted sends; every 7th mailbox failed once, long ago.
    const entries: SendLogEntry[] = [];
    ids.forEach((id, i) => {
      for (let n = 0; n < 20; n++) entries.push({ queueId: 1, clientId: world.a.clientId, campaignId: '00000000-0000-4000-8000-000000000001', accountId: id, messageId: `<f${i}.${n}@x>`, attempt: 1, outcome: 'accepted', at: at(-86_400 + n * 60) });
      if (i % 7 === 0) entries.push({ queueId: 1, clientId: world.a.clientId, campaignId: '00000000-0000-4000-8000-000000000001', accountId: id, messageId: `<e${i}@x>`, attempt: 1, outcome: 'sender_reputation', code: 554, response: `554 blocked ${i}`, at: at(-90_000) });
    });
    for (let i = 0; i < entries.length; i += 2000) await insertSendLogs(t.db, entries.slice(i, i + 2000));
    await t.db.insertInto('worker_heartbeats').values(ids.slice(0, 600).map((id) => ({ account_id: id, state: 'waiting', details: JSON.stringify({ sent: 1, reason: 'nothing_due' }), beat_at: NOW }))).execute();
    await sql`analyze send_logs`.execute(t.db);

    const pages: Array<Array<{ id: string; email: string; lastError: { response: string } | null; worker: unknown; waitReason: string | null }>> = [];
    const accountQueries: CompiledQuery[] = [];
    for (const offset of [0, 500, 1000]) {
      captured.length = 0;
      const res = await request(world.app).get(`/api/accounts?limit=500&offset=${offset}`).set(auth);
      expect(res.status).toBe(200);
      pages.push(res.body.accounts);
      const touched = captured.filter((q) => /sender_accounts|rate_counters|send_logs|worker_heartbeats/.test(q.sql));
      // The page and today's counters; a full page adds the count behind `total`.
      const counts = touched.filter((q) => q.sql.startsWith('select count(*)'));
      expect(counts.every((q) => !/send_logs|worker_heartbeats/.test(q.sql))).toBe(true);
      expect({ offset, queries: touched.length - counts.length, counts: counts.length }).toEqual({ offset, queries: 2, counts: offset < 1000 ? 1 : 0 });
      expect(res.body.total).toBe(1200);
      accountQueries.push(...touched);
    }
    const all = pages.flat();
    expect(all.map((a) => a.id).sort()).toEqual([...ids].sort());
    all.forEach((account) => {
      const i = Number(account.email.slice(1, 5));
      expect(account.lastError?.response ?? null).toBe(i % 7 === 0 ? `554 blocked ${i}` : null);
      expect(account.waitReason).toBe(i < 600 ? 'nothing_due' : null);
    });

    // The query the API sent, planned by Postgres: the last error comes from the partial index.
    const list = accountQueries.find((q) => q.sql.includes('send_logs'))!;
    const client = new pg.Client({ connectionString: t.url });
    await client.connect();
    try {
      const plan = await client.query(`explain (format json) ${list.sql}`, list.parameters as unknown[]);
      expect(JSON.stringify(plan.rows[0])).toContain('"Index Name":"send_logs_account_failure_idx"');
    } finally {
      await client.end();
    }
  });
});
