/**
 * The compiled server through a database restart with a minute-scale outage, on a cluster of
 * the test's own: requests in flight fail with a 503, /healthz says 503 while the database is
 * away, and everything works again afterwards without restarting the server.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../src/db/connection';
import { findFreePort } from '../src/db/embedded-postgres';
import { createUser, TEST_PASSWORD } from './http/admin-api.helpers';
import { startPrivatePostgres, type PrivatePostgres } from './helpers/private-postgres';
import { startServerProcess, waitForListening, type ServerRun } from './helpers/server-process';
import { waitFor } from './helpers/wait-for';

jest.setTimeout(180_000);

let cluster: PrivatePostgres;
let db: Db;
let run: ServerRun | undefined;
let tempDir: string;

beforeAll(async () => {
  cluster = await startPrivatePostgres();
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-server-outage-'));
});
afterAll(async () => {
  if (run && run.child.exitCode === null) {
    run.child.kill('SIGKILL');
    await run.exited;
  }
  await db?.destroy();
  await cluster?.destroy();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
}

/** A text/csv upload whose body the test writes line by line, as slowly as it likes. */
function slowCsvUpload(port: number, pathname: string, token: string) {
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: pathname, headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` } });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  // Awaited by the test; a server that died must not also make this an unhandled rejection.
  answer.catch(() => undefined);
  let ended = false;
  const end = () => {
    if (!ended) req.end();
    ended = true;
  };
  return { write: (line: string) => !ended && req.write(`${line}\n`), end, answer };
}

async function health(port: number): Promise<{ status: number; code?: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  const body = (await res.json()) as { error?: { code?: string } };
  return { status: res.status, code: body.error?.code };
}

describe('the server through a database restart and outage', () => {
  it('lives on: the upload in flight gets a 503 JSON error, /healthz answers 503 while the database is down and 200 after, and the API serves again', async () => {
    const port = await findFreePort();
    const configFile = path.join(tempDir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ sink: { enabled: true, host: '127.0.0.1', port: await findFreePort() }, orchestrator: { reconcileIntervalMs: 5000 } }));
    run = startServerProcess({ DATABASE_URL: cluster.url, PORT: String(port), DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2') });
    expect((await waitForListening(port, run)).status).toBe(200);

    db = createDb(cluster.url, { poolMax: 2, idleTimeoutMs: 1000 });
    await createUser(db, 'owner@outage.test', 'owner', null);
    const client = await db.insertInto('clients').values({ name: 'Outage Ltd', postal_address: '1 Main St' }).returning('id').executeTakeFirstOrThrow();
    await db.destroy();
    const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@outage.test', password: TEST_PASSWORD }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };

    // The import's transaction is open and waiting for rows when the database goes.
    const upload = slowCsvUpload(port, `/api/contacts/import?clientId=${client.id}`, accessToken);
    upload.write('email,first_name');
    let row = 0;
    const writer = setInterval(() => upload.write(`reader${++row}@example.com,Reader`), 100);
    const during: { status: number; code?: string }[] = [];
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await cluster.stop();
      const downAt = Date.now();
      while (Date.now() - downAt < 20_000) {
        during.push(await health(port));
        // The rest of the file arrives while the database is still away.
        if (Date.now() - downAt > 3000) {
          clearInterval(writer);
          upload.end();
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } finally {
      clearInterval(writer);
      upload.end();
      await cluster.start();
    }
    expect(run.child.exitCode).toBeNull();
    const answer = await upload.answer;
    if (answer.status !== 200) {
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 'database_unavailable', message: expect.any(String), details: null } });
    }
    expect(during.length).toBeGreaterThanOrEqual(15);
    expect(during.every((h) => h.status === 503 && h.code === 'database_unavailable')).toBe(true);

    // Back up (started again in the finally above): all recovers without restarting the server.
    await waitFor(async () => (await health(port)).status === 200, '/healthz 200 after the outage', 30_000);
    const clients = await fetch(`http://127.0.0.1:${port}/api/clients`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(clients.status).toBe(200);
    expect(((await clients.json()) as { clients: { name: string }[] }).clients.map((c) => c.name)).toContain('Outage Ltd');

    expect(run.child.exitCode).toBeNull();
    expect(run.output()).not.toMatch(/Unhandled 'error' event|uncaught|"level":"error","message":"unhandled request error"/i);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/"message":"server stopped"/);
  });
});
