/**
 * The compiled server (dist/src/main.js: `npm run build` first) as a real process, the way
 * `npm start` runs it, with its JSON log lines collected.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';

export const SERVER_ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'main.js');

export interface ServerRun {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The JSON log lines so far, parsed. */
  logLines(): Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Only PATH and HOME of this process's environment, plus `env`. */
export function startServerProcess(env: Record<string, string>): ServerRun {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output = () => chunks.join('');
  return { child, output, logLines: () => parseLogLines(output()), exited };
}

export function parseLogLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { unparsed: line };
      }
    });
}

/** Resolves with the first answer of /healthz (any status) once the server listens. */
export async function waitForListening(port: number, run?: ServerRun, limitMs = 60_000): Promise<Response> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (run && run.child.exitCode !== null) throw new Error(`server exited (${run.child.exitCode}): ${run.output()}`);
    try {
      return await fetch(`http://127.0.0.1:${port}/healthz`);
    } catch {
      if (Date.now() > deadline) throw new Error(`server on port ${port} did not come up`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
