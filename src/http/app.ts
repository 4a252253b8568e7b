import express, { type Express } from 'express';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import type { Logger } from '../logger';
import { errorMiddleware, notFoundHandler } from './error-middleware';
import { healthRoutes } from './health.routes';

export interface AppDeps {
  config: Config;
  db: Db;
  logger: Logger;
}

export function createApp({ config, db, logger }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(express.json({ limit: `${config.server.requestBodyLimitKb}kb` }));
  app.use(healthRoutes(db, config.database.healthCheckTimeoutMs));
  app.use(notFoundHandler());
  app.use(errorMiddleware(logger));
  return app;
}
