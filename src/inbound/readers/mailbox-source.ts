/**
 * Turns a claimed mailbox into the reader that reads it, with its login decrypted here, for
 * this one poll: nothing decrypted outlives the poll (the returned closure is dropped after it).
 * Errors name the field, never a value.
 */
import { z } from 'zod';
import type { CredentialCipher } from '../../crypto/credential-cipher';
import type { DbOrTx } from '../../db/connection';
import type { GmailAuthSettings } from '../../transports/gmail.transport';
import type { InboundSource } from './inbound-delivery';
import type { ClaimedMailbox } from './inbound-mailbox.repository';
import { MailboxReadError, type ReaderContext, type ReadResult } from './mailbox-reader';

export interface GmailEndpoints {
  rootUrl?: string;
  tokenUrl?: string;
}

export interface MailboxSource {
  source: InboundSource;
  accountId: string | null;
  /** Prefixed to the source key (a bounce mailbox has no account to tell it apart). */
  keyPrefix: string;
  /** "the inbox of x@y" / "the bounce mailbox of y", for logs. */
  label: string;
  read(context: ReaderContext): Promise<ReadResult>;
}

const imapSettings = z.object({ host: z.string().min(1), port: z.number().int(), secure: z.boolean().optional() });
const smtpCredentials = z.object({ user: z.string().min(1), pass: z.string().min(1), imapUser: z.string().optional(), imapPass: z.string().optional() });
const gmailCredentials = z.discriminatedUnion('type', [
  z.object({ type: z.literal('service_account'), client_email: z.string().min(1), private_key: z.string().min(1), private_key_id: z.string().optional() }),
  z.object({ type: z.literal('oauth2'), client_id: z.string().min(1), client_secret: z.string().min(1), refresh_token: z.string().min(1) }),
]);
export const bounceMailboxStored = z.object({ host: z.string().min(1), port: z.number().int(), secure: z.boolean(), user: z.string().min(1), mailbox: z.string().min(1).optional() });

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new MailboxReadError(`${what} invalid: ${result.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ')}`);
  return result.data;
}

function decryptJson(cipher: CredentialCipher, sealed: string | null, what: string): unknown {
  if (!sealed) throw new MailboxReadError(`${what} missing`);
  try {
    return JSON.parse(cipher.decrypt(sealed));
  } catch (error) {
    throw new MailboxReadError(`${what} cannot be decrypted: ${(error as Error).name}`);
  }
}

export async function mailboxSource(db: DbOrTx, mailbox: ClaimedMailbox, cipher: CredentialCipher, gmailEndpoints: GmailEndpoints = {}): Promise<MailboxSource | undefined> {
  if (mailbox.accountId) {
    const account = await db.selectFrom('sender_accounts').select(['id', 'email', 'transport', 'transport_settings', 'credentials_encrypted']).where('id', '=', mailbox.accountId).executeTakeFirst();
    if (!account) return undefined;
    const label = `the inbox of ${account.email}`;
    if (account.transport === 'gmail') {
      return {
        source: 'gmail',
        accountId: account.id,
        keyPrefix: '',
        label,
        read: async (context) => {
          const secret = parse(gmailCredentials, decryptJson(cipher, account.credentials_encrypted, 'Gmail credentials'), 'Gmail credentials');
          const auth: GmailAuthSettings =
            secret.type === 'service_account'
              ? { kind: 'service_account', clientEmail: secret.client_email, privateKey: secret.private_key, ...(secret.private_key_id ? { privateKeyId: secret.private_key_id } : {}) }
              : { kind: 'oauth2', clientId: secret.client_id, clientSecret: secret.client_secret, refreshToken: secret.refresh_token };
          // Loaded on first use: a server with no Gmail accounts never loads the Google client.
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { readGmailMailbox } = require('./gmail-reader') as typeof import('./gmail-reader');
          return readGmailMailbox({ userEmail: account.email, auth, ...gmailEndpoints }, context);
        },
      };
    }
    return {
      source: 'imap',
      accountId: account.id,
      keyPrefix: '',
      label,
      read: async (context) => {
        const imap = parse(imapSettings, (account.transport_settings as { imap?: unknown }).imap, 'IMAP settings');
        const secret = parse(smtpCredentials, decryptJson(cipher, account.credentials_encrypted, 'SMTP credentials'), 'SMTP credentials');
        return readImap({ host: imap.host, port: imap.port, secure: imap.secure ?? imap.port === 993, user: secret.imapUser || secret.user, pass: secret.imapPass || secret.pass }, context);
      },
    };
  }
  const domain = await db.selectFrom('sender_domains').select(['id', 'domain', 'bounce_mailbox', 'bounce_mailbox_secret_encrypted']).where('id', '=', mailbox.domainId ?? '').executeTakeFirst();
  if (!domain?.bounce_mailbox) return undefined;
  const settings = domain.bounce_mailbox;
  return {
    source: 'bounce_mailbox',
    accountId: null,
    keyPrefix: `${domain.id}:`,
    label: `the bounce mailbox of ${domain.domain}`,
    read: async (context) => {
      const stored = parse(bounceMailboxStored, settings, 'bounce mailbox settings');
      const secret = parse(z.object({ pass: z.string().min(1) }), decryptJson(cipher, domain.bounce_mailbox_secret_encrypted, 'bounce mailbox password'), 'bounce mailbox password');
      return readImap({ host: stored.host, port: stored.port, secure: stored.secure, user: stored.user, pass: secret.pass, ...(stored.mailbox ? { mailbox: stored.mailbox } : {}) }, context);
    },
  };
}

async function readImap(settings: import('./imap-reader').ImapMailboxSettings, context: ReaderContext): Promise<ReadResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readImapMailbox } = require('./imap-reader') as typeof import('./imap-reader');
  return readImapMailbox(settings, context);
}
