/**
 * Account leases: sender_accounts.owner_node_id + owner_lease_expires_at. A node drives an
 * account's worker only while it holds the lease; an expired lease can be taken by any node.
 * Expiry is judged by the database clock so nodes with skewed clocks agree.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

const leaseExpiry = (leaseMs: number) => sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`;

export async function countLeasableAccounts(db: DbOrTx): Promise<number> {
  const row = await db.selectFrom('sender_accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Extends every lease this node still holds; returns the ids it holds. */
export async function renewLeases(db: DbOrTx, nodeId: string, leaseMs: number): Promise<string[]> {
  const rows = await db
    .updateTable('sender_accounts')
    .set({ owner_lease_expires_at: leaseExpiry(leaseMs) })
    .where('owner_node_id', '=', nodeId)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export interface AcquiredLease {
  accountId: string;
  /** The node that held the (expired) lease before, if any: its workers may still run. */
  previousNodeId: string | null;
}

/** Takes up to `limit` unowned or expired leases. SKIP LOCKED keeps two nodes from racing. */
export async function acquireLeases(db: DbOrTx, nodeId: string, leaseMs: number, limit: number): Promise<AcquiredLease[]> {
  if (limit <= 0) return [];
  const { rows } = await sql<{ id: string; previous_node_id: string | null }>`
    with candidates as (
      select id, owner_node_id from sender_accounts
      where owner_node_id is null or owner_lease_expires_at is null or owner_lease_expires_at < now()
      order by id
      limit ${limit}
      for update skip locked
    )
    update sender_accounts s
    set owner_node_id = ${nodeId}, owner_lease_expires_at = ${leaseExpiry(leaseMs)}
    from candidates c
    where s.id = c.id
    returning s.id, c.owner_node_id as previous_node_id`.execute(db);
  return rows.map((r) => ({ accountId: r.id, previousNodeId: r.previous_node_id === nodeId ? null : r.previous_node_id }));
}

/** Gives leases back (after their workers stopped) so another node can take them at once. */
export async function releaseLeases(db: DbOrTx, nodeId: string, accountIds?: string[]): Promise<number> {
  if (accountIds && accountIds.length === 0) return 0;
  let query = db.updateTable('sender_accounts').set({ owner_node_id: null, owner_lease_expires_at: null }).where('owner_node_id', '=', nodeId);
  if (accountIds) query = query.where('id', 'in', accountIds);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function listOwnedAccountIds(db: DbOrTx, nodeId: string): Promise<string[]> {
  const rows = await db.selectFrom('sender_accounts').select('id').where('owner_node_id', '=', nodeId).execute();
  return rows.map((r) => r.id);
}

/** Who owns these accounts, and until when (for the sweeper's "may its worker still run?"). */
export async function listAccountOwners(db: DbOrTx, accountIds: string[]): Promise<Array<{ id: string; ownerNodeId: string | null; ownerLeaseExpiresAt: Date | null }>> {
  if (accountIds.length === 0) return [];
  const rows = await db.selectFrom('sender_accounts').select(['id', 'owner_node_id', 'owner_lease_expires_at']).where('id', 'in', accountIds).execute();
  return rows.map((r) => ({ id: r.id, ownerNodeId: r.owner_node_id, ownerLeaseExpiresAt: r.owner_lease_expires_at }));
}
