/**
 * The send loop of one sender account. Worker states (reported to the parent and in
 * worker_heartbeats, with the wait's reason and end in `details`):
 *
 *   starting → sending ⇄ waiting (limits, gap, window, nothing due until the next row's time,
 *            cool-down, database unavailable)
 *            → stopping (SIGTERM: the sends on the wire are finished and recorded, claims not
 *              yet handed to the transport are released) → stopped
 *            → inactive (account missing, suspended, disabled or manually paused: exits)
 *            → idle_exit (its next send is further away than the keep-alive: exits cleanly,
 *              holding no claims; the heartbeat's `until` says when the orchestrator should
 *              start it again, and its beat time is when the claim that found nothing began,
 *              so a nudge for new work that came after that starts it at once)
 *            → failed (an error that is not the database being away: exits non-zero, so the
 *              orchestrator counts a crash, backs off and raises an alert in the end)
 *
 * A batch is sent by as many lanes as the transport has connections; each lane has the send
 * journal mark its next row `sending` just before handing it over, so a crash leaves at most
 * one uncertain row per connection (send-journal.ts). While the database is away the worker
 * keeps its results in memory, retries, and claims nothing until they are written.
 *
 * Heartbeats: a row in worker_heartbeats, written on the way into each claim (the worker is
 * connected then anyway) at most every heartbeat interval; while waiting or sending, an IPC
 * message to the parent instead, which the orchestrator writes for all its workers in one
 * statement. Waiting ends at the wait's deadline (the next row's due time included) or on a
 * nudge (new work, campaign or account edited, campaign started).
 *
 * Everything outside comes in as dependencies (database, transport, clock, logger), so tests
 * run this loop against real Postgres and a real SMTP peer with a controllable clock.
 */
import type { Db } from '../db/connection';
import { isDatabaseUnavailable, unavailableRetryDelayMs } from '../db/unavailable';
import { claimBatch, type ClaimSettings } from '../queue/claim';
import { releaseClaims, transition, type CandidateRow } from '../queue/queue.repository';
import type { TrackingSigner } from '../tracking/tracking-token';
import type { OutgoingMessage, Transport } from '../transports/transport';
import { recordHeartbeats } from '../orchestrator/worker.repository';
import type { ClaimAccount } from './account-state.repository';
import { providerKey } from './circuit-breaker';
import { loadMessageContexts } from './message-context.repository';
import { releaseReservation, type RecordContext, type RecordSettings } from './result-recorder';
import { SendJournal } from './send-journal';

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
  | { type: 'heartbeat'; accountId: string; state: WorkerState; sent: number; at: string; reason?: string; until?: string }
  | { type: 'status'; accountId: string; state: WorkerState; sent: number; at?: string; reason?: string; until?: string };

export type WorkerState = 'starting' | 'sending' | 'waiting' | 'stopping' | 'stopped' | 'inactive' | 'idle_exit' | 'failed';

export interface SendWorkerSettings {
  claim: ClaimSettings;
  record: RecordSettings;
  idlePollMs: number;
  heartbeatIntervalMs: number;
  /**
   * A wait longer than this ends the worker (idle_exit) instead: an idle process costs memory
   * all along, a start costs a little CPU (README "Workers that come and go"). 0: never.
   */
  keepAliveMs: number;
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
  reason: 'stopped' | 'inactive' | 'idle_exit';
  detail?: string;
  /** idle_exit: when its next send may be due (the orchestrator starts it again shortly before). */
  until?: Date;
  sent: number;
}


export class SendWorker {
  private stopping = false;
  private wake = new AbortController();
  private state: WorkerState = 'starting';
  private waitReason: string | undefined;
  private waitUntil: Date | undefined;
  private sent = 0;
  private lastBeatAt = 0;
  /** idle_exit: when the claim that found nothing began (its heartbeat's time; see the states above). */
  private idleSince: Date | undefined;
  private dbFailures = 0;
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

  /** Finish the sends on the wire, release the rest, then run() resolves. */
  stop(): void {
    this.stopping = true;
    this.wake.abort();
  }

  get sentCount(): number {
    return this.sent;
  }

  /** Resolves when the worker stops on purpose or its account is not active; rejects when it fails. */
  async run(): Promise<WorkerExit> {
    const { db, clock, logger, settings } = this.deps;
    try {
      while (!this.stopping) {
        let claim;
        let claimedAt;
        try {
          await this.heartbeat();
          claimedAt = clock.now();
          claim = await claimBatch(db, this.accountId, claimedAt, settings.claim, this.random);
        } catch (error) {
          if (!isDatabaseUnavailable(error)) throw error;
          await this.waitForDatabase(error);
          continue;
        }
        this.dbFailures = 0;
        if (claim.kind === 'inactive') {
          const detail = `${claim.status}${claim.reason ? ` (${claim.reason})` : ''}`;
          logger.warn(`account ${this.accountId} is not active: ${detail}; worker exits`, { accountId: this.accountId, status: claim.status });
          this.setState('inactive', detail);
          await this.heartbeat(true).catch(() => undefined);
          return { reason: 'inactive', detail, sent: this.sent };
        }
        if (claim.kind === 'wait') {
          const now = clock.now().getTime();
          const untilMs = claim.until ? Math.max(0, claim.until.getTime() - now) : settings.idlePollMs;
          // Its next send is known and beyond the keep-alive: exit (no claim is held between
          // batches). That includes due rows held back by a full recipient-domain or campaign
          // day counter or an open recipient-domain breaker: the claim says when that ends. A
          // wait with no known end (nothing queued at all: the orchestrator stops the worker)
          // keeps polling. A nudge that came during the claim may mean new work, so then look
          // again instead.
          if (claim.until && settings.keepAliveMs > 0 && untilMs > settings.keepAliveMs && !this.takeNudge()) {
            const until = claim.until;
            this.idleSince = claimedAt;
            this.setState('idle_exit', claim.reason, until);
            return { reason: 'idle_exit', detail: claim.reason, until, sent: this.sent };
          }
          this.setState('waiting', claim.reason, claim.until);
          // Waits end at the next row's due time (the claim says when); idlePollMs is a safety net.
          await this.wait(Math.min(untilMs, settings.idlePollMs));
          continue;
        }
        this.setState('sending');
        await this.processBatch(claim.rows, claim.leaseToken, claim.account, claim.probe);
      }
      this.setState('stopped');
      return { reason: 'stopped', sent: this.sent };
    } catch (error) {
      this.setState('failed', (error as Error).message);
      throw error;
    } finally {
      await this.heartbeat(true).catch(() => undefined);
    }
  }

  /** Whether a nudge (or stop) came since the last wait; resets it. */
  private takeNudge(): boolean {
    if (!this.wake.signal.aborted) return false;
    if (!this.stopping) this.wake = new AbortController();
    return true;
  }

  /** The database is away: say so, wait with back-off (a nudge or stop ends the wait early). */
  private async waitForDatabase(error: unknown): Promise<void> {
    this.dbFailures += 1;
    const delayMs = unavailableRetryDelayMs(this.dbFailures - 1);
    if (this.dbFailures === 1) this.deps.logger.warn('database unavailable; waiting', { error: (error as Error).message });
    this.setState('waiting', 'db_unavailable', new Date(this.deps.clock.now().getTime() + delayMs));
    await this.wait(delayMs);
  }

  private async processBatch(rows: CandidateRow[], leaseToken: string, account: ClaimAccount, probe: boolean): Promise<void> {
    const { db, clock, logger, transport, settings } = this.deps;
    const ctx: RecordContext = {
      accountId: this.accountId,
      accountEmail: account.email,
      clientId: account.client_id,
      accountTimeZone: account.time_zone,
      providerKey: providerKey(account),
      leaseToken,
      probe,
      settings: settings.record,
      random: this.random,
      clean: Number(account.health_score) >= 100 && Number(account.deferral_rate_pct) === 0 && account.consecutive_failures === 0,
    };
    const journal = new SendJournal({
      db,
      ctx,
      rowIds: rows.map((r) => r.id),
      leaseMs: settings.claim.leaseMs,
      now: () => clock.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      logger,
      onDatabaseWait: (waiting) => this.setState('sending', waiting ? 'db_unavailable' : undefined),
      onTick: () => this.beatToParent(clock.now()),
      tickMs: settings.heartbeatIntervalMs,
    });
    try {
      const messages = await this.buildMessages(rows, leaseToken, account, ctx);
      const waiting = rows.filter((r) => messages.has(r.id));
      // Lanes take rows in claim order; each marks its row `sending` only when it is next on the wire.
      const lane = async () => {
        while (!this.stopping && !journal.failed) {
          const row = waiting.shift();
          if (!row) return;
          if (!(await journal.mark(row))) continue; // no longer ours (lease lost): never send it
          const started = Date.now();
          try {
            const result = await transport.send(messages.get(row.id) as OutgoingMessage);
            journal.record({ attempt: { row, result, durationMs: Date.now() - started } });
          } catch (error) {
            // The transport did not say what happened: treat as possibly delivered.
            journal.record({ uncertain: row, response: error instanceof Error ? error.message : String(error), durationMs: Date.now() - started });
          }
        }
      };
      const lanes = Math.max(1, Math.min(transport.maxInFlight, waiting.length));
      await Promise.all(Array.from({ length: lanes }, lane));
      await journal.flush();
      this.sent += journal.sent;
      // Rows never handed over (stopping, or a lane gave up) go back to the queue.
      if (waiting.length > 0) await this.release(leaseToken, waiting.map((r) => r.id), ctx);
    } finally {
      journal.close();
    }
  }

  /** Builds each row's message; a row that cannot be built fails visibly instead of looping. */
  private async buildMessages(rows: CandidateRow[], leaseToken: string, account: ClaimAccount, ctx: RecordContext): Promise<Map<number, OutgoingMessage>> {
    const { db, clock, logger, settings } = this.deps;
    // Loaded on the first batch, not at start: most of 1,200 workers sit idle most of the time,
    // and the builder (templates, html-to-text) is a good part of an idle worker's memory.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MessageBuildError, prepareMessage } = require('./message-builder') as typeof import('./message-builder');
    const messages = new Map<number, OutgoingMessage>();
    const contexts = await this.retryWhileUnavailable(() => loadMessageContexts(db, rows.map((r) => r.id)));
    for (const row of rows) {
      const context = contexts.get(row.id);
      try {
        if (!context) throw new MessageBuildError('queue row data vanished');
        const message = await this.retryWhileUnavailable(() =>
          prepareMessage(db, {
            ...context,
            account: { id: this.accountId, email: account.email, display_name: account.display_name },
            signer: this.deps.signer,
            ...(settings.feedbackSenderId ? { feedbackSenderId: settings.feedbackSenderId } : {}),
          }),
        );
        messages.set(row.id, message);
      } catch (error) {
        if (!(error instanceof MessageBuildError)) throw error;
        const reason = error.message;
        logger.error('message cannot be built; row failed', { queueId: row.id, reason });
        await this.retryWhileUnavailable(() =>
          db.transaction().execute(async (tx) => {
            const failed = await transition(tx, row.id, ['claimed'], leaseToken, { status: 'failed', last_error: `build: ${reason}`.slice(0, 500), lease_token: null, lease_expires_at: null, updated_at: clock.now() });
            if (failed) await releaseReservation(tx, failed, ctx);
          }),
        );
      }
    }
    return messages;
  }

  private async release(leaseToken: string, ids: number[], ctx: RecordContext): Promise<void> {
    if (ids.length === 0) return;
    await this.retryWhileUnavailable(() =>
      this.deps.db.transaction().execute(async (tx) => {
        const released = await releaseClaims(tx, leaseToken, ids, this.deps.clock.now());
        for (const row of released) await releaseReservation(tx, row, ctx);
      }),
    );
  }

  /**
   * Runs a database step, waiting out an unavailable database with back-off. When stopping it
   * gives up after a few tries: what it could not write (claims to release) expires with the lease.
   */
  private async retryWhileUnavailable<T>(step: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (!isDatabaseUnavailable(error) || (this.stopping && attempt >= 3)) throw error;
        if (attempt === 0) this.deps.logger.warn('database unavailable; retrying', { error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, unavailableRetryDelayMs(attempt)));
      }
    }
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
    this.deps.notify?.({
      type: 'heartbeat',
      accountId: this.accountId,
      state: this.state,
      sent: this.sent,
      at: now.toISOString(),
      ...(this.waitReason ? { reason: this.waitReason } : {}),
      ...(this.waitUntil ? { until: this.waitUntil.toISOString() } : {}),
    });
  }

  private setState(state: WorkerState, reason?: string, until?: Date): void {
    const changed = state !== this.state || reason !== this.waitReason || until?.getTime() !== this.waitUntil?.getTime();
    this.state = state;
    this.waitReason = reason;
    this.waitUntil = until;
    // Every status says when (the worker's clock): the parent writes what it relays to the
    // heartbeat row only over older news, and a status stamped when it arrived could, relayed
    // late, overwrite the idle_exit the worker wrote itself as it exited (then judged a crash).
    const at = (state === 'idle_exit' ? this.idleSince : undefined) ?? this.deps.clock.now();
    if (changed) this.deps.notify?.({ type: 'status', accountId: this.accountId, state, sent: this.sent, at: at.toISOString(), ...(reason ? { reason } : {}), ...(until ? { until: until.toISOString() } : {}) });
  }

  /** The worker's own heartbeat row; a database that is away does not stop the worker for it. */
  private async heartbeat(force = false): Promise<void> {
    const nowMs = Date.now();
    if (!force && nowMs - this.lastBeatAt < this.deps.settings.heartbeatIntervalMs) return;
    this.lastBeatAt = nowMs;
    const now = (this.state === 'idle_exit' ? this.idleSince : undefined) ?? this.deps.clock.now();
    await recordHeartbeats(this.deps.db, this.deps.settings.nodeId, [
      { accountId: this.accountId, pid: process.pid, state: this.state, sent: this.sent, beatAt: now, ...(this.waitReason ? { reason: this.waitReason } : {}), ...(this.waitUntil ? { until: this.waitUntil } : {}) },
    ]);
    this.beatToParent(now);
  }
}
