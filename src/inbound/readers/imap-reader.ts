/**
 * Reads new mail from one IMAP mailbox (an SMTP account's inbox, or a domain's bounce mailbox)
 * once, with imapflow:
 *   - incremental by UIDVALIDITY + the last UID read: with no new mail a poll is one login and
 *     one SELECT (UIDNEXT says there is nothing past the cursor), nothing is fetched;
 *   - a first read, or a UIDVALIDITY change (the server renumbered the mailbox), reads by date
 *     instead: from `since`, or a day before the newest message read, never the whole mailbox;
 *     what it finds again is delivered again and ingestion's idempotency drops it;
 *   - only the first limits.maxMessageBytes of each message are fetched (BODY.PEEK[]<0.n>);
 *   - never deletes or moves; with markProcessed "none" the mailbox is opened read-only
 *     (EXAMINE), so not even \Seen changes; otherwise "seen" sets \Seen and "keyword" sets
 *     $OutreachProcessed on what was handed on;
 *   - progress is saved after every batch, so a poll cut short (timeout, ingestion down)
 *     resumes after the last message handed on.
 * Errors name the server, never the login (invariant 6).
 */
import crypto from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { cut, MailboxReadError, rereadFrom, InboundDeliveryError, type MailboxCursor, type ReaderContext, type ReadResult } from './mailbox-reader';

export const PROCESSED_KEYWORD = '$OutreachProcessed';
/** Messages fetched per FETCH: bounds the memory one poll holds (10 × maxMessageBytes). */
const FETCH_BATCH = 10;

export interface ImapMailboxSettings {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  /** Default INBOX. */
  mailbox?: string;
}

function describe(error: unknown, settings: ImapMailboxSettings): MailboxReadError {
  const e = error as { authenticationFailed?: boolean; code?: string; responseText?: string; message?: string };
  const where = `${settings.host}:${settings.port}`;
  if (e.authenticationFailed) return new MailboxReadError(`IMAP login refused by ${where}`, true);
  const detail = [e.code, e.responseText ?? e.message].filter(Boolean).join(' ');
  return new MailboxReadError(`IMAP ${where}: ${detail || 'failed'}`);
}

export async function readImapMailbox(settings: ImapMailboxSettings, context: ReaderContext): Promise<ReadResult> {
  const { limits } = context;
  const client = new ImapFlow({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: { user: settings.user, pass: settings.pass },
    connectionTimeout: limits.connectTimeoutMs,
    greetingTimeout: limits.connectTimeoutMs,
    socketTimeout: limits.connectTimeoutMs,
    // One short session per poll: no IDLE, no DEFLATE context (CPU and ~300 KB each), no ENABLE round trip.
    disableAutoIdle: true,
    disableCompression: true,
    disableAutoEnable: true,
    // Never log: the transcript carries the login (invariant 6).
    logger: false,
  });
  // A socket error also rejects the pending command; unheard, it would end the process.
  client.on('error', () => undefined);
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    client.close();
  }, limits.pollTimeoutMs);
  try {
    try {
      await client.connect();
    } catch (error) {
      throw describe(error, settings);
    }
    try {
      return await readOpenMailbox(client, settings, context);
    } finally {
      await client.logout().catch(() => client.close());
    }
  } catch (error) {
    if (timedOut) throw new MailboxReadError(`IMAP ${settings.host}:${settings.port}: poll took longer than ${limits.pollTimeoutMs} ms`);
    if (error instanceof MailboxReadError || error instanceof InboundDeliveryError) throw error;
    throw describe(error, settings);
  } finally {
    clearTimeout(deadline);
  }
}

async function readOpenMailbox(client: ImapFlow, settings: ImapMailboxSettings, context: ReaderContext): Promise<ReadResult> {
  const { limits } = context;
  const mailbox = await client.mailboxOpen(settings.mailbox ?? 'INBOX', { readOnly: limits.markProcessed === 'none' });
  const uidValidity = Number(mailbox.uidValidity);
  const lastUidOnServer = typeof mailbox.uidNext === 'number' ? mailbox.uidNext - 1 : undefined;
  const cursor: MailboxCursor = { ...context.cursor };
  const incremental = cursor.uidValidity === uidValidity && cursor.lastUid !== null;

  let candidates: number[];
  let from: Date | undefined;
  if (incremental) {
    const lastUid = cursor.lastUid ?? 0;
    if (lastUidOnServer !== undefined && lastUidOnServer <= lastUid) return { read: 0 };
    candidates = ((await client.search({ uid: `${lastUid + 1}:*` }, { uid: true })) || []).filter((uid) => uid > lastUid);
  } else {
    // SINCE compares dates only; the receive time is checked exactly below.
    from = cursor.uidValidity === null ? cursor.since : rereadFrom(cursor);
    candidates = (await client.search({ since: from }, { uid: true })) || [];
    cursor.uidValidity = uidValidity;
    cursor.lastUid = 0;
  }
  candidates.sort((a, b) => a - b);
  const todo = candidates.slice(0, limits.maxMessagesPerPoll);

  let read = 0;
  try {
    for (let i = 0; i < todo.length; i += FETCH_BATCH) {
      const batch = todo.slice(i, i + FETCH_BATCH);
      const messages = await client.fetchAll(batch.join(','), { uid: true, internalDate: true, size: true, source: { start: 0, maxLength: limits.maxMessageBytes } }, { uid: true });
      messages.sort((a, b) => a.uid - b.uid);
      const handedOn: number[] = [];
      for (const message of messages) {
        const receivedAt = message.internalDate instanceof Date ? message.internalDate : new Date(message.internalDate ?? Date.now());
        // IMAP receive times have whole seconds: a message of the same second as `from` is in.
        if (from && receivedAt.getTime() < Math.floor(from.getTime() / 1000) * 1000) {
          cursor.lastUid = Math.max(cursor.lastUid ?? 0, message.uid);
          continue;
        }
        const { raw, truncated } = cut(message.source ?? Buffer.alloc(0), limits);
        await context.deliver({ sourceKey: crypto.createHash('sha256').update(raw).digest('hex'), raw, receivedAt, truncated: truncated || (message.size ?? 0) > raw.length });
        handedOn.push(message.uid);
        read += 1;
        cursor.lastUid = Math.max(cursor.lastUid ?? 0, message.uid);
        if (!cursor.lastSeenAt || receivedAt > cursor.lastSeenAt) cursor.lastSeenAt = receivedAt;
      }
      // A UID of the batch the server no longer has (expunged meanwhile) is passed over too.
      cursor.lastUid = Math.max(cursor.lastUid ?? 0, ...batch);
      if (handedOn.length > 0 && limits.markProcessed !== 'none') {
        await client.messageFlagsAdd(handedOn.join(','), [limits.markProcessed === 'seen' ? '\\Seen' : PROCESSED_KEYWORD], { uid: true });
      }
      await context.saveCursor({ ...cursor });
    }
    // A date-window read that took everything it found has seen the whole mailbox up to UIDNEXT.
    if (!incremental && todo.length === candidates.length && lastUidOnServer !== undefined) cursor.lastUid = Math.max(cursor.lastUid ?? 0, lastUidOnServer);
  } catch (error) {
    // Keep what was handed on: the next poll starts after it.
    await context.saveCursor({ ...cursor });
    throw error;
  }
  await context.saveCursor({ ...cursor });
  return { read };
}
