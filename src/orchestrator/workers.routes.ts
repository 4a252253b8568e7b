/** GET /api/workers: the fleet, per account (owner only). */
import { Router } from 'express';
import { authenticate, requireAccess } from '../auth/auth.middleware';
import type { AuthService } from '../auth/auth.service';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import type { Orchestrator } from './orchestrator';
import { listWorkerStatus } from './worker-status.service';

export function workersRoutes(deps: { db: Db; config: Config; auth: AuthService; orchestrator: () => Orchestrator | undefined }): Router {
  const router = Router();
  router.get('/workers', authenticate(deps.auth), requireAccess('owner'), async (_req, res) => {
    const orchestrator = deps.orchestrator();
    const workers = await listWorkerStatus(deps.db, deps.config, orchestrator);
    res.json({ node: deps.config.nodeId, lastReconcileAt: orchestrator?.snapshot().lastReconcileAt ?? null, workers });
  });
  return router;
}
