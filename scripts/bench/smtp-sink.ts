/**
 * The SMTP sink the send benchmarks deliver to: accepts any AUTH, reads each message to its
 * end, then answers 250 (after `replyDelayMs`, like a real server's queue write). It keeps its
 * own receive times, so a rate can be read from what arrived rather than from either system's
 * bookkeeping, the Message-IDs it saw, so a bench can tell which uncertain rows did arrive,
 * and how long its connections sat idle between a 250 and the next MAIL FROM: the time a
 * sender's SMTP connections wait for the rest of its pipeline.
 */
import { SMTPServer } from 'smtp-server';

export interface SinkOptions {
  /** Delay before the 250 to DATA, in ms (0: at once). */
  replyDelayMs?: number;
  /** Keep each message's Message-ID (read from its first chunk). */
  keepMessageIds?: boolean;
}

export interface Sink {
  port: number;
  received(): number;
  /** Date.now() of each message's end, in order of arrival. */
  receiveTimesMs(): number[];
  messageIds(): Set<string>;
  connectionIdle(): ConnectionIdle;
  /** Forget what arrived so far (a new round). */
  reset(): void;
  onReceive(listener: (count: number) => void): void;
  close(): Promise<void>;
}

const MESSAGE_ID = /^Message-ID:\s*(<[^>\r\n]+>)/im;
/** An idle gap this long is a wait for something other than the next message in hand (a batch boundary). */
export const LONG_IDLE_MS = 50;

export interface ConnectionIdle {
  /** Sum over connections of the gaps between a reply to DATA and the next MAIL FROM, in ms. */
  totalMs: number;
  /** The part of it in gaps of LONG_IDLE_MS or more. */
  longMs: number;
}

export async function startSink(options: SinkOptions = {}): Promise<Sink> {
  let times: number[] = [];
  let ids = new Set<string>();
  let lastReplyMs = new Map<string, number>();
  let idle: ConnectionIdle = { totalMs: 0, longMs: 0 };
  const listeners: Array<(count: number) => void> = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username }),
    onMailFrom(_address, session, callback) {
      const last = lastReplyMs.get(session.id);
      if (last !== undefined) {
        const gapMs = Date.now() - last;
        idle.totalMs += gapMs;
        if (gapMs >= LONG_IDLE_MS) idle.longMs += gapMs;
      }
      callback();
    },
    onData(stream, session, callback) {
      let head = options.keepMessageIds ? '' : undefined;
      stream.on('data', (chunk: Buffer) => {
        if (head !== undefined && head.length < 4096) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        const finish = () => {
          times.push(Date.now());
          if (head !== undefined) {
            const match = MESSAGE_ID.exec(head);
            if (match?.[1]) ids.add(match[1]);
          }
          for (const listener of listeners) listener(times.length);
          callback(null);
          lastReplyMs.set(session.id, Date.now());
        };
        if (options.replyDelayMs) setTimeout(finish, options.replyDelayMs);
        else finish();
      });
    },
  });
  // A client killed mid-session resets its connection: that is what some benches do to workers.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    received: () => times.length,
    receiveTimesMs: () => times,
    messageIds: () => ids,
    connectionIdle: () => idle,
    reset: () => {
      times = [];
      ids = new Set();
      lastReplyMs = new Map();
      idle = { totalMs: 0, longMs: 0 };
    },
    onReceive: (listener) => listeners.push(listener),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Messages per second between the 5th and 95th percentile of the receive times (start-up and tail left out). */
export function steadyRate(timesMs: number[]): { emailsPerS: number; fromMs: number; toMs: number } {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const lo = Math.floor(sorted.length * 0.05);
  const hi = Math.floor(sorted.length * 0.95);
  const fromMs = sorted[lo] ?? 0;
  const toMs = sorted[hi] ?? 0;
  const spanS = (toMs - fromMs) / 1000;
  return { emailsPerS: spanS > 0 ? (hi - lo) / spanS : 0, fromMs, toMs };
}
