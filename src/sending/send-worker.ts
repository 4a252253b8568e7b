/**
 * The send loop of one sender account. Worker states (reported to the parent and in
 * worker_heartbeats):
 *
 *   starting → sending ⇄ waiting (limits, gap, window, nothing due, cool-down)
 *            → stopping (SIGTERM: the batch in flight is finished and recorded, claims not yet
 *              handed to the transport are released) → stopped
 *            → inactive (account missing, suspended, disabled or manually paused: exits)
 *
 * Heartbeats: a row in worker_heartbeats, written on the way into each claim (the worker is
 * connected then anyway) at most every heartbeat interval; while waiting, an IPC message to
 * the parent instead, which the orchestrator writes for all its workers in one statement.
 * Waiting ends at the wait's deadline or on a nudge (new work, campaign started).
 *
 * Everything outside comes in as dependencies (database, transport, clock, logger), so tests
 * run this loop against real Postgres and a real SMTP peer with a controllable clock.
 * A row is `sending` only between "about to hand to the transport" and "result recorded".
 */
import type { Db } from '../db/connection';
import { claimBatch, type ClaimSettings } from '../queue/claim';
import { markSending, releaseClaims, transition, type CandidateRow } from '../queue/queue.repository';
import type { TrackingSigner } from '../tracking/tracking-token';
import type { OutgoingMessage, SendResult, Transport } from '../transports/transport';
import { recordHeartbeats } from '../orchestrator/worker.repository';
import type { ClaimAccount } from './account-state.repository';
import { providerKey } from './circuit-breaker';
import { loadMessageContexts } from './message-context.repository';
import { recordAccepted, recordResult, recordUncertain, releaseReservation, type Attempt, type RecordContext, type RecordSettings } from './result-recorder';

export interface Clock {
  now(): Date;
  /** Resolves after `ms` or as soon as `wake` aborts. */
  sleep(ms: number, wake: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, wake) =>
    new Promise<void>((resolve) => {
      if (wake.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake.removeEventListener('abort', done);
        resolve();
      }
      wake.addEventListener('abort', done, { once: true });
    }),
};

export interface WorkerLogger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

export type WorkerMessage =
  | { type: 'heartbeat'; accountId: string; state: WorkerState; sent: number; at: string }
  | { type: 'status'; accountId: string; state: WorkerState; reason?: string; until?: string };

export type WorkerState = 'starting' | 'sending' | 'waiting' | 'stopping' | 'stopped' | 'inactive';

export interface SendWorkerSettings {
  claim: ClaimSettings;
  record: RecordSettings;
  idlePollMs: number;
  heartbeatIntervalMs: number;
  nodeId: string | null;
  feedbackSenderId?: string;
}

export interface SendWorkerDeps {
  db: Db;
  transport: Transport;
  clock: Clock;
  logger: WorkerLogger;
  signer: TrackingSigner;
  settings: SendWorkerSettings;
  random?: () => number;
  /** To the parent process (process.send); absent when not a child. */
  notify?: (message: WorkerMessage) => void;
}

export interface WorkerExit {
  reason: 'stopped' | 'inactive';
  detail?: string;
  sent: number;
}

export class SendWorker {
  private stopping = false;
  private wake = new AbortController();
  private state: WorkerState = 'starting';
  private sent = 0;
  private lastBeatAt = 0;
  private readonly random: () => number;

  constructor(
    readonly accountId: string,
    private readonly deps: SendWorkerDeps,
  ) {
    this.random = deps.random ?? Math.random;
  }

  /** Wake early (the orchestrator nudges after new work or a state change). */
  nudge(): void {
    this.wake.abort();
  }

  /** Finish the batch in flight, release the rest, then run() resolves. */
  stop(): void {
    this.stopping = true;
    this.wake.abort();
  }

  get sentCount(): number {
    return this.sent;
  }

  async run(): Promise<WorkerExit> {
    const { db, clock, logger, settings } = this.deps;
    try {
      while (!this.stopping) {
        await this.heartbeat();
        const claim = await claimBatch(db, this.accountId, clock.now(), settings.claim, this.random);
        if (claim.kind === 'inactive') {
          const detail = `${claim.status}${claim.reason ? ` (${claim.reason})` : ''}`;
          logger.warn(`account ${this.accountId} is not active: ${detail}; worker exits`, { accountId: this.accountId, status: claim.status });
          this.setState('inactive', detail);
          await this.heartbeat(true);
          return { reason: 'inactive', detail, sent: this.sent };
        }
        if (claim.kind === 'wait') {
          const now = clock.now().getTime();
          const untilMs = claim.until ? Math.max(0, claim.until.getTime() - now) : settings.idlePollMs;
          this.setState('waiting', claim.reason, claim.until);
          // idlePollMs is only a safety net: new work and state changes come as nudges.
          await this.wait(Math.min(untilMs, settings.idlePollMs));
          continue;
        }
        this.setState('sending');
        await this.processBatch(claim.rows, claim.leaseToken, claim.account, claim.probe);
      }
      return { reason: 'stopped', sent: this.sent };
    } finally {
      this.setState(this.state === 'inactive' ? 'inactive' : 'stopped');
      await this.heartbeat(true).catch(() => undefined);
    }
  }

  private async processBatch(rows: CandidateRow[], leaseToken: string, account: ClaimAccount, probe: boolean): Promise<void> {
    const { db, clock, logger, transport, settings } = this.deps;
    const ctx: RecordContext = {
      accountId: this.accountId,
      accountEmail: account.email,
      accountTimeZone: account.time_zone,
      providerKey: providerKey(account.transport, account.transport_settings),
      leaseToken,
      probe,
      settings: settings.record,
      random: this.random,
    };

    // Loaded on the first batch, not at start: most of 1,200 workers sit idle most of the time,
    // and the builder (templates, html-to-text) is a good part of an idle worker's memory.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MessageBuildError, prepareMessage } = require('./message-builder') as typeof import('./message-builder');
    const messages = new Map<number, OutgoingMessage>();
    const contexts = await loadMessageContexts(db, rows.map((r) => r.id));
    for (const row of rows) {
      const context = contexts.get(row.id);
      try {
        if (!context) throw new MessageBuildError('queue row data vanished');
        const message = await prepareMessage(db, {
          ...context,
          account: { id: this.accountId, email: account.email, display_name: account.display_name },
          signer: this.deps.signer,
          ...(settings.feedbackSenderId ? { feedbackSenderId: settings.feedbackSenderId } : {}),
        });
        messages.set(row.id, message);
      } catch (error) {
        // A row that cannot be built will never be sendable: fail it visibly, never loop on it.
        const reason = error instanceof Error ? error.message : String(error);
        logger.error('message cannot be built; row failed', { queueId: row.id, reason });
        const failed = await transition(db, row.id, ['claimed'], leaseToken, { status: 'failed', last_error: `build: ${reason}`.slice(0, 500), lease_token: null, lease_expires_at: null, updated_at: clock.now() });
        if (failed) await releaseReservation(db, failed, ctx);
      }
    }

    const ready = rows.filter((r) => messages.has(r.id));
    if (this.stopping) {
      await this.release(leaseToken, ready.map((r) => r.id), ctx);
      return;
    }
    const now = clock.now();
    const sendingIds = new Set(await markSending(db, ready.map((r) => r.id), leaseToken, now, new Date(now.getTime() + settings.claim.leaseMs)));
    const attempts = await Promise.all(
      ready
        .filter((r) => sendingIds.has(r.id))
        .map(async (row): Promise<Attempt | { row: CandidateRow; thrown: string; durationMs: number }> => {
          const started = Date.now();
          try {
            const result: SendResult = await transport.send(messages.get(row.id) as OutgoingMessage);
            return { row, result, durationMs: Date.now() - started };
          } catch (error) {
            return { row, thrown: error instanceof Error ? error.message : String(error), durationMs: Date.now() - started };
          }
        }),
    );

    const recordedAt = clock.now();
    const accepted = attempts.filter((a): a is Attempt => 'result' in a && a.result.outcome === 'accepted');
    this.sent += await recordAccepted(db, ctx, accepted, recordedAt);
    for (const attempt of attempts) {
      if ('thrown' in attempt) {
        // The transport did not say what happened: treat as possibly delivered.
        logger.warn('transport threw; row recorded unknown', { queueId: attempt.row.id, error: attempt.thrown });
        await recordUncertain(db, ctx, attempt.row, `transport error: ${attempt.thrown}`, attempt.durationMs, recordedAt);
      } else if (attempt.result.outcome !== 'accepted') {
        const recorded = await recordResult(db, ctx, attempt, recordedAt);
        logger.info('send not accepted', { queueId: attempt.row.id, outcome: attempt.result.outcome, code: attempt.result.code, recorded });
      }
    }
    // Claimed rows not marked sending (lost to a sweeper, or stopping) go back.
    const leftover = ready.filter((r) => !sendingIds.has(r.id)).map((r) => r.id);
    if (leftover.length > 0) await this.release(leaseToken, leftover, ctx);
  }

  private async release(leaseToken: string, ids: number[], ctx: RecordContext): Promise<void> {
    if (ids.length === 0) return;
    await this.deps.db.transaction().execute(async (tx) => {
      const released = await releaseClaims(tx, leaseToken, ids, this.deps.clock.now());
      for (const row of released) await releaseReservation(tx, row, ctx);
    });
  }

  /**
   * Waits `ms`, or less when nudged or stopped, without touching the database: a fleet of
   * idle workers must cost (almost) nothing. Liveness goes to the parent over IPC every
   * heartbeat interval (the orchestrator persists it in batches); a worker with no parent
   * (started by hand) writes its heartbeat row itself.
   */
  private async wait(ms: number): Promise<void> {
    const { clock, settings } = this.deps;
    const deadline = clock.now().getTime() + ms;
    while (!this.stopping) {
      const remaining = deadline - clock.now().getTime();
      if (remaining <= 0) return;
      await clock.sleep(Math.min(remaining, settings.heartbeatIntervalMs), this.wake.signal);
      if (this.wake.signal.aborted) {
        this.wake = new AbortController();
        return;
      }
      if (clock.now().getTime() < deadline) await this.beatWhileWaiting();
    }
  }

  private async beatWhileWaiting(): Promise<void> {
    if (this.deps.notify) this.beatToParent(this.deps.clock.now());
    else await this.heartbeat(true).catch((error: unknown) => this.deps.logger.warn('heartbeat failed', { error: (error as Error).message }));
  }

  private beatToParent(now: Date): void {
    this.deps.notify?.({ type: 'heartbeat', accountId: this.accountId, state: this.state, sent: this.sent, at: now.toISOString() });
  }

  private setState(state: WorkerState, reason?: string, until?: Date): void {
    if (state === this.state && state !== 'waiting') return;
    const changed = state !== this.state;
    this.state = state;
    if (changed) this.deps.notify?.({ type: 'status', accountId: this.accountId, state, ...(reason ? { reason } : {}), ...(until ? { until: until.toISOString() } : {}) });
  }

  private async heartbeat(force = false): Promise<void> {
    const nowMs = Date.now();
    if (!force && nowMs - this.lastBeatAt < this.deps.settings.heartbeatIntervalMs) return;
    this.lastBeatAt = nowMs;
    const now = this.deps.clock.now();
    await recordHeartbeats(this.deps.db, this.deps.settings.nodeId, [{ accountId: this.accountId, pid: process.pid, state: this.state, sent: this.sent, beatAt: now }]);
    this.beatToParent(now);
  }
}
