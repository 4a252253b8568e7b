/**
 * Memory and CPU of the paced fleet, sampled from /proc: the server process, its PM2 daemon,
 * the daemon's children (the workers, which come and go) and the Postgres backends of the
 * bench database (pg_stat_activity, without the harness's own `bench-harness` connections).
 *
 * RSS: summed at every sample (VmRSS from /proc/PID/statm). Summed RSS counts every page
 * shared between processes once per sharer (node's code in each worker, the shared buffers
 * each backend touched), so it is an upper bound; PSS (smaps_rollup, read less often) splits
 * shared pages among their sharers and is what the set really adds.
 * CPU over a window, exactly for the server, the daemon and the workers: the daemon's own time
 * plus the time of its children it has reaped (cutime + cstime of /proc/PID/stat: every worker
 * that exited in the window) plus the time of the workers still alive, minus what the workers
 * alive at the window's start had used by then. Postgres backends are separate sessions of the
 * postmaster: each is read at every sample from its first to its last sighting (one born in
 * the window counts from its fork), so the CPU of a backend's last sampling interval, and of
 * sessions shorter than one interval, is missed: `sessionsSeen` vs pg_stat_database.sessions
 * says how much of them the samples saw.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readCpuTicks, readPssBytes } from '../../src/orchestrator/proc-stats';
import type { PgActivity } from './pg-activity';

const TICKS_PER_S = 100;
const PAGE_BYTES = 4096;

export type Kind = 'server' | 'pm2' | 'workers' | 'postgres';

export function readRssBytes(pid: number): number | undefined {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_BYTES;
  } catch {
    return undefined;
  }
}

/** utime + stime + cutime + cstime (its own and its reaped children's), in ticks. */
function readTicksWithChildren(pid: number): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const found: number[] = [];
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const tid of tids) {
    try {
      for (const child of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(' ')) if (child) found.push(Number(child));
    } catch {
      // the thread ended meanwhile
    }
  }
  return found;
}

export interface UsageSample {
  atMs: number;
  rssBytes: Record<Kind, number>;
  /** Every `pssEvery`-th sample: the same set's PSS (shared pages split among their sharers). */
  pssBytes?: number;
  workers: number;
  backends: number;
}

/** CPU counters of the fleet at one moment (see the header for what they add up to). */
interface CpuMark {
  atMs: number;
  serverTicks: number;
  daemonOwnTicks: number;
  daemonTicks: number;
  workerTicks: Map<number, number>;
  pgTicks: Map<number, number>;
}

export class FleetUsage {
  readonly samples: UsageSample[] = [];
  /** Worker pids in the order first seen, with when. */
  readonly workerFirstSeen = new Map<number, number>();
  private readonly pgFirst = new Map<number, { ticks: number; atMs: number }>();
  private readonly pgLast = new Map<number, { ticks: number; atMs: number }>();
  /** application_name (or backend type) of every backend seen: whose connection it serves. */
  private readonly pgApp = new Map<number, string>();
  private daemonPid: number | undefined;
  private latest: CpuMark | undefined;
  private marks = new Map<string, CpuMark>();

  constructor(
    private readonly serverPid: number,
    private readonly pm2Home: string,
    private readonly pg: PgActivity,
    private readonly datname: string,
  ) {}

  private findDaemonPid(): number | undefined {
    if (this.daemonPid !== undefined) return this.daemonPid;
    try {
      const pid = Number.parseInt(fs.readFileSync(path.join(this.pm2Home, 'pm2.pid'), 'utf8').trim(), 10);
      if (pid > 0) this.daemonPid = pid;
    } catch {
      // not started yet
    }
    return this.daemonPid;
  }

  /** `withPss`: also read PSS (smaps_rollup: slower, so not at every sample). */
  async sample(withPss = false): Promise<UsageSample> {
    const atMs = Date.now();
    const daemon = this.findDaemonPid();
    const workers = daemon ? childrenOf(daemon) : [];
    const listed = (await this.pg.backends(this.datname)).filter((b) => b.application_name !== 'bench-harness');
    // send-worker:<account>: one name for all workers.
    for (const b of listed) if (!this.pgApp.has(b.pid)) this.pgApp.set(b.pid, (b.application_name || b.backend_type).replace(/:.*$/, ''));
    const backends = listed.map((b) => b.pid);
    const rss: Record<Kind, number> = { server: readRssBytes(this.serverPid) ?? 0, pm2: daemon ? (readRssBytes(daemon) ?? 0) : 0, workers: 0, postgres: 0 };
    const workerTicks = new Map<number, number>();
    for (const pid of workers) {
      if (!this.workerFirstSeen.has(pid)) this.workerFirstSeen.set(pid, atMs);
      rss.workers += readRssBytes(pid) ?? 0;
      const ticks = readCpuTicks(pid);
      if (ticks !== undefined) workerTicks.set(pid, ticks);
    }
    const pgTicks = new Map<number, number>();
    for (const pid of backends) {
      rss.postgres += readRssBytes(pid) ?? 0;
      const ticks = readCpuTicks(pid);
      if (ticks === undefined) continue;
      pgTicks.set(pid, ticks);
      if (!this.pgFirst.has(pid)) this.pgFirst.set(pid, { ticks, atMs });
      this.pgLast.set(pid, { ticks, atMs });
    }
    this.latest = {
      atMs,
      serverTicks: readCpuTicks(this.serverPid) ?? 0,
      daemonOwnTicks: daemon ? (readCpuTicks(daemon) ?? 0) : 0,
      daemonTicks: daemon ? (readTicksWithChildren(daemon) ?? 0) : 0, workerTicks, pgTicks };
    const sample: UsageSample = { atMs, rssBytes: rss, workers: workers.length, backends: backends.length };
    if (withPss) sample.pssBytes = [this.serverPid, ...(daemon ? [daemon] : []), ...workers, ...backends].reduce((sum, pid) => sum + (readPssBytes(pid) ?? 0), 0);
    this.samples.push(sample);
    return sample;
  }

  /** Remembers the CPU counters of the latest sample under `name` (a window's start or end). */
  mark(name: string): void {
    if (this.latest) this.marks.set(name, this.latest);
  }

  /**
   * CPU seconds between two marks: the server; the PM2 daemon with its workers (one figure: a
   * worker that exited in the window moved its time into the daemon's cutime), and of that the
   * daemon's own; the bench database's backends. Call after sampling has stopped.
   */
  cpuBetween(from: string, to: string): { server: number; pm2AndWorkers: number; pm2Own: number; postgres: number; postgresByApp: Map<string, number> } {
    const a = this.marks.get(from);
    const b = this.marks.get(to);
    if (!a || !b) throw new Error(`no CPU mark ${a ? to : from}`);
    let workers = 0;
    for (const ticks of b.workerTicks.values()) workers += ticks;
    for (const ticks of a.workerTicks.values()) workers -= ticks;
    let postgres = 0;
    const postgresByApp = new Map<string, number>();
    for (const [pid, last] of this.pgLast) {
      const first = this.pgFirst.get(pid) as { atMs: number };
      if (first.atMs > b.atMs || last.atMs < a.atMs) continue;
      // Not there at the start: born after it, counted from its fork.
      const startTicks = a.pgTicks.get(pid) ?? 0;
      const endTicks = b.pgTicks.get(pid) ?? last.ticks;
      postgres += Math.max(0, endTicks - startTicks);
      const app = this.pgApp.get(pid) ?? '?';
      postgresByApp.set(app, (postgresByApp.get(app) ?? 0) + Math.max(0, endTicks - startTicks) / TICKS_PER_S);
    }
    return {
      server: (b.serverTicks - a.serverTicks) / TICKS_PER_S,
      pm2AndWorkers: (b.daemonTicks - a.daemonTicks + workers) / TICKS_PER_S,
      pm2Own: (b.daemonOwnTicks - a.daemonOwnTicks) / TICKS_PER_S,
      postgres: postgres / TICKS_PER_S,
      postgresByApp,
    };
  }

  /** Backends seen by the samples between two marks (to compare with the sessions opened). */
  backendsSeenBetween(from: string, to: string): number {
    const a = this.marks.get(from);
    const b = this.marks.get(to);
    if (!a || !b) return 0;
    let seen = 0;
    for (const [pid, first] of this.pgFirst) if (first.atMs > a.atMs && first.atMs <= b.atMs && this.pgLast.has(pid)) seen += 1;
    return seen;
  }
}
