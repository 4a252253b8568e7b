/**
 * The one central classification of transport answers into the classes of transport.ts.
 * Every transport calls these functions; nothing else in the system interprets SMTP codes or
 * Gmail API errors.
 *
 * SMTP (reply code, RFC 3463 enhanced code, text, and the command it answered):
 *   2xx                                              accepted
 *   530 / 534 / 535, 5.7.8, 5.7.9, 5.7.14, EAUTH      auth (credentials refused: suspend account)
 *   4xx of any kind (421, 450, 451, 452 4.2.2, 4.7.x) transient
 *   5.7.x policy / blocked, 5.4.5 or text "quota /
 *     sending limit exceeded", any 5xx to MAIL FROM   sender_reputation
 *   5.1.x, 553, 550 user unknown, 5.2.2 mailbox full,
 *     other 5xx                                       recipient_hard
 *   network errors, timeouts, ECONNRESET             transient; when the whole message had
 *     been handed over before the drop the result also carries deliveryUncertain: true
 *
 * Decision on 5.2.2 (552 mailbox full): recipient_hard. The server chose a permanent
 * reply; for cold outreach a full mailbox is almost always abandoned, and retrying it for
 * days only costs reputation. The temporary form (452 4.2.2) stays transient.
 *
 * Gmail API (HTTP status and the `reason` of the Google error body):
 *   200                                              accepted
 *   429, 5xx, 403 userRateLimitExceeded /
 *     rateLimitExceeded (short-term per-user rate)    transient, with Retry-After when given
 *   403 dailyLimitExceeded / quotaExceeded           sender_reputation (this mailbox is out of
 *     sending quota for the day: pause it, give the row to another sender)
 *   400 (invalid To header / recipient)              recipient_hard
 *   401, invalid_grant / unauthorized_client /
 *     invalid_client from the token endpoint, 403
 *     forbidden / insufficientPermissions /
 *     delegation denied, 404 (no such user)           auth
 *   network error after the request was written      transient + deliveryUncertain (the
 *     reconciler looks the Message-ID up with rfc822msgid: before any resend)
 *
 * deliveryUncertain: the caller must NOT requeue such a row; it goes to `unknown` and is
 * reconciled through Transport.findSent (invariant 2).
 */
import type { SendOutcomeClass, SendResult } from './transport';

/** A SendResult that may say the message could have been delivered although no reply came. */
export interface ClassifiedSendResult extends SendResult {
  /** True when the connection broke after the whole message was handed over: record `unknown`. */
  deliveryUncertain?: boolean;
}

/** Narrowing helper for callers that hold a plain SendResult. */
export function isDeliveryUncertain(result: SendResult): boolean {
  return (result as ClassifiedSendResult).deliveryUncertain === true;
}

const MAX_RESPONSE_CHARS = 500;

/** Server text for logs and send_logs: one line, bounded, no credentials (we never echo them). */
export function cleanResponse(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, MAX_RESPONSE_CHARS);
}

const ENHANCED_CODE = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;

export function parseEnhancedCode(text: string): string | undefined {
  const match = ENHANCED_CODE.exec(text);
  return match ? `${match[1]}.${match[2]}.${match[3]}` : undefined;
}

const QUOTA_TEXT = /quota exceeded|sending limit|limit exceeded|too many messages|rate limit|daily user sending/i;
const USER_UNKNOWN_TEXT = /user unknown|unknown user|no such user|does not exist|mailbox not found|recipient not found|invalid recipient|address rejected|mailbox unavailable/i;

export type SmtpCommand = 'CONN' | 'AUTH' | 'MAIL FROM' | 'RCPT TO' | 'DATA' | string;

/** Classifies one SMTP reply. `command` is the command the reply answered, when known. */
export function classifySmtpReply(code: number, enhancedCode: string | undefined, text: string, command?: SmtpCommand): SendOutcomeClass {
  if (code >= 200 && code < 300) return 'accepted';
  const enhanced = enhancedCode ?? parseEnhancedCode(text);
  const isAuthCommand = command !== undefined && command.startsWith('AUTH');

  // Credentials refused. 454 4.7.0 ("temporary authentication failure") stays transient below.
  if (code === 530 || code === 534 || code === 535) return 'auth';
  if (enhanced === '5.7.8' || enhanced === '5.7.9' || enhanced === '5.7.14') return 'auth';
  if (isAuthCommand && code >= 500) return 'auth';

  if (code >= 400 && code < 500) return 'transient';
  if (code < 500 || code >= 600) return 'transient'; // not a valid final reply: try again later

  if (enhanced?.startsWith('5.7.') || enhanced === '5.4.5' || QUOTA_TEXT.test(text)) return 'sender_reputation';
  // The server refused our sender before any recipient was named: not the recipient's fault.
  if (command === 'MAIL FROM') return 'sender_reputation';
  if (enhanced?.startsWith('5.1.') || enhanced === '5.2.2' || code === 553 || USER_UNKNOWN_TEXT.test(text)) return 'recipient_hard';
  return 'recipient_hard';
}

/** The fields of a nodemailer SMTP error (or any Node network error) that classification reads. */
export interface SmtpErrorLike {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

const NETWORK_CODES = new Set([
  'ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EDNS', 'ENOTFOUND', 'EAI_AGAIN', 'ETLS', 'EHOSTUNREACH', 'ENETUNREACH', 'EPROTOCOL',
]);

/**
 * Classifies a failed SMTP send. `messageHandedOver` is true when the whole message body had
 * been written to the server (so only the final reply was missing).
 */
export function classifySmtpError(error: SmtpErrorLike, messageHandedOver: boolean): ClassifiedSendResult {
  const response = cleanResponse(error.response ?? error.message ?? 'SMTP error');
  const code = typeof error.responseCode === 'number' ? error.responseCode : undefined;
  const enhancedCode = error.response ? parseEnhancedCode(error.response) : undefined;

  if (code !== undefined && code >= 200) {
    const outcome = classifySmtpReply(code, enhancedCode, error.response ?? '', error.command);
    // A 421 after the message was sent still means "not taken": the server answered.
    return { outcome, code, ...(enhancedCode ? { enhancedCode } : {}), response };
  }
  if (error.code === 'EAUTH') return { outcome: 'auth', response };
  if (messageHandedOver) return { outcome: 'transient', response, deliveryUncertain: true };
  if (error.code && NETWORK_CODES.has(error.code)) return { outcome: 'transient', response };
  // Invalid address syntax caught before talking to the server.
  if (error.code === 'EENVELOPE') return { outcome: 'recipient_hard', response };
  return { outcome: 'transient', response };
}

/** A Google API error as gaxios reports it, reduced to what classification needs. */
export interface GmailErrorLike {
  status?: number;
  /** `error.errors[0].reason` or `error.status` from the body, or the OAuth `error` field. */
  reason?: string;
  message?: string;
  retryAfterSeconds?: number;
  /** Node network error code when there was no HTTP answer. */
  networkCode?: string;
  /** Whether the failure happened at the token endpoint (no send was attempted). */
  duringTokenExchange?: boolean;
}

const OAUTH_AUTH_ERRORS = new Set(['invalid_grant', 'unauthorized_client', 'invalid_client', 'access_denied', 'invalid_scope']);
const GMAIL_TRANSIENT_403 = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'backendError', 'concurrentLimitExceeded']);
const GMAIL_QUOTA_403 = new Set(['dailyLimitExceeded', 'quotaExceeded', 'limitExceeded', 'sendingLimitExceeded']);
// Errors raised before a byte of the request could reach the server: safe to resend.
const PRE_CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function classifyGmailError(error: GmailErrorLike): ClassifiedSendResult {
  const response = cleanResponse(`${error.reason ? `${error.reason}: ` : ''}${error.message ?? 'Gmail API error'}`);
  const retry = error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {};
  const status = error.status;
  const reason = error.reason ?? '';

  if (OAUTH_AUTH_ERRORS.has(reason)) return { outcome: 'auth', ...(status ? { code: status } : {}), response };
  if (status === undefined) {
    const uncertain = !error.duringTokenExchange && !(error.networkCode && PRE_CONNECT_CODES.has(error.networkCode));
    return { outcome: 'transient', response, ...(uncertain ? { deliveryUncertain: true } : {}) };
  }
  const base = { code: status, response };
  if (status >= 200 && status < 300) return { outcome: 'accepted', ...base };
  if (status === 429 || status >= 500) return { outcome: 'transient', ...base, ...retry };
  if (status === 401) return { outcome: 'auth', ...base };
  if (status === 403) {
    if (GMAIL_TRANSIENT_403.has(reason)) return { outcome: 'transient', ...base, ...retry };
    if (GMAIL_QUOTA_403.has(reason) || QUOTA_TEXT.test(error.message ?? '')) return { outcome: 'sender_reputation', ...base };
    return { outcome: 'auth', ...base };
  }
  if (status === 404) return { outcome: 'auth', ...base };
  if (error.duringTokenExchange) return { outcome: status === 400 ? 'auth' : 'transient', ...base };
  if (status === 400) return { outcome: 'recipient_hard', ...base };
  return { outcome: 'transient', ...base, ...retry };
}

/** Parses Retry-After (seconds or an HTTP date) into whole seconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: Date = new Date()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
