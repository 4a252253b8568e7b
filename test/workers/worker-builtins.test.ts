/**
 * What a started worker loads of Node's own modules is memory and start-up CPU times 1,200.
 * nodemailer's fetch (node:http, node:https, node:zlib and their internals) is loaded only when
 * called (scripts/bundle-worker.ts), and a worker never calls it: its messages fetch nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useTestDatabase } from '../helpers/database';
import { startUntilWaiting } from '../helpers/worker-process';
import { createAccount, createClient } from '../queue/fixtures';

const database = useTestDatabase();
let tempDir: string;

beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-builtins-'));
  fs.writeFileSync(path.join(tempDir, 'config.json'), '{}');
  // Preloaded into the worker: lists Node's modules it loaded, as it exits.
  fs.writeFileSync(path.join(tempDir, 'report.js'), `process.on('exit', () => process.stderr.write('BUILTINS=' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(',') + '\\n'));`);
});
afterEach(() => fs.rmSync(tempDir, { recursive: true, force: true }));

it('a started worker with its transport loaded has not loaded node:http, node:https or node:zlib', async () => {
  const client = await createClient(database.db);
  const account = await createAccount(database.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: '127.0.0.1', port: 2525 }) });
  const stderr = await startUntilWaiting(account.id, { databaseUrl: database.url, tempDir, nodeArgs: ['--require', path.join(tempDir, 'report.js')] });
  const builtins = (/BUILTINS=(.*)/.exec(stderr)?.[1] ?? '').split(',');
  // The transport is loaded at start: nodemailer's SMTP connection is there, with node:tls.
  expect(builtins).toContain('tls');
  for (const name of ['http', 'https', 'zlib']) expect(builtins).not.toContain(name);
});
