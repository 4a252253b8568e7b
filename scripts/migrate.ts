/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded
 * database when none is set, then stops.
 */
import { ConfigError, loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startServer } from '../src/server';

async function run(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // Port 0 on loopback: starting the server is the one path that connects and migrates.
  const server = await startServer({ ...config, port: 0, host: '127.0.0.1' }, logger);
  await server.stop();
  process.stdout.write('migrations are up to date\n');
}

run().catch((error: unknown) => {
  process.stderr.write(`outreach migrate: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
  process.exit(1);
});
