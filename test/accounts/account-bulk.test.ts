import request from 'supertest';
import { insertSendLogs } from '../../src/sending/send-log.repository';
import { useTestDatabase } from '../helpers/database';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();
const NOW = new Date('2026-03-10T12:00:00Z');

describe('bulk changes and the history of sender accounts', () => {
  let world: World;
  const api = () => request(world.app);
  let seq = 0;

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db, testConfig(), () => NOW), 'bulk');
    await addSenderDomain(world.app, world.a.adminToken, 'bulk-a.example.com');
    await addSenderDomain(world.app, world.b.adminToken, 'bulk-b.example.com');
  });

  const newAccount = async (token: string, domain: string) => {
    const res = await api().post('/api/accounts').set(bearer(token)).send({ email: `box-${seq++}@${domain}`, transport: 'sink' });
    expect(res.status).toBe(201);
    return res.body as { id: string; clientId: string; email: string };
  };
  const statusOf = async (id: string) => (await api().get(`/api/accounts/${id}`).set(bearer(world.ownerToken))).body as { status: string; dailyLimit: number; hourlyLimit: number; minGapSeconds: number };

  it('pauses, resumes and changes the limits of several accounts in one request, answering per id', async () => {
    const [one, two, three] = [await newAccount(world.a.adminToken, 'bulk-a.example.com'), await newAccount(world.a.adminToken, 'bulk-a.example.com'), await newAccount(world.a.adminToken, 'bulk-a.example.com')];
    const paused = await api().post('/api/accounts/bulk').set(bearer(world.a.adminToken)).send({ ids: [one!.id, two!.id], changes: { status: 'paused' } });
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ updated: 2, results: [{ id: one!.id, result: 'updated' }, { id: two!.id, result: 'updated' }] });
    expect((await statusOf(one!.id)).status).toBe('paused');
    expect((await statusOf(two!.id)).status).toBe('paused');
    expect((await statusOf(three!.id)).status).toBe('active');

    const limits = await api().post('/api/accounts/bulk').set(bearer(world.a.adminToken)).send({ ids: [one!.id, three!.id], changes: { dailyLimit: 40, hourlyLimit: 8, minGapSeconds: 90 } });
    expect(limits.body.updated).toBe(2);
    expect(await statusOf(three!.id)).toMatchObject({ status: 'active', dailyLimit: 40, hourlyLimit: 8, minGapSeconds: 90 });

    const resumed = await api().post('/api/accounts/bulk').set(bearer(world.ownerToken)).send({ ids: [one!.id, two!.id], changes: { status: 'active' } });
    expect(resumed.body.updated).toBe(2);
    expect((await statusOf(one!.id)).status).toBe('active');
  });

  it("answers not_found for another client's ids (and unknown ones) and leaves them alone", async () => {
    const mine = await newAccount(world.a.adminToken, 'bulk-a.example.com');
    const theirs = await newAccount(world.b.adminToken, 'bulk-b.example.com');
    const unknown = '00000000-0000-4000-8000-00000000beef';
    const res = await api().post('/api/accounts/bulk').set(bearer(world.a.adminToken)).send({ ids: [mine.id, theirs.id, unknown], changes: { status: 'paused' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      updated: 1,
      results: [
        { id: mine.id, result: 'updated' },
        { id: theirs.id, result: 'not_found', error: { code: 'not_found', message: 'Account not found' } },
        { id: unknown, result: 'not_found', error: { code: 'not_found', message: 'Account not found' } },
      ],
    });
    expect((await statusOf(theirs.id)).status).toBe('active');
  });

  it('refuses bad input with the failing field, and viewers altogether', async () => {
    const account = await newAccount(world.a.adminToken, 'bulk-a.example.com');
    const cases: Array<[object, string]> = [
      [{ ids: [], changes: { status: 'paused' } }, 'ids'],
      [{ ids: ['not-a-uuid'], changes: { status: 'paused' } }, 'ids.0'],
      [{ ids: [account.id, account.id], changes: { status: 'paused' } }, 'ids'],
      [{ ids: [account.id], changes: {} }, 'changes'],
      [{ ids: [account.id], changes: { status: 'disabled' } }, 'changes.status'],
      [{ ids: [account.id], changes: { dailyLimit: -1 } }, 'changes.dailyLimit'],
      [{ ids: [account.id], changes: { minGapSeconds: 'soon' } }, 'changes.minGapSeconds'],
      [{ ids: [account.id], changes: { credentials: null } }, 'changes'],
      [{ ids: [account.id], changes: { status: 'paused' }, extra: 1 }, ''],
      [{ ids: Array.from({ length: 2001 }, () => account.id), changes: { status: 'paused' } }, 'ids'],
    ];
    for (const [body, path] of cases) {
      const res = await api().post('/api/accounts/bulk').set(bearer(world.a.adminToken)).send(body);
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 400, code: 'validation_failed' });
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    const viewer = await api().post('/api/accounts/bulk').set(bearer(world.a.viewerToken)).send({ ids: [account.id], changes: { status: 'paused' } });
    expect(viewer.status).toBe(403);
    expect((await statusOf(account.id)).status).toBe('active');
  });

  it("lists an account's latest send attempts with their codes, and its figures per day", async () => {
    const account = await newAccount(world.a.adminToken, 'bulk-a.example.com');
    const entry = (outcome: 'accepted' | 'transient' | 'recipient_soft', at: Date, code: number, enhancedCode: string | null, response: string) => ({
      queueId: 1, clientId: account.clientId, campaignId: '00000000-0000-4000-8000-000000000001', accountId: account.id, messageId: `<h${seq++}@bulk-a.example.com>`, attempt: 1, outcome, code, response, at, ...(enhancedCode ? { enhancedCode } : {}),
    });
    await insertSendLogs(t.db, [
      entry('accepted', new Date('2026-03-09T10:00:00Z'), 250, null, '250 ok'),
      entry('transient', new Date('2026-03-10T09:00:00Z'), 421, '4.7.0', '421 4.7.0 <b>slow down</b>'),
      entry('accepted', new Date('2026-03-10T10:00:00Z'), 250, '2.0.0', '250 2.0.0 queued'),
      entry('recipient_soft', new Date('2026-03-10T11:00:00Z'), 552, '5.2.2', '552 5.2.2 mailbox full'),
    ]);
    const sends = await api().get(`/api/accounts/${account.id}/sends?limit=2`).set(bearer(world.a.viewerToken));
    expect(sends.status).toBe(200);
    expect(sends.body.sends).toEqual([
      expect.objectContaining({ at: '2026-03-10T11:00:00.000Z', outcome: 'recipient_soft', code: 552, enhancedCode: '5.2.2', response: '552 5.2.2 mailbox full' }),
      expect.objectContaining({ at: '2026-03-10T10:00:00.000Z', outcome: 'accepted', code: 250 }),
    ]);

    const history = await api().get(`/api/accounts/${account.id}/history?days=3`).set(bearer(world.a.adminToken));
    expect(history.status).toBe(200);
    expect(history.body.days).toEqual([
      { day: '2026-03-08', sent: 0, deferred: 0, failed: 0, bounced: 0, replied: 0, complained: 0 },
      { day: '2026-03-09', sent: 1, deferred: 0, failed: 0, bounced: 0, replied: 0, complained: 0 },
      { day: '2026-03-10', sent: 1, deferred: 1, failed: 1, bounced: 0, replied: 0, complained: 0 },
    ]);

    expect((await api().get(`/api/accounts/${account.id}/sends`).set(bearer(world.b.adminToken))).status).toBe(404);
    expect((await api().get(`/api/accounts/${account.id}/history`).set(bearer(world.b.adminToken))).status).toBe(404);
    const bad = await api().get(`/api/accounts/${account.id}/history?days=0`).set(bearer(world.a.adminToken));
    expect(bad.status).toBe(400);
    expect((await api().get(`/api/accounts/${account.id}/sends?limit=9999`).set(bearer(world.a.adminToken))).status).toBe(400);
  });
});
