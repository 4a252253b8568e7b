/**
 * Nodes: one row per server instance, kept fresh by its heartbeat. A node whose heartbeat is
 * older than one lease period counts as dead; its account leases expire on their own.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

export interface NodeInfo {
  id: string;
  hostname: string;
  pid: number;
  lastHeartbeatAt: Date;
}

/** Registers the node at start (resetting started_at) or refreshes its heartbeat. */
export async function beatNode(db: DbOrTx, node: { id: string; hostname: string; pid: number }, starting = false): Promise<void> {
  await db
    .insertInto('nodes')
    .values({ id: node.id, hostname: node.hostname, pid: node.pid })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        hostname: node.hostname,
        pid: node.pid,
        last_heartbeat_at: sql`now()`,
        ...(starting ? { started_at: sql`now()` } : {}),
      }),
    )
    .execute();
}

/** Nodes whose heartbeat is younger than `leaseMs`, by the database clock. */
export async function listLiveNodes(db: DbOrTx, leaseMs: number): Promise<NodeInfo[]> {
  const rows = await db
    .selectFrom('nodes')
    .select(['id', 'hostname', 'pid', 'last_heartbeat_at'])
    .where('last_heartbeat_at', '>', sql<Date>`now() - make_interval(secs => ${leaseMs / 1000})`)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, hostname: r.hostname, pid: r.pid, lastHeartbeatAt: r.last_heartbeat_at }));
}

export async function findNodes(db: DbOrTx, ids: string[]): Promise<NodeInfo[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('nodes').select(['id', 'hostname', 'pid', 'last_heartbeat_at']).where('id', 'in', ids).execute();
  return rows.map((r) => ({ id: r.id, hostname: r.hostname, pid: r.pid, lastHeartbeatAt: r.last_heartbeat_at }));
}

/** A clean stop removes the node so the others rebalance at once instead of after a lease. */
export async function deleteNode(db: DbOrTx, id: string): Promise<void> {
  await db.deleteFrom('nodes').where('id', '=', id).execute();
}
