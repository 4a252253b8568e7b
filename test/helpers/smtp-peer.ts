/**
 * A real SMTP server (smtp-server) on a free loopback port, scripted per test: each stage
 * (mail, rcpt, data) may accept, answer with a code, or drop the connection. It records what
 * it accepted, raw, with the envelope and the session it came on (EHLO name, TLS, login), and
 * how many connections it had open at once. By default it speaks plain SMTP and does not offer
 * STARTTLS; given a certificate it offers STARTTLS, or speaks TLS from the start (`implicit`).
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
  /** The login of an AUTH that succeeded; undefined when the client sent none. */
  user: string | undefined;
  /** The name the client gave in EHLO/HELO, lower-cased. */
  ehlo: string;
  /** Whether the session was under TLS (STARTTLS or implicit) when the message came. */
  secure: boolean;
  /** The smtp-server session id: messages with the same one came over the same connection. */
  sessionId: string;
}

/** Answers a stage, at once or later (a slow peer). */
export type SmtpScript = (context: SmtpStageContext) => SmtpAnswer | Promise<SmtpAnswer>;

export interface SmtpPeerOptions {
  /** Answers each stage; undefined accepts. Defaults to accepting everything. */
  script?: SmtpScript;
  /** Required credentials; without them any AUTH is accepted and AUTH is optional. */
  auth?: { user: string; pass: string };
  /** A server certificate: STARTTLS is offered (or, `implicit`, TLS from the first byte as on port 465). */
  tls?: { key: string; cert: string; implicit?: boolean };
}

export interface SmtpPeer {
  host: string;
  port: number;
  received: ReceivedMessage[];
  script: SmtpScript;
  /** Connections accepted so far, and the most that were open at once. */
  connections: { opened: number; peak: number };
  close(): Promise<void>;
}

function smtpError(answer: { code: number; message: string }): Error {
  return Object.assign(new Error(answer.message), { responseCode: answer.code });
}

export async function startSmtpPeer(options: SmtpPeerOptions = {}): Promise<SmtpPeer> {
  const peer = { host: '127.0.0.1', port: 0, received: [] as ReceivedMessage[], script: options.script ?? (() => undefined), connections: { opened: 0, peak: 0 } } as SmtpPeer;
  let open = 0;

  const dropConnection = (session: SMTPServerSession) => {
    const connections = (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections;
    for (const connection of connections) if (connection.id === session.id) connection._socket.destroy();
  };

  const answer = async (context: SmtpStageContext, session: SMTPServerSession, callback: (error?: Error | null) => void) => {
    const result = await peer.script(context);
    if (result === 'drop' || result === 'accept-then-drop') return dropConnection(session);
    callback(result ? smtpError(result) : null);
  };

  const tls = options.tls ? { key: options.tls.key, cert: options.tls.cert } : undefined;
  const server = new SMTPServer({
    secure: options.tls?.implicit ?? false,
    ...(tls ? tls : { disabledCommands: ['STARTTLS'] }),
    authOptional: !options.auth,
    logger: false,
    size: 10 * 1024 * 1024,
    onConnect(_session, callback) {
      open += 1;
      peer.connections.opened += 1;
      peer.connections.peak = Math.max(peer.connections.peak, open);
      callback();
    },
    onClose() {
      open -= 1;
    },
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
        const received: ReceivedMessage = { from, to, raw, user: typeof session.user === 'string' ? session.user : undefined, ehlo: session.hostNameAppearsAs, secure: session.secure, sessionId: session.id };
        const result = await peer.script({ stage: 'data', from, to, raw });
        if (result === 'accept-then-drop') peer.received.push(received);
        if (result === 'drop' || result === 'accept-then-drop') return dropConnection(session);
        if (result) return callback(smtpError(result));
        peer.received.push(received);
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
