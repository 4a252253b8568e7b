/**
 * Process entry for `npm start`. Any problem at start is printed as one line on stderr and
 * the process exits 1; SIGTERM/SIGINT stop everything cleanly (a second signal forces exit).
 */
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { startServer } from './server';

function failStart(message: string): never {
  process.stderr.write(`outreach: cannot start: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    failStart(error instanceof ConfigError ? error.message : String(error));
  }
  const logger = createLogger(config.logLevel, { node: config.nodeId });

  // Signals are handled from the start: one that arrives while the server is still starting
  // (orchestrator, schedules) stops it as soon as it is up, instead of killing it half-way.
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let stopRequested: NodeJS.Signals | undefined;
  const stopNow = (started: NonNullable<typeof server>) => {
    started.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopRequested = signal;
    logger.info('shutting down', { signal });
    if (server) stopNow(server);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    server = await startServer(config, logger);
  } catch (error) {
    logger.debug('start failed', { error });
    failStart((error as Error).message);
  }
  if (stopRequested) stopNow(server);
}

void main();
