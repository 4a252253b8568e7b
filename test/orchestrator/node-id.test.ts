/**
 * Two machines with one node id (a DATA_DIR copied whole, node-id included) would renew the
 * same leases and drive the same accounts: a node refuses to join while a live node of another
 * host holds its id, and joins when that node is gone or is itself (same host, restarted).
 */
import { sql } from 'kysely';
import { createLogger } from '../../src/logger';
import { NodeLeases } from '../../src/orchestrator/node-leases';
import { useTestDatabase } from '../helpers/database';

const t = useTestDatabase();
const hooks = { onLost: async () => undefined, onAcquired: async () => undefined, shed: async () => [] };

describe('one node id on two machines', () => {
  it('refuses to start while a live node of another host has the id, and starts once it is gone', async () => {
    await t.db.insertInto('nodes').values({ id: 'node-copied', hostname: 'the-other-machine', pid: 4242 }).execute();
    const leases = new NodeLeases(t.db, 'node-copied', 30_000, hooks, createLogger('error'));
    await expect(leases.start()).rejects.toThrow(/node id "node-copied" is in use by a live node on host the-other-machine \(pid 4242\).*DATA_DIR\/node-id.*NODE_ID/);
    expect((await t.db.selectFrom('nodes').select('hostname').where('id', '=', 'node-copied').executeTakeFirstOrThrow()).hostname).toBe('the-other-machine');

    // Its heartbeat older than a lease: that node is dead, the id free.
    await sql`update nodes set last_heartbeat_at = now() - interval '1 minute' where id = 'node-copied'`.execute(t.db);
    await leases.start();
    expect((await t.db.selectFrom('nodes').select('hostname').where('id', '=', 'node-copied').executeTakeFirstOrThrow()).hostname).toBe(leases.hostname);
    await leases.stop(true);
  });

  it('starts again on the same host while its own row is still live (a restart)', async () => {
    const first = new NodeLeases(t.db, 'node-restarted', 30_000, hooks, createLogger('error'));
    await first.start();
    await first.stop(false);
    const second = new NodeLeases(t.db, 'node-restarted', 30_000, hooks, createLogger('error'));
    await second.start();
    await second.stop(true);
  });
});
