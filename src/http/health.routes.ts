import { Router } from 'express';
import { sql } from 'kysely';
import type { Db } from '../db/connection';
import { AppError } from './app-error';

/** Answers 200 when the database answers `select 1` in time, else 503 with the reason. */
export function healthRoutes(db: Db, timeoutMs: number): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`.execute(db),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      throw new AppError(503, 'database_unavailable', `Database is unavailable: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    res.json({ status: 'ok', database: { latencyMs: Date.now() - started } });
  });
  return router;
}
