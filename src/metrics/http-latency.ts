/**
 * Records every request's latency under its route template (`/api/campaigns/:id`), never the
 * raw path: ids in paths would make a series per request. The template is read when the
 * handler answers, while Express still holds the matched route and the routers' mount paths
 * (an error handled later has lost them, hence `res.locals`).
 */
import type { RequestHandler } from 'express';
import type { ServerMetrics } from './server-metrics';

export function httpLatency(metrics: ServerMetrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const writeHead = res.writeHead;
    let route = 'unmatched';
    // writeHead runs once, inside the handler that answers: the moment the route is known.
    res.writeHead = function (this: typeof res, ...args: Parameters<typeof writeHead>) {
      if (req.route) route = `${req.baseUrl}${String((req.route as { path: string }).path)}`;
      return writeHead.apply(this, args);
    } as typeof writeHead;
    res.once('finish', () => {
      metrics.httpDuration.observe({ method: req.method, route, status: `${Math.floor(res.statusCode / 100)}xx` }, (performance.now() - started) / 1000);
    });
    next();
  };
}
