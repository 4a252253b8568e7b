/**
 * GET /metrics. On the main port it asks for `Authorization: Bearer <token>` (the page names
 * every mailbox); on a port of its own (metrics.port) the listener is the boundary and no
 * token is asked.
 */
import crypto from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { AppError } from '../http/app-error';
import type { ServerMetrics } from './server-metrics';

export function metricsRoutes(metrics: ServerMetrics, bearerToken: string | undefined): Router {
  const router = Router();
  const handlers: RequestHandler[] = [];
  if (bearerToken !== undefined) handlers.push(requireBearer(bearerToken));
  router.get('/metrics', ...handlers, async (_req, res) => {
    const text = await metrics.scrape();
    res.set('Content-Type', metrics.registry.contentType).set('Cache-Control', 'no-store').send(text);
  });
  return router;
}

function requireBearer(token: string): RequestHandler {
  const expected = crypto.createHash('sha256').update(token).digest();
  return (req, _res, next) => {
    const match = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '');
    // Hashes compared, not the strings: equal lengths for timingSafeEqual whatever was sent.
    if (!match?.[1] || !crypto.timingSafeEqual(crypto.createHash('sha256').update(match[1].trim()).digest(), expected)) {
      throw new AppError(401, 'unauthorized', 'GET /metrics needs "Authorization: Bearer <metrics token>" (METRICS_BEARER_TOKEN, or DATA_DIR/metrics-token)');
    }
    next();
  };
}
