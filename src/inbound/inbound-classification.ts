/** What classifyInbound says about one inbound message (see classify-inbound.ts). */
import type { ReplyClassification } from '../bounces/classify-reply';

/**
 * - bounce: a delivery report with at least one recipient that failed for good;
 * - delay: a report of delayed delivery only (4.x.x, Action: delayed): not a failure;
 * - delivered: a success report (delivered, relayed, expanded);
 * - complaint: a spam / abuse report (ARF, Microsoft JMRP, Yahoo CFL);
 * - reply: a person's answer;
 * - auto_reply: an automatic answer (out of office, ticket receipt, challenge-response, …);
 * - unmatched: anything else, for a person to look at; never guessed.
 */
export type InboundKind = 'bounce' | 'delay' | 'delivered' | 'complaint' | 'reply' | 'auto_reply' | 'unmatched';

export type AutoReplyKind = 'out_of_office' | 'other';

/** RFC 3464 Action values. */
export type DeliveryAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

/** One recipient of a delivery report: an RFC 3464 per-recipient block, or read from a bounce's text. */
export interface DeliveryRecipient {
  /** Final-Recipient's address, lower case (the address the report is about). */
  recipient: string;
  /** Original-Recipient's address (ORCPT), lower case, when reported. */
  originalRecipient?: string;
  action: DeliveryAction;
  /** RFC 3463 status, e.g. "5.1.1"; from the Diagnostic-Code when the report has no Status. */
  status?: string;
  /** Diagnostic-Code: its type ("smtp", "x-postfix", …) and the text, unfolded. */
  diagnosticCode?: { type: string; text: string };
  remoteMta?: string;
  lastAttemptDate?: Date;
  willRetryUntil?: Date;
  /** Failed and delayed recipients, through the one classification table (src/bounces). */
  classification?: ReplyClassification;
}

/** Per-message fields of a delivery report. */
export interface DeliveryReport {
  /** Where the recipients came from: an RFC 3464 part, or the text of a non-standard bounce. */
  source: 'delivery-status' | 'text';
  reportingMta?: string;
  arrivalDate?: Date;
  /** Original-Envelope-Id (RFC 3461 ENVID) when the send gave one. */
  envelopeId?: string;
  recipients: DeliveryRecipient[];
}

/** ARF (RFC 5965) fields; JMRP and Yahoo CFL reports are read into the same shape. */
export interface ComplaintReport {
  /** abuse, fraud, virus, other, not-spam, auth-failure …; "abuse" for JMRP without one. */
  feedbackType: string;
  userAgent?: string;
  originalRcptTo?: string;
  originalMailFrom?: string;
  arrivalDate?: Date;
  sourceIp?: string;
  reportedDomain?: string;
}

/** What a later step uses to find our queue row, contact and account. */
export interface MatchKeys {
  /**
   * Message-IDs of our message(s) this one is about, most specific first: returned in a report
   * (else the report's own In-Reply-To / References), or a reply's In-Reply-To, then its
   * References from the latest back.
   */
  messageIds: string[];
  /** Our Feedback-ID header (campaign:client:account:sender) when the original's headers came back. */
  feedbackId?: string;
  /** The address our message went to (a report's recipient, the original's To). */
  originalRecipient?: string;
  /** Our sending address (the original's From, Original-Mail-From, X-Postfix-Sender). */
  originalSender?: string;
  /** When our message was sent (the original's Date, else the report's Arrival-Date). */
  originalDate?: Date;
  /** Replies and auto-replies: their In-Reply-To and References ids. */
  inReplyTo?: string;
  references?: string[];
  /** The inbound message's From address, lower case. */
  from?: string;
}

export interface InboundClassification {
  kind: InboundKind;
  /** auto_reply only. */
  autoReplyKind?: AutoReplyKind;
  /** What told it (e.g. "rfc3464", "exim", "qmail", "arf", "jmrp", "auto-submitted", "in-reply-to"). */
  evidence: string;
  /** The inbound message's own header fields. */
  messageId?: string;
  subject?: string;
  date?: Date;
  report?: DeliveryReport;
  complaint?: ComplaintReport;
  match: MatchKeys;
  /** auto_reply: the date the sender says they are back (YYYY-MM-DD), when stated clearly. */
  returnDate?: string;
  /** reply and auto_reply: the new text, quoted history removed, plain text only. */
  text?: string;
}

export interface ClassifyInboundContext {
  /** Reference for dates stated without a year ("back on Monday"); the message's Date when absent. */
  receivedAt?: Date;
  /**
   * Tells our Message-IDs from others. When given, a message is a reply only if it names one of
   * ours; when absent, any In-Reply-To / References counts (the matcher checks later).
   */
  isOurMessageId?: (messageId: string) => boolean;
}
