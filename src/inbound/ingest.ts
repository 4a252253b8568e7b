/**
 * ingestInboundMessage: the entry point of every mailbox reader (IMAP, Gmail API, a bounce
 * mailbox). Hand it each new message as read; it is stored and acts at most once per
 * (source, accountId, sourceKey), however often a reader hands it over (after a restart, a
 * UIDVALIDITY reset, a history resync). The reader chooses sourceKey: stable for one message
 * of one mailbox (e.g. "<uidvalidity>:<uid>", the Gmail message id).
 *
 *   classify (classify-inbound.ts) → match to our queue row (inbound-match.ts) → store
 *   (inbound_messages, first 64 KB of the source) → effects (inbound-effects.ts), in one
 *   transaction.
 */
import type { DbOrTx } from '../db/connection';
import { addressIn } from './addresses';
import { classifyInbound } from './classify-inbound';
import { headerText, parseHeaderBlock, splitHeaders } from './header-block';
import { accountRefById } from './inbound-match.repository';
import { findInboundBySourceKey } from './inbound-message.repository';
import { RAW_LIMIT_BYTES, recordInbound, type InboundResult } from './inbound-record';
import type { InboundDeps } from './inbound-settings';

export type InboundSource = 'imap' | 'gmail' | 'bounce_mailbox' | (string & {});

export interface InboundMessageInput {
  /** The mailbox it was read from; null for a bounce mailbox that belongs to no account. */
  accountId: string | null;
  source: InboundSource;
  sourceKey: string;
  raw: Buffer;
  receivedAt: Date;
}

/** The header fields kept with each message (the rest is in its stored source). */
const KEPT_HEADERS = [
  'from', 'to', 'cc', 'reply-to', 'subject', 'date', 'message-id', 'in-reply-to', 'references', 'return-path', 'auto-submitted',
  'x-autoreply', 'x-autorespond', 'precedence', 'x-failed-recipients', 'feedback-id', 'content-type', 'list-id',
];
const MAX_HEADER_CHARS = 2000;

export function keptHeaders(raw: Buffer): Record<string, string> {
  // Headers are at the start: never decode a whole large message for them.
  const block = parseHeaderBlock(splitHeaders(raw.subarray(0, RAW_LIMIT_BYTES).toString('latin1')).headers);
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headerText(block, name);
    if (value !== undefined) kept[name] = value.replace(/\s+/g, ' ').trim().slice(0, MAX_HEADER_CHARS);
  }
  return kept;
}

export async function ingestInboundMessage(db: DbOrTx, input: InboundMessageInput, deps: InboundDeps): Promise<InboundResult> {
  const account = input.accountId ? await accountRefById(db, input.accountId) : undefined;
  if (input.accountId && !account) throw new Error(`ingestInboundMessage: no sender account ${input.accountId}`);
  // Cheap first: a message handed over again is not classified again.
  const seen = await findInboundBySourceKey(db, input.source, account?.id ?? '', input.sourceKey);
  if (seen) return { id: seen.id, duplicate: true, kind: seen.kind };
  const headers = keptHeaders(input.raw);
  const classification = classifyInbound(input.raw, { receivedAt: input.receivedAt });
  return recordInbound(
    db,
    {
      account,
      source: input.source,
      sourceKey: input.sourceKey,
      receivedAt: input.receivedAt,
      classification,
      from: classification.match.from ?? addressIn(headers.from) ?? null,
      to: addressIn(headers.to) ?? null,
      headers,
      raw: input.raw.subarray(0, RAW_LIMIT_BYTES),
      rawSize: input.raw.length,
    },
    deps,
  );
}
