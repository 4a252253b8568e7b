/** GET /api/workers: the fleet, per account (owner only), paged and filtered like every list. */
import { Router } from 'express';
import { authenticate, getScope, requireAccess } from '../auth/auth.middleware';
import type { AuthService } from '../auth/auth.service';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { paged } from '../http/paging';
import { parseOrThrow } from '../http/validation';
import type { Orchestrator } from './orchestrator';
import { listWorkerStatus } from './worker-status.service';
import { workerListQuery } from './workers.schemas';

export function workersRoutes(deps: { db: Db; config: Config; auth: AuthService; orchestrator: () => Orchestrator | undefined }): Router {
  const router = Router();
  router.get('/workers', authenticate(deps.auth), requireAccess('owner'), async (req, res) => {
    const query = parseOrThrow(workerListQuery, req.query, 'query');
    const orchestrator = deps.orchestrator();
    const page = await listWorkerStatus(deps.db, deps.config, orchestrator, getScope(req), query);
    res.json({
      node: deps.config.nodeId,
      lastReconcileAt: orchestrator?.snapshot().lastReconcileAt ?? null,
      maxWorkers: orchestrator ? orchestrator.maxWorkers : null,
      waitingForSlot: orchestrator?.accountsWaitingForSlot ?? 0,
      ...paged('workers', query, page, (worker) => worker),
    });
  });
  return router;
}
