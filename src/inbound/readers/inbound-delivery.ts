/**
 * What the readers hand each message they read to: the inbound entry point that stores,
 * classifies, matches and applies its effects (src/inbound/ingest.ts: ingestInboundMessage).
 * The readers know only this shape; the code that runs them passes the function in, so the
 * readers never depend on what ingestion does, and tests deliver into a recorder.
 *
 * Ingestion is idempotent on (source, accountId, sourceKey): a message delivered twice (a
 * re-read after an IMAP UIDVALIDITY change or an expired Gmail history, a poll cut off before
 * its cursor was saved) comes back `duplicate: true` and changes nothing.
 */
export type InboundSource = 'imap' | 'gmail' | 'bounce_mailbox';

export interface InboundMessage {
  /** The account whose inbox it was read from; null for a domain's bounce mailbox. */
  accountId: string | null;
  source: InboundSource;
  /**
   * Stable for the same message in the same mailbox whatever reads it: the Gmail message id;
   * over IMAP the SHA-256 of the bytes read (UIDs change with UIDVALIDITY), prefixed by the
   * domain id for a bounce mailbox (accountId is null there).
   */
  sourceKey: string;
  /** The message source, at most inbound.maxMessageBytes of it. */
  raw: Buffer;
  receivedAt: Date;
  /** The message was longer than inbound.maxMessageBytes and `raw` is its beginning. */
  truncated: boolean;
}

export interface InboundDeliveryResult {
  id: number | string;
  duplicate: boolean;
  kind: string;
}

export type DeliverInbound = (message: InboundMessage) => Promise<InboundDeliveryResult>;
