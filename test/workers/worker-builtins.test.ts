/**
 * What a started worker loads of Node's own modules is memory and start-up CPU times 1,200.
 * nodemailer's fetch (node:http, node:https, node:zlib and their internals) is loaded only when
 * called (scripts/bundle-worker.ts), and a worker never calls it: its messages fetch nothing.
 * And the entry loads all the others before it sets its V8 flag (workers/send-worker.ts):
 * loaded after it, they would be compiled, not taken from Node's code cache.
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
  // Preloaded into the worker: lists Node's modules it loaded, and those it loaded after it set
  // a V8 flag, as it exits (listed before process.stderr is touched: it may load its own).
  fs.writeFileSync(
    path.join(tempDir, 'report.js'),
    `const v8 = require('v8');
const setFlags = v8.setFlagsFromString;
let flagsSetAt;
v8.setFlagsFromString = (flags) => { flagsSetAt ??= process.moduleLoadList.length; return setFlags.call(v8, flags); };
const names = (list) => list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(',');
process.on('exit', () => {
  const all = names(process.moduleLoadList);
  const after = flagsSetAt === undefined ? 'flags never set' : names(process.moduleLoadList.slice(flagsSetAt));
  process.stderr.write('BUILTINS=' + all + '\\nAFTER_FLAGS=' + after + '\\n');
});`,
  );
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
  // Node's internal modules that load on first use (webcrypto's for SCRAM, rimraf for a new
  // DATA_DIR's secrets) cannot be loaded ahead from outside Node; every module a worker can, it has.
  const afterFlags = (/AFTER_FLAGS=(.*)/.exec(stderr)?.[1] ?? 'not reported').split(',').filter((name) => name !== '');
  expect(afterFlags.filter((name) => !name.startsWith('internal/'))).toEqual([]);
});
