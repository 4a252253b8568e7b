/**
 * Keeps exactly one PM2 worker alive for every account this node owns that should be
 * sending, and none for the others.
 *
 * Per owned account (judged at each reconcile):
 *   idle      no process; starts one when active + work due + quota left (and not backing off)
 *   running   process online; stopped when paused/suspended/disabled/crashed, out of quota,
 *             out of work or the lease is lost; restarted when it misses heartbeats
 *   exited    the process ended by itself: a clean exit (its last status said 'stopped',
 *             'inactive' or 'idle_exit') just goes back to idle; anything else is a crash
 *   asleep    the worker exited because its next send was further away than
 *             orchestrator.workerKeepAliveSeconds (idle_exit, with that time): no worker is
 *             needed until workerWakeLeadSeconds before it, when a timer reconciles again; a
 *             nudge for the account (new work, a campaign started or edited, the account edited,
 *             the LISTEN connection or this node starting) ends the sleep at once
 *   backoff   after a crash: restarted after base × 2^(restarts this hour), capped; after
 *             maxRestartsPerHour restarts in an hour the account becomes 'crashed' instead
 *
 * Reconciles run every reconcileIntervalMs, at once on a Postgres notification (account or
 * campaign status change; the server LISTENs, workers never do), and when a worker exits.
 * Reconciles never overlap; a request during one runs one more afterwards.
 */
import path from 'node:path';
import { PROJECT_ROOT, type Config } from '../config';
import type { Db } from '../db/connection';
import { isDatabaseUnavailable } from '../db/unavailable';
import type { Logger } from '../logger';
import { listAccountOwners, type AcquiredLease } from './account-lease.repository';
import { listAccountDemand, listNextDue, type AccountDemand } from './account-demand.repository';
import { ChangeListener } from './change-listener';
import { describeFdShortage, readFdLimit } from './fd-limit';
import { NodeLeases } from './node-leases';
import { findNodes } from './node.repository';
import { Pm2Supervisor, terminateOrphans, WORKER_MARKER_VAR, type WorkerProcess } from './pm2-supervisor';
import { isProcessAlive, readEnvironVariable } from './proc-stats';
import { hasQuotaLeft } from './quota';
import { pickWithinCap, resolveMaxWorkers } from './worker-cap';
import {
  countRecentRestarts,
  listHeartbeats,
  listHeartbeatsOfNode,
  listPoolAccountIds,
  markAccountCrashed,
  recordHeartbeats,
  recordWorkerRestart,
  type WorkerHeartbeat,
} from './worker.repository';

export const ORCHESTRATOR_CHANNEL = 'outreach_orchestrator';
const HOUR_MS = 3_600_000;
/** Worker states (heartbeat row or last status message) that mean "I stopped on purpose". */
const CLEAN_EXIT_STATES = new Set(['stopped', 'stopping', 'inactive', 'idle_exit']);

export interface OrchestratorOptions {
  db: Db;
  /** What workers connect to (with the embedded default: the server's own connection string). */
  connectionString: string;
  config: Config;
  logger: Logger;
  /** Compiled worker entry; defaults to dist/workers/send-worker.js. */
  workerScript?: string;
  /** Extra environment for workers (e.g. CONFIG_FILE in tests). */
  workerEnv?: Record<string, string>;
  /** Recovers expired claims (the sending engine's sweeper); run every sweepIntervalMs. */
  sweep?: (db: Db, now: Date) => Promise<unknown>;
  /** Set false to not LISTEN (then only the interval and worker exits trigger reconciles). */
  listen?: boolean;
  /** Told of worker starts and crashes (the /metrics counters). */
  events?: { workersStarted(count: number): void; workerCrashed(): void; workersWaitingForSlot?(count: number): void };
}

export interface WorkerSnapshot {
  process: WorkerProcess | undefined;
  lastMessageAt: number | undefined;
  backoffUntilMs: number | undefined;
}

export class Orchestrator {
  readonly supervisor: Pm2Supervisor;
  readonly leases: NodeLeases;
  /** orchestrator.maxWorkers resolved (null: no cap). */
  readonly maxWorkers: number | null;
  /** Accounts that wanted a worker at the last reconcile but found no free slot under maxWorkers. */
  private waitingForSlot: string[] = [];
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly db: Db;
  private reconcileTimer: NodeJS.Timeout | undefined;
  /** When reconcileTimer fires. */
  private reconcileAtMs = Infinity;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private listener: ChangeListener | undefined;
  private readonly backoffUntil = new Map<string, number>();
  private readonly backoffTimers = new Set<NodeJS.Timeout>();
  private readonly lastMessage = new Map<string, { atMs: number; state?: string; beatAtMs?: number; untilMs?: number }>();
  /**
   * Nudges per account since its last start: when the latest came, and the earliest time the
   * work they announced is due (now for edits and campaign starts, the rows' run_after for
   * queued rows). An idle_exit decided (its claim begun) before the latest nudge may have
   * missed that work, so the account is started by then at the latest.
   */
  private readonly nudges = new Map<string, { lastAtMs: number; earliestDueMs: number }>();
  /**
   * When every account was nudged: this node's start and each return of the LISTEN
   * connection (notifications sent while it was not listening are lost).
   */
  private allWokenAtMs = Date.now();
  /** When this node last asked for each account's worker to start (its earlier beats are of an earlier process). */
  private readonly startRequestedAtMs = new Map<string, number>();
  /** The earliest time an asleep account must be started (its wake time less the lead). */
  private nextWakeMs: number | undefined;
  /** Accounts whose process we are stopping on purpose: their exit is not a crash. */
  private readonly stopping = new Set<string>();
  private lastProcesses: WorkerProcess[] = [];
  private lastReconcileAt: Date | undefined;
  /** Heartbeats received over IPC since the last flush, newest per account. */
  private readonly pendingBeats = new Map<string, { state: string; sent: number; beatAt: Date; reason?: string; until?: Date }>();
  private beatFlushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OrchestratorOptions) {
    this.config = options.config;
    this.logger = options.logger.child({ component: 'orchestrator' });
    this.db = options.db;
    const o = this.config.orchestrator;
    this.maxWorkers = resolveMaxWorkers(o.maxWorkers);
    this.supervisor = new Pm2Supervisor({
      pm2Home: this.config.pm2Home,
      scriptPath: options.workerScript ?? path.join(PROJECT_ROOT, 'dist', 'workers', 'send-worker.js'),
      codeCacheDir: path.join(this.config.dataDir, 'code-cache'),
      binDir: path.join(this.config.dataDir, 'bin'),
      cwd: PROJECT_ROOT,
      env: { ...this.config.workerEnv, DATABASE_URL: options.connectionString, ...options.workerEnv },
      logMode: o.workerLogs,
      logDir: path.join(this.config.dataDir, 'logs'),
      startBatchSize: o.startBatchSize,
      startConcurrency: o.startConcurrency,
      maxStartingWorkers: o.maxStartingWorkers,
      stopTimeoutMs: o.workerStopTimeoutMs,
      logger: this.logger,
    });
    this.leases = new NodeLeases(
      this.db,
      this.config.nodeId,
      o.nodeLeaseMs,
      {
        onLost: (ids) => this.stopAccounts(ids, 'lease lost'),
        onAcquired: (leases) => this.adoptLeases(leases),
        shed: (count) => this.shed(count),
      },
      this.logger,
    );
    this.wireSupervisorEvents();
  }

  async start(): Promise<void> {
    await this.supervisor.ensureConnected(false);
    await this.killOwnOrphans();
    await this.leases.start();
    this.checkFdLimit(this.leases.ownedIds().length);
    if (this.options.listen !== false) {
      this.listener = new ChangeListener({
        connectionString: this.options.connectionString,
        channel: ORCHESTRATOR_CHANNEL,
        applicationName: `outreach-orchestrator-${this.config.nodeId}`,
        logger: this.logger,
        onNotification: (payload) => this.onNotification(payload),
        // Changes notified while the connection was down are lost: reconcile, and wake every
        // waiting worker (queued rows may be waiting for them), as if told about everything.
        onResumed: () => {
          this.allWokenAtMs = Date.now();
          this.requestReconcile();
          void this.nudgePools(undefined);
        },
      });
      await this.listener.start();
    }
    this.scheduleReconcile(0);
    this.beatFlushTimer = setInterval(() => void this.flushHeartbeats(), this.config.orchestrator.heartbeatIntervalMs);
    this.beatFlushTimer.unref();
    this.logger.info('orchestrator started', { node: this.config.nodeId, pm2Home: this.supervisor.pm2Home, accounts: this.leases.ownedIds().length });
  }

  private checkFdLimit(workerCount: number): void {
    const shortage = describeFdShortage(readFdLimit(this.supervisor.getDaemonPid() ?? 'self') ?? readFdLimit('self'), workerCount);
    if (shortage) this.logger.error(shortage);
  }

  /** Whether the LISTEN connection is up (false while the database is away, and with listen: false). */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  /** Asks for a reconcile now (coalesced with one in progress). */
  requestReconcile(): void {
    this.scheduleReconcile(0);
  }

  /** Reconciles after `delayMs`, unless one is already due sooner. */
  private scheduleReconcile(delayMs: number): void {
    if (this.stopped) return;
    if (delayMs === 0 && this.running) {
      this.again = true;
      return;
    }
    const atMs = Date.now() + delayMs;
    if (this.reconcileTimer !== undefined && this.reconcileAtMs <= atMs) return;
    this.clearReconcileTimer();
    this.reconcileAtMs = atMs;
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined;
      void this.reconcile();
    }, delayMs);
  }

  private clearReconcileTimer(): void {
    clearTimeout(this.reconcileTimer);
    this.reconcileTimer = undefined;
    this.reconcileAtMs = Infinity;
  }

  /** Runs one reconcile (or joins the one in progress and runs one more after it). */
  async reconcile(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.clearReconcileTimer();
    this.running = this.runReconcile()
      .catch((error: unknown) => {
        // An outage is retried by the next reconcile (the interval, or the LISTEN connection coming back).
        if (isDatabaseUnavailable(error)) this.logger.warn('reconcile skipped: database unavailable', { error: (error as Error).message });
        else this.logger.error('reconcile failed', { error: (error as Error).message, stack: (error as Error).stack });
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.scheduleReconcile(0);
        } else {
          // The interval, or sooner when an asleep account must be started before then.
          const untilWakeMs = this.nextWakeMs === undefined ? Infinity : Math.max(0, this.nextWakeMs - Date.now());
          this.scheduleReconcile(Math.min(this.config.orchestrator.reconcileIntervalMs, untilWakeMs));
        }
      });
    return this.running;
  }

  private async runReconcile(): Promise<void> {
    if (this.stopped) return;
    if (this.supervisor.connected && !this.supervisor.isDaemonAlive()) await this.recoverDaemon();
    const o = this.config.orchestrator;
    const now = new Date();
    const listed = await this.supervisor.list();
    // Workers whose server is gone (resurrected by `pm2 resurrect` from a dump that held them,
    // or left by a server that crashed) are removed, never adopted nor counted as crashes:
    // the ones this server starts replace them.
    const orphans = listed.filter((p) => p.orphaned);
    if (orphans.length > 0) await this.removeOrphanedEntries(orphans);
    const processes = listed.filter((p) => !p.orphaned);
    this.lastProcesses = processes;
    const byAccount = new Map(processes.map((p) => [p.accountId, p]));

    const toStop: { proc: WorkerProcess; reason: string }[] = [];
    for (const proc of processes) if (!this.leases.isOwned(proc.accountId)) toStop.push({ proc, reason: 'not owned by this node' });

    const owned = this.leases.ownedIds();
    const leadMs = o.workerWakeLeadSeconds * 1000;
    // Work due within the lead counts too: a woken account's next row must be seen as work.
    const demand = await listAccountDemand(this.db, owned, Math.max(o.reconcileIntervalMs, leadMs));
    const beats = new Map((await listHeartbeats(this.db, owned)).map((h) => [h.accountId, h]));
    let toStart: AccountDemand[] = [];
    /** Wake times of the asleep accounts this reconcile starts (they go first). */
    const wakingAtMs = new Map<string, number>();
    /** Processes kept running by this reconcile: what counts against maxWorkers. */
    let resident = 0;
    this.nextWakeMs = undefined;

    for (const account of demand) {
      const proc = byAccount.get(account.accountId);
      let why = this.reasonNotToRun(account, now, proc !== undefined);
      const alive = proc !== undefined && (proc.status === 'online' || proc.status === 'launching') && proc.pid > 0 && isProcessAlive(proc.pid);
      if (!why && !alive) {
        const wakeMs = this.sleepsUntil(account.accountId, beats.get(account.accountId));
        // A third of the lead ahead too: one reconcile per wake would cost a demand query every
        // half second at the seed's pacing (1,200 mailboxes, 600 s apart).
        if (wakeMs !== undefined && wakeMs - leadMs > now.getTime() + leadMs / 3) {
          why = `asleep until ${new Date(wakeMs).toISOString()}`;
          this.nextWakeMs = Math.min(this.nextWakeMs ?? Infinity, wakeMs - leadMs);
        } else if (wakeMs !== undefined) {
          wakingAtMs.set(account.accountId, wakeMs);
        }
      }
      if (proc) {
        if (!alive) {
          // Only what this process said: a worker that dies before its first word after an
          // earlier one exited cleanly (idle_exit, stopped) is a crash, not a clean exit. Its
          // last message, or its heartbeat row, which it writes before it exits: PM2's bus can
          // bring the exit before the last message (seen in a start-up wave of 1,200).
          const beat = beats.get(account.accountId);
          const startedAtMs = this.startRequestedAtMs.get(account.accountId) ?? 0;
          const said = [this.lastMessage.get(account.accountId)?.state, beat && beat.beatAt.getTime() >= startedAtMs ? beat.state : undefined];
          const clean = this.stopping.has(account.accountId) || said.some((state) => state !== undefined && CLEAN_EXIT_STATES.has(state));
          await this.supervisor.stopWorker(proc.pmId);
          this.stopping.delete(account.accountId);
          if (!clean) await this.handleCrash(account, `process ${proc.status === 'errored' ? 'errored' : 'exited'} unexpectedly`);
          else if (!why && !this.inBackoff(account.accountId, now)) toStart.push(account);
          continue;
        }
        if (why) {
          toStop.push({ proc, reason: why });
          continue;
        }
        const uptimeMs = now.getTime() - proc.startedAtMs;
        const lastBeatMs = Math.max(beats.get(account.accountId)?.beatAt.getTime() ?? 0, this.lastMessage.get(account.accountId)?.atMs ?? 0);
        if (uptimeMs > o.heartbeatStaleMs && now.getTime() - lastBeatMs > o.heartbeatStaleMs) {
          this.logger.warn('worker missed its heartbeats; restarting it', { account: account.accountId, pid: proc.pid });
          this.stopping.add(account.accountId);
          await this.supervisor.stopWorker(proc.pmId);
          this.stopping.delete(account.accountId);
          await this.handleCrash(account, 'heartbeats missed');
        } else {
          resident += 1;
        }
      } else if (!why && !this.inBackoff(account.accountId, now)) {
        toStart.push(account);
      }
    }

    for (const { proc } of toStop) this.stopping.add(proc.accountId);
    await Promise.all(
      toStop.map(async ({ proc, reason }) => {
        this.logger.info('stopping worker', { account: proc.accountId, reason });
        await this.supervisor.stopWorker(proc.pmId).catch((error: unknown) => this.logger.warn('stop failed', { error: (error as Error).message }));
        this.stopping.delete(proc.accountId);
      }),
    );

    toStart = await this.withinCap(toStart, resident);
    // Woken mailboxes go first, soonest due first: their next send has a known time; the
    // others' work is due now or was due, and their order is the queue's.
    const wakeOrder = (a: AccountDemand) => wakingAtMs.get(a.accountId) ?? Number.MAX_VALUE;
    toStart = [...toStart].sort((a, b) => wakeOrder(a) - wakeOrder(b));
    // One reconcile takes new starts for a third of the wake lead at most, then reconciles again
    // at once: a start-up wave of 1,200 takes minutes on two cores, and a mailbox that wakes
    // meanwhile must start within its lead, not at the wave's end. (By time, not by count: each
    // reconcile lists PM2's processes, which costs the daemon a /proc read per process.)
    if (toStart.length > 0) {
      // (At least one batch, whatever the time: a round that started nothing would never end.)
      const roundEndsMs = Date.now() + leadMs / 3;
      let begun = 0;
      this.checkFdLimit(processes.length + toStart.length);
      const started = await this.supervisor.startWorkers(
        toStart.map((a) => ({ id: a.accountId, email: a.email })),
        (id) => !this.stopped && this.leases.isOwned(id) && (begun === 0 || Date.now() < roundEndsMs),
        (ids) => {
          begun += ids.length;
          // Only for those started now (a round can end first): what it was nudged about, the
          // new process sees in its first claim; what the old one said is no longer news.
          for (const id of ids) {
            this.nudges.delete(id);
            this.lastMessage.delete(id);
            this.startRequestedAtMs.set(id, Date.now());
          }
        },
      );
      this.options.events?.workersStarted(started.length);
      this.logger.info('workers started', { count: started.length, wanted: toStart.length });
      // (Only after progress: a start that fails is retried by the interval, not in a loop.)
      if (started.length > 0 && started.length < toStart.length) this.again = true;
    }
    this.lastReconcileAt = now;
  }

  /**
   * The accounts of `wanting` that may start now under orchestrator.maxWorkers, `resident`
   * workers running: soonest due first. The rest wait; a worker's exit reconciles again.
   */
  private async withinCap(wanting: AccountDemand[], resident: number): Promise<AccountDemand[]> {
    let waiting: AccountDemand[] = [];
    let start = wanting;
    if (this.maxWorkers !== null && wanting.length > this.maxWorkers - resident) {
      const due = await listNextDue(this.db, wanting.map((a) => a.accountId));
      ({ start, waiting } = pickWithinCap(wanting, this.maxWorkers - resident, new Map([...due].map(([id, at]) => [id, at.getTime()]))));
    }
    if (waiting.length !== this.waitingForSlot.length) this.logger.debug('accounts waiting for a worker slot', { waiting: waiting.length, maxWorkers: this.maxWorkers, resident });
    this.waitingForSlot = waiting.map((a) => a.accountId);
    this.options.events?.workersWaitingForSlot?.(waiting.length);
    return start;
  }

  /** How many accounts wanted a worker at the last reconcile and wait for a slot (orchestrator.maxWorkers). */
  get accountsWaitingForSlot(): number {
    return this.waitingForSlot.length;
  }

  /**
   * undefined when the account should have a running worker, else why not. A worker is started
   * for work due within the reconcile interval; one already running is kept while it has any
   * work ahead (it sleeps until its next row is due, so stopping and restarting it every
   * reconcile would only cost starts).
   */
  private reasonNotToRun(account: AccountDemand, now: Date, running: boolean): string | undefined {
    if (!this.leases.isOwned(account.accountId)) return 'not owned by this node';
    const probing = account.status === 'paused' && account.probePending;
    if (account.status !== 'active' && !probing) return `account ${account.status}`;
    if (!(running ? account.hasFutureWork : account.hasWork)) return running ? 'no work left' : 'no work due';
    if (!hasQuotaLeft(account, this.config.warmup, now)) return 'daily quota used';
    return undefined;
  }

  /**
   * The wake time of an account whose worker exited idle (idle_exit), unless a nudge for it
   * came after the claim that made it exit began. From the exit's IPC status when this node saw
   * it, else from its heartbeat row (written by the worker on its way out).
   */
  private sleepsUntil(accountId: string, beat: WorkerHeartbeat | undefined): number | undefined {
    const message = this.lastMessage.get(accountId);
    let decidedAtMs: number | undefined;
    let untilMs: number | undefined;
    if (message?.state === 'idle_exit' && message.untilMs !== undefined) {
      decidedAtMs = message.beatAtMs ?? message.atMs;
      untilMs = message.untilMs;
    } else if (beat?.state === 'idle_exit' && typeof beat.details.until === 'string') {
      decidedAtMs = beat.beatAt.getTime();
      untilMs = new Date(beat.details.until).getTime();
    }
    if (decidedAtMs === undefined || untilMs === undefined || Number.isNaN(untilMs)) return undefined;
    if (decidedAtMs < this.allWokenAtMs) return undefined;
    const nudge = this.nudges.get(accountId);
    return nudge && decidedAtMs < nudge.lastAtMs ? Math.min(untilMs, nudge.earliestDueMs) : untilMs;
  }

  /**
   * Tells the reconcile that these accounts (all when undefined) may have work due at `dueMs`
   * (now by default) that their exited workers did not see, and reconciles.
   */
  private wake(accountIds: Iterable<string> | undefined, dueMs?: number): void {
    const nowMs = Date.now();
    const due = Math.min(dueMs ?? nowMs, Number.MAX_SAFE_INTEGER);
    if (accountIds === undefined) {
      this.allWokenAtMs = nowMs;
      this.requestReconcile();
      return;
    }
    // Running workers are nudged over IPC instead: reconcile only for accounts without one.
    const running = new Set(this.supervisor.knownWorkers().map((w) => w.accountId));
    let sleeper = false;
    for (const id of accountIds) {
      const previous = this.nudges.get(id);
      this.nudges.set(id, { lastAtMs: nowMs, earliestDueMs: Math.min(previous?.earliestDueMs ?? Infinity, due) });
      if (!running.has(id)) sleeper = true;
    }
    if (sleeper) this.requestReconcile();
  }

  private inBackoff(accountId: string, now: Date): boolean {
    const until = this.backoffUntil.get(accountId);
    if (until === undefined) return false;
    if (until <= now.getTime()) {
      this.backoffUntil.delete(accountId);
      return false;
    }
    return true;
  }

  private async handleCrash(account: AccountDemand, reason: string): Promise<void> {
    this.options.events?.workerCrashed();
    const o = this.config.orchestrator;
    const restarts = await countRecentRestarts(this.db, account.accountId, HOUR_MS);
    if (restarts >= o.maxRestartsPerHour) {
      const changed = await markAccountCrashed(this.db, { accountId: account.accountId, nodeId: this.config.nodeId, reason, restartsLastHour: restarts });
      this.backoffUntil.delete(account.accountId);
      this.logger.error('worker keeps crashing; account marked crashed', { account: account.accountId, reason, restarts, changed });
      return;
    }
    const delayMs = Math.min(o.restartBackoffBaseMs * 2 ** restarts, o.restartBackoffMaxMs);
    await recordWorkerRestart(this.db, { accountId: account.accountId, clientId: account.clientId, nodeId: this.config.nodeId, reason, restartNumber: restarts + 1 });
    this.backoffUntil.set(account.accountId, Date.now() + delayMs);
    this.logger.warn('worker crashed; restarting after backoff', { account: account.accountId, reason, restartNumber: restarts + 1, delayMs });
    const timer = setTimeout(() => {
      this.backoffTimers.delete(timer);
      this.requestReconcile();
    }, delayMs + 10);
    this.backoffTimers.add(timer);
  }

  /** SIGTERM (a live one finishes its send in flight and releases its claims) and out of PM2's list. */
  private async removeOrphanedEntries(orphans: WorkerProcess[]): Promise<void> {
    const alive = orphans.filter((p) => p.pid > 0 && isProcessAlive(p.pid)).length;
    this.logger.warn('removing workers whose server is gone', { count: orphans.length, alive });
    for (const p of orphans) this.stopping.add(p.accountId);
    await this.supervisor.stopWorkers(orphans.map((p) => p.pmId));
    for (const p of orphans) {
      this.stopping.delete(p.accountId);
      // What they said belongs to them, not to the worker this server starts next.
      this.lastMessage.delete(p.accountId);
    }
  }

  /** Stops the workers of these accounts (lease lost or handed back). */
  private async stopAccounts(accountIds: string[], reason: string): Promise<void> {
    const ids = new Set(accountIds);
    const procs = (await this.supervisor.list().catch(() => this.lastProcesses)).filter((p) => ids.has(p.accountId));
    for (const p of procs) this.stopping.add(p.accountId);
    if (procs.length > 0) this.logger.info('stopping workers', { count: procs.length, reason });
    await this.supervisor.stopWorkers(procs.map((p) => p.pmId));
    for (const p of procs) this.stopping.delete(p.accountId);
  }

  /** Gives away accounts to even out between nodes: ones without a worker first. */
  private async shed(count: number): Promise<string[]> {
    const procs = await this.supervisor.list();
    const withWorker = new Set(procs.map((p) => p.accountId));
    const owned = this.leases.ownedIds();
    const chosen = [...owned.filter((id) => !withWorker.has(id)), ...owned.filter((id) => withWorker.has(id))].slice(0, count);
    await this.stopAccounts(chosen, 'handed to another node');
    return chosen;
  }

  /**
   * Newly acquired leases: if the previous owner was a node on this same machine that died,
   * its workers may still run (their daemon outlived it); kill them by pid before ours start.
   */
  private async adoptLeases(leases: AcquiredLease[]): Promise<void> {
    const previous = [...new Set(leases.map((l) => l.previousNodeId).filter((id): id is string => id !== null))];
    if (previous.length > 0) {
      const sameHost = new Set((await findNodes(this.db, previous)).filter((n) => n.hostname === this.leases.hostname).map((n) => n.id));
      const accountIds = new Set(leases.filter((l) => l.previousNodeId && sameHost.has(l.previousNodeId)).map((l) => l.accountId));
      if (accountIds.size > 0) {
        const beats = (await listHeartbeats(this.db, [...accountIds])).filter((h) => h.pid && h.nodeId && sameHost.has(h.nodeId));
        await this.killMarkedPids(beats.map((h) => ({ pid: h.pid ?? 0, accountId: h.accountId })));
      }
    }
    this.requestReconcile();
  }

  /** At start: workers a previous run of this node left behind outside our daemon. */
  private async killOwnOrphans(): Promise<void> {
    const managed = new Set((await this.supervisor.list()).map((p) => p.pid));
    const beats = (await listHeartbeatsOfNode(this.db, this.config.nodeId)).filter((h) => h.pid && !managed.has(h.pid));
    await this.killMarkedPids(beats.map((h) => ({ pid: h.pid ?? 0, accountId: h.accountId })));
  }

  private async killMarkedPids(candidates: { pid: number; accountId: string }[]): Promise<void> {
    const orphans = candidates.filter((c) => c.pid > 0 && c.pid !== process.pid && readEnvironVariable(c.pid, WORKER_MARKER_VAR) === c.accountId);
    if (orphans.length === 0) return;
    this.logger.warn('terminating orphaned workers', { count: orphans.length, pids: orphans.map((o) => o.pid) });
    await terminateOrphans(orphans.map((o) => o.pid), this.config.orchestrator.workerStopTimeoutMs);
  }

  private async recoverDaemon(): Promise<void> {
    const known = [
      ...this.lastProcesses.map((p) => ({ pid: p.pid, accountId: p.accountId })),
      ...(await listHeartbeatsOfNode(this.db, this.config.nodeId)).map((h) => ({ pid: h.pid ?? 0, accountId: h.accountId })),
    ];
    this.logger.error('PM2 daemon is gone; terminating its orphaned workers and starting a new daemon', { known: known.length });
    const killed = await this.supervisor.recoverFromDaemonDeath(known);
    this.lastProcesses = [];
    this.stopping.clear();
    this.logger.warn('PM2 daemon recovered', { orphansTerminated: killed, daemonPid: this.supervisor.getDaemonPid() });
  }

  private onNotification(payload: string | undefined): void {
    let change: { table?: string; id?: string; status?: string; campaigns?: string[] | null; due?: number } = {};
    try {
      change = JSON.parse(payload ?? '{}') as typeof change;
    } catch {
      // a malformed payload still means "something changed"
    }
    this.requestReconcile();
    // Waiting workers do not poll: wake those that may have work now, or whose wait was
    // computed from settings that just changed (a campaign's window, an account's limits).
    if (change.table === 'campaigns' && change.status === 'running' && change.id) void this.nudgePools([change.id]);
    // Rows queued for later (a follow-up days ahead) wake sleeping accounts only when due.
    if (change.table === 'email_queue') void this.nudgePools(Array.isArray(change.campaigns) ? change.campaigns : undefined, typeof change.due === 'number' ? change.due : undefined);
    if (change.table === 'sender_accounts' && change.id) void this.nudgeAccount(change.id);
  }

  /**
   * Nudges the running workers of these campaigns' sender pools (all of them when undefined),
   * and wakes the pool accounts whose workers exited idle.
   */
  private async nudgePools(campaignIds: string[] | undefined, dueMs?: number): Promise<void> {
    try {
      const accounts = campaignIds ? new Set(await listPoolAccountIds(this.db, campaignIds)) : undefined;
      // "All" without campaigns is rare (over 100 campaigns at once): start every sleeper to look.
      this.wake(accounts, dueMs);
      // Not lastProcesses: it was listed before the last reconcile started its workers, and a
      // worker missed here would wait for its idle poll. A process that is not online just
      // fails the nudge.
      for (const worker of this.supervisor.knownWorkers()) {
        if (!accounts || accounts.has(worker.accountId)) await this.supervisor.nudge(worker.pmId).catch(() => undefined);
      }
    } catch (error) {
      this.logger.warn('nudging workers failed', { error: (error as Error).message });
    }
  }

  private async nudgeAccount(accountId: string): Promise<void> {
    this.wake([accountId]);
    const worker = this.supervisor.knownWorkers().find((w) => w.accountId === accountId);
    if (worker) await this.supervisor.nudge(worker.pmId).catch(() => undefined);
  }

  private async flushHeartbeats(): Promise<void> {
    if (this.pendingBeats.size === 0) return;
    const pids = new Map(this.lastProcesses.map((p) => [p.accountId, p.pid > 0 ? p.pid : null]));
    const beats = [...this.pendingBeats].map(([accountId, beat]) => ({ accountId, pid: pids.get(accountId) ?? null, ...beat }));
    this.pendingBeats.clear();
    await recordHeartbeats(this.db, this.config.nodeId, beats).catch((error: unknown) => this.logger.warn('writing heartbeats failed', { error: (error as Error).message }));
  }

  /** Worker process messages (heartbeat/status) and exits, relayed from PM2's bus. */
  private wireSupervisorEvents(): void {
    this.supervisor.onMessage(({ accountId, message }) => {
      const state = typeof message.state === 'string' ? message.state : undefined;
      const previous = this.lastMessage.get(accountId);
      const at = typeof message.at === 'string' ? new Date(message.at) : new Date();
      const until = typeof message.until === 'string' ? new Date(message.until) : undefined;
      this.lastMessage.set(accountId, {
        atMs: Date.now(),
        state: state ?? previous?.state,
        ...(Number.isNaN(at.getTime()) ? {} : { beatAtMs: at.getTime() }),
        ...(until && !Number.isNaN(until.getTime()) ? { untilMs: until.getTime() } : {}),
      });
      if ((message.type === 'heartbeat' || message.type === 'status') && state) {
        this.pendingBeats.set(accountId, {
          state,
          sent: typeof message.sent === 'number' ? message.sent : 0,
          beatAt: Number.isNaN(at.getTime()) ? new Date() : at,
          ...(typeof message.reason === 'string' ? { reason: message.reason } : {}),
          ...(until && !Number.isNaN(until.getTime()) ? { until } : {}),
        });
      }
    });
    this.supervisor.onExit((event) => this.onWorkerExit(event));
  }

  /**
   * A worker that exited asleep (idle_exit) needs no reconcile: its PM2 entry goes now (a dead
   * entry costs the daemon and every list, and deleting hundreds one by one in a later
   * reconcile held up the starts behind it), and a timer wakes it in time. Any other exit is
   * judged by a reconcile, as is any exit while accounts wait for a slot under maxWorkers.
   */
  private onWorkerExit({ accountId, pmId }: { accountId: string; pmId: number }): void {
    const wakeMs = this.stopping.has(accountId) ? undefined : this.sleepsUntil(accountId, undefined);
    if (wakeMs === undefined || this.waitingForSlot.length > 0) {
      this.requestReconcile();
      return;
    }
    this.supervisor.stopWorker(pmId).catch((error: unknown) => this.logger.warn('removing an exited worker failed', { account: accountId, error: (error as Error).message }));
    const startAtMs = wakeMs - this.config.orchestrator.workerWakeLeadSeconds * 1000;
    this.nextWakeMs = Math.min(this.nextWakeMs ?? Infinity, startAtMs);
    this.scheduleReconcile(Math.max(0, startAtMs - Date.now()));
  }

  /**
   * Of these accounts, the ones whose worker may still be running: its process is alive under
   * this node, or another node with a live lease owns the account (that node judges its rows).
   * The sweeper leaves their `sending` rows alone (queue/sweeper.ts).
   */
  async workersMayBeAlive(accountIds: string[]): Promise<Set<string>> {
    const alive = new Set<string>();
    const processes = await this.supervisor.list().catch(() => this.lastProcesses);
    const local = new Map(processes.map((p) => [p.accountId, p]));
    const now = Date.now();
    for (const owner of await listAccountOwners(this.db, accountIds)) {
      if (owner.ownerNodeId === this.config.nodeId) {
        const proc = local.get(owner.id);
        if (proc && proc.pid > 0 && isProcessAlive(proc.pid)) alive.add(owner.id);
      } else if (owner.ownerNodeId && owner.ownerLeaseExpiresAt && owner.ownerLeaseExpiresAt.getTime() > now) {
        alive.add(owner.id);
      }
    }
    return alive;
  }

  snapshot(): { processes: WorkerProcess[]; lastReconcileAt: Date | undefined; backoffUntil: Map<string, number>; lastMessage: Map<string, { atMs: number; state?: string }> } {
    return { processes: this.lastProcesses, lastReconcileAt: this.lastReconcileAt, backoffUntil: this.backoffUntil, lastMessage: this.lastMessage };
  }

  /**
   * Clean stop: stop every worker (SIGTERM: each finishes its send and releases its claims),
   * hand the leases back, remove the node, disconnect from PM2. The daemon stays for others
   * unless `killDaemon` is true, or is 'if-own' and this node spawned it and it runs nothing
   * else now (see Pm2Supervisor.isOwnIdleDaemon).
   */
  async stop(options: { killDaemon?: boolean | 'if-own' } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearReconcileTimer();
    clearInterval(this.beatFlushTimer);
    for (const timer of this.backoffTimers) clearTimeout(timer);
    await this.running?.catch(() => undefined);
    await this.leases.stop(false);
    if (this.supervisor.isDaemonAlive()) {
      const procs = await this.supervisor.list().catch(() => [] as WorkerProcess[]);
      for (const p of procs) this.stopping.add(p.accountId);
      await this.supervisor.stopWorkers(procs.map((p) => p.pmId));
    }
    await this.leases.stop(true).catch((error: unknown) => this.logger.warn('releasing leases failed', { error: (error as Error).message }));
    await this.listener?.stop();
    const killDaemon = options.killDaemon === true || (options.killDaemon === 'if-own' && (await this.supervisor.isOwnIdleDaemon()));
    if (killDaemon) {
      this.logger.info('stopping the PM2 daemon this server started for its workers', { daemonPid: this.supervisor.getDaemonPid() });
      await this.supervisor.killDaemon();
    } else {
      await this.supervisor.disconnect();
    }
    this.logger.info('orchestrator stopped');
  }
}
