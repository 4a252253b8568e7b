/**
 * The fleet as GET /api/workers shows it: one entry per account, with what this node knows
 * about the process (PM2 state, pid, PSS memory) for the accounts it drives, and what the
 * database knows for all (heartbeat, owner node, sent today, effective limit, restarts).
 */
import type { ClientScope } from '../auth/client-scope';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { listAccountDemand } from './account-demand.repository';
import type { Orchestrator } from './orchestrator';
import { readPssBytes } from './proc-stats';
import { effectiveDailyLimit } from './quota';
import type { Page, PageRows } from '../db/paging';
import { countRestartsByAccount, listHeartbeats, listWorkerAccounts, type WorkerFilter } from './worker.repository';

export interface WorkerStatus {
  accountId: string;
  email: string;
  accountStatus: string;
  pauseReason: string | null;
  node: string | null;
  leaseExpiresAt: Date | null;
  process: { name: string; state: string; pid: number | null; memoryBytes: number | null; uptimeMs: number | null } | null;
  restartsLastHour: number;
  lastHeartbeatAt: Date | null;
  heartbeatState: string | null;
  sentToday: number;
  effectiveDailyLimit: number;
  hasWork: boolean;
}

const HOUR_MS = 3_600_000;

export async function listWorkerStatus(
  db: Db,
  config: Config,
  orchestrator: Orchestrator | undefined,
  scope: ClientScope,
  filter: Page & WorkerFilter,
  now = new Date(),
): Promise<PageRows<WorkerStatus>> {
  const { rows: accounts, total } = await listWorkerAccounts(db, scope, filter);
  const ids = accounts.map((a) => a.id);
  const [demand, beats, restarts, processes] = await Promise.all([
    listAccountDemand(db, ids, config.orchestrator.reconcileIntervalMs),
    listHeartbeats(db, ids),
    countRestartsByAccount(db, ids, HOUR_MS),
    orchestrator ? orchestrator.supervisor.list().catch(() => orchestrator.snapshot().processes) : Promise.resolve([]),
  ]);
  const demandById = new Map(demand.map((d) => [d.accountId, d]));
  const beatById = new Map(beats.map((b) => [b.accountId, b]));
  const procById = new Map(processes.map((p) => [p.accountId, p]));
  const rows = accounts.flatMap((account) => {
    const d = demandById.get(account.id);
    if (!d) return [];
    const beat = beatById.get(account.id);
    const proc = procById.get(account.id);
    const online = proc && proc.pid > 0;
    return [
      {
        accountId: account.id,
        email: d.email,
        accountStatus: d.status,
        pauseReason: d.pauseReason,
        node: account.owner_node_id,
        leaseExpiresAt: account.owner_lease_expires_at,
        process: proc
          ? {
              name: proc.name,
              state: proc.status,
              pid: online ? proc.pid : null,
              memoryBytes: online ? (readPssBytes(proc.pid) ?? proc.memoryBytes) : null,
              uptimeMs: online ? now.getTime() - proc.startedAtMs : null,
            }
          : null,
        restartsLastHour: restarts.get(account.id) ?? 0,
        lastHeartbeatAt: beat?.beatAt ?? null,
        heartbeatState: beat?.state ?? null,
        sentToday: d.sentToday,
        effectiveDailyLimit: effectiveDailyLimit(d, config.warmup, now),
        hasWork: d.hasWork,
      },
    ];
  });
  return { rows, total };
}
