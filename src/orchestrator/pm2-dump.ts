/**
 * `npm run pm2:save`: PM2's `pm2 save` without the workers. PM2 writes every app of its daemon
 * into dump.pm2, and `pm2 resurrect` (at boot, through `pm2 startup`) starts every one of them
 * again: the send workers too, all at once, before the server and outside its batching. A
 * worker is the orchestrator's to start, so the dump must hold the server app(s) only.
 *
 * Written as PM2 7's own save writes it (lib/API/Startup.js `dump`: each app's pm2_env without
 * instances, pm_id and prev_restart_delay, PM2 modules left out), minus namespace
 * outreach-workers; the previous dump becomes dump.pm2.bak, filtered the same way. Both are
 * written under a temporary name and renamed into place, so a crash never leaves half a file,
 * and the dump never holds workers, not even for a moment.
 */
import fs from 'node:fs';
import path from 'node:path';
import pm2Module from 'pm2';
import { isProcessAlive } from './proc-stats';
import { WORKER_NAMESPACE } from './pm2-supervisor';

interface DumpedApp {
  name?: string;
  namespace?: string;
  status?: string;
  pmx_module?: boolean;
  [key: string]: unknown;
}

interface Pm2ListApi {
  pm2_home: string;
  connect(noDaemon: boolean, cb: (error: Error | null) => void): void;
  disconnect(cb?: () => void): void;
  list(cb: (error: Error | null, list: { pm2_env?: DumpedApp }[]) => void): void;
}

const Pm2Constructor = (pm2Module as unknown as { custom: new (options: Record<string, unknown>) => Pm2ListApi }).custom;

export class Pm2SaveError extends Error {
  override name = 'Pm2SaveError';
}

export interface SavedList {
  file: string;
  /** Apps written to the dump, with their status now (`pm2 resurrect` restores a stopped app stopped). */
  saved: { name: string; status: string }[];
  /** Workers left out. */
  workersLeftOut: number;
}

/** What a dump keeps: PM2's own choice (no modules), minus the orchestrator's workers. */
export function withoutWorkers(apps: DumpedApp[]): DumpedApp[] {
  return apps.filter((app) => !app.pmx_module && app.namespace !== WORKER_NAMESPACE);
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, text, { mode: 0o600 });
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

function daemonRuns(home: string): boolean {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid);
  } catch {
    return false;
  }
}

/**
 * Saves the process list of the PM2 daemon of `pm2Home` (undefined: PM2's own choice,
 * PM2_HOME or ~/.pm2, as the `pm2` command makes it) without the workers. Refuses when that
 * would save nothing (no daemon, or only workers), as `pm2 save` does, unless `force`.
 */
export async function saveProcessListWithoutWorkers(options: { pm2Home?: string; force?: boolean } = {}): Promise<SavedList> {
  const api = new Pm2Constructor(options.pm2Home ? { pm2_home: options.pm2Home } : {});
  const home = api.pm2_home;
  if (!daemonRuns(home)) throw new Pm2SaveError(`no PM2 daemon runs for ${home}: start the server first ("npx pm2 start ecosystem.config.js")`);
  await new Promise<void>((resolve, reject) => api.connect(false, (error) => (error ? reject(error) : resolve())));
  let list: { pm2_env?: DumpedApp }[];
  try {
    list = await new Promise((resolve, reject) => api.list((error, result) => (error ? reject(error) : resolve(result))));
  } finally {
    await new Promise<void>((resolve) => api.disconnect(() => resolve()));
  }
  const all = list.map((p) => p.pm2_env).filter((env): env is DumpedApp => env !== undefined);
  const kept = withoutWorkers(all).map((env) => {
    const { instances: _instances, pm_id: _pmId, prev_restart_delay: _delay, ...app } = env;
    return app as DumpedApp;
  });
  if (kept.length === 0 && !options.force) throw new Pm2SaveError(`PM2 (${home}) runs no app but workers: nothing to save (start the server first, or pass --force to save an empty list)`);

  const file = path.join(home, 'dump.pm2');
  // The previous dump stays as PM2 keeps it (the backup `pm2 resurrect` falls back to), without workers too.
  if (fs.existsSync(file)) {
    try {
      writeAtomically(`${file}.bak`, JSON.stringify(withoutWorkers(JSON.parse(fs.readFileSync(file, 'utf8')) as DumpedApp[]), null, 2));
    } catch {
      fs.rmSync(`${file}.bak`, { force: true }); // unreadable: no backup rather than one that resurrects workers
    }
  }
  writeAtomically(file, JSON.stringify(kept, null, 2));
  return {
    file,
    saved: kept.map((app) => ({ name: String(app.name ?? ''), status: String(app.status ?? 'unknown') })),
    workersLeftOut: all.filter((app) => app.namespace === WORKER_NAMESPACE).length,
  };
}
