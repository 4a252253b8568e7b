/**
 * What a running server tells the commands started beside it (`npm run create-admin`): its pid
 * and the base URL it serves, in DATA_DIR/server.json, written once it listens and removed when
 * it stops. A command then prints the URL the server really uses, whatever PORT or BASE_URL
 * that command itself was started with.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RunningServerInfo {
  pid: number;
  baseUrl: string;
}

function infoFile(dataDir: string): string {
  return path.join(dataDir, 'server.json');
}

export function writeRunningServerInfo(dataDir: string, info: RunningServerInfo): void {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(infoFile(dataDir), `${JSON.stringify(info)}\n`);
}

/** Removes the file if it is still this process's (a second server may have replaced it). */
export function removeRunningServerInfo(dataDir: string): void {
  if (readRunningServerInfo(dataDir)?.pid === process.pid) fs.rmSync(infoFile(dataDir), { force: true });
}

/** The running server's info, or undefined when none is recorded or its process is gone. */
export function readRunningServerInfo(dataDir: string): RunningServerInfo | undefined {
  let info: Partial<RunningServerInfo>;
  try {
    info = JSON.parse(fs.readFileSync(infoFile(dataDir), 'utf8')) as Partial<RunningServerInfo>;
  } catch {
    return undefined;
  }
  if (typeof info.pid !== 'number' || typeof info.baseUrl !== 'string') return undefined;
  try {
    process.kill(info.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return { pid: info.pid, baseUrl: info.baseUrl };
}
