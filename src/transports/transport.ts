/**
 * The one interface every transport (SMTP, Gmail API, dev sink) implements, and the one
 * classification of results the rest of the system acts on:
 *   accepted            handed over; the row becomes `sent`
 *   transient           4xx / 429 / 5xx-from-API / network: retry later with backoff
 *   recipient_permanent 5.1.x and friends: the row bounces and the address is suppressed
 *   sender_blocked      5.7.x policy, quota exhausted: pause the sender, give the row to another
 *   auth                535 / invalid_grant: suspend the account and raise an alert
 */

export type SendOutcomeClass = 'accepted' | 'transient' | 'recipient_permanent' | 'sender_blocked' | 'auth';

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
  send(message: OutgoingMessage): Promise<SendResult>;
  /**
   * Whether the sender's Sent mail holds this Message-ID (Gmail `rfc822msgid:`, IMAP
   * search). `undefined` means this transport cannot tell (plain SMTP relay).
   */
  findSent(messageId: string): Promise<boolean | undefined>;
  close(): Promise<void>;
}
