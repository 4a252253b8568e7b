/**
 * Looks a Message-ID up in a mailbox's Sent folder over IMAP, for reconciling `unknown` rows
 * of SMTP accounts whose provider files sent mail (Workspace/Microsoft SMTP, own Postfix with
 * a Sent copy). Loaded lazily by the SMTP transport.
 *
 * Contract (the sweeper relies on it): true = found, false = the Sent folder was searched and
 * does not hold it; anything else (server down, login refused, no such mailbox) throws, and the
 * row stays `unknown` for the next sweep: "cannot check now" is never "not sent" (invariant 2).
 */
import { ImapFlow } from 'imapflow';
import type { ImapSettings } from './smtp.transport';

export class ImapLookupError extends Error {
  override name = 'ImapLookupError';
}

/**
 * `<id@host>` whether or not the caller's id has its angle brackets. IMAP SEARCH HEADER
 * matches substrings, so the brackets are what keep `<id@host>` from matching `<xid@host>`.
 */
export function normaliseMessageId(messageId: string): string {
  const bare = messageId.replace(/[\r\n]/g, '').trim().replace(/^<+/, '').replace(/>+$/, '').trim();
  if (!bare) throw new ImapLookupError('empty Message-ID');
  return `<${bare}>`;
}

export async function findSentOverImap(settings: ImapSettings, messageId: string): Promise<boolean> {
  const wanted = normaliseMessageId(messageId);
  const client = new ImapFlow({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: { user: settings.auth.user, pass: settings.auth.pass },
    tls: { rejectUnauthorized: settings.rejectUnauthorized ?? true },
    // A sweep handles many accounts: a silent server must not hold it for imapflow's minutes.
    connectionTimeout: 30_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    // Never log: the transcript carries the login (invariant 6).
    logger: false,
  });
  // Socket errors also reject the pending command; an 'error' event without a listener would
  // crash the process instead.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    // Neither the user name nor the password goes into the message (invariant 6).
    if ((error as { authenticationFailed?: boolean }).authenticationFailed) throw new ImapLookupError(`IMAP login refused by ${settings.host}:${settings.port}`, { cause: error });
    throw error;
  }
  try {
    let mailbox = settings.sentMailbox;
    if (!mailbox) {
      const boxes = await client.list();
      mailbox = boxes.find((box) => box.specialUse === '\\Sent')?.path ?? 'Sent';
    }
    let lock;
    try {
      lock = await client.getMailboxLock(mailbox, { readOnly: true });
    } catch (error) {
      throw new ImapLookupError(`Sent mailbox "${mailbox}" cannot be opened on ${settings.host}:${settings.port}: ${(error as { responseText?: string }).responseText ?? (error as Error).message}`, { cause: error });
    }
    try {
      const found = await client.search({ header: { 'message-id': wanted } }, { uid: true });
      // imapflow resolves false when the server refuses the SEARCH (NO/BAD): that is "cannot
      // tell", not "not there".
      if (!Array.isArray(found)) throw new ImapLookupError(`IMAP SEARCH refused by ${settings.host}:${settings.port}`);
      return found.length > 0;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
}
