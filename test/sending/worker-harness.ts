/**
 * Runs the real SendWorker in-process against the test database and a real transport, with a
 * clock the test controls: `now` moves only when the test advances it, and sleeping costs a
 * few real milliseconds so the loop keeps polling.
 */
import crypto from 'node:crypto';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import type { Db } from '../../src/db/connection';
import { SendWorker, type Clock, type SendWorkerSettings, type WorkerExit, type WorkerLogger, type WorkerMessage } from '../../src/sending/send-worker';
import { createTrackingSigner } from '../../src/tracking/tracking-token';
import type { Transport } from '../../src/transports/transport';
import { liftedClaimSettings, recordSettings } from '../queue/fixtures';

export const testCipher = createCredentialCipher([{ id: 'test', key: crypto.randomBytes(32) }]);

export class ControlledClock implements Clock {
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  set(date: Date): void {
    this.t = date.getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
  sleep(_ms: number, wake: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, 5);
      wake.addEventListener('abort', done, { once: true });
    });
  }
}

const print = process.env.WORKER_TEST_LOG ? (level: string) => (m: string, meta?: unknown) => console.log(level, m, JSON.stringify(meta)) : () => () => undefined;
export const silentLogger = { info: print('info'), warn: print('warn'), error: print('error'), debug: print('debug') };

export function workerSettings(overrides: { claim?: Parameters<typeof liftedClaimSettings>[0]; record?: Parameters<typeof recordSettings>[0] } = {}): SendWorkerSettings {
  return {
    claim: liftedClaimSettings(overrides.claim),
    record: recordSettings(overrides.record),
    idlePollMs: 1000,
    heartbeatIntervalMs: 60_000,
    // Resident: these tests drive one worker through its waits (idle exits: send-worker.idle-exit.test.ts).
    keepAliveMs: 0,
    nodeId: 'test-node',
  };
}

export function makeWorker(db: Db, accountId: string, transport: Transport, clock: Clock, settings = workerSettings(), logger: WorkerLogger = silentLogger) {
  const messages: WorkerMessage[] = [];
  const worker = new SendWorker(accountId, {
    db,
    transport,
    clock,
    logger,
    signer: createTrackingSigner('test-secret-test-secret-test-secret', 'https://track.example.test'),
    settings,
    random: () => 0.5,
    notify: (m) => messages.push(m),
  });
  return { worker, messages };
}

/** Runs the worker until `done()` holds (checked every 20 ms), then stops it and waits for it. */
export async function runUntil(worker: SendWorker, done: () => Promise<boolean>, guardMs = 15_000): Promise<WorkerExit> {
  const running = worker.run();
  let finished: WorkerExit | undefined;
  void running.then((exit) => (finished = exit), () => undefined);
  const deadline = Date.now() + guardMs;
  while (!finished && !(await done())) {
    if (Date.now() > deadline) {
      worker.stop();
      await running;
      throw new Error('worker did not reach the expected state');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  worker.stop();
  return running;
}
