/**
 * Where the CPU goes during a benchmark, from /proc (Linux): per process its CPU time (all
 * threads, /proc/PID/stat) and its time spent runnable but waiting for a core (run-queue wait,
 * summed over its threads' /proc/PID/task/TID/schedstat), and the whole machine's busy time
 * (/proc/stat, which counts every other process on the box too).
 */
import fs from 'node:fs';
import { readCpuTicks } from '../../src/orchestrator/proc-stats';

/** USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux. */
const TICKS_PER_S = 100;

export interface ProcessUsage {
  cpuS: number;
  runQueueWaitS: number;
  /**
   * Times its main thread went to sleep waiting for something (voluntary context switches):
   * for a Postgres backend, about one per statement its client sent (it sleeps reading the
   * next one) plus its I/O waits.
   */
  wakeups: number;
}

function runQueueWaitNs(pid: number): number {
  let total = 0;
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tids) {
    try {
      // "time on cpu (ns)  time waiting on a run queue (ns)  timeslices"
      total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1] ?? 0);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

function voluntarySwitches(pid: number): number {
  try {
    const match = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(match?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export function readProcessUsage(pid: number): ProcessUsage | undefined {
  const ticks = readCpuTicks(pid);
  if (ticks === undefined) return undefined;
  return { cpuS: ticks / TICKS_PER_S, runQueueWaitS: runQueueWaitNs(pid) / 1e9, wakeups: voluntarySwitches(pid) };
}

/** Seconds of CPU the whole machine spent busy (all cores, every process), and its core count. */
export function readMachineBusy(): { busyS: number; cores: number } {
  const lines = fs.readFileSync('/proc/stat', 'utf8').split('\n');
  const fields = (lines[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  const cores = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { busyS: (user + nice + system + irq + softirq + steal) / TICKS_PER_S, cores };
}

/** Usage of groups of processes ("kinds": workers, postgres, sink, …) at one moment. */
export type UsageSnapshot = Map<string, Map<number, ProcessUsage>>;

export function snapshotUsage(kinds: Record<string, number[]>): UsageSnapshot {
  const snapshot: UsageSnapshot = new Map();
  for (const [kind, pids] of Object.entries(kinds)) {
    const byPid = new Map<number, ProcessUsage>();
    for (const pid of pids) {
      const usage = readProcessUsage(pid);
      if (usage) byPid.set(pid, usage);
    }
    snapshot.set(kind, byPid);
  }
  return snapshot;
}

/**
 * Usage per kind between two snapshots. A process first seen in the later one started in
 * between and counts whole; one gone by then counts nothing (its last stretch is lost: the
 * benches keep their processes alive across the window).
 */
export function usageBetween(from: UsageSnapshot, to: UsageSnapshot): Map<string, ProcessUsage> {
  const result = new Map<string, ProcessUsage>();
  for (const [kind, byPid] of to) {
    const total: ProcessUsage = { cpuS: 0, runQueueWaitS: 0, wakeups: 0 };
    for (const [pid, usage] of byPid) {
      const before = from.get(kind)?.get(pid) ?? { cpuS: 0, runQueueWaitS: 0, wakeups: 0 };
      total.cpuS += usage.cpuS - before.cpuS;
      total.runQueueWaitS += usage.runQueueWaitS - before.runQueueWaitS;
      total.wakeups += usage.wakeups - before.wakeups;
    }
    result.set(kind, total);
  }
  return result;
}
