/** GET /api/workers: its query (the paging contract of src/http/paging.ts plus filters) and answer. */
import { z } from 'zod';
import { pagedResponse, pageQuery } from '../http/paging';

export const workerListQuery = pageQuery.extend({
  state: z
    .enum(['starting', 'sending', 'waiting', 'stopping', 'stopped', 'inactive', 'idle_exit', 'failed', 'none'])
    .optional()
    .describe("The worker's last reported state (idle_exit: it exited until shortly before its next send); none: no worker has reported for the account"),
  accountId: z.uuid().optional(),
  search: z.string().max(254).optional().describe("Part of the account's address, any case"),
});

const workerOut = z.object({
  accountId: z.uuid(),
  email: z.string(),
  accountStatus: z.string(),
  pauseReason: z.string().nullable(),
  node: z.string().nullable().describe('The node whose lease holds the account'),
  leaseExpiresAt: z.string().nullable(),
  process: z
    .object({ name: z.string(), state: z.string(), pid: z.number().nullable(), memoryBytes: z.number().nullable(), uptimeMs: z.number().nullable() })
    .nullable()
    .describe("The PM2 process, for accounts this node drives"),
  restartsLastHour: z.number().int(),
  lastHeartbeatAt: z.string().nullable(),
  heartbeatState: z.string().nullable(),
  sentToday: z.number().int(),
  effectiveDailyLimit: z.number().int(),
  hasWork: z.boolean(),
});

export const workerListOut = pagedResponse('workers', workerOut, {
  node: z.string().describe('This node'),
  lastReconcileAt: z.string().nullable(),
  maxWorkers: z.number().int().nullable().describe('Worker processes this node runs at most (orchestrator.maxWorkers resolved; null: no cap, or no orchestrator)'),
  waitingForSlot: z.number().int().describe('Accounts of this node with work due that wait for a worker slot (at its last reconcile)'),
});
