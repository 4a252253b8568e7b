/**
 * One measured round of one system in the pipeline comparison, the same for both systems:
 *
 *   prepare (queue the round's emails; not timed) → commits counted → workers started →
 *   the sink's 5th-percentile message: CPU read, backend sampling on → its 95th: CPU read,
 *   sampling off → its last → the system's bookkeeping caught up → workers stopped (SIGTERM)
 *   and their Postgres backends gone (their statistics are then reported) → commits counted.
 *
 * The rate comes from the sink's receive times (5th–95th percentile), so neither system's
 * bookkeeping decides it. CPU and run-queue waits are per email over the same steady window
 * (Postgres backends read every 100 ms, as connections may come and go); commits, sessions
 * and backend time (pg_stat_database) per email over the whole round (the bench's own
 * queries on the database excluded from the commits).
 */
import { sql } from 'kysely';
import type { Db } from '../../src/db/connection';
import { readCmdline } from '../../src/orchestrator/proc-stats';
import { stopProcesses, type SinkProcess, type WriteLoadProcess } from './bench-children';
import type { PgActivity } from './pg-activity';
import type { BenchSystem } from './pipeline-systems';
import { readMachineBusy, snapshotUsage, usageBetween, type UsageSnapshot } from './process-usage';
import { steadyRate } from './smtp-sink';

export interface RoundEnvironment {
  db: Db;
  dbName: string;
  activity: PgActivity;
  sink: SinkProcess;
  emails: number;
  load?: { process: WriteLoadProcess; dbName: string };
  /** Postgres runs on this machine (its backends' CPU can be read from /proc). */
  postgresLocal: boolean;
}

export interface RoundResult {
  system: string;
  emailsPerS: number;
  received: number;
  windowS: number;
  commitsPerEmail: number;
  /** Postgres sessions (connections) opened per email, and its backends' time per email running statements and idle in a transaction (ms). */
  sessionsPerEmail: number;
  activeMsPerEmail: number;
  idleInTransactionMsPerEmail: number;
  /** Per process kind: workers, postgres (backends of the bench database), pg server (WAL writer, checkpointer, …), sink, load, harness. */
  cpuMsPerEmail: Record<string, number>;
  runQueueWaitMsPerEmail: Record<string, number>;
  machineBusyCores: number;
  machineCores: number;
  /** Per process kind, voluntary context switches per email (a Postgres backend's ≈ statements it was sent). */
  wakeupsPerEmail: Record<string, number>;
  /** Time the sink's connections sat idle between a reply and the next message, per email (ms), and the part in gaps of 50 ms or more. */
  smtpIdleMsPerEmail: number;
  smtpLongIdleMsPerEmail: number;
  /** Mean number of the system's Postgres backends doing each thing (sampled every 100 ms). */
  activity: Map<string, number>;
  loadCommitsPerS?: number;
}

const ROUND_TIMEOUT_MS = 300_000;

export async function isPostgresLocal(activity: PgActivity, db: Db): Promise<boolean> {
  const row = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  const cmdline = readCmdline(row.rows[0]?.pid ?? -1);
  return Boolean(cmdline?.some((part) => part.includes('postgres')));
}

export async function measureRound(env: RoundEnvironment, system: BenchSystem, round: number): Promise<RoundResult> {
  const { db, dbName, activity, sink, emails, load } = env;
  await system.prepare(round);
  // Everything the bench did so far is reported before the first count.
  await sql`select pg_stat_force_next_flush()`.execute(db);
  const before = await activity.databaseStats(dbName);
  let benchQueries = 0;

  const marks = sink.round(emails);
  const children = system.start();
  const failed = new Promise<never>((_resolve, reject) => {
    let exited = 0;
    for (const child of children) child.once('exit', () => ++exited === children.length && reject(new Error(`${system.label}: every worker exited before the sink had ${emails} messages`)));
  });
  const timeout = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${system.label}: round not done in ${ROUND_TIMEOUT_MS / 1000} s`)), ROUND_TIMEOUT_MS).unref());
  // Handled here too: they settle (reject) after the round when the workers are stopped.
  failed.catch(() => undefined);
  timeout.catch(() => undefined);
  const sampler = activity.sampleActivity(
    dbName,
    (b) => system.isOwnBackend(b.application_name),
    (b) => b.application_name !== 'bench-harness',
  );
  const snapshot = async (): Promise<{ usage: UsageSnapshot; machine: ReturnType<typeof readMachineBusy>; atMs: number; loadCommits?: number }> => {
    const loadPids = load ? [load.process.pid, ...(await activity.backends(load.dbName)).map((b) => b.pid)] : [];
    const usage = snapshotUsage({
      workers: children.map((c) => c.pid as number),
      'pg server': await activity.serverProcessPids(),
      sink: [sink.pid],
      load: loadPids,
      harness: [process.pid],
    });
    return { usage, machine: readMachineBusy(), atMs: Date.now(), ...(load ? { loadCommits: await load.process.commits() } : {}) };
  };

  let from;
  let to;
  try {
    await Promise.race([marks.from, failed, timeout]);
    from = await snapshot();
    sampler.counting = true;
    await Promise.race([marks.to, failed, timeout]);
    to = await snapshot();
    sampler.counting = false;
    await Promise.race([marks.done, failed, timeout]);
    while (!(await system.settled())) {
      benchQueries += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
    benchQueries += 1;
  } finally {
    await sampler.stop();
    await stopProcesses(children);
  }
  await activity.waitForBackendsGone(dbName, (b) => b.application_name === 'bench-harness' || b.backend_type !== 'client backend');
  await sql`select pg_stat_force_next_flush()`.execute(db);
  benchQueries += 1;
  const after = await activity.databaseStats(dbName);
  const commits = after.commits - before.commits - benchQueries;

  const { timesMs: times, idle } = await sink.report();
  const rate = steadyRate(times);
  const steadyEmails = Math.floor(times.length * 0.95) - Math.floor(times.length * 0.05);
  const usage = usageBetween(from.usage, to.usage);
  usage.set('postgres', sampler.usage());
  const perEmail = (s: number) => (s * 1000) / steadyEmails;
  const windowS = (to.atMs - from.atMs) / 1000;
  if (!env.postgresLocal) for (const kind of ['postgres', 'pg server']) usage.delete(kind);
  return {
    system: system.label,
    emailsPerS: rate.emailsPerS,
    received: times.length,
    windowS,
    commitsPerEmail: commits / emails,
    sessionsPerEmail: (after.sessions - before.sessions) / emails,
    activeMsPerEmail: (after.activeMs - before.activeMs) / emails,
    idleInTransactionMsPerEmail: (after.idleInTransactionMs - before.idleInTransactionMs) / emails,
    cpuMsPerEmail: Object.fromEntries([...usage].map(([kind, u]) => [kind, perEmail(u.cpuS)])),
    runQueueWaitMsPerEmail: Object.fromEntries([...usage].map(([kind, u]) => [kind, perEmail(u.runQueueWaitS)])),
    machineBusyCores: (to.machine.busyS - from.machine.busyS) / windowS,
    machineCores: to.machine.cores,
    smtpIdleMsPerEmail: idle.totalMs / times.length,
    smtpLongIdleMsPerEmail: idle.longMs / times.length,
    wakeupsPerEmail: Object.fromEntries([...usage].map(([kind, u]) => [kind, u.wakeups / steadyEmails])),
    activity: new Map([...sampler.tally].map(([what, n]) => [what, n / Math.max(1, sampler.instants)])),
    ...(from.loadCommits !== undefined && to.loadCommits !== undefined ? { loadCommitsPerS: (to.loadCommits - from.loadCommits) / windowS } : {}),
  };
}
