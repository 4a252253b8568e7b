/**
 * The postmaster of the embedded default and of test clusters (src/db/postmaster.ts, through
 * test/helpers/private-postgres.ts): its own session, a clean fast shutdown, a restart on the
 * same port.
 */
import fs from 'node:fs';
import pg from 'pg';
import { clusterState, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';

/** Session id and process group of a process, from /proc/<pid>/stat (fields 5 and 6). */
function sessionOf(pid: number): { pgrp: number; session: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(fields[2]), session: Number(fields[3]) };
}

function postmasterPid(dataDir: string): number {
  return Number.parseInt(fs.readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0] ?? '', 10);
}

describe('a Postgres cluster run by the postmaster module', () => {
  let cluster: PrivatePostgres;
  beforeAll(async () => {
    cluster = await startPrivatePostgres();
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('runs in a session and process group of its own, so a Ctrl-C meant for the server never reaches it', () => {
    const pid = postmasterPid(cluster.dataDir);
    const own = sessionOf(process.pid);
    const postgres = sessionOf(pid);
    expect(postgres.session).toBe(pid);
    expect(postgres.pgrp).toBe(pid);
    expect(postgres.session).not.toBe(own.session);
  });

  it('ends open sessions with 57P01 on a fast restart and accepts connections again on the same port', async () => {
    const client = new pg.Client({ connectionString: cluster.url });
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    await client.connect();
    await cluster.restart();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(errors.map((e) => (e as Error & { code?: string }).code)).toContain('57P01');
    await client.end().catch(() => undefined);

    const again = new pg.Client({ connectionString: cluster.url });
    await again.connect();
    expect((await again.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await again.end();
  });

  it('leaves the cluster cleanly shut down when stopped, and refuses connections until started', async () => {
    await cluster.stop();
    expect(clusterState(cluster.dataDir)).toBe('shut down');
    await expect(new pg.Client({ connectionString: cluster.url }).connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await cluster.start();
    expect(clusterState(cluster.dataDir)).toBe('in production');
  });
});
