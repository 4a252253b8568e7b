/**
 * The compiled server as a real process (as `npm start` runs it), with the default imports.*
 * limits, fed the files that used to exhaust it (1.5-1.9 GB for 30 MiB of commas): 30 MiB of
 * commas on one line, a 3 MiB line, a million empty columns and 30 MiB of quotes, to each
 * importer. Each is a 400 naming line 2, and the server's peak memory (VmHWM) stays within
 * the bound: the CSV reader holds about 20 × imports.maxRecordBytes per import (~1.3 MiB with
 * the defaults, see src/http/csv-reader.ts); on top of that Node grows by a fixed amount
 * whatever the file (V8's young generation, up to 32 MiB, and received socket buffers not yet
 * collected): 30-42 MiB measured over 1-3 rounds of these files, flat after the first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/db/embedded-postgres';
import { useTestDatabase } from '../helpers/database';
import { startServerProcess, waitForListening, type ServerRun } from '../helpers/server-process';
import { createUser, TEST_PASSWORD } from './admin-api.helpers';

jest.setTimeout(300_000);

const t = useTestDatabase();
const MiB = 1024 * 1024;
/** How much the server's peak RSS may grow while it refuses every file below. */
const PEAK_GROWTH_BOUND = 64 * MiB;

let run: ServerRun | undefined;
let tempDir: string;
let port: number;
let token: string;

beforeAll(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-csv-memory-'));
  port = await findFreePort();
  const configFile = path.join(tempDir, 'config.json');
  // Only the HTTP server: no workers or sink whose work would show in its memory.
  fs.writeFileSync(configFile, JSON.stringify({ orchestrator: { enabled: false }, sink: { enabled: false, host: '127.0.0.1', port: 2525 } }));
  run = startServerProcess({ DATABASE_URL: t.url, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2') });
  expect((await waitForListening(port, run)).status).toBe(200);
  await createUser(t.db, 'admin@csv-memory.test', 'owner', null);
  const client = await t.db.insertInto('clients').values({ name: 'Memory Ltd', postal_address: '1 Main St' }).returning('id').executeTakeFirstOrThrow();
  await createUser(t.db, 'client-admin@csv-memory.test', 'client_admin', client.id);
  const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'client-admin@csv-memory.test', password: TEST_PASSWORD }),
  });
  token = ((await login.json()) as { accessToken: string }).accessToken;
});

afterAll(async () => {
  if (run && run.child.exitCode === null) {
    run.child.kill('SIGTERM');
    await run.exited;
  }
  fs.rmSync(tempDir, { recursive: true, force: true });
});

/** Peak resident set size of the server process so far, in bytes. */
function peakRss(): number {
  const status = fs.readFileSync(`/proc/${run!.child.pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error('no VmHWM in /proc/<pid>/status');
  return Number(kb[1]) * 1024;
}

async function upload(pathname: string, csv: Buffer): Promise<{ status: number; body: { error?: { code: string; message: string; details: { line?: number } } } }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(csv)], { type: 'text/csv' }), 'file.csv');
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: (await res.json()) as never };
}

const importers = [
  { name: 'contacts', path: '/api/contacts/import', header: 'email,first_name\n' },
  { name: 'suppressions', path: '/api/suppressions/import', header: 'email\n' },
  { name: 'accounts', path: '/api/accounts/import', header: 'email,smtp_host,smtp_password\n' },
];

/** Each hostile second line, full size, or cut to `cap` bytes for the warm-up. */
const hostileLines = [
  { name: '30 MiB of commas', body: (cap = Infinity) => Buffer.alloc(Math.min(30 * MiB, cap), ',') },
  { name: 'a 3 MiB line', body: (cap = Infinity) => Buffer.alloc(Math.min(3 * MiB, cap), 'a') },
  { name: 'a million empty columns', body: (cap = Infinity) => Buffer.concat([Buffer.from('x@example.com'), Buffer.alloc(Math.min(1_000_000, cap), ',')]) },
  { name: '30 MiB of quotes', body: (cap = Infinity) => Buffer.alloc(Math.min(30 * MiB, cap), '"') },
];

const hostileFile = (header: string, line: Buffer) => Buffer.concat([Buffer.from(header), line, Buffer.from('\nlast@example.com\n')]);

describe('the compiled server fed hostile CSV files', () => {
  it('answers each with a 400 naming line 2 and keeps its peak memory within the bound', async () => {
    // Warm-up, so that the peak below counts the hostile files and not the server's first use
    // of these paths: a good import through every importer, and the hostile lines cut to 64 KiB.
    for (const importer of importers) {
      const good = await upload(importer.path, Buffer.from(`${importer.header}warm-${importer.name}@example.com,smtp.example.com,pw\n`));
      expect(good.status).toBe(200);
      for (const hostile of hostileLines) expect((await upload(importer.path, hostileFile(importer.header, hostile.body(64 * 1024)))).status).toBe(400);
    }
    const before = peakRss();

    for (const importer of importers) {
      for (const hostile of hostileLines) {
        const res = await upload(importer.path, hostileFile(importer.header, hostile.body()));
        expect({ importer: importer.name, file: hostile.name, status: res.status, code: res.body.error?.code, line: res.body.error?.details.line }).toEqual({
          importer: importer.name,
          file: hostile.name,
          status: 400,
          code: 'malformed_csv',
          line: 2,
        });
        expect(res.body.error?.message).toMatch(/line 2\b/);
      }
    }

    const growth = peakRss() - before;
    expect(growth / MiB).toBeLessThan(PEAK_GROWTH_BOUND / MiB);
    expect(run!.child.exitCode).toBeNull();
  });
});
