/**
 * A real SMTP server (smtp-server) on a free loopback port, scripted per test: each stage
 * (mail, rcpt, data) may accept, answer with a code, or drop the connection. It records what
 * it accepted, raw, with the envelope.
 */
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export type SmtpStage = 'mail' | 'rcpt' | 'data';
/**
 * undefined accepts; 'drop' closes the connection without an answer (the message is not
 * taken); 'accept-then-drop' (data stage) keeps the message as delivered and then closes the
 * connection before answering: the sender cannot know it was delivered.
 */
export type SmtpAnswer = { code: number; message: string } | 'drop' | 'accept-then-drop' | undefined;

export interface SmtpStageContext {
  stage: SmtpStage;
  from: string;
  to: string[];
  /** The address of the RCPT being answered (rcpt stage only). */
  rcpt?: string;
  raw?: string;
}

export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: string;
  user: string | undefined;
}

/** Answers a stage, at once or later (a slow peer). */
export type SmtpScript = (context: SmtpStageContext) => SmtpAnswer | Promise<SmtpAnswer>;

export interface SmtpPeerOptions {
  /** Answers each stage; undefined accepts. Defaults to accepting everything. */
  script?: SmtpScript;
  /** Required credentials; without them any AUTH is accepted and AUTH is optional. */
  auth?: { user: string; pass: string };
}

export interface SmtpPeer {
  host: string;
  port: number;
  received: ReceivedMessage[];
  script: SmtpScript;
  close(): Promise<void>;
}

function smtpError(answer: { code: number; message: string }): Error {
  return Object.assign(new Error(answer.message), { responseCode: answer.code });
}

export async function startSmtpPeer(options: SmtpPeerOptions = {}): Promise<SmtpPeer> {
  const peer = { host: '127.0.0.1', port: 0, received: [] as ReceivedMessage[], script: options.script ?? (() => undefined) } as SmtpPeer;

  const dropConnection = (session: SMTPServerSession) => {
    const connections = (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections;
    for (const connection of connections) if (connection.id === session.id) connection._socket.destroy();
  };

  const answer = async (context: SmtpStageContext, session: SMTPServerSession, callback: (error?: Error | null) => void) => {
    const result = await peer.script(context);
    if (result === 'drop' || result === 'accept-then-drop') return dropConnection(session);
    callback(result ? smtpError(result) : null);
  };

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: !options.auth,
    logger: false,
    size: 10 * 1024 * 1024,
    onAuth(auth, _session, callback) {
      if (options.auth && (auth.username !== options.auth.user || auth.password !== options.auth.pass)) {
        return callback(smtpError({ code: 535, message: '5.7.8 Authentication credentials invalid' }));
      }
      callback(null, { user: auth.username });
    },
    onMailFrom(address: SMTPServerAddress, session, callback) {
      void answer({ stage: 'mail', from: address.address, to: [] }, session, callback);
    },
    onRcptTo(address: SMTPServerAddress, session, callback) {
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      void answer({ stage: 'rcpt', from, to: session.envelope.rcptTo.map((r) => r.address), rcpt: address.address }, session, callback);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((r) => r.address);
        const result = await peer.script({ stage: 'data', from, to, raw });
        if (result === 'accept-then-drop') peer.received.push({ from, to, raw, user: session.user as string | undefined });
        if (result === 'drop' || result === 'accept-then-drop') return dropConnection(session);
        if (result) return callback(smtpError(result));
        peer.received.push({ from, to, raw, user: session.user as string | undefined });
        callback(null);
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.on('error', () => undefined);
  const address = server.server.address();
  peer.port = typeof address === 'object' && address ? address.port : 0;
  peer.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return peer;
}
