/**
 * The paging contract of every admin list route (src/http/paging.ts): `limit` + `offset`,
 * answered with the route's array, `total`, `limit` and `offset`; plus each list's filters.
 */
import request from 'supertest';
import { insertAccounts, type NewAccount } from '../../src/accounts/account.repository';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from './admin-api.helpers';

const t = useTestDatabase();

const ACCOUNTS_OF_A = 302;

describe('paging and filters of the list routes', () => {
  let world: World;
  let sponsorId: string;
  const api = () => request(world.app);
  const owner = () => bearer(world.ownerToken);
  const adminA = () => bearer(world.a.adminToken);

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'page');
    // A's fleet: every third paused, every tenth on Gmail, the first 50 on b.example.com.
    const accounts: NewAccount[] = [];
    for (let i = 0; i < ACCOUNTS_OF_A; i++) {
      accounts.push({
        email: `box${String(i).padStart(3, '0')}@${i < 50 ? 'b' : 'a'}.example.com`,
        transport: i % 10 === 0 ? 'gmail' : 'sink',
        status: i % 3 === 0 ? 'paused' : 'active',
      });
    }
    await insertAccounts(t.db, world.a.clientId, accounts);
    await insertAccounts(t.db, world.b.clientId, [1, 2, 3].map((i) => ({ email: `other${i}@c.example.com`, transport: 'sink' as const })));
    const sponsor = await api().post('/api/sponsors').set(adminA()).send({ name: 'S' });
    sponsorId = sponsor.body.id;
  });

  it('pages through all 302 accounts of a client with the same total on every page, each account once, in order', async () => {
    const seen: string[] = [];
    for (let offset = 0; ; offset += 100) {
      const res = await api().get(`/api/accounts?limit=100&offset=${offset}`).set(adminA());
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ total: ACCOUNTS_OF_A, limit: 100, offset });
      seen.push(...(res.body.accounts as Array<{ email: string }>).map((a) => a.email));
      if (offset + 100 >= res.body.total) break;
    }
    expect(seen).toHaveLength(ACCOUNTS_OF_A);
    expect(new Set(seen).size).toBe(ACCOUNTS_OF_A);
    expect(seen).toEqual([...seen].sort());

    const past = await api().get('/api/accounts?offset=400').set(adminA());
    expect(past.body).toEqual({ accounts: [], total: ACCOUNTS_OF_A, limit: 100, offset: 400 });
    // The owner sees every client, or one with ?clientId=.
    expect((await api().get('/api/accounts?limit=1').set(owner())).body.total).toBe(ACCOUNTS_OF_A + 3);
    expect((await api().get(`/api/accounts?limit=1&clientId=${world.b.clientId}`).set(owner())).body.total).toBe(3);
  });

  it('filters accounts by status, transport, domain and part of the address, with the total of the filtered list', async () => {
    const list = async (query: string) => {
      const res = await api().get(`/api/accounts?limit=500&${query}`).set(adminA());
      expect(res.status).toBe(200);
      return res.body as { accounts: Array<{ email: string; status: string; transport: string }>; total: number };
    };
    const paused = await list('status=paused');
    expect(paused.total).toBe(Math.ceil(ACCOUNTS_OF_A / 3));
    expect(paused.accounts.every((a) => a.status === 'paused')).toBe(true);

    const gmail = await list('transport=gmail');
    expect(gmail.total).toBe(Math.ceil(ACCOUNTS_OF_A / 10));
    expect(gmail.accounts.every((a) => a.transport === 'gmail')).toBe(true);

    const onB = await list('domain=B.example.com');
    expect(onB.total).toBe(50);
    expect(onB.accounts.every((a) => a.email.endsWith('@b.example.com'))).toBe(true);
    expect((await list('domain=example.com')).total).toBe(0);

    const search = await list('search=BOX29');
    expect(search.accounts.map((a) => a.email)).toEqual(Array.from({ length: 10 }, (_, i) => `box29${i}@a.example.com`));
    expect((await list('search=box_')).total).toBe(0); // _ is a literal, not a LIKE wildcard

    const combined = await list('status=paused&transport=gmail&domain=b.example.com');
    expect(combined.accounts.map((a) => a.email)).toEqual(['box000@b.example.com', 'box030@b.example.com']);
    expect(combined.total).toBe(2);
  });

  it('pages the workers list with a total and filters it by worker state, account and address', async () => {
    const firstPage = await api().get('/api/workers?limit=50').set(owner());
    expect(firstPage.status).toBe(200);
    expect(firstPage.body).toMatchObject({ total: ACCOUNTS_OF_A + 3, limit: 50, offset: 0, node: expect.any(String) });
    expect(firstPage.body.workers).toHaveLength(50);

    const [one, two] = (await api().get('/api/accounts?limit=2').set(adminA())).body.accounts as Array<{ id: string; email: string }>;
    await t.db
      .insertInto('worker_heartbeats')
      .values([
        { account_id: one!.id, node_id: 'n1', pid: 1, state: 'waiting', details: '{}', beat_at: new Date() },
        { account_id: two!.id, node_id: 'n1', pid: 2, state: 'sending', details: '{}', beat_at: new Date() },
      ])
      .execute();
    const waiting = await api().get('/api/workers?state=waiting').set(owner());
    expect(waiting.body).toMatchObject({ total: 1, workers: [{ accountId: one!.id, heartbeatState: 'waiting' }] });
    expect((await api().get('/api/workers?state=none&limit=1').set(owner())).body.total).toBe(ACCOUNTS_OF_A + 3 - 2);
    expect((await api().get(`/api/workers?accountId=${two!.id}`).set(owner())).body).toMatchObject({ total: 1, workers: [{ accountId: two!.id, email: two!.email }] });
    expect((await api().get('/api/workers?search=other').set(owner())).body.total).toBe(3);
    expect((await api().get(`/api/workers?limit=1&clientId=${world.b.clientId}`).set(owner())).body.total).toBe(3);
  });

  it('filters campaigns by status, name and client, with a total', async () => {
    for (const [token, name] of [
      [world.a.adminToken, 'Spring launch'],
      [world.a.adminToken, 'Autumn launch'],
      [world.b.adminToken, 'Spring for B'],
    ] as const) {
      const res = await api()
        .post('/api/campaigns')
        .set(bearer(token))
        .send({ name, steps: [{ subject: 'Hi', bodyText: 'Hello' }] });
      expect(res.status).toBe(201);
    }
    expect((await api().get('/api/campaigns?search=SPRING').set(owner())).body).toMatchObject({ total: 2 });
    expect((await api().get(`/api/campaigns?search=spring&clientId=${world.a.clientId}`).set(owner())).body).toMatchObject({ total: 1, campaigns: [{ name: 'Spring launch' }] });
    expect((await api().get('/api/campaigns?status=draft&limit=1').set(adminA())).body).toMatchObject({ total: 2, limit: 1, offset: 0 });
    expect((await api().get('/api/campaigns?status=running').set(adminA())).body).toEqual({ campaigns: [], total: 0, limit: 100, offset: 0 });
  });

  const listRoutes = () => [
    ['/api/accounts', 'accounts'],
    ['/api/campaigns', 'campaigns'],
    ['/api/contacts', 'contacts'],
    ['/api/clients', 'clients'],
    ['/api/users', 'users'],
    ['/api/domains', 'domains'],
    ['/api/suppressions', 'suppressions'],
    ['/api/sponsors', 'sponsors'],
    [`/api/sponsors/${sponsorId}/keys`, 'keys'],
    [`/api/sponsors/${sponsorId}/offers`, 'offers'],
    ['/api/workers', 'workers'],
  ];

  it('answers every list route in one shape: its array, total, limit and offset', async () => {
    for (const [path, key] of listRoutes()) {
      const res = await api().get(`${path}?limit=1`).set(owner());
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect({ path, keys: Object.keys(res.body).filter((k) => !['node', 'lastReconcileAt', 'maxWorkers', 'waitingForSlot'].includes(k)).sort() }).toEqual({ path, keys: [key, 'limit', 'offset', 'total'].sort() });
      expect(res.body).toMatchObject({ limit: 1, offset: 0, total: expect.any(Number) });
      expect(res.body[key!].length).toBe(Math.min(1, res.body.total));
    }
    const users = await api().get('/api/users?limit=2&offset=1').set(owner());
    expect(users.body).toMatchObject({ total: 5, limit: 2, offset: 1 }); // the owner, and an admin and a viewer per client
    expect(users.body.users).toHaveLength(2);
  });

  it('refuses bad paging parameters on every list route with a 400 naming the parameter', async () => {
    const bad: Array<[string, string]> = [
      ['limit=0', 'query.limit'],
      ['limit=501', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['limit=1.5', 'query.limit'],
      ['offset=-1', 'query.offset'],
      ['offset=x', 'query.offset'],
    ];
    for (const [path] of listRoutes()) {
      for (const [query, field] of bad) {
        const res = await api().get(`${path}?${query}`).set(owner());
        expect({ path, query, status: res.status }).toEqual({ path, query, status: 400 });
        expect(res.body.error).toMatchObject({ code: 'validation_failed', details: { issues: [expect.objectContaining({ path: field })] } });
      }
    }
    const badFilter = await api().get('/api/accounts?transport=pigeon').set(adminA());
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.details.issues[0].path).toBe('query.transport');
    expect((await api().get('/api/workers?state=dozing').set(owner())).status).toBe(400);
  });
});
