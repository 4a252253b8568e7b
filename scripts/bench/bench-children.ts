/**
 * The helper processes of the pipeline comparison, started from their compiled entries in
 * dist/scripts/bench/ and driven over IPC: the SMTP sink (smtp-sink.child.ts) and the
 * concurrent write load (write-load.child.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';
import type { ConnectionIdle } from './smtp-sink';

const ENTRY_DIR = path.join(PROJECT_ROOT, 'dist', 'scripts', 'bench');

function start(entry: string): ChildProcess {
  return spawn(process.execPath, [path.join(ENTRY_DIR, entry)], { env: {}, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type'], timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no '${type}' from ${path.basename(String(child.spawnargs[1]))} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: T) => {
      if (message.type === type) done(undefined, message);
    };
    const onExit = (code: number | null) => done(new Error(`${path.basename(String(child.spawnargs[1]))} exited (${code}) before '${type}'`));
    function done(error?: Error, message?: T) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export type SinkMark = 'from' | 'to' | 'done';

export interface SinkProcess {
  pid: number;
  port: number;
  /** Starts a round of `expected` messages; resolves each mark as the sink reaches it. */
  round(expected: number): Record<SinkMark, Promise<void>>;
  /** The round's receive times and how long the sink's connections sat idle. */
  report(): Promise<{ timesMs: number[]; idle: ConnectionIdle }>;
  stop(): Promise<void>;
}

export async function startSinkProcess(): Promise<SinkProcess> {
  const child = start('smtp-sink.child.js');
  const ready = await nextMessage<{ type: 'ready'; port: number }>(child, 'ready', 30_000);
  let waiting = new Map<SinkMark, () => void>();
  child.on('message', (message: { type: string; at?: SinkMark }) => {
    if (message.type === 'mark' && message.at) waiting.get(message.at)?.();
  });
  return {
    pid: child.pid as number,
    port: ready.port,
    round(expected) {
      waiting = new Map();
      const marks = {} as Record<SinkMark, Promise<void>>;
      for (const at of ['from', 'to', 'done'] as const) marks[at] = new Promise<void>((resolve) => waiting.set(at, resolve));
      child.send({ type: 'round', expected });
      return marks;
    },
    async report() {
      const report = nextMessage<{ type: 'report'; timesMs: number[]; idle: ConnectionIdle }>(child, 'report', 30_000);
      child.send({ type: 'report' });
      return report;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.disconnect();
      await exited;
    },
  };
}

export interface WriteLoadProcess {
  pid: number;
  /** Commits acknowledged so far. */
  commits(): Promise<number>;
  stop(): Promise<void>;
}

export async function startWriteLoad(databaseUrl: string, commitsPerS: number, connections: number): Promise<WriteLoadProcess> {
  const child = start('write-load.child.js');
  const started = nextMessage(child, 'started', 30_000);
  child.send({ type: 'start', databaseUrl, commitsPerS, connections });
  await started;
  return {
    pid: child.pid as number,
    async commits() {
      const reply = nextMessage<{ type: 'count'; commits: number }>(child, 'count', 10_000);
      child.send({ type: 'count' });
      return (await reply).commits;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.disconnect();
      await exited;
    },
  };
}

/** SIGTERM, then SIGKILL for any still running after `graceMs`; resolves when all have exited. */
export async function stopProcesses(children: ChildProcess[], graceMs = 20_000): Promise<void> {
  const exits = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, graceMs);
  await Promise.all(exits);
  clearTimeout(timer);
}
