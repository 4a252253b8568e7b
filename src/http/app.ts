import { httpLatency } from '../metrics/http-latency';
import { metricsRoutes } from '../metrics/metrics.routes';
import type { ServerMetrics } from '../metrics/server-metrics';
import { loadOrCreateMetricsToken } from '../secrets';
import express, { type Express } from 'express';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import type { Logger } from '../logger';
import { landingRoutes } from '../sponsors/landing.routes';
import { createPublicGuards } from '../tracking/public-guards';
import { createTrackingEventWriter, type TrackingEventWriter } from '../tracking/tracking-event.writer';
import { installPixelFastPath, type TrustProxy } from '../tracking/pixel.fast-path';
import { trackingPixel, trackingRoutes } from '../tracking/tracking.routes';
import type { Orchestrator } from '../orchestrator/orchestrator';
import { workersRoutes } from '../orchestrator/workers.routes';
import { createSnsClient, type SnsClient } from '../webhooks/sns';
import { webhookRoutes } from '../webhooks/webhook.routes';
import { adminApiRoutes, createAuthServiceFromConfig } from './api';
import { consoleRoutes } from './console.routes';
import { sinkPreviewRoutes } from '../transports/sink-preview';
import { errorMiddleware, notFoundHandler } from './error-middleware';
import { healthRoutes } from './health.routes';
import { securityHeaders } from './security-headers';
import { urlGuard } from './url-guard';

export interface AppDeps {
  config: Config;
  db: Db;
  logger: Logger;
  /** Batched open/click writer; the server passes its own so it can flush it on stop. */
  trackingEvents?: TrackingEventWriter;
  /** The node's orchestrator, once started (GET /api/workers shows its processes). */
  orchestrator?: () => Orchestrator | undefined;
  /** What the admin API takes as "now" (warm-up days, today's limits, campaign starts, statistics); tests pass a controlled one. */
  clock?: () => Date;
  /** Prometheus metrics (src/metrics/): HTTP latency is recorded, and /metrics served here unless metrics.port gives it a port of its own. */
  metrics?: ServerMetrics;
  /** SNS certificate fetches and subscription confirmations; the server shares its own with the webhook loop. */
  sns?: SnsClient;
}

export function createSnsClientFor(config: Config): SnsClient {
  return createSnsClient(config.webhooks.sns);
}

export function createTrackingEventWriterFor({ config, db, logger }: AppDeps): TrackingEventWriter {
  const t = config.tracking;
  return createTrackingEventWriter({
    db,
    logger,
    flushMs: t.eventFlushMs,
    batchSize: t.eventBatchSize,
    maxBuffered: t.maxBufferedEvents,
    scannerClickWindowSeconds: t.scannerClickWindowSeconds,
  });
}

export function createApp(deps: AppDeps): Express {
  const { config, db, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  // Whose X-Forwarded-For gives the client's address (server.trustProxy): nginx on loopback by
  // default; a node behind a proxy on another host lists that proxy.
  app.set('trust proxy', config.server.trustProxy);
  // Before anything that can answer, errors and 404s included (the pixel, answered ahead of
  // Express, carries the same headers, computed once).
  app.use(securityHeaders());
  app.use(urlGuard());
  if (deps.metrics) {
    app.use(httpLatency(deps.metrics));
    if (config.metrics.port === null) app.use(metricsRoutes(deps.metrics, config.metricsBearerToken ?? loadOrCreateMetricsToken(config.dataDir)));
  }
  // Recipient-facing endpoints first: the open pixel is the hottest path and needs no body parser.
  const publicGuards = createPublicGuards(config.tracking.publicRateLimitPerMinute);
  const trackingEvents = deps.trackingEvents ?? createTrackingEventWriterFor(deps);
  installPixelFastPath(app, trackingPixel({ config, logger, events: trackingEvents, guards: publicGuards }, app.get('trust proxy fn') as TrustProxy));
  app.use(trackingRoutes({ db, config, logger, events: trackingEvents, guards: publicGuards }));
  app.use(landingRoutes(db, config, publicGuards));
  // ESP webhooks: public, verified by each provider's signature, bodies read as raw bytes.
  app.use(webhookRoutes({ db, config, logger, sns: deps.sns ?? createSnsClientFor(config), ...(deps.clock ? { now: deps.clock } : {}) }));
  app.use(healthRoutes(db, config.database.healthCheckTimeoutMs));
  app.use('/api', workersRoutes({ db, config, auth: createAuthServiceFromConfig(config, db), orchestrator: deps.orchestrator ?? (() => undefined) }));
  app.use('/api', adminApiRoutes({ config, db, logger, ...(deps.clock ? { clock: deps.clock } : {}) }));
  app.use(sinkPreviewRoutes(db, config.jwtSecret));
  // Last before the 404: only paths nothing else answered reach the console's index.html.
  app.use(consoleRoutes());
  app.use(notFoundHandler());
  app.use(errorMiddleware(logger));
  return app;
}
