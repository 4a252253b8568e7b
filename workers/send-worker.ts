/**
 * Process entry of a sender account's worker:
 *   node dist/workers/send-worker.js --account <id> [--code-cache-dir <dir>]
 *
 * Loads the worker bundle (send-worker.main.js, scripts/bundle-worker.ts) and runs it. With
 * --code-cache-dir (the orchestrator passes one under DATA_DIR) it compiles the bundle with V8's
 * code cache: the first worker to get through a start writes the bytecode of everything the
 * start ran, and later workers skip that compilation. Why: 1,200 workers start at once on two
 * cores, and compiling the bundle was a third of each one's start-up CPU (measured: 129 → 88 ms
 * of CPU per worker start, alone; 169 → 117 ms with 60 starting together). Node 20 has no
 * compile cache for required files (module.enableCompileCache is Node 22), and
 * v8-compile-cache caches only what is compiled before the code runs, which is the smaller part.
 *
 * The cache file is named after the bundle's size and modification time and the Node version,
 * so a rebuilt bundle or another Node never reads a stale one; V8 itself rejects a cache made
 * under other flags, and a rejected or unreadable cache is replaced. Caching is an optimisation
 * only: any failure to read or write it leaves the worker running uncached.
 *
 * This file stays small and imports nothing of ours: it is compiled as is, not bundled.
 */
/*
 * Node's modules the bundle loads as it starts, loaded here, before the V8 flag set below.
 * Why: Node ships the bytecode of its own modules as a code cache that V8 accepts only under
 * the V8 flags Node was built with. Any V8 flag on the command line made every worker compile
 * each of Node's modules it loads instead (measured: 12–18 ms more CPU per start, 15 % of
 * it). So workers start with no V8 flags and set the one they need at run time, once what
 * they load of Node is loaded (test/workers/worker-builtins.test.ts holds this list to it).
 */
import crypto from 'node:crypto';
import 'node:dns';
import fs from 'node:fs';
import Module from 'node:module';
import 'node:os';
import path from 'node:path';
import 'node:tls';
import 'node:util/types';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { main as WorkerMain } from './send-worker.main';

const BUNDLE = path.join(__dirname, 'send-worker.main.js');
const CACHE_DIR_FLAG = '--code-cache-dir';

/**
 * Whether the server that started this worker is gone already (`--supervisor-pid` and
 * `--supervisor-started`, as src/orchestrator/parent-watch.ts checks them later): then the
 * worker was not started by a server at all but by `pm2 resurrect` of a dump that held workers
 * (a plain `pm2 save`). It must not send unsupervised, and hundreds of such starts at boot
 * should cost no more than starting Node: it exits before loading anything. Inline, because
 * this file imports nothing of ours.
 */
function supervisorGone(argv: string[]): number | undefined {
  const at = argv.indexOf('--supervisor-pid');
  const pid = at >= 0 ? Number.parseInt(argv[at + 1] ?? '', 10) : Number.NaN;
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return pid; // EPERM: it exists, owned by another user
  }
  const startedAt = argv.indexOf('--supervisor-started');
  if (startedAt < 0) return undefined;
  let started: string | undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined; // no /proc: only the pid can be checked
  }
  return started === argv[startedAt + 1] ? undefined : pid;
}

function codeCacheDir(argv: string[]): string | undefined {
  const index = argv.indexOf(CACHE_DIR_FLAG);
  return index >= 0 ? argv[index + 1] : undefined;
}

function readCache(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Written whole under a temporary name, then renamed: workers starting together never read half a file. */
function writeCache(file: string, data: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, file);
  } catch {
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * `--no-compilation-cache`: V8's in-process compilation cache would keep the bundle's script,
 * and with it the bytecode of everything it ran, from being flushed (measured on idle workers
 * after a start with sends: V8 old space 6.6 → 6.1 MB, bytecode 731 → 606 KB). A worker
 * compiles nothing else that the cache would help with.
 */
function setV8Flags(): void {
  // pg's SCRAM support reads it as it loads: a getter that loads Node's webcrypto modules.
  void crypto.webcrypto;
  v8.setFlagsFromString('--no-compilation-cache');
}

function run(): void {
  setV8Flags();
  const source = fs.readFileSync(BUNDLE, 'utf8');
  const dir = codeCacheDir(process.argv);
  const stat = fs.statSync(BUNDLE);
  const cacheFile = dir && path.join(dir, `send-worker-${stat.size}-${Math.trunc(stat.mtimeMs)}-${process.version}.v8cache`);
  const cachedData = readCache(cacheFile);
  const script = new vm.Script(Module.wrap(source), { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) });
  const bundle = { exports: {} as { main?: typeof WorkerMain } };
  (script.runInThisContext() as (...args: unknown[]) => void)(bundle.exports, Module.createRequire(BUNDLE), bundle, BUNDLE, __dirname);
  const needsCache = cacheFile !== undefined && (!cachedData || script.cachedDataRejected === true);
  // After the start: the cache then holds the bytecode of what a start runs, not only the top level.
  void bundle.exports.main?.(needsCache ? { onStarted: () => writeCache(cacheFile, script.createCachedData()) } : {});
}

const gone = supervisorGone(process.argv);
if (gone !== undefined) {
  process.stderr.write(`send-worker: the server that started it (pid ${gone}) is gone; exiting without starting (resurrected from a PM2 dump? save with "npm run pm2:save")\n`);
  process.exit(0);
}
run();
