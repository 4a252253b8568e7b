/** /metrics on a port of its own (metrics.port), for a Prometheus that reaches only that port. */
import http from 'node:http';
import express from 'express';
import { errorMiddleware, notFoundHandler } from '../http/error-middleware';
import type { Logger } from '../logger';
import { metricsRoutes } from './metrics.routes';
import type { ServerMetrics } from './server-metrics';

export async function startMetricsListener(metrics: ServerMetrics, host: string, port: number, logger: Logger): Promise<http.Server> {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRoutes(metrics, undefined));
  app.use(notFoundHandler());
  app.use(errorMiddleware(logger));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  }).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`Cannot listen for /metrics on ${host}:${port}: ${error.code ?? error.message}`, { cause: error });
  });
  return server;
}
