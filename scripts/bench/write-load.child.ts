/**
 * A busy neighbour on the same Postgres, for the loaded half of the pipeline comparison: small
 * write transactions (one row inserted into its own table and one counter row updated, one
 * statement, autocommit) at a fixed rate from a few connections, as the other applications of
 * a shared production database would commit. Driven over IPC:
 *
 *   → {type:'start', databaseUrl, commitsPerS, connections}   ← {type:'started'}
 *   → {type:'count'}   ← {type:'count', commits}   (commits acknowledged so far)
 *
 * Falling behind (Postgres or the machine too busy) is not made up in a burst: the schedule
 * skips ahead, so the rate it reaches is the rate Postgres gave it, and the bench prints it.
 * It exits when the parent disconnects.
 */
import { Pool } from 'pg';

interface Start {
  type: 'start';
  databaseUrl: string;
  commitsPerS: number;
  connections: number;
}

const COUNTER_ROWS = 100;
/** How far behind the schedule may run before it skips ahead, in seconds. */
const MAX_BACKLOG_S = 0.2;

async function start(settings: Start): Promise<void> {
  const pool = new Pool({ connectionString: settings.databaseUrl, max: settings.connections, application_name: 'bench-write-load' });
  await pool.query(`
    create table if not exists bench_write_load (id bigserial primary key, account int not null, payload text not null, at timestamptz not null default now());
    create table if not exists bench_write_load_totals (id int primary key, n bigint not null default 0);
    insert into bench_write_load_totals (id) select g from generate_series(1, ${COUNTER_ROWS}) g on conflict do nothing;
  `);
  const statement = `with added as (insert into bench_write_load (account, payload) values ($1, $2) returning account)
    update bench_write_load_totals set n = n + 1 where id = (select account from added)`;
  let commits = 0;
  let inFlight = 0;
  let issued = 0;
  const startedMs = Date.now();
  let skipped = 0;

  const pump = () => {
    const due = Math.floor(((Date.now() - startedMs) / 1000) * settings.commitsPerS) - skipped;
    if (due - issued > settings.commitsPerS * MAX_BACKLOG_S) {
      skipped += due - issued;
      return;
    }
    while (issued < due && inFlight < settings.connections) {
      issued += 1;
      inFlight += 1;
      const account = 1 + (issued % COUNTER_ROWS);
      pool
        .query(statement, [account, `event ${issued} of account ${account}: a small write as another application would commit`])
        .then(() => (commits += 1))
        .catch((error: unknown) => process.stderr.write(`write-load: ${(error as Error).message}\n`))
        .finally(() => {
          inFlight -= 1;
          pump();
        });
    }
  };
  setInterval(pump, 2);
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'count') process.send?.({ type: 'count', commits });
  });
  process.send?.({ type: 'started' });
}

process.on('disconnect', () => process.exit(0));
process.once('message', (message: Start) => {
  start(message).catch((error: unknown) => {
    process.stderr.write(`write-load: ${(error as Error).message}\n`);
    process.exit(1);
  });
});
