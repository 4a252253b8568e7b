/**
 * Talks to PM2 through its programmatic API: starts one worker process per account, stops
 * them, lists them, nudges them, and relays their process messages. The daemon is a single
 * point of failure, so the supervisor also notices when it died and, before a new daemon is
 * spawned, kills the orphaned workers it had (they must not go on sending unsupervised).
 *
 * Workers run the compiled dist/workers/send-worker.js (no TypeScript loader), in PM2's own
 * namespace, with pmx/automation off and autorestart off: the orchestrator decides about
 * restarts itself (with backoff and an hourly cap).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pm2Module from 'pm2';
import type { Logger } from '../logger';
import { isSupervisorAlive, processStartTicks, SUPERVISOR_PID_FLAG, SUPERVISOR_STARTED_FLAG, supervisorPidFromArgs, supervisorStartedFromArgs } from './parent-watch';
import { isProcessAlive, readEnvironVariable } from './proc-stats';
import { WORKER_RUNTIME_ENV } from './worker-runtime';

export const WORKER_NAMESPACE = 'outreach-workers';
/** Set in every worker's environment so an orphan can be told from an unrelated process that got its pid. */
export const WORKER_MARKER_VAR = 'OUTREACH_WORKER_ACCOUNT';
/** A started worker that has not reported within this long no longer holds a starting slot. */
const STARTING_SLOT_MS = 20_000;

export type WorkerProcessStatus = 'online' | 'launching' | 'stopping' | 'stopped' | 'errored' | 'one-launch-status' | string;

export interface WorkerProcess {
  name: string;
  accountId: string;
  pmId: number;
  pid: number;
  status: WorkerProcessStatus;
  /** When the current process started (ms since epoch). */
  startedAtMs: number;
  restarts: number;
  memoryBytes: number;
  cpuPct: number;
  /**
   * The server that started it is gone (its pid and start time in the worker's arguments no
   * longer match a running process): resurrected from a PM2 dump, or left by a server that
   * crashed. Such a worker is never adopted: the orchestrator removes it (not a crash).
   */
  orphaned: boolean;
}

export interface WorkerMessage {
  accountId: string;
  pmId: number;
  message: Record<string, unknown>;
}

export interface SupervisorOptions {
  pm2Home: string | undefined;
  scriptPath: string;
  /** Where workers keep V8's code cache of their bundle (workers/send-worker.ts). */
  codeCacheDir: string;
  /** Where the link to Node that workers run under is kept (see `workerInterpreter`). */
  binDir: string;
  cwd: string;
  /** Environment the workers need beyond the daemon's (DATABASE_URL, NODE_ID, …). */
  env: Record<string, string>;
  logMode: 'file' | 'none';
  logDir: string;
  startBatchSize: number;
  /** Batches started at the same time. */
  startConcurrency: number;
  /** Workers started and not yet through their first claim, at most; more wait for a slot. */
  maxStartingWorkers: number;
  stopTimeoutMs: number;
  logger: Logger;
}

interface Pm2ProcessDescription {
  name?: string;
  pid?: number;
  pm_id?: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env?: { name?: string; pm_id?: number; status?: string; pm_uptime?: number; restart_time?: number; namespace?: string; args?: string[] | string; env?: Record<string, string> };
}

interface Pm2Bus {
  on(event: string, listener: (packet: { data?: unknown; raw?: unknown; event?: string; process?: { pm_id?: number; name?: string; namespace?: string } }) => void): void;
  close?(): void;
}

type Callback<T> = (error: Error | null | undefined, result: T) => void;

/** The part of PM2's API used here (its typings lack the `custom` constructor). */
interface Pm2Api {
  pm2_home: string;
  connect(cb: Callback<unknown>): void;
  disconnect(cb?: () => void): void;
  start(config: { apps: Record<string, unknown>[] }, cb: Callback<Pm2ProcessDescription[]>): void;
  delete(id: number | string, cb: Callback<unknown>): void;
  list(cb: Callback<Pm2ProcessDescription[]>): void;
  launchBus(cb: Callback<Pm2Bus>): void;
  sendDataToProcessId(id: number, packet: Record<string, unknown>, cb: Callback<unknown>): void;
  killDaemon(cb: Callback<unknown>): void;
  /** PM2's connection to its daemon: an RPC socket and the bus socket (pm2-axon). */
  Client?: { client_sock?: { close?(): void }; sub_sock?: { close?(): void } };
}

/**
 * PM2's disconnect() leaves a socket whose daemon died alone (it checks `connected` first), and
 * pm2-axon then retries that connection forever: a timer that keeps the process alive and
 * would reconnect to the next daemon on the same socket file. Close both sockets for good.
 */
function closeDaemonSockets(api: Pm2Api): void {
  for (const sock of [api.Client?.client_sock, api.Client?.sub_sock]) {
    try {
      sock?.close?.();
    } catch {
      // already closed
    }
  }
}

const Pm2Constructor = (pm2Module as unknown as { custom: new (options: Record<string, unknown>) => Pm2Api }).custom;

function promisify<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((error, result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result))));
}

/** PM2 names must be readable in `pm2 ls` and unique: the account's address, made safe. */
export function workerName(account: { id: string; email?: string | null }): string {
  const label = (account.email ?? account.id).toLowerCase().replace(/[^a-z0-9@._+-]/g, '_');
  return `w-${label}`;
}

function argList(args: string[] | string | undefined): string[] {
  return Array.isArray(args) ? args : typeof args === 'string' ? args.split(' ') : [];
}

function accountIdFromArgs(args: string[] | string | undefined): string | undefined {
  const list = argList(args);
  const index = list.indexOf('--account');
  return index >= 0 ? list[index + 1] : undefined;
}

/** This server's start time, as its workers are told it (`--supervisor-started`). */
const OWN_START_TICKS = processStartTicks(process.pid);

/**
 * The path PM2 runs workers with: a link to this Node named so PM2 does not take it for Node.
 * Why: PM2 runs a script under any interpreter whose name ends in `node` through its own
 * wrapper (ProcessContainerFork.js, which loads `url`, looks for package.json files up the
 * tree and sends a hello) and spawns any other interpreter with the script as is. The wrapper
 * cost each worker start ~6 ms of CPU (measured), 1,200 times over, and a worker needs
 * nothing it does. Made again when missing or pointing at another Node (an upgrade).
 */
export function workerInterpreter(binDir: string): string {
  const link = path.join(binDir, 'node-for-workers');
  let target: string | undefined;
  try {
    target = fs.readlinkSync(link);
  } catch {
    // missing
  }
  if (target !== process.execPath) {
    fs.mkdirSync(binDir, { recursive: true });
    // Under a temporary name, then renamed: never a moment without a link.
    const temporary = `${link}.${process.pid}.tmp`;
    fs.rmSync(temporary, { force: true });
    fs.symlinkSync(process.execPath, temporary);
    fs.renameSync(temporary, link);
  }
  return link;
}

export class Pm2Supervisor {
  private api: Pm2Api | undefined;
  private bus: Pm2Bus | undefined;
  private daemonPid: number | undefined;
  /** No daemon ran for this PM2_HOME when we connected: connecting spawned it. */
  private spawnedDaemon = false;
  private readonly messageListeners: ((message: WorkerMessage) => void)[] = [];
  private readonly exitListeners: ((event: { accountId: string; pmId: number }) => void)[] = [];
  /**
   * Workers started that have not yet reported a status (a worker's first comes after its
   * first claim), with when each was started. Why: PM2 spawns far faster than two cores can
   * boot Node, load the bundle, connect and claim, so without a bound hundreds start side by
   * side, each holding a Postgres connection and all competing for the CPU with the PM2
   * daemon and the server (measured at 1,200 workers: peak connections 44 → 25, spawn time
   * −8 %). A worker that never reports frees its slot after STARTING_SLOT_MS.
   */
  private readonly starting = new Map<string, number>();
  private startingChanged: (() => void)[] = [];

  constructor(private readonly options: SupervisorOptions) {}

  get pm2Home(): string | undefined {
    return this.api?.pm2_home;
  }

  /** Connects to the daemon of PM2_HOME, spawning it when none runs, and subscribes to its bus. */
  async connect(): Promise<void> {
    const api = new Pm2Constructor(this.options.pm2Home ? { pm2_home: this.options.pm2Home, daemon_mode: true } : { daemon_mode: true });
    const existed = this.daemonRunning();
    await promisify((cb) => api.connect(cb));
    this.api = api;
    this.daemonPid = this.readDaemonPid();
    this.spawnedDaemon = !existed;
    if (this.options.logMode === 'file') fs.mkdirSync(this.options.logDir, { recursive: true });
    const bus = await promisify<Pm2Bus>((cb) => api.launchBus(cb));
    this.bus = bus;
    const relay = (packet: { data?: unknown; raw?: unknown; process?: { pm_id?: number; namespace?: string } }, type?: string) => {
      const pmId = packet.process?.pm_id;
      if (pmId === undefined || packet.process?.namespace !== WORKER_NAMESPACE) return;
      const accountId = this.accountByPmId.get(pmId);
      if (!accountId) return;
      const body = (packet.raw ?? packet.data) as Record<string, unknown> | undefined;
      if (!body || typeof body !== 'object') return;
      const message = type && body.type === undefined ? { ...body, type } : body;
      // Not PM2's own hello nor the heartbeat a worker sends as its loop begins: its first
      // status comes after its first claim.
      if (message.type === 'status') this.startFinished(accountId);
      for (const listener of this.messageListeners) listener({ accountId, pmId, message });
    };
    bus.on('process:msg', (packet) => relay(packet));
    bus.on('heartbeat', (packet) => relay(packet, 'heartbeat'));
    bus.on('status', (packet) => relay(packet, 'status'));
    bus.on('process:event', (packet) => {
      const pmId = packet.process?.pm_id;
      if (packet.event !== 'exit' || pmId === undefined || packet.process?.namespace !== WORKER_NAMESPACE) return;
      const accountId = this.accountByPmId.get(pmId);
      if (!accountId) return;
      this.startFinished(accountId);
      for (const listener of this.exitListeners) listener({ accountId, pmId });
    });
  }

  private startFinished(accountId: string): void {
    if (!this.starting.delete(accountId)) return;
    const waiters = this.startingChanged;
    this.startingChanged = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once these workers may start (at once when none is starting), with their slots
   * taken: checked and taken in one step, as the other lanes check while this one waits on PM2.
   */
  private async takeStartingSlots(accountIds: string[]): Promise<void> {
    for (;;) {
      const now = Date.now();
      for (const [accountId, startedAtMs] of this.starting) if (now - startedAtMs > STARTING_SLOT_MS) this.starting.delete(accountId);
      if (this.starting.size === 0 || this.starting.size + accountIds.length <= this.options.maxStartingWorkers) {
        for (const accountId of accountIds) this.starting.set(accountId, now);
        return;
      }
      // Woken by a worker's first status or exit; the timer lets stale slots expire.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.startingChanged.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** pm_id → account, filled from list() and start(): bus packets name only the pm_id. */
  private readonly accountByPmId = new Map<number, string>();

  /**
   * Every worker this supervisor started or listed and has not stopped, as of now: unlike a
   * list() taken at the start of a reconcile, it includes the workers that reconcile started.
   */
  knownWorkers(): { pmId: number; accountId: string }[] {
    return [...this.accountByPmId].map(([pmId, accountId]) => ({ pmId, accountId }));
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (event: { accountId: string; pmId: number }) => void): void {
    this.exitListeners.push(listener);
  }

  private requireApi(): Pm2Api {
    if (!this.api) throw new Error('PM2 supervisor is not connected');
    return this.api;
  }

  get connected(): boolean {
    return this.api !== undefined;
  }

  /**
   * Connects when there is a reason to: workers to start, or a daemon already running for
   * this PM2_HOME (workers of an earlier run to adopt). A node with nothing to run never
   * spawns a daemon.
   */
  async ensureConnected(requireDaemon: boolean): Promise<boolean> {
    if (this.api) return true;
    if (!requireDaemon && !this.daemonRunning()) return false;
    await this.connect();
    return true;
  }

  private daemonRunning(): boolean {
    const home = this.options.pm2Home ?? path.join(os.homedir(), '.pm2');
    try {
      const pid = Number.parseInt(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim(), 10);
      return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid);
    } catch {
      return false;
    }
  }

  private readDaemonPid(): number | undefined {
    const home = this.api?.pm2_home;
    if (!home) return undefined;
    try {
      const pid = Number.parseInt(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim(), 10);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  getDaemonPid(): number | undefined {
    return this.daemonPid;
  }

  /**
   * Whether stopping the server should stop the daemon too: this supervisor spawned it (for
   * the workers of a server started directly, `npm start`), it does not run the server itself
   * (`pm2 start ecosystem.config.js`), and it runs nothing any more (our workers are
   * stopped first; another app or another node's workers keep it).
   */
  async isOwnIdleDaemon(): Promise<boolean> {
    if (!this.api || !this.spawnedDaemon || this.daemonPid === undefined || this.daemonPid === process.ppid || !this.isDaemonAlive()) return false;
    const api = this.api;
    const all = await promisify<Pm2ProcessDescription[]>((cb) => api.list(cb)).catch(() => undefined);
    return all !== undefined && all.length === 0;
  }

  /** False once the daemon this supervisor connected to has gone away. */
  isDaemonAlive(): boolean {
    return this.daemonPid !== undefined && isProcessAlive(this.daemonPid);
  }

  /** Our workers as PM2 sees them (other apps in the same daemon are ignored). */
  async list(): Promise<WorkerProcess[]> {
    if (!this.api) return [];
    const api = this.api;
    const all = await promisify<Pm2ProcessDescription[]>((cb) => api.list(cb));
    const workers: WorkerProcess[] = [];
    // Most workers name the same server: look each supervisor up once per list.
    const supervisorAlive = new Map<string, boolean>();
    for (const proc of all) {
      const env = proc.pm2_env ?? {};
      if (env.namespace !== WORKER_NAMESPACE || proc.pm_id === undefined) continue;
      const accountId = accountIdFromArgs(env.args);
      if (!accountId) continue;
      const args = argList(env.args);
      const supervisorPid = supervisorPidFromArgs(args);
      const supervisorStarted = supervisorStartedFromArgs(args);
      const key = `${supervisorPid}/${supervisorStarted}`;
      if (supervisorPid !== undefined && !supervisorAlive.has(key)) supervisorAlive.set(key, isSupervisorAlive(supervisorPid, supervisorStarted));
      this.accountByPmId.set(proc.pm_id, accountId);
      workers.push({
        name: proc.name ?? '',
        accountId,
        pmId: proc.pm_id,
        pid: proc.pid ?? 0,
        status: env.status ?? 'unknown',
        startedAtMs: env.pm_uptime ?? 0,
        restarts: env.restart_time ?? 0,
        memoryBytes: proc.monit?.memory ?? 0,
        cpuPct: proc.monit?.cpu ?? 0,
        orphaned: supervisorPid !== undefined && supervisorAlive.get(key) === false,
      });
    }
    return workers;
  }

  private appConfig(account: { id: string; email?: string | null }, interpreter: string): Record<string, unknown> {
    const name = workerName(account);
    const logFile = this.options.logMode === 'file' ? path.join(this.options.logDir, `${name}.log`) : '/dev/null';
    return {
      name,
      namespace: WORKER_NAMESPACE,
      script: this.options.scriptPath,
      args: [
        '--account',
        account.id,
        SUPERVISOR_PID_FLAG,
        String(process.pid),
        ...(OWN_START_TICKS ? [SUPERVISOR_STARTED_FLAG, OWN_START_TICKS] : []),
        '--code-cache-dir',
        this.options.codeCacheDir,
      ],
      cwd: this.options.cwd,
      interpreter,
      exec_mode: 'fork',
      instances: 1,
      autorestart: false,
      pmx: false,
      automation: false,
      vizion: false,
      treekill: false,
      kill_signal: 'SIGTERM',
      kill_timeout: this.options.stopTimeoutMs,
      out_file: logFile,
      error_file: logFile,
      merge_logs: true,
      // Only the environment given, not the server's: PM2 holds and lists every app's copy, and
      // variables such as NODE_EXTRA_CA_CERTS or NODE_OPTIONS change what every worker loads.
      // filter_env drops the variables whose names contain one of these strings, so '' drops
      // them all (PM2 7 ignores `filter_env: true`: it tests the value's length).
      filter_env: [''],
      env: { ...WORKER_RUNTIME_ENV, ...this.options.env, [WORKER_MARKER_VAR]: account.id, disable_source_map_support: 'true' },
    };
  }

  /**
   * Starts workers in batches of `startBatchSize` (all of a batch in one call, so PM2 lists
   * its processes once per batch, not once per worker), `startConcurrency` batches at a time,
   * and while fewer than `maxStartingWorkers` are still starting (see `starting`):
   * one batch at a time leaves the daemon waiting on each spawn, while unbounded parallel
   * starts exhaust its file descriptors and crash it (DESIGN, measured facts). A batch's
   * failure is logged and the rest go on; `shouldContinue` lets the caller stop between
   * batches (e.g. lease lost).
   */
  async startWorkers(
    accounts: { id: string; email?: string | null }[],
    shouldContinue: (accountId: string) => boolean = () => true,
    /** Told of each batch just before PM2 is asked to start it. */
    beforeStart: (accountIds: string[]) => void = () => undefined,
  ): Promise<string[]> {
    await this.ensureConnected(true);
    const api = this.requireApi();
    const interpreter = workerInterpreter(this.options.binDir);
    const started: string[] = [];
    const batches: { id: string; email?: string | null }[][] = [];
    for (let i = 0; i < accounts.length; i += this.options.startBatchSize) batches.push(accounts.slice(i, i + this.options.startBatchSize));
    let daemonLost = false;
    const startBatch = async (candidates: { id: string; email?: string | null }[]) => {
      const wanted = candidates.filter((a) => shouldContinue(a.id));
      if (wanted.length === 0 || daemonLost) return;
      await this.takeStartingSlots(wanted.map((a) => a.id));
      // Asked again after the wait for slots, which can be long.
      const batch = wanted.filter((a) => shouldContinue(a.id));
      for (const account of wanted) if (!batch.includes(account)) this.startFinished(account.id);
      if (batch.length === 0) return;
      beforeStart(batch.map((a) => a.id));
      try {
        const byName = new Map(batch.map((a) => [workerName(a), a.id]));
        const procs = await promisify<Pm2ProcessDescription[]>((cb) => api.start({ apps: batch.map((a) => this.appConfig(a, interpreter)) }, cb));
        for (const proc of procs ?? []) {
          const accountId = byName.get(proc.pm2_env?.name ?? proc.name ?? '') ?? accountIdFromArgs(proc.pm2_env?.args);
          const pmId = proc.pm2_env?.pm_id ?? proc.pm_id;
          if (accountId && pmId !== undefined) {
            this.accountByPmId.set(pmId, accountId);
            started.push(accountId);
          }
        }
      } catch (error) {
        for (const account of batch) this.startFinished(account.id);
        this.options.logger.error('starting a batch of workers failed', { accounts: batch.map((a) => a.id), error: (error as Error).message });
        if (!this.isDaemonAlive()) daemonLost = true;
      }
    };
    const lanes = Array.from({ length: Math.min(this.options.startConcurrency, batches.length) }, async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) await startBatch(batch);
    });
    await Promise.all(lanes);
    return started;
  }

  /** SIGTERM, wait up to kill_timeout for the in-flight send, then remove it from PM2. */
  async stopWorker(pmId: number): Promise<void> {
    if (!this.api) return;
    const api = this.api;
    try {
      await promisify((cb) => api.delete(pmId, cb));
    } catch (error) {
      // Already gone is what we wanted.
      if (!/not found|unknown/i.test((error as Error).message)) throw error;
    }
    this.accountByPmId.delete(pmId);
  }

  async stopWorkers(pmIds: number[], parallel = 20): Promise<void> {
    for (let i = 0; i < pmIds.length; i += parallel) {
      await Promise.all(
        pmIds.slice(i, i + parallel).map((pmId) =>
          this.stopWorker(pmId).catch((error: unknown) => this.options.logger.warn('stopping a worker failed', { pmId, error: (error as Error).message })),
        ),
      );
    }
  }

  /** Wakes a worker (new work, resumed account) over PM2's process messages. */
  async nudge(pmId: number): Promise<void> {
    const api = this.requireApi();
    await promisify((cb) => api.sendDataToProcessId(pmId, { type: 'nudge', topic: 'nudge', data: { type: 'nudge' } }, cb));
  }

  /**
   * After the daemon died: terminates the workers it had (identified by pid AND by the
   * marker in their environment, so a recycled pid is never hit), waits for them to finish
   * their send, then connects again, which spawns a fresh daemon.
   */
  async recoverFromDaemonDeath(knownPids: { pid: number; accountId: string }[]): Promise<number> {
    const orphans = knownPids.filter((p) => p.pid > 0 && readEnvironVariable(p.pid, WORKER_MARKER_VAR) === p.accountId);
    await terminateOrphans(orphans.map((o) => o.pid), this.options.stopTimeoutMs);
    try {
      this.bus?.close?.();
      this.api?.disconnect();
    } catch {
      // The old connection is dead anyway.
    }
    if (this.api) closeDaemonSockets(this.api);
    this.api = undefined;
    this.bus = undefined;
    this.accountByPmId.clear();
    await this.connect();
    return orphans.length;
  }

  async disconnect(): Promise<void> {
    try {
      this.bus?.close?.();
    } catch {
      // closing a dead bus
    }
    const api = this.api;
    this.api = undefined;
    if (!api) return;
    await new Promise<void>((resolve) => api.disconnect(() => resolve()));
    closeDaemonSockets(api);
  }

  /**
   * Stops the daemon itself (tests, and a server that owns a private PM2_HOME). PM2's own
   * killDaemon answers with SIGQUIT to the calling process, which would end it: terminate
   * the daemon by pid instead and wait until it is gone.
   */
  async killDaemon(): Promise<void> {
    const pid = this.daemonPid ?? this.readDaemonPid();
    await this.disconnect();
    if (pid !== undefined) await terminateOrphans([pid], this.options.stopTimeoutMs);
  }
}

/** SIGTERM, then SIGKILL for whatever is still alive after `timeoutMs`. */
export async function terminateOrphans(pids: number[], timeoutMs: number): Promise<void> {
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 'SIGTERM');
      return true;
    } catch {
      return false;
    }
  });
  const deadline = Date.now() + timeoutMs;
  while (alive.some(isProcessAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of alive.filter(isProcessAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}
