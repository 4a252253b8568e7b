/**
 * The one interface every transport (SMTP, Gmail API, dev sink) implements, and the one
 * classification of results the rest of the system acts on (the table that decides it is
 * src/bounces/; the recorder that acts on it is src/sending/result-recorder.ts):
 *   accepted           handed over; the row becomes `sent`
 *   transient          4xx / 429 / 5xx-from-API / network: retry later with backoff
 *   recipient_hard     user unknown, host unknown, moved, not accepting: the row bounces and the
 *                      address is suppressed
 *   recipient_soft     mailbox full, unrecognised failures: retried a few times, then `failed`;
 *                      never suppressed
 *   sender_reputation  blocklist, rate, "unsolicited", quota exhausted: pause or slow the
 *                      mailbox, give the row to another sender
 *   sender_auth        SPF / DKIM / DMARC refused: stop the whole sender domain, alert
 *   auth               535 / invalid_grant: suspend the account and raise an alert
 */

export type SendOutcomeClass = 'accepted' | 'transient' | 'recipient_hard' | 'recipient_soft' | 'sender_reputation' | 'sender_auth' | 'auth';

/** Where in the exchange a result came from: says whether the attempt reached a receiving server. */
export type SendStage = 'connect' | 'auth' | 'mail' | 'rcpt' | 'data' | 'api';

export interface SendResult {
  outcome: SendOutcomeClass;
  /** SMTP reply code or HTTP status. */
  code?: number;
  /** RFC 3463 enhanced status such as "5.1.1", when known. */
  enhancedCode?: string;
  /** Server's text, trimmed; never contains credentials. */
  response: string;
  providerMessageId?: string;
  /** Hint from the provider (Retry-After) for transient results. */
  retryAfterSeconds?: number;
  /** Why, in the classification table's words (src/bounces/bounce-reasons.ts: "user_unknown", "unsolicited", …). */
  reason?: string;
  /** Where in the exchange the answer came (undefined: not known). */
  stage?: SendStage;
}

export interface OutgoingMessage {
  from: { address: string; name: string };
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Fixed at enqueue, with angle brackets: "<id@domain>". */
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  /** Extra headers (List-Unsubscribe, Feedback-ID, …); values already free of CR/LF. */
  headers: Record<string, string>;
}

export interface Transport {
  readonly kind: 'smtp' | 'gmail' | 'sink';
  /** Sends it can have on the wire at once (SMTP: its connections); the worker sends that many in parallel. */
  readonly maxInFlight: number;
  send(message: OutgoingMessage): Promise<SendResult>;
  /**
   * Whether the sender's Sent mail holds this Message-ID (Gmail `rfc822msgid:`, IMAP
   * search). `undefined` means this transport cannot tell (plain SMTP relay).
   */
  findSent(messageId: string): Promise<boolean | undefined>;
  /**
   * Logs in the way a send would, and sends nothing (POST /api/accounts/:id/verify): SMTP
   * connect, TLS and AUTH; Gmail token exchange and a profile read. `accepted` when it worked,
   * else the failure classified like a send's.
   */
  verify(): Promise<SendResult>;
  close(): Promise<void>;
}
