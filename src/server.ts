/**
 * Starting and stopping the whole server: database (given or embedded), migrations, HTTP,
 * the dev sink, the orchestrator and the timed jobs.
 *
 * Stop order (SIGINT from PM2 or a terminal, SIGTERM): HTTP (in-flight requests finish),
 * schedules, inbox reading (polls in progress finish), orchestrator (workers finish their send in flight and release their claims, the
 * account leases are handed back, a PM2 daemon the server spawned for them is stopped), the dev
 * sink (workers deliver to it until they are gone), lead deliveries, webhook processing, the
 * buffered tracking events, the pool, and last the embedded Postgres.
 *
 * A database restart or outage is survived: requests answer 503 database_unavailable,
 * /healthz 503, and every loop retries on its own (see README "Using a real Postgres").
 */
import http from 'node:http';
import path from 'node:path';
import { sql } from 'kysely';
import type { Config } from './config';
import { ensureDatabase, withDatabase } from './db/admin';
import { createDb, type Db } from './db/connection';
import { EMBEDDED_DATABASE, startEmbeddedPostgres, type EmbeddedPostgresHandle } from './db/embedded-postgres';
import { migrateToLatest } from './db/migrate';
import { ownerSetupHint } from './auth/owner-setup';
import { removeRunningServerInfo, writeRunningServerInfo } from './running-server';
import { createApp, createSnsClientFor, createTrackingEventWriterFor } from './http/app';
import { createCredentialCipher } from './crypto/credential-cipher';
import { inboundDeliveryTarget } from './inbound/readers/delivery-target';
import { InboundPoller } from './inbound/readers/inbound-poller';
import type { Logger } from './logger';
import { Orchestrator } from './orchestrator/orchestrator';
import { startMetricsListener } from './metrics/metrics-listener';
import { createServerMetrics } from './metrics/server-metrics';
import { Schedules } from './orchestrator/schedules';
import { createSweep } from './orchestrator/sweep';
import { startLeadDeliveryLoop } from './sponsors/lead-delivery.service';
import { startAlertDeliveryLoop } from './alerts/alert-delivery.service';
import { startSinkServer, type SinkServer } from './transports/sink-server';
import { startWebhookProcessingLoop } from './webhooks/webhook-processor';

export interface RunningServer {
  url: string;
  db: Db;
  stop(): Promise<void>;
}


/** host:port of a connection string, for messages that must not show the password. */
export function describeDatabase(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

async function connectAndMigrate(connectionString: string, config: Config, logger: Logger): Promise<Db> {
  const db = createDb(connectionString, {
    ...config.database,
    addressHashKey: config.addressHashKey,
    applicationName: `outreach-server-${config.nodeId}`,
    onConnectionError: (error) => logger.warn('database connection lost', { error: error.message, code: (error as NodeJS.ErrnoException).code }),
  });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy();
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`Cannot connect to the database at ${describeDatabase(connectionString)}: ${reason}`, { cause: error });
  }
  await migrateToLatest(db);
  return db;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let connectionString = config.databaseUrl;
  if (!connectionString) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres'), password: config.embeddedPostgresPassword, logger });
    await ensureDatabase(embedded.connectionString, EMBEDDED_DATABASE);
    connectionString = withDatabase(embedded.connectionString, EMBEDDED_DATABASE);
  }

  let db: Db;
  try {
    db = await connectAndMigrate(connectionString, config, logger);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }

  let orchestrator: Orchestrator | undefined;
  const hint = await ownerSetupHint(db, config.baseUrl);
  if (hint) logger.warn(hint);

  // Opens and clicks are buffered off the request path; the buffer is flushed on stop.
  const trackingEvents = createTrackingEventWriterFor({ config, db, logger });
  const sns = createSnsClientFor(config);
  const metrics = config.metrics.enabled ? createServerMetrics({ config, db, logger }) : undefined;
  const app = createApp({ config, db, logger, trackingEvents, sns, orchestrator: () => orchestrator, ...(metrics ? { metrics } : {}) });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch(async (error: NodeJS.ErrnoException) => {
    await db.destroy();
    await embedded?.stop();
    throw new Error(`Cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`, { cause: error });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info('server listening', { port, database: describeDatabase(connectionString), embedded: Boolean(embedded) });
  writeRunningServerInfo(config.dataDir, { pid: process.pid, baseUrl: config.baseUrl });

  // /metrics on a port of its own when configured; a port already taken is reported and the server goes on without it.
  let metricsServer: http.Server | undefined;
  if (metrics && config.metrics.port !== null) {
    metricsServer = await startMetricsListener(metrics, config.metrics.host, config.metrics.port, logger).catch((error: Error) => {
      logger.warn('metrics listener not started', { reason: error.message });
      return undefined;
    });
    if (metricsServer) logger.info('metrics listening', { host: config.metrics.host, port: config.metrics.port });
  }

  // The dev sink: `sink` accounts deliver here and the captured mail is kept in the database.
  // A convenience, so a port already taken is reported and the server goes on without it.
  let sink: SinkServer | undefined;
  if (config.sink.enabled) {
    sink = await startSinkServer(db, { host: config.sink.host, port: config.sink.port, onError: (error) => logger.warn('sink error', { error: error.message }) }).catch(
      (error: NodeJS.ErrnoException) => {
        logger.warn('dev SMTP sink not started', { host: config.sink.host, port: config.sink.port, reason: error.code ?? error.message });
        return undefined;
      },
    );
    if (sink) logger.info('dev SMTP sink listening', { host: sink.host, port: sink.port });
  }

  // One PM2 worker per active account owned by this node, and the timed jobs around them.
  let schedules: Schedules | undefined;
  if (config.orchestrator.enabled) {
    const workerDb = connectionString;
    orchestrator = new Orchestrator({ db, connectionString: workerDb, config, logger, ...(metrics ? { events: metrics } : {}) });
    const started = orchestrator;
    const sweep = createSweep(config, logger, (ids) => started.workersMayBeAlive(ids));
    schedules = new Schedules({ db, config, logger, sweep, onNewDay: () => started.requestReconcile() });
    try {
      await orchestrator.start();
      await schedules.start();
    } catch (error) {
      await schedules.stop();
      await orchestrator.stop({ killDaemon: 'if-own' }).catch(() => undefined);
      server.close();
      await sink?.close();
      await db.destroy();
      await embedded?.stop();
      throw new Error(`Cannot start the orchestrator: ${(error as Error).message}`, { cause: error });
    }
  }

  // Sponsor leads leave through an outbox, retried until delivered.
  const leadDeliveries = startLeadDeliveryLoop(db, config, logger);
  // Alerts reach their channels (Telegram, Slack, webhook, e-mail) through an outbox too.
  const alertDeliveries = startAlertDeliveryLoop(db, config, logger);
  // Verified ESP webhook deliveries become feedback events off the request path.
  const webhookDeliveries = startWebhookProcessingLoop(db, config, sns, logger);

  // Inbox reading: every readable mailbox once per inbound.pollIntervalSeconds, a few at a time,
  // in this process (src/inbound/readers/inbound-poller.ts says why here and not in the workers).
  let inboundPoller: InboundPoller | undefined;
  if (config.inbound.enabled) {
    inboundPoller = new InboundPoller({ db, nodeId: config.nodeId, settings: config.inbound, cipher: createCredentialCipher(config.credentialKeys), deliver: inboundDeliveryTarget(db, config), logger });
    inboundPoller.start();
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Stop taking requests, let in-flight ones finish, then drop idle keep-alive sockets.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      removeRunningServerInfo(config.dataDir);
      const forced = setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs);
      await closed;
      clearTimeout(forced);
      metrics?.stop();
      metricsServer?.closeAllConnections();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      // Workers drain (SIGTERM: finish the send in flight, release claims) before the database goes.
      await schedules?.stop();
      await inboundPoller?.stop();
      await orchestrator?.stop({ killDaemon: 'if-own' }).catch((error: unknown) => logger.error('orchestrator stop failed', { error: (error as Error).message }));
      await sink?.close();
      await leadDeliveries.stop();
      await alertDeliveries.stop();
      await webhookDeliveries.stop();
      await trackingEvents.stop();
      await db.destroy();
      await embedded?.stop();
      logger.info('server stopped');
    })();
    return stopping;
  };

  return { url: `http://127.0.0.1:${port}`, db, stop };
}
