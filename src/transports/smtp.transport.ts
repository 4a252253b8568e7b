/**
 * SMTP transport: a small pool of nodemailer SMTPConnections per worker (TLS, AUTH, optional
 * DKIM) and Sent-mail lookup over IMAP.
 *
 * Why not nodemailer's pooled Mailer: the worker must tell "the connection broke before the
 * message was complete" (safe to retry) from "the whole message was written and the final
 * reply never came" (the server may have accepted it: the row becomes `unknown`). Driving
 * SMTPConnection directly lets us watch our own message stream reach its end.
 *
 * Connection states: connecting → idle ⇄ busy → closed (after maxMessagesPerConnection,
 * idleTimeoutMs without use, any network error, or close()).
 */
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { classifySmtpError, cleanResponse, type ClassifiedSendResult, type SmtpErrorLike } from './classify';
import { composeMessage, envelopeOf, signDkim, type DkimSettings } from './mime';
import type { OutgoingMessage, Transport } from './transport';

export interface ImapSettings {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string };
  /** Mailbox holding sent mail; found by its \Sent special-use flag when omitted. */
  sentMailbox?: string;
  /** Only for tests against self-signed peers. */
  rejectUnauthorized?: boolean;
}

export interface SmtpTransportOptions {
  host: string;
  port: number;
  /** Implicit TLS (port 465). Certificates are checked against Node's CAs plus NODE_EXTRA_CA_CERTS. */
  secure?: boolean;
  /** Refuse to send unless STARTTLS succeeds (a server that does not offer it is refused, never used in clear). */
  requireTLS?: boolean;
  /** Only for tests against self-signed peers; production keeps certificate checks. */
  rejectUnauthorized?: boolean;
  /** None: no AUTH (a relay that allows this host by its IP address). */
  auth?: { user: string; pass: string };
  /** EHLO name. Without it nodemailer uses the host's name, or "[127.0.0.1]" when that is not fully qualified: loadTransport always gives one. */
  clientName?: string;
  /** Connections open at once; the worker sends this many messages in parallel (maxInFlight). */
  maxConnections?: number;
  maxMessagesPerConnection?: number;
  idleTimeoutMs?: number;
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  /**
   * The longest one message may take from taking a connection to the final reply; past it the
   * connection is closed (no late reply can arrive) and the result is the usual one for a
   * broken connection (uncertain once the whole message was handed over). The sweeper relies on
   * it: a row `sending` for longer than this has no send in progress anywhere.
   */
  maxSendMs?: number;
  dkim?: DkimSettings;
  imap?: ImapSettings;
}

interface PooledConnection {
  connection: SMTPConnection;
  messages: number;
  alive: boolean;
  idleTimer?: NodeJS.Timeout;
}

type SmtpError = Error & SmtpErrorLike;

const DEFAULTS = { maxConnections: 1, maxMessagesPerConnection: 100, idleTimeoutMs: 30_000, connectionTimeoutMs: 30_000, greetingTimeoutMs: 30_000, socketTimeoutMs: 60_000, maxSendMs: 300_000 };

export function createSmtpTransport(options: SmtpTransportOptions): Transport {
  const settings = { ...DEFAULTS, ...options };
  const idle: PooledConnection[] = [];
  const waiters: Array<() => void> = [];
  let open = 0;
  let closed = false;

  const discard = (pooled: PooledConnection) => {
    if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
    const index = idle.indexOf(pooled);
    if (index >= 0) idle.splice(index, 1);
    if (pooled.alive) {
      pooled.alive = false;
      open -= 1;
      try {
        pooled.connection.quit();
      } catch {
        pooled.connection.close();
      }
      waiters.shift()?.();
    }
  };

  const connect = () =>
    new Promise<PooledConnection>((resolve, reject) => {
      const connection = new SMTPConnection({
        host: settings.host,
        port: settings.port,
        secure: settings.secure ?? false,
        requireTLS: settings.requireTLS ?? false,
        ...(settings.clientName ? { name: settings.clientName } : {}),
        connectionTimeout: settings.connectionTimeoutMs,
        greetingTimeout: settings.greetingTimeoutMs,
        socketTimeout: settings.socketTimeoutMs,
        tls: { rejectUnauthorized: settings.rejectUnauthorized ?? true },
        // Never log: an AUTH transcript would carry the password (invariant 6).
        logger: false,
        debug: false,
      });
      const pooled: PooledConnection = { connection, messages: 0, alive: true };
      let settled = false;
      const fail = (error: Error) => {
        if (pooled.alive) {
          pooled.alive = false;
          open -= 1;
          waiters.shift()?.();
        }
        if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
        const index = idle.indexOf(pooled);
        if (index >= 0) idle.splice(index, 1);
        connection.close();
        if (!settled) {
          settled = true;
          reject(error);
        }
      };
      connection.on('error', fail);
      // A server that closes right after refusing AUTH ends the socket before nodemailer calls
      // back with the 535: give the callback's precise error a moment to win.
      connection.on('end', () => setTimeout(() => fail(Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' })), 20));
      connection.connect((connectError) => {
        if (connectError) return fail(connectError);
        if (!settings.auth) {
          settled = true;
          return resolve(pooled);
        }
        connection.login({ user: settings.auth.user, pass: settings.auth.pass }, (loginError) => {
          if (loginError) return fail(loginError);
          settled = true;
          resolve(pooled);
        });
      });
    });

  const acquire = async (): Promise<{ pooled: PooledConnection; reused: boolean }> => {
    for (;;) {
      if (closed) throw Object.assign(new Error('transport closed'), { code: 'ECONNECTION' });
      const pooled = idle.pop();
      if (pooled) {
        if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
        if (pooled.alive) return { pooled, reused: true };
        continue;
      }
      if (open < settings.maxConnections) {
        open += 1;
        // connect() gives the slot back itself when it fails.
        return { pooled: await connect(), reused: false };
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };

  const release = (pooled: PooledConnection) => {
    if (!pooled.alive) return;
    if (closed || pooled.messages >= settings.maxMessagesPerConnection) return discard(pooled);
    const waiter = waiters.shift();
    idle.push(pooled);
    pooled.idleTimer = setTimeout(() => discard(pooled), settings.idleTimeoutMs);
    pooled.idleTimer.unref();
    waiter?.();
  };

  const sendOnce = async (raw: Buffer, envelope: { from: string; to: string[] }): Promise<{ result: ClassifiedSendResult; retryFresh: boolean }> => {
    let acquired: { pooled: PooledConnection; reused: boolean };
    try {
      acquired = await acquire();
    } catch (error) {
      return { result: classifySmtpError(error as SmtpError, false), retryFresh: false };
    }
    const { pooled, reused } = acquired;
    let started = false;
    let handedOver = false;
    const stream = new Readable({
      read() {
        started = true;
        this.push(raw);
        this.push(null);
      },
    });
    stream.on('end', () => {
      handedOver = true;
    });

    return new Promise((resolve) => {
      const deadline = setTimeout(() => pooled.connection.close(), settings.maxSendMs);
      pooled.connection.send({ ...envelope, size: raw.length }, stream, (error, info) => {
        clearTimeout(deadline);
        pooled.messages += 1;
        if (!error && info) {
          release(pooled);
          const providerMessageId = info.serverMessageId;
          resolve({ result: { outcome: 'accepted', code: Number.parseInt(info.response, 10) || 250, response: cleanResponse(info.response), ...(providerMessageId ? { providerMessageId } : {}) }, retryFresh: false });
          return;
        }
        const smtpError = (error ?? new Error('SMTP send failed')) as SmtpError;
        const result = classifySmtpError(smtpError, handedOver);
        // A reused connection the server had silently closed: not a byte went out, try a fresh one.
        const retryFresh = reused && !started && result.outcome === 'transient' && smtpError.responseCode === undefined;
        const refusedOnly = (smtpError.code === 'EENVELOPE' || smtpError.code === 'EMESSAGE') && smtpError.responseCode !== 421 && pooled.alive;
        if (refusedOnly) {
          // The server refused this message; the session itself is fine once reset.
          pooled.connection.reset((resetError) => (resetError ? discard(pooled) : release(pooled)));
        } else {
          discard(pooled);
        }
        resolve({ result, retryFresh });
      });
    });
  };

  return {
    kind: 'smtp',
    maxInFlight: settings.maxConnections,
    async send(message: OutgoingMessage) {
      let raw = await composeMessage(message);
      if (settings.dkim) raw = await signDkim(raw, settings.dkim);
      const envelope = envelopeOf(message);
      const first = await sendOnce(raw, envelope);
      if (!first.retryFresh) return first.result;
      return (await sendOnce(raw, envelope)).result;
    },
    async findSent(messageId: string) {
      if (!settings.imap) return undefined;
      // Lazy: imapflow is only loaded by a worker that actually reconciles.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { findSentOverImap } = require('./imap-sent') as typeof import('./imap-sent');
      return findSentOverImap(settings.imap, messageId);
    },
    async verify() {
      // A fresh connection through every step a send takes before MAIL FROM, then closed.
      open += 1;
      try {
        discard(await connect());
        return { outcome: 'accepted', response: settings.auth ? 'connected and logged in' : 'connected' };
      } catch (error) {
        return classifySmtpError(error as SmtpError, false);
      }
    },
    async close() {
      closed = true;
      for (const pooled of [...idle]) discard(pooled);
      while (waiters.length) waiters.shift()?.();
    },
  };
}
