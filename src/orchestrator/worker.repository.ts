/**
 * The orchestrator's records about workers: heartbeats (written by the workers and, for
 * waiting workers, by the orchestrator from their IPC messages),
 * restarts (audit_log rows with action 'worker.restarted', counted per hour) and the
 * 'crashed' verdict (account status + alert + audit row, in one transaction).
 */
import { alertEntity, raiseAlert } from '../alerts/alerts';
import { sql } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { Db, DbOrTx } from '../db/connection';
import { containing, selectPage, type Page, type PageRows } from '../db/paging';

export interface WorkerHeartbeat {
  accountId: string;
  nodeId: string | null;
  pid: number | null;
  state: string;
  details: Record<string, unknown>;
  beatAt: Date;
}

export interface WorkerFilter {
  /** The worker's last reported state (starting, sending, waiting, …), or 'none' for accounts no worker reported for. */
  state?: string;
  accountId?: string;
  /** Part of the account's address, any case. */
  search?: string;
}

/** The accounts GET /api/workers shows on one page, by address. */
export async function listWorkerAccounts(
  db: DbOrTx,
  scope: ClientScope,
  filter: Page & WorkerFilter,
): Promise<PageRows<{ id: string; owner_node_id: string | null; owner_lease_expires_at: Date | null }>> {
  let query = db
    .selectFrom('sender_accounts as a')
    .leftJoin('worker_heartbeats as hb', 'hb.account_id', 'a.id')
    .select(['a.id', 'a.owner_node_id', 'a.owner_lease_expires_at'])
    .where(ownedBy(scope, 'a.client_id'));
  if (filter.state === 'none') query = query.where('hb.account_id', 'is', null);
  else if (filter.state) query = query.where('hb.state', '=', filter.state);
  if (filter.accountId) query = query.where('a.id', '=', filter.accountId);
  if (filter.search) query = query.where('a.email', 'like', containing(filter.search.toLowerCase()));
  return selectPage(query.orderBy('a.email').orderBy('a.id'), filter);
}

export async function listHeartbeats(db: DbOrTx, accountIds?: string[]): Promise<WorkerHeartbeat[]> {
  if (accountIds && accountIds.length === 0) return [];
  let query = db.selectFrom('worker_heartbeats').select(['account_id', 'node_id', 'pid', 'state', 'details', 'beat_at']);
  if (accountIds) query = query.where('account_id', 'in', accountIds);
  const rows = await query.execute();
  return rows.map((r) => ({ accountId: r.account_id, nodeId: r.node_id, pid: r.pid, state: r.state, details: r.details, beatAt: r.beat_at }));
}

export async function listHeartbeatsOfNode(db: DbOrTx, nodeId: string): Promise<WorkerHeartbeat[]> {
  const rows = await db
    .selectFrom('worker_heartbeats')
    .select(['account_id', 'node_id', 'pid', 'state', 'details', 'beat_at'])
    .where('node_id', '=', nodeId)
    .execute();
  return rows.map((r) => ({ accountId: r.account_id, nodeId: r.node_id, pid: r.pid, state: r.state, details: r.details, beatAt: r.beat_at }));
}

export const RESTART_ACTION = 'worker.restarted';

export async function recordWorkerRestart(
  db: DbOrTx,
  entry: { accountId: string; clientId: string; nodeId: string; reason: string; restartNumber: number },
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      client_id: entry.clientId,
      actor_type: 'system',
      actor_id: `orchestrator:${entry.nodeId}`,
      action: RESTART_ACTION,
      entity_type: 'sender_account',
      entity_id: entry.accountId,
      details: { reason: entry.reason, restartNumber: entry.restartNumber },
    })
    .execute();
}

/** Restarts of this account's worker within the last `windowMs` (any node). */
export async function countRecentRestarts(db: DbOrTx, accountId: string, windowMs: number): Promise<number> {
  const row = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('entity_type', '=', 'sender_account')
    .where('entity_id', '=', accountId)
    .where('action', '=', RESTART_ACTION)
    .where('created_at', '>', sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countRestartsByAccount(db: DbOrTx, accountIds: string[], windowMs: number): Promise<Map<string, number>> {
  if (accountIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('audit_log')
    .select(['entity_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('entity_type', '=', 'sender_account')
    .where('entity_id', 'in', accountIds)
    .where('action', '=', RESTART_ACTION)
    .where('created_at', '>', sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`)
    .groupBy('entity_id')
    .execute();
  return new Map(rows.map((r) => [r.entity_id ?? '', Number(r.n)]));
}

/**
 * Gives up on a worker that keeps crashing: the account becomes 'crashed' with the reason,
 * and an alert + audit row say why. Only an account still 'active' is changed (an operator
 * may have paused it meanwhile). Returns false when nothing changed.
 */
export async function markAccountCrashed(
  db: Db,
  entry: { accountId: string; nodeId: string; reason: string; restartsLastHour: number },
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const account = await tx
      .updateTable('sender_accounts')
      .set({ status: 'crashed', pause_reason: `worker_crashed: ${entry.reason}`, updated_at: sql`now()` })
      .where('id', '=', entry.accountId)
      .where('status', '=', 'active')
      .returning(['id', 'client_id', 'email'])
      .executeTakeFirst();
    if (!account) return false;
    const details = { reason: entry.reason, restartsLastHour: entry.restartsLastHour, nodeId: entry.nodeId };
    await raiseAlert(tx, {
      clientId: account.client_id,
      accountId: account.id,
      severity: 'critical',
      code: 'worker_crashed',
      entityKey: alertEntity.account(account.id),
      message: `Worker for ${account.email} kept crashing (${entry.reason}); restarts stopped after ${entry.restartsLastHour} in an hour. Fix the cause, then set the account active again.`,
      details,
    });
    await tx
      .insertInto('audit_log')
      .values({
        client_id: account.client_id,
        actor_type: 'system',
        actor_id: `orchestrator:${entry.nodeId}`,
        action: 'account.crashed',
        entity_type: 'sender_account',
        entity_id: account.id,
        details,
      })
      .execute();
    return true;
  });
}

/** A worker's state; `reason`/`until` say why and how long it waits (details.reason / details.until). */
export interface HeartbeatInput {
  accountId: string;
  pid: number | null;
  state: string;
  sent: number;
  beatAt: Date;
  reason?: string;
  until?: Date;
}

/**
 * Writes heartbeats, all in one statement: a worker's own on its way into a claim, and the
 * ones workers sent over IPC while waiting (they do not connect just to say they are alive),
 * which the orchestrator writes for all of them. A newer row already there wins.
 */
export async function recordHeartbeats(
  db: DbOrTx,
  nodeId: string | null,
  beats: HeartbeatInput[],
): Promise<void> {
  if (beats.length === 0) return;
  await db
    .insertInto('worker_heartbeats')
    .values(
      beats.map((b) => ({
        account_id: b.accountId,
        node_id: nodeId,
        pid: b.pid,
        state: b.state,
        details: JSON.stringify({ sent: b.sent, ...(b.reason ? { reason: b.reason } : {}), ...(b.until ? { until: b.until.toISOString() } : {}) }),
        beat_at: b.beatAt,
      })),
    )
    .onConflict((oc) =>
      oc.column('account_id').doUpdateSet((eb) => ({
        node_id: eb.ref('excluded.node_id'),
        pid: sql<number | null>`coalesce(excluded.pid, worker_heartbeats.pid)`,
        state: eb.ref('excluded.state'),
        details: eb.ref('excluded.details'),
        beat_at: eb.ref('excluded.beat_at'),
      })).where('worker_heartbeats.beat_at', '<=', (eb) => eb.ref('excluded.beat_at')),
    )
    .execute();
}

/** Accounts in the sender pools of these campaigns (to nudge when their rows are queued). */
export async function listPoolAccountIds(db: DbOrTx, campaignIds: string[]): Promise<string[]> {
  if (campaignIds.length === 0) return [];
  const rows = await db.selectFrom('campaign_senders').select('account_id').distinct().where('campaign_id', 'in', campaignIds).execute();
  return rows.map((r) => r.account_id);
}
