/**
 * Records every request's latency under its route template (`/api/campaigns/:id`), never the
 * raw path: ids in paths would make a series per request. The template is caught when the
 * router assigns `req.route`, the one moment the mount path (`req.baseUrl`) that goes with it
 * is known for sure: a router restores its parent's baseUrl once an error leaves it, so an
 * answer from the error middleware could not tell `/api/accounts/:id` from `/accounts/:id`.
 * A request no route matched is `unmatched`.
 */
import type { Request, RequestHandler } from 'express';
import type { ServerMetrics } from './server-metrics';

export function httpLatency(metrics: ServerMetrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    let template = 'unmatched';
    let route: Request['route'];
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set: (value: Request['route']) => {
        route = value;
        if (value) template = `${req.baseUrl}${String((value as { path: unknown }).path)}`;
      },
    });
    res.once('finish', () => {
      metrics.httpDuration.observe({ method: req.method, route: template, status: `${Math.floor(res.statusCode / 100)}xx` }, (performance.now() - started) / 1000);
    });
    next();
  };
}
