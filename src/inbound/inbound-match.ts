/**
 * Which of our queue rows an inbound message is about, tried in this order:
 *   1. message_id  a Message-ID the message names (returned in a report, or a reply's
 *                  In-Reply-To / References): one lookup on email_queue.message_id;
 *   2. recipient   reports only (bounce, delay, delivered, complaint): the failed recipient, sent
 *                  to by the reporting mailbox (the account it arrived in, else our sender named
 *                  in the report or its Feedback-ID) within REPORT_WINDOW_DAYS before arrival;
 *   3. none        stored for a person (unmatched).
 * A row of another client than the mailbox the message arrived in is never taken (tenancy).
 * A reply matches only when it comes from the contact the row was sent to: a colleague's
 * answer or a forward is left for a person, who may reclassify it (which trusts the thread).
 */
import type { DbOrTx } from '../db/connection';
import type { InboundKind, MatchKeys } from './inbound-classification';
import { accountRefByEmail, accountRefById, queueRowsByMessageIds, sentRowToRecipient, type AccountRef, type MatchedRow } from './inbound-match.repository';

const REPORT_KINDS: ReadonlySet<InboundKind> = new Set(['bounce', 'delay', 'delivered', 'complaint']);
// DSNs come after the relay's queue lifetime (5 days by default) at the latest; two more for slow FBLs.
const REPORT_WINDOW_DAYS = 7;
const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type MatchMethod = 'message_id' | 'recipient';

export interface InboundMatch {
  row: MatchedRow;
  method: MatchMethod;
}

export interface MatchInput {
  kind: InboundKind;
  keys: MatchKeys;
  /** The failed (or reported) recipient of a report, when it named one. */
  recipient?: string;
  /** The mailbox the message arrived in, when a reader read it from one. */
  account?: AccountRef;
  /** The client an ESP webhook belongs to, when it names no mailbox. */
  clientId?: string;
  receivedAt: Date;
  /** A person said what it is: a reply is taken from whoever sent it. */
  trusted?: boolean;
  /**
   * ESP events: the recipient is the address the provider sent to, so a Message-ID names our
   * row only if that row went to it (a DSN's recipient may be a forwarding target instead).
   */
  recipientIsEnvelope?: boolean;
}

/** The account a report's keys name: our sender's address, else the Feedback-ID's account. */
async function reportingAccount(db: DbOrTx, keys: MatchKeys): Promise<AccountRef | undefined> {
  if (keys.originalSender) {
    const bySender = await accountRefByEmail(db, keys.originalSender);
    if (bySender) return bySender;
  }
  const accountId = keys.feedbackId?.split(':')[2]?.trim();
  return accountId && UUID.test(accountId) ? accountRefById(db, accountId) : undefined;
}

export async function matchInbound(db: DbOrTx, input: MatchInput): Promise<InboundMatch | undefined> {
  const { keys, account } = input;
  const rows = await queueRowsByMessageIds(db, keys.messageIds);
  // Most specific id first (the classifier orders them so).
  for (const id of keys.messageIds) {
    const row = rows.find((r) => r.message_id === id);
    if (!row) continue;
    if (account && row.client_id !== account.client_id) continue;
    if (input.clientId && row.client_id !== input.clientId) continue;
    if (input.kind === 'reply' && !input.trusted && keys.from !== row.to_email.toLowerCase()) continue;
    const reported = input.recipient ?? keys.originalRecipient;
    if (input.recipientIsEnvelope && reported && reported !== row.to_email.toLowerCase()) continue;
    return { row, method: 'message_id' };
  }

  const recipient = input.recipient ?? keys.originalRecipient;
  if (!REPORT_KINDS.has(input.kind) || !recipient) return undefined;
  const sender = account ?? (await reportingAccount(db, keys));
  const clientId = sender?.client_id ?? input.clientId;
  if (!clientId || (input.clientId && clientId !== input.clientId)) return undefined;
  const near = keys.originalDate ?? input.receivedAt;
  const row = await sentRowToRecipient(db, {
    clientId,
    ...(sender ? { accountId: sender.id } : {}),
    email: recipient,
    from: new Date(Math.min(near.getTime(), input.receivedAt.getTime()) - REPORT_WINDOW_DAYS * DAY_MS),
    // Clocks differ: a report may seem to come a little before the send it reports.
    to: new Date(input.receivedAt.getTime() + DAY_MS),
    near,
  });
  return row ? { row, method: 'recipient' } : undefined;
}
