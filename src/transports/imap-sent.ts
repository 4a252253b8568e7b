/**
 * Looks a Message-ID up in a mailbox's Sent folder over IMAP, for reconciling `unknown` rows
 * of SMTP accounts whose provider files sent mail (Workspace/Microsoft SMTP, own Postfix with
 * a Sent copy). Loaded lazily by the SMTP transport.
 */
import { ImapFlow } from 'imapflow';
import type { ImapSettings } from './smtp.transport';

/** Throws when the mailbox cannot be reached: "cannot check now" is not "not sent". */
export async function findSentOverImap(settings: ImapSettings, messageId: string): Promise<boolean> {
  const client = new ImapFlow({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: { user: settings.auth.user, pass: settings.auth.pass },
    tls: { rejectUnauthorized: settings.rejectUnauthorized ?? true },
    // Never log: the transcript carries the login (invariant 6).
    logger: false,
  });
  await client.connect();
  try {
    let mailbox = settings.sentMailbox;
    if (!mailbox) {
      const boxes = await client.list();
      mailbox = boxes.find((box) => box.specialUse === '\\Sent')?.path ?? 'Sent';
    }
    const lock = await client.getMailboxLock(mailbox, { readOnly: true });
    try {
      const found = await client.search({ header: { 'message-id': messageId.replace(/[\r\n]/g, '') } }, { uid: true });
      return Array.isArray(found) && found.length > 0;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
}
