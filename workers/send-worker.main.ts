/**
 * One sender account's worker, run by its process entry (workers/send-worker.ts:
 * `node dist/workers/send-worker.js --account <id>`), which loads this file's bundle and calls
 * `main`. Started by the orchestrator (PM2), DATABASE_URL given by the parent. Holds one pooled
 * Postgres connection only while working (pool max 1, short idle timeout) and never LISTENs:
 * the parent wakes it with a `{type: 'nudge'}` IPC message.
 *
 * Exit codes: 0 after SIGTERM/SIGINT (sends in flight finished, unsent claims released), when
 * its account is not active (logged on one line) and when its next send is further away than
 * orchestrator.workerKeepAliveSeconds (idle_exit: the orchestrator starts it again in time); 1 when it cannot start or fails (an error
 * other than the database being away, which it waits out).
 */
import { ConfigError, loadConfig } from '../src/config';
import { createCredentialCipher } from '../src/crypto/credential-cipher';
import { createDb } from '../src/db/connection';
import { isDatabaseUnavailable, unavailableRetryDelayMs } from '../src/db/unavailable';
import { createLineLogger } from '../src/line-logger';
import { supervisorPidFromArgs, supervisorStartedFromArgs, watchParent } from '../src/orchestrator/parent-watch';
import { gmailEndpoints, loadDkimFor, transportForAccount } from '../src/sending/account-transport';
import { SendWorker, systemClock, type WorkerMessage } from '../src/sending/send-worker';
import { trackingSignerFor } from '../src/tracking/tracking-signer';

function fail(message: string): never {
  process.stderr.write(`send-worker: cannot start: ${message}\n`);
  process.exit(1);
}

function accountArgument(argv: string[]): string {
  const index = argv.indexOf('--account');
  const inline = argv.find((a) => a.startsWith('--account='));
  const value = inline ? inline.slice('--account='.length) : index >= 0 ? argv[index + 1] : undefined;
  if (!value || !/^[0-9a-f-]{36}$/i.test(value)) fail('usage: send-worker --account <account uuid>');
  return value;
}

export interface WorkerStartHooks {
  /** Called once, when the worker first goes idle: everything a start runs has run by then. */
  onStarted?: () => void;
}

export async function main(hooks: WorkerStartHooks = {}): Promise<void> {
  const accountId = accountArgument(process.argv.slice(2));
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : String(error));
  }
  if (!config.databaseUrl) fail('DATABASE_URL is not set (the orchestrator passes it to workers)');
  const logger = createLineLogger(config.logLevel, { worker: 'send', accountId });
  const db = createDb(config.databaseUrl, {
    poolMax: 1,
    addressHashKey: config.addressHashKey,
    idleTimeoutMs: config.sending.workerDbIdleTimeoutMs,
    statementTimeoutMs: config.database.statementTimeoutMs,
    applicationName: `send-worker:${accountId.slice(0, 8)}`,
  });

  // A worker started while the database is away (a restart, a failover) waits for it.
  let stopBeforeStart = false;
  const stopWhileStarting = () => (stopBeforeStart = true);
  process.on('SIGTERM', stopWhileStarting);
  process.on('SIGINT', stopWhileStarting);
  let account;
  for (let attempt = 0; ; attempt++) {
    try {
      account = await db.selectFrom('sender_accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
      break;
    } catch (error) {
      if (!isDatabaseUnavailable(error) || stopBeforeStart) {
        await db.destroy().catch(() => undefined);
        fail(`cannot read the account: ${(error as Error).message}`);
      }
      if (attempt === 0) logger.warn('database unavailable at start; waiting', { error: (error as Error).message });
      await new Promise((resolve) => setTimeout(resolve, unavailableRetryDelayMs(attempt)));
    }
  }
  process.removeListener('SIGTERM', stopWhileStarting);
  process.removeListener('SIGINT', stopWhileStarting);
  if (stopBeforeStart) {
    await db.destroy().catch(() => undefined);
    process.exit(0);
  }
  if (!account || (account.status !== 'active' && !(account.status === 'paused' && account.probe_pending))) {
    logger.warn(`account ${accountId} is not active (${account ? account.status : 'missing'}); worker exits`);
    await db.destroy();
    process.exit(0);
  }
  const cipher = createCredentialCipher(config.credentialKeys);
  let transport;
  try {
    const dkim = account.transport === 'smtp' ? await loadDkimFor(db, account, cipher) : undefined;
    transport = transportForAccount(account, cipher, { sink: { host: config.sink.host, port: config.sink.port }, ...gmailEndpoints(config), maxSendMs: config.sending.maxSendMs, ...(dkim ? { dkim } : {}) });
  } catch (error) {
    await db.destroy();
    fail((error as Error).message);
  }

  // A worker whose supervisor (the PM2 daemon or the server) died must not go on sending
  // unsupervised. With a parent it looks on every message it sends it (each heartbeat);
  // started by hand with --supervisor-pid, on a timer.
  // Lost before the worker exists: it stops as soon as it does.
  const supervision: { lost?: string; stop?: (reason: string) => void } = {};
  const supervisorPid = supervisorPidFromArgs(process.argv);
  const watch =
    supervisorPid !== undefined || process.send
      ? watchParent({
          supervisorPid,
          supervisorStarted: supervisorStartedFromArgs(process.argv),
          ...(process.send ? {} : { intervalMs: config.orchestrator.heartbeatIntervalMs }),
          onLost: (reason) => {
            supervision.lost = `supervisor lost (${reason})`;
            supervision.stop?.(supervision.lost);
          },
        })
      : undefined;
  let onStarted = hooks.onStarted;
  const notify =
    process.send || onStarted
      ? (message: WorkerMessage) => {
          // A parent that died closes the channel: the send fails (reported to the callback, never
          // as an uncaught 'error'), and the supervision check below stops the worker cleanly.
          if (process.connected) process.send?.(message, undefined, {}, () => undefined);
          if (message.type === 'heartbeat') watch?.check();
          if (message.type === 'status' && message.state === 'waiting' && onStarted) {
            onStarted();
            onStarted = undefined;
          }
        }
      : undefined;
  const worker = new SendWorker(accountId, {
    db,
    transport,
    clock: systemClock,
    logger,
    signer: trackingSignerFor(config),
    random: Math.random,
    ...(notify ? { notify } : {}),
    settings: {
      claim: {
        batchSize: config.sending.claimBatchSize,
        leaseMs: config.sending.leaseMs,
        gapJitterPct: config.sending.gapJitterPct,
        globalPerMinute: config.sending.globalPerMinute,
        recipientDomainDailyLimit: config.sending.recipientDomainDailyLimit,
        senderDomainDailyLimit: config.sending.senderDomainDailyLimit,
        cooldownMinutes: config.health.cooldownMinutes,
        warmup: config.warmup,
      },
      record: {
        maxAttempts: config.sending.maxAttempts,
        softBounceMaxAttempts: config.sending.softBounceMaxAttempts,
        retryBaseSeconds: config.sending.retryBaseSeconds,
        retryMaxSeconds: config.sending.retryMaxSeconds,
        cooldownMinutes: config.health.cooldownMinutes,
        // The complaint pause follows inbound.pauseOnComplaint here too, or the next failure would pause anyway.
        health: { ...config.health, pauseOnComplaint: config.inbound.pauseOnComplaint },
        circuitBreaker: config.circuitBreaker,
      },
      idlePollMs: config.sending.idlePollMs,
      heartbeatIntervalMs: config.orchestrator.heartbeatIntervalMs,
      keepAliveMs: config.orchestrator.workerKeepAliveSeconds * 1000,
      nodeId: config.nodeId,
    },
  });

  const stop = (signal: string) => {
    logger.info('stopping after the send in flight', { signal });
    worker.stop();
  };
  supervision.stop = stop;
  if (supervision.lost) stop(supervision.lost);

  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'nudge') worker.nudge();
  });
  // The IPC channel must not keep the process alive after the loop ends.
  process.channel?.unref();

  let exitCode = 0;
  try {
    const exit = await worker.run();
    logger.info('worker stopped', { reason: exit.reason, detail: exit.detail, sent: exit.sent, ...(exit.until ? { until: exit.until.toISOString() } : {}) });
  } catch (error) {
    logger.error('worker failed', { error: (error as Error).message });
    exitCode = 1;
  } finally {
    watch?.stop();
    await transport.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
  }
  process.exit(exitCode);
}

