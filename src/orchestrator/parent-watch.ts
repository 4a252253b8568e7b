/**
 * For the worker: notices that its supervision is gone so it never goes on sending
 * unsupervised. A worker is supervised when (a) its PM2 daemon is alive (the daemon is its
 * parent and holds its IPC channel) and (b) the orchestrator that started it is alive.
 * When either disappears, `onLost` is called once; the worker should then stop like on
 * SIGTERM (finish the send in flight, release its claims, exit 0).
 *
 * Usage in the worker:
 *   const watch = watchParent({ supervisorPid: supervisorPidFromArgs(process.argv), onLost: (reason) => shutdown(reason) });
 *   … watch.check() on every heartbeat; watch.stop() at exit.
 */
import fs from 'node:fs';

export interface ParentWatchOptions {
  /** pid of the orchestrator (server) process; `--supervisor-pid` on the worker's command line. */
  supervisorPid?: number;
  /** Its start time (`--supervisor-started`): another process that got the pid is not it. */
  supervisorStarted?: string;
  /** Also look for the supervisor every `intervalMs` (for a process without a heartbeat to hook). */
  intervalMs?: number;
  onLost(reason: 'ipc_disconnected' | 'parent_changed' | 'supervisor_gone'): void;
}

export const SUPERVISOR_PID_FLAG = '--supervisor-pid';
/**
 * The supervisor's start time (`processStartTicks`), so a worker never takes an unrelated
 * process that got the pid later (after a reboot, `pm2 resurrect` of a dump holding workers)
 * for its server.
 */
export const SUPERVISOR_STARTED_FLAG = '--supervisor-started';

/** A process's start time in clock ticks after boot (field 22 of /proc/PID/stat), or undefined (gone, or no /proc). */
export function processStartTicks(pid: number): string | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; the fields after it are fixed.
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function flagValue(argv: readonly string[], flag: string): string | undefined {
  const index = argv.indexOf(flag);
  return index < 0 ? undefined : argv[index + 1];
}

export function supervisorPidFromArgs(argv: readonly string[]): number | undefined {
  const pid = Number.parseInt(flagValue(argv, SUPERVISOR_PID_FLAG) ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function supervisorStartedFromArgs(argv: readonly string[]): string | undefined {
  return flagValue(argv, SUPERVISOR_STARTED_FLAG);
}

/**
 * Whether the supervisor a worker was started by still runs: its pid is alive and, when its
 * start time is known, that process started then (not a later one that got the same pid).
 */
export function isSupervisorAlive(pid: number, startedTicks: string | undefined): boolean {
  if (!isAlive(pid)) return false;
  if (startedTicks === undefined) return true;
  const now = processStartTicks(pid);
  // Without /proc (not Linux) only the pid can be checked.
  return now === undefined || now === startedTicks;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; only ESRCH means gone.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ParentWatch {
  /** Looks now; a worker calls it whenever it wakes anyway (each heartbeat). */
  check(): void;
  stop(): void;
}

/**
 * Starts watching. The daemon's death is noticed at once (the IPC channel closes). The
 * supervisor is looked for on `check()`, and every `intervalMs` only when that is given: a
 * worker with a parent checks on each heartbeat instead, so an idle worker wakes once per
 * heartbeat interval, not twice (1,200 idle workers' wake-ups are most of the fleet's idle CPU).
 */
export function watchParent(options: ParentWatchOptions): ParentWatch {
  const initialParentPid = process.ppid;
  let done = false;
  const lost = (reason: 'ipc_disconnected' | 'parent_changed' | 'supervisor_gone') => {
    if (done) return;
    done = true;
    stop();
    options.onLost(reason);
  };
  const onDisconnect = () => lost('ipc_disconnected');
  // Only a process started with an IPC channel (PM2 fork mode) can lose it.
  const hadChannel = process.connected === true;
  if (hadChannel) process.once('disconnect', onDisconnect);
  const check = () => {
    if (done) return;
    if (hadChannel && !process.connected) lost('ipc_disconnected');
    else if (process.ppid !== initialParentPid) lost('parent_changed');
    else if (options.supervisorPid !== undefined && !isSupervisorAlive(options.supervisorPid, options.supervisorStarted)) lost('supervisor_gone');
  };
  const timer = options.intervalMs ? setInterval(check, options.intervalMs) : undefined;
  timer?.unref();
  function stop() {
    clearInterval(timer);
    process.removeListener('disconnect', onDisconnect);
  }
  return {
    check,
    stop: () => {
      done = true;
      stop();
    },
  };
}
