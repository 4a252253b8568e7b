import { createDb } from '../../src/db/connection';
import { createLogger } from '../../src/logger';
import { acquireLeases } from '../../src/orchestrator/account-lease.repository';
import { NodeLeases, type NodeLeaseHooks } from '../../src/orchestrator/node-leases';
import { useTestDatabase } from '../helpers/database';

const logger = createLogger('error');
const t = useTestDatabase();

async function seedAccounts(count: number, prefix: string): Promise<string[]> {
  const client = await t.db.insertInto('clients').values({ name: `client-${prefix}` }).returning('id').executeTakeFirstOrThrow();
  const rows = await t.db
    .insertInto('sender_accounts')
    .values(Array.from({ length: count }, (_, i) => ({ client_id: client.id, email: `${prefix}${i}@example.test`, transport: 'sink' as const })))
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

async function clearAccounts(): Promise<void> {
  await t.db.deleteFrom('sender_accounts').execute();
  await t.db.deleteFrom('nodes').execute();
}

function recordingHooks(): NodeLeaseHooks & { lost: string[]; acquired: string[]; lostAt: Map<string, number>; acquiredAt: Map<string, number>; owner: NodeLeases | undefined } {
  const hooks = {
    lost: [] as string[],
    acquired: [] as string[],
    lostAt: new Map<string, number>(),
    acquiredAt: new Map<string, number>(),
    onLost: async (ids: string[]) => {
      hooks.lost.push(...ids);
      for (const id of ids) hooks.lostAt.set(id, Date.now());
    },
    onAcquired: async (leases: { accountId: string }[]) => {
      hooks.acquired.push(...leases.map((l) => l.accountId));
      for (const l of leases) hooks.acquiredAt.set(l.accountId, Date.now());
    },
    shed: async (count: number) => hooks.owner?.ownedIds().slice(0, count) ?? [],
    owner: undefined as NodeLeases | undefined,
  };
  return hooks;
}

async function waitFor(condition: () => boolean | Promise<boolean>, limitMs = 20000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('node leases', () => {
  afterEach(clearAccounts);

  it('gives a lone node every account, and splits them fairly when a second node joins', async () => {
    const ids = await seedAccounts(10, 'split');
    const hooksA = recordingHooks();
    const hooksB = recordingHooks();
    const a = new NodeLeases(t.db, 'node-a', 60_000, hooksA, logger);
    const b = new NodeLeases(t.db, 'node-b', 60_000, hooksB, logger);
    hooksA.owner = a;
    hooksB.owner = b;
    try {
      await a.start();
      expect(a.ownedIds().sort()).toEqual([...ids].sort());

      await b.start(); // nothing free yet: A holds valid leases
      expect(b.ownedIds()).toEqual([]);
      await a.tick(); // A sees two live nodes and hands back its excess
      await b.tick();
      expect(a.ownedIds()).toHaveLength(5);
      expect(b.ownedIds()).toHaveLength(5);
      expect(new Set([...a.ownedIds(), ...b.ownedIds()]).size).toBe(10);

      const rows = await t.db.selectFrom('sender_accounts').select(['owner_node_id']).execute();
      expect(rows.filter((r) => r.owner_node_id === 'node-a')).toHaveLength(5);
      expect(rows.filter((r) => r.owner_node_id === 'node-b')).toHaveLength(5);
    } finally {
      await a.stop(true);
      await b.stop(true);
    }
  });

  it('never hands the same account to two nodes acquiring at the same moment', async () => {
    await seedAccounts(40, 'race');
    const [first, second] = await Promise.all([acquireLeases(t.db, 'node-x', 60_000, 40), acquireLeases(t.db, 'node-y', 60_000, 40)]);
    const all = [...(first ?? []), ...(second ?? [])].map((l) => l.accountId);
    expect(all).toHaveLength(40);
    expect(new Set(all).size).toBe(40);
  });

  it("takes over a dead node's accounts only after its lease ran out, within two lease periods", async () => {
    await seedAccounts(6, 'takeover');
    const leaseMs = 1500;
    const hooksA = recordingHooks();
    const hooksB = recordingHooks();
    const a = new NodeLeases(t.db, 'node-a', leaseMs, hooksA, logger);
    const b = new NodeLeases(t.db, 'node-b', leaseMs, hooksB, logger);
    hooksA.owner = a;
    hooksB.owner = b;
    await a.start();
    await b.start();
    await waitFor(() => a.ownedIds().length === 3 && b.ownedIds().length === 3);
    const aHeld = a.ownedIds();

    // Node A dies: no more ticks, nothing released.
    await a.stop(false);
    const expiries = await t.db.selectFrom('sender_accounts').select(['id', 'owner_lease_expires_at']).where('id', 'in', aHeld).execute();
    try {
      await waitFor(() => b.ownedIds().length === 6);
      for (const id of aHeld) {
        const row = await t.db.selectFrom('sender_accounts').select('owner_node_id').where('id', '=', id).executeTakeFirstOrThrow();
        expect(row.owner_node_id).toBe('node-b');
      }
      // B took each account only once A's lease on it had run out: never both at once.
      for (const row of expiries) {
        expect(hooksB.acquiredAt.get(row.id)).toBeGreaterThanOrEqual(new Date(row.owner_lease_expires_at ?? 0).getTime() - 50);
      }
    } finally {
      await b.stop(true);
    }
  });

  it('stops driving its accounts by its own deadline when it cannot renew its leases', async () => {
    await seedAccounts(3, 'cutoff');
    const ownDb = createDb(t.url, { poolMax: 2, idleTimeoutMs: 1000 });
    const hooks = recordingHooks();
    const a = new NodeLeases(ownDb, 'node-cut', 1500, hooks, logger);
    hooks.owner = a;
    await a.start();
    expect(a.ownedIds()).toHaveLength(3);
    const { rows } = await t.db
      .selectFrom('sender_accounts')
      .select(['id', 'owner_lease_expires_at'])
      .execute()
      .then((r) => ({ rows: r }));
    // The database becomes unreachable for this node.
    await ownDb.destroy();
    try {
      await waitFor(() => hooks.lost.length === 3);
      expect(a.ownedIds()).toEqual([]);
      // Each worker was told to stop no later than the lease's expiry in the database, so
      // no other node could have started one before.
      for (const row of rows) {
        const expiresAt = new Date(row.owner_lease_expires_at ?? 0).getTime();
        expect(hooks.lostAt.get(row.id)).toBeLessThanOrEqual(expiresAt + 50);
      }
    } finally {
      await a.stop(false);
    }
  });
});
