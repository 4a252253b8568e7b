/**
 * Builds the transport an account needs from its row and its decrypted credentials, loading
 * ONLY that transport's module: an SMTP worker never loads the Google client code and a Gmail
 * worker never loads the SMTP pool (1,200 workers share one machine; see DESIGN "Processes").
 * The requires are therefore lazy and inside the switch.
 *
 * Shapes (validated; errors name the field, never a value):
 *   smtp  transport_settings {host, port, secure?, requireTLS?, maxConnections?, ehloName?,
 *                             imap?: {host, port, secure?, sentMailbox?}}
 *         credentials        {user, pass, imapUser?, imapPass?}, or none: a relay that lets
 *                            this host send without AUTH (IP allow-list); IMAP needs them
 *   gmail credentials        a Google service-account key {type: "service_account",
 *                             client_email, private_key, private_key_id?} (domain-wide
 *                             delegation, subject = account email) or
 *                             {type: "oauth2", client_id, client_secret, refresh_token}
 *   sink  transport_settings {host?, port?} or options.sink; no credentials
 */
// zod/mini: this module runs in every send worker (see src/config.ts).
import { domainToASCII } from 'node:url';
import * as z from 'zod/mini';
import type { SenderAccount } from '../db/database';
import type { GmailTransportOptions } from './gmail.transport';
import type { DkimSettings } from './mime';
import type { SmtpTransportOptions } from './smtp.transport';
import type { SinkTransportOptions } from './sink.transport';
import type { Transport } from './transport';

export class TransportConfigError extends Error {
  override name = 'TransportConfigError';
}

export interface LoadTransportOptions {
  /** The sender domain's DKIM key, decrypted by the caller (SMTP only; Google signs Gmail API mail). */
  dkim?: DkimSettings;
  /** Test/emulator overrides for the Gmail API root and token endpoint. */
  gmailRootUrl?: string;
  gmailTokenUrl?: string;
  /** Default address of the dev sink when the account's settings do not name one. */
  sink?: { host: string; port: number };
  /**
   * Lets the sink transport answer findSent from the mail the server's own dev sink captured
   * (sink_messages): only for an account that sends to that sink (options.sink), since mail sent
   * to another SMTP server never reaches that table and "not found" there would mean nothing.
   */
  db?: SinkTransportOptions['db'];
  /** Overrides transport_settings.maxConnections. */
  maxConnections?: number;
  /** The longest one send may take (sending.maxSendMs); the transport gives up after it. */
  maxSendMs?: number;
}

const port = z.int().check(z.minimum(1), z.maximum(65535));
const nonEmpty = z.string().check(z.minLength(1));
const smtpSettingsSchema = z.object({
  host: nonEmpty,
  port,
  secure: z.optional(z.boolean()),
  requireTLS: z.optional(z.boolean()),
  maxConnections: z.optional(z.int().check(z.positive())),
  ehloName: z.optional(nonEmpty),
  imap: z.optional(z.object({ host: nonEmpty, port, secure: z.optional(z.boolean()), sentMailbox: z.optional(nonEmpty) })),
});
const smtpCredentialsSchema = z.object({ user: nonEmpty, pass: nonEmpty, imapUser: z.optional(z.string()), imapPass: z.optional(z.string()) });
const gmailCredentialsSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('service_account'), client_email: nonEmpty, private_key: nonEmpty, private_key_id: z.optional(z.string()) }),
  z.object({ type: z.literal('oauth2'), client_id: nonEmpty, client_secret: nonEmpty, refresh_token: nonEmpty }),
]);
const sinkSettingsSchema = z.object({ host: z.optional(nonEmpty), port: z.optional(port) });

type AccountForTransport = Pick<SenderAccount, 'id' | 'email' | 'transport' | 'transport_settings'>;

function parse<T>(schema: z.ZodMiniType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    // Paths and messages only: a zod message never echoes the value, but keep it that way.
    const fields = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`).join('; ');
    throw new TransportConfigError(`${what} invalid: ${fields}`);
  }
  return result.data;
}

function parseCredentials(credentials: unknown): unknown {
  if (typeof credentials !== 'string') return credentials;
  try {
    return JSON.parse(credentials);
  } catch {
    throw new TransportConfigError('credentials are not valid JSON');
  }
}

/**
 * The EHLO name of an account that names none: its sender's domain. Not the host's name, which
 * nodemailer would use: on a host without a fully qualified name (containers, most cloud VMs)
 * that comes out as "[127.0.0.1]", which receivers score as spam; a host name may also say
 * more than we want about where we run, and differs between the nodes an account moves
 * between. The sender's domain is always a fully qualified name, and one the receiver already
 * sees in From. A host that delivers straight to MX servers should name its PTR (ehloName).
 */
export function defaultEhloName(email: string): string {
  const domain = email.slice(email.lastIndexOf('@') + 1);
  // EHLO takes ASCII only: an internationalised domain goes as its A-label (xn--…).
  return domainToASCII(domain) || domain;
}

export function loadTransport(account: AccountForTransport, credentials: unknown, options: LoadTransportOptions = {}): Transport {
  switch (account.transport) {
    case 'smtp': {
      const settings = parse(smtpSettingsSchema, account.transport_settings, 'SMTP settings');
      const given = parseCredentials(credentials);
      const secret = given === undefined || given === null ? undefined : parse(smtpCredentialsSchema, given, 'SMTP credentials');
      if (settings.imap && !secret) throw new TransportConfigError('SMTP credentials invalid: (root): the IMAP Sent-mail lookup needs credentials');
      const transportOptions: SmtpTransportOptions = {
        host: settings.host,
        port: settings.port,
        secure: settings.secure ?? settings.port === 465,
        requireTLS: settings.requireTLS ?? false,
        // No credentials: the relay takes mail from this host without AUTH (IP allow-list).
        ...(secret ? { auth: { user: secret.user, pass: secret.pass } } : {}),
        clientName: settings.ehloName ?? defaultEhloName(account.email),
        maxConnections: options.maxConnections ?? settings.maxConnections ?? 1,
        ...(options.maxSendMs ? { maxSendMs: options.maxSendMs } : {}),
        ...(options.dkim ? { dkim: options.dkim } : {}),
        ...(settings.imap && secret
          ? {
              imap: {
                host: settings.imap.host,
                port: settings.imap.port,
                secure: settings.imap.secure ?? settings.imap.port === 993,
                auth: { user: secret.imapUser ?? secret.user, pass: secret.imapPass ?? secret.pass },
                ...(settings.imap.sentMailbox ? { sentMailbox: settings.imap.sentMailbox } : {}),
              },
            }
          : {}),
      };
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createSmtpTransport } = require('./smtp.transport') as typeof import('./smtp.transport');
      return createSmtpTransport(transportOptions);
    }
    case 'gmail': {
      const secret = parse(gmailCredentialsSchema, parseCredentials(credentials), 'Gmail credentials');
      const transportOptions: Omit<GmailTransportOptions, 'composeMessage'> = {
        userEmail: account.email,
        auth:
          secret.type === 'service_account'
            ? { kind: 'service_account', clientEmail: secret.client_email, privateKey: secret.private_key, ...(secret.private_key_id ? { privateKeyId: secret.private_key_id } : {}) }
            : { kind: 'oauth2', clientId: secret.client_id, clientSecret: secret.client_secret, refreshToken: secret.refresh_token },
        ...(options.gmailRootUrl ? { rootUrl: options.gmailRootUrl } : {}),
        ...(options.gmailTokenUrl ? { tokenUrl: options.gmailTokenUrl } : {}),
        // The token request and the send each have this bound, so a send ends well within maxSendMs.
        ...(options.maxSendMs ? { timeoutMs: Math.floor(options.maxSendMs / 3) } : {}),
      };
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { composeMessage } = require('./mime') as typeof import('./mime');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createGmailTransport } = require('./gmail.transport') as typeof import('./gmail.transport');
      return createGmailTransport({ ...transportOptions, composeMessage });
    }
    case 'sink': {
      const settings = parse(sinkSettingsSchema, account.transport_settings ?? {}, 'sink settings');
      const host = settings.host ?? options.sink?.host;
      const sinkPort = settings.port ?? options.sink?.port;
      if (!host || !sinkPort) throw new TransportConfigError('sink settings invalid: host and port are needed (account settings or options.sink)');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createSinkTransport } = require('./sink.transport') as typeof import('./sink.transport');
      return createSinkTransport({
        host,
        port: sinkPort,
        ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
        ...(options.maxSendMs ? { maxSendMs: options.maxSendMs } : {}),
        ...(options.db && host === options.sink?.host && sinkPort === options.sink.port ? { db: options.db } : {}),
      });
    }
    default:
      throw new TransportConfigError(`unknown transport kind "${String(account.transport)}"`);
  }
}
