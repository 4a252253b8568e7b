/**
 * What the IMAP and Gmail readers share: the cursor they advance, how they hand messages on
 * and save progress, and their limits. A reader reads one mailbox once (one poll) and returns;
 * the poller (inbound-poller.ts) decides when and how many at a time.
 */
export interface MailboxCursor {
  /** Mail received before this is never read (a new mailbox does not replay its history). */
  since: Date;
  uidValidity: number | null;
  lastUid: number | null;
  gmailHistoryId: string | null;
  /** Newest receive time read: a re-read (UIDVALIDITY change, expired history) starts a day before it. */
  lastSeenAt: Date | null;
}

export type MarkProcessed = 'none' | 'seen' | 'keyword';

export interface ReaderLimits {
  /** Bytes of a message's source read; the rest is cut and the message flagged truncated. */
  maxMessageBytes: number;
  /** Messages read in one poll; the rest wait for the next poll (the cursor stops at the last one read). */
  maxMessagesPerPoll: number;
  markProcessed: MarkProcessed;
  /** Connect, greeting and each command (IMAP) or request (Gmail). */
  connectTimeoutMs: number;
  /** The whole poll: past it the connection is closed and the poll fails (its progress is kept). */
  pollTimeoutMs: number;
}

export interface ReadMessage {
  /** Stable per message in this mailbox (see InboundMessage.sourceKey). */
  sourceKey: string;
  raw: Buffer;
  receivedAt: Date;
  truncated: boolean;
}

export interface ReaderContext {
  cursor: MailboxCursor;
  limits: ReaderLimits;
  /** Hands one message on (to ingestion); a rejection ends the poll with the cursor before it. */
  deliver(message: ReadMessage): Promise<void>;
  /** Saves progress; called after each batch, so a poll cut short resumes where it stopped. */
  saveCursor(cursor: MailboxCursor): Promise<void>;
}

export interface ReadResult {
  read: number;
}

/** A fault of the mailbox (login refused, server unreachable, protocol): recorded on it, alerted after repeats. */
export class MailboxReadError extends Error {
  override name = 'MailboxReadError';
  constructor(
    message: string,
    readonly authenticationFailed = false,
  ) {
    super(message);
  }
}

/** Delivery failed (ingestion or its database): not the mailbox's fault, so not counted against it. */
export class InboundDeliveryError extends Error {
  override name = 'InboundDeliveryError';
}

export const DAY_MS = 86_400_000;

/** Where a re-read starts: a day before the newest message read (servers' clocks and dates differ), never before `since`. */
export function rereadFrom(cursor: MailboxCursor): Date {
  if (!cursor.lastSeenAt) return cursor.since;
  return new Date(Math.max(cursor.since.getTime(), cursor.lastSeenAt.getTime() - DAY_MS));
}

export function cut(raw: Buffer, limits: ReaderLimits): { raw: Buffer; truncated: boolean } {
  return raw.length > limits.maxMessageBytes ? { raw: raw.subarray(0, limits.maxMessageBytes), truncated: true } : { raw, truncated: false };
}
