/**
 * What Postgres says about a benchmark, read from the server's `postgres` database so the
 * reading itself adds no transaction to the database being measured: the backends of a
 * database (to read their CPU from /proc), committed transactions per database
 * (pg_stat_database), and a sampler of what those backends are doing (on CPU, waiting on
 * I/O or a lock, or idle waiting for their client), which says where a pipeline waits.
 */
import { Client } from 'pg';
import { withDatabase } from '../../src/db/admin';
import { readProcessUsage, type ProcessUsage } from './process-usage';

export interface Backend {
  pid: number;
  datname: string | null;
  backend_type: string;
  application_name: string;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
}

/** Server-wide helpers whose work every database's writes cause (WAL, checkpoints, vacuum). */
const SERVER_PROCESS_TYPES = ['walwriter', 'checkpointer', 'background writer', 'autovacuum launcher'];

/** What a client backend is doing at one moment, in words the report prints. */
export function activityOf(backend: Backend): string {
  if (backend.state === 'idle') return 'idle (waiting for its client)';
  if (backend.state === 'idle in transaction') return 'idle in transaction (its client works mid-transaction)';
  if (backend.state !== 'active') return backend.state ?? 'unknown';
  return backend.wait_event_type ? `waiting ${backend.wait_event_type}:${backend.wait_event}` : 'running (on CPU or runnable)';
}

export class PgActivity {
  private constructor(private readonly client: Client) {}

  /** `adminUrl` is a URL of the server (any database); the connection goes to `postgres`. */
  static async connect(adminUrl: string): Promise<PgActivity> {
    const client = new Client({ connectionString: withDatabase(adminUrl, 'postgres'), application_name: 'bench-harness' });
    await client.connect();
    return new PgActivity(client);
  }

  async backends(datname: string): Promise<Backend[]> {
    const result = await this.client.query<Backend>(
      `select pid, datname, backend_type, coalesce(application_name, '') as application_name, state, wait_event_type, wait_event
       from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
      [datname],
    );
    return result.rows;
  }

  /** Statements running right now in `datname` (its first `chars` characters), with whose connection runs each. */
  async activeStatements(datname: string, chars = 120): Promise<{ application_name: string; query: string }[]> {
    const result = await this.client.query<{ application_name: string; query: string }>(
      `select coalesce(application_name, '') as application_name, left(regexp_replace(query, '\\s+', ' ', 'g'), $2) as query
       from pg_stat_activity where datname = $1 and state = 'active' and pid <> pg_backend_pid()`,
      [datname, chars],
    );
    return result.rows;
  }

  async serverProcessPids(): Promise<number[]> {
    const result = await this.client.query<{ pid: number }>(`select pid from pg_stat_activity where backend_type = any($1)`, [SERVER_PROCESS_TYPES]);
    return result.rows.map((r) => r.pid);
  }

  /**
   * Counters of `datname` as far as its backends have reported them (a backend reports at
   * the end of its session, and at most once a second while it runs): transactions
   * committed, sessions opened (connections), and the time its backends spent running
   * statements and idle inside a transaction, in ms.
   */
  async databaseStats(datname: string): Promise<DatabaseStats> {
    const result = await this.client.query<Record<keyof DatabaseStats, string>>(
      `select xact_commit::text as commits, sessions::text as sessions, active_time::text as "activeMs", idle_in_transaction_time::text as "idleInTransactionMs"
       from pg_stat_database where datname = $1`,
      [datname],
    );
    const row = result.rows[0];
    return { commits: Number(row?.commits ?? 0), sessions: Number(row?.sessions ?? 0), activeMs: Number(row?.activeMs ?? 0), idleInTransactionMs: Number(row?.idleInTransactionMs ?? 0) };
  }

  /** Resolves once no backend of `datname` is left but those `keep` accepts (its stats are then all reported). */
  async waitForBackendsGone(datname: string, keep: (b: Backend) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.backends(datname)).some((b) => !keep(b))) {
      if (Date.now() > deadline) throw new Error(`backends of ${datname} still connected after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Every `intervalMs` while `counting` is set: tallies what the client backends of `datname`
   * that `include` accepts are doing (tally / instants is the mean number of backends doing
   * each thing), and reads the CPU of every backend of `datname` that `ownCpu` accepts, so a
   * backend that lives only between two reads of a round (a connection opened and closed
   * mid-round) still counts, up to its last reading.
   */
  sampleActivity(datname: string, include: (b: Backend) => boolean, ownCpu: (b: Backend) => boolean, intervalMs = 100): ActivitySampler {
    const tally = new Map<string, number>();
    const cpu = new Map<number, { first: ProcessUsage; last: ProcessUsage }>();
    const zero: ProcessUsage = { cpuS: 0, runQueueWaitS: 0, wakeups: 0 };
    const sampler: ActivitySampler = {
      counting: false,
      tally,
      instants: 0,
      usage: () => {
        const total = { ...zero };
        for (const { first, last } of cpu.values()) {
          total.cpuS += last.cpuS - first.cpuS;
          total.runQueueWaitS += last.runQueueWaitS - first.runQueueWaitS;
          total.wakeups += last.wakeups - first.wakeups;
        }
        return total;
      },
      stop: async () => undefined,
    };
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        if (sampler.counting) {
          const firstInstant = sampler.instants === 0;
          sampler.instants += 1;
          for (const backend of await this.backends(datname)) {
            if (ownCpu(backend)) {
              const usage = readProcessUsage(backend.pid);
              const seen = cpu.get(backend.pid);
              if (usage && seen) seen.last = usage;
              // Born during the window: all of its CPU is the window's.
              else if (usage) cpu.set(backend.pid, { first: firstInstant ? usage : zero, last: usage });
            }
            if (backend.backend_type !== 'client backend' || !include(backend)) continue;
            const activity = activityOf(backend);
            tally.set(activity, (tally.get(activity) ?? 0) + 1);
          }
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
    sampler.stop = async () => {
      stopped = true;
      await loop;
    };
    return sampler;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

export interface DatabaseStats {
  commits: number;
  sessions: number;
  activeMs: number;
  idleInTransactionMs: number;
}

export interface ActivitySampler {
  /** Set for the measured window (once: the first sampling instant is the CPU baseline). */
  counting: boolean;
  /** Backends seen doing each thing, summed over the sampling instants. */
  tally: Map<string, number>;
  instants: number;
  /** CPU of the sampled backends over the window. */
  usage(): ProcessUsage;
  stop(): Promise<void>;
}
