/**
 * The dev sink: a local SMTP server (smtp-server) that accepts every message and stores it in
 * sink_messages, so the embedded default can "send" with no real accounts and the dashboard
 * can show what went out. A message is acknowledged with 250 only after it is stored; when
 * the database cannot take it (restart, outage) the answer is 451, so the sender retries.
 * Listens on loopback by default; it has no authentication and must never face a network.
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Db } from '../db/connection';
import { insertSinkMessage, pruneSinkMessages } from './sink-message.repository';

export interface SinkServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  maxMessageBytes?: number;
  /** Keep at most this many captured messages (pruned every `pruneEvery` messages). */
  retainMessages?: number;
  pruneEvery?: number;
  onError?: (error: Error) => void;
}

export interface SinkServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULTS = { host: '127.0.0.1', port: 2525, maxMessageBytes: 10 * 1024 * 1024, retainMessages: 10_000, pruneEvery: 500 };

function headerOf(raw: string, name: string): string | undefined {
  const end = raw.search(/\r?\n\r?\n/);
  const headerBlock = end >= 0 ? raw.slice(0, end) : raw;
  const unfolded = headerBlock.replace(/\r?\n[ \t]+/g, ' ');
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded);
  return match?.[1]?.trim();
}

export async function startSinkServer(db: Db, options: SinkServerOptions = {}): Promise<SinkServer> {
  const settings = { ...DEFAULTS, ...options };
  let stored = 0;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    size: settings.maxMessageBytes,
    onAuth(auth, _session, callback) {
      // Accept any login: transports configured with credentials must still work against the sink.
      callback(null, { user: auth.username });
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          return callback(Object.assign(new Error('5.3.4 Message too big'), { responseCode: 552 }));
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        insertSinkMessage(db, {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          messageId: headerOf(raw, 'Message-ID'),
          subject: headerOf(raw, 'Subject') ?? '',
          raw,
        })
          .then(() => {
            callback(null);
            stored += 1;
            if (stored % settings.pruneEvery === 0) pruneSinkMessages(db, settings.retainMessages).catch((error: Error) => settings.onError?.(error));
          })
          .catch((error: Error) => {
            settings.onError?.(error);
            callback(Object.assign(new Error('4.3.0 Sink storage unavailable'), { responseCode: 451 }));
          });
      });
    },
  });
  server.on('error', (error) => settings.onError?.(error));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  return { host: settings.host, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
