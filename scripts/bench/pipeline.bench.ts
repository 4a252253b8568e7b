/**
 * The pipeline against the baseline a user would build instead (pg-boss + nodemailer), in the
 * same run, on the same Postgres, to the same sink, in interleaved rounds (ours, pg-boss, ours,
 * pg-boss, …), first on a quiet database, then with a steady concurrent write load on the same
 * server (a shared production database is never quiet). Each round sends `--emails` (6,000)
 * personalised mails with `--workers` (4) worker processes, 4 SMTP connections each, batches
 * of 100; pipeline-round.ts says how a round is measured.
 *
 * Figures (medians over `--rounds`, default 3): pipeline_emails_per_s, pgboss_emails_per_s,
 * pipeline_vs_pgboss_ratio (median of the rounds' ratios: each pair ran side by side), the same
 * `_loaded`, write_load_commits_per_s, and per system the Postgres commits per email and the
 * CPU ms per email of its worker processes, its Postgres backends and the sink.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dropDatabase, ensureDatabase, withDatabase } from '../../src/db/admin';
import { startSinkProcess, startWriteLoad, type SinkProcess } from './bench-children';
import { withBenchDatabase } from './bench-database';
import { PgActivity } from './pg-activity';
import { isPostgresLocal, measureRound, type RoundEnvironment, type RoundResult } from './pipeline-round';
import { ourPipeline, pgBossPipeline, type BenchSystem, type PipelineShape } from './pipeline-systems';
import type { BenchContext } from './registry';

export const name = 'pipeline';

/** Per round: 12 rounds stay within ~5 minutes on the shared 2-core box even at ~350 emails/s (10,000 took 7.5 minutes there). */
const DEFAULT_EMAILS = 6_000;
const DEFAULT_ROUNDS = 3;
const BATCH = 100;
const CONNECTIONS_PER_PROCESS = 4;
/**
 * boss.work() subscriptions per pg-boss process. pg-boss fetches the next batch only after the
 * handler of the last one resolved, then waits out the rest of its polling interval (0.5 s at
 * least); a user who measured would run two, so one fetches while the other sends.
 */
const PGBOSS_WORKERS_PER_PROCESS = 2;
/** The busy neighbour: small write transactions per second, from this many connections. */
const LOAD_COMMITS_PER_S = 800;
const LOAD_CONNECTIONS = 4;
const LOAD_WARMUP_MS = 3_000;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const fixed = (value: number, digits: number) => Number(value.toFixed(digits));
const int = (value: number) => Math.round(value).toLocaleString('en-US');

function describe(result: RoundResult): string[] {
  const kinds = (record: Record<string, number>) =>
    Object.entries(record)
      .filter(([, v]) => v >= 0.005)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
  const activity = [...result.activity]
    .sort((a, b) => b[1] - a[1])
    .filter(([, n]) => n >= 0.005)
    .map(([what, n]) => `${what} ${n.toFixed(2)}`)
    .join(', ');
  return [
    `${result.system}: ${int(result.emailsPerS)} emails/s (${int(result.received)} received), machine ${result.machineBusyCores.toFixed(2)} of ${result.machineCores} cores busy${result.loadCommitsPerS !== undefined ? `, write load ${int(result.loadCommitsPerS)} commits/s` : ''}`,
    `    per email: ${result.commitsPerEmail.toFixed(3)} commits, ${result.sessionsPerEmail.toFixed(3)} new Postgres sessions, backends ${result.activeMsPerEmail.toFixed(2)} ms running statements and ${result.idleInTransactionMsPerEmail.toFixed(2)} ms idle in a transaction`,
    `    SMTP connections idle between messages: ${result.smtpIdleMsPerEmail.toFixed(2)} ms per email, ${result.smtpLongIdleMsPerEmail.toFixed(2)} of it in gaps of 50 ms or more`,
    `    CPU ms/email: ${kinds(result.cpuMsPerEmail)}`,
    `    run-queue wait ms/email: ${kinds(result.runQueueWaitMsPerEmail)}`,
    `    sleeps/email (a Postgres backend sleeps once per statement it is sent, and per I/O wait): ${kinds(result.wakeupsPerEmail)}`,
    `    its Postgres backends, mean number: ${activity}`,
  ];
}

async function runRounds(env: RoundEnvironment, systems: BenchSystem[], rounds: number, phase: string, firstRound: number, log: (line: string) => void): Promise<RoundResult[][]> {
  const results: RoundResult[][] = [];
  for (let r = 0; r < rounds; r++) {
    const pair: RoundResult[] = [];
    for (const system of systems) {
      const result = await measureRound(env, system, firstRound + r);
      pair.push(result);
      for (const line of describe(result)) log(`${phase} round ${r + 1}/${rounds} ${line}`);
    }
    results.push(pair);
  }
  return results;
}

function figures(prefix: string, results: RoundResult[]): Record<string, number> {
  const cpu = (kind: string) => median(results.map((r) => r.cpuMsPerEmail[kind] ?? 0));
  const own = median(results.map((r) => (r.cpuMsPerEmail.workers ?? 0) + (r.cpuMsPerEmail.postgres ?? 0) + (r.cpuMsPerEmail.sink ?? 0)));
  return {
    [`${prefix}_commits_per_email`]: fixed(median(results.map((r) => r.commitsPerEmail)), 3),
    [`${prefix}_pg_sessions_per_email`]: fixed(median(results.map((r) => r.sessionsPerEmail)), 3),
    [`${prefix}_cpu_ms_per_email`]: fixed(own, 3),
    [`${prefix}_worker_cpu_ms_per_email`]: fixed(cpu('workers'), 3),
    [`${prefix}_postgres_cpu_ms_per_email`]: fixed(cpu('postgres'), 3),
    [`${prefix}_sink_cpu_ms_per_email`]: fixed(cpu('sink'), 3),
  };
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const rounds = context.rounds ?? DEFAULT_ROUNDS;
  const shapeBase = { emails: context.emails ?? DEFAULT_EMAILS, processes: context.workers ?? 4, connectionsPerProcess: CONNECTIONS_PER_PROCESS, batchSize: BATCH };
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-pipeline-'));
  let sink: SinkProcess | undefined;
  try {
    sink = await startSinkProcess();
    const shape: PipelineShape = { ...shapeBase, sinkPort: sink.port };
    return await withBenchDatabase(async ({ db, url, name: dbName, adminUrl }) => {
      const activity = await PgActivity.connect(adminUrl);
      const systems = [ourPipeline(db, url, shape, tempDir), await pgBossPipeline(db, url, shape, PGBOSS_WORKERS_PER_PROCESS)];
      const loadDb = `${dbName}_load`;
      try {
        const env: RoundEnvironment = { db, dbName, activity, sink: sink as SinkProcess, emails: shape.emails, postgresLocal: await isPostgresLocal(activity, db) };
        if (!env.postgresLocal) context.log('Postgres is on another machine: its CPU is not measured');
        context.log(`${shape.emails} emails per round, ${shape.processes} worker processes per system, ${CONNECTIONS_PER_PROCESS} SMTP connections each, batches of ${BATCH}; ${rounds} rounds quiet, ${rounds} loaded`);
        const quiet = await runRounds(env, systems, rounds, 'quiet', 0, context.log);

        await ensureDatabase(adminUrl, loadDb);
        const load = await startWriteLoad(withDatabase(adminUrl, loadDb), LOAD_COMMITS_PER_S, LOAD_CONNECTIONS);
        let loaded: RoundResult[][];
        try {
          await new Promise((r) => setTimeout(r, LOAD_WARMUP_MS));
          context.log(`write load: ${LOAD_COMMITS_PER_S} small write transactions/s asked, ${LOAD_CONNECTIONS} connections, database ${loadDb} on the same server`);
          loaded = await runRounds({ ...env, load: { process: load, dbName: loadDb } }, systems, rounds, 'loaded', rounds, context.log);
        } finally {
          await load.stop();
        }

        const ours = (pairs: RoundResult[][]) => pairs.map((p) => p[0] as RoundResult);
        const boss = (pairs: RoundResult[][]) => pairs.map((p) => p[1] as RoundResult);
        const ratio = (pairs: RoundResult[][]) => median(pairs.map(([a, b]) => (a?.emailsPerS ?? 0) / (b?.emailsPerS || 1)));
        const result = {
          pipeline_emails_per_s: Math.round(median(ours(quiet).map((r) => r.emailsPerS))),
          pgboss_emails_per_s: Math.round(median(boss(quiet).map((r) => r.emailsPerS))),
          pipeline_vs_pgboss_ratio: fixed(ratio(quiet), 2),
          pipeline_loaded_emails_per_s: Math.round(median(ours(loaded).map((r) => r.emailsPerS))),
          pgboss_loaded_emails_per_s: Math.round(median(boss(loaded).map((r) => r.emailsPerS))),
          pipeline_vs_pgboss_ratio_loaded: fixed(ratio(loaded), 2),
          write_load_commits_per_s: Math.round(median(loaded.flat().map((r) => r.loadCommitsPerS ?? 0))),
          ...figures('pipeline', ours(quiet)),
          ...figures('pgboss', boss(quiet)),
        };
        context.log('ratios are medians of each round’s ours / pg-boss (the two ran one after the other); commits and CPU figures are medians of the quiet rounds');
        return result;
      } finally {
        for (const system of systems) await system.close();
        await activity.close();
        await dropDatabase(adminUrl, loadDb).catch(() => undefined);
      }
    }, 1);
  } finally {
    await sink?.stop();
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}
