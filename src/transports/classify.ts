/**
 * Turns what a transport saw into a SendResult. Every SMTP reply goes to the one classification
 * table (src/bounces/classify-reply.ts), with the stage of the exchange it answered; this file
 * keeps only the transport's own concerns:
 *
 * SMTP (nodemailer errors):
 *   a server reply (responseCode)                    the table; stage from nodemailer's command:
 *                                                    CONN / EHLO / HELO / LHLO / STARTTLS → connect,
 *                                                    AUTH … → auth, MAIL FROM → mail, RCPT TO → rcpt,
 *                                                    DATA (the message) → data; unknown for a 421
 *                                                    that nodemailer reports as the server closing
 *   EAUTH without a reply (missing credentials)      auth, credentials_refused
 *   TLS certificate refused (STARTTLS or implicit    auth, tls_certificate_invalid (every send
 *     TLS: unknown CA, other host name, expired)     would fail alike, and sending past it
 *                                                    could hand mail to an impostor)
 *   network error after the whole message was        transient + deliveryUncertain (the server may
 *     handed over                                    have taken it: record `unknown`, reconcile)
 *   network error, timeout, before that              transient, network_error / timeout
 *   EENVELOPE without a reply                        nodemailer refused the address itself: an
 *                                                    invalid recipient is recipient_hard
 *                                                    invalid_address; an invalid sender is ours
 *   EMESSAGE "larger than allowed" (server SIZE)     recipient_soft, message_too_large
 *
 * Gmail API (HTTP status and the `reason` of the Google error body; no SMTP codes, so the table
 * does not apply, but the results carry the table's reason codes):
 *   200                                              accepted, delivered
 *   429, 403 userRateLimitExceeded / rateLimitExceeded
 *     / concurrentLimitExceeded (short-term rate)    transient, rate_limited, with Retry-After
 *   5xx, 403 backendError                            transient, temporary_failure
 *   403 dailyLimitExceeded / quotaExceeded / …       sender_reputation, sending_quota_exceeded
 *                                                    (this mailbox is out of quota for the day)
 *   400 naming the recipient (Invalid To header)     recipient_hard, invalid_address
 *   other 400                                        recipient_soft, undefined: a request Google
 *                                                    refused for a reason we cannot pin on the
 *                                                    address (our own message, say) must not
 *                                                    suppress it
 *   401, invalid_grant / unauthorized_client /
 *     invalid_client from the token endpoint, 403
 *     forbidden / insufficientPermissions /
 *     delegation denied, 404 (no such user)           auth, credentials_refused
 *   network error after the request was written      transient + deliveryUncertain (the
 *                                                    reconciler looks the Message-ID up with
 *                                                    rfc822msgid: before any resend)
 *
 * deliveryUncertain: the caller must NOT requeue such a row; it goes to `unknown` and is
 * reconciled through Transport.findSent (invariant 2).
 */
import type { BounceReason } from '../bounces/bounce-reasons';
import { classifyReply } from '../bounces/classify-reply';
import type { SendOutcomeClass, SendResult, SendStage } from './transport';

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

/** The stage of the exchange a nodemailer error's `command` names; undefined for client-side errors (API, RSET). */
export function stageOfCommand(command: string | undefined): SendStage | undefined {
  const name = command?.trim().toUpperCase() ?? '';
  if (['CONN', 'EHLO', 'HELO', 'LHLO', 'STARTTLS'].includes(name)) return 'connect';
  if (name.startsWith('AUTH')) return 'auth';
  if (name.startsWith('MAIL')) return 'mail';
  if (name.startsWith('RCPT')) return 'rcpt';
  if (name === 'DATA' || name === 'BDAT') return 'data';
  return undefined;
}

/** The fields of a nodemailer SMTP error (or any Node network error) that classification reads. */
export interface SmtpErrorLike {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  /** The underlying Node code when nodemailer replaced it with its own (ESOCKET, ETLS). */
  originalCode?: string;
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/**
 * Node's codes for a server certificate that fails verification (OpenSSL's X509_V_ERR_* names,
 * and the host name check's own code). nodemailer reports the socket error as ESOCKET and keeps
 * Node's code in `originalCode`.
 */
const CERTIFICATE_CODE = /^(?:ERR_TLS_CERT_ALTNAME_INVALID|CERT_\w+|UNABLE_TO_(?:GET_ISSUER_CERT\w*|VERIFY_LEAF_SIGNATURE|DECRYPT_CERT_SIGNATURE|DECODE_ISSUER_PUBLIC_KEY)|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|HOSTNAME_MISMATCH|ERROR_IN_CERT_\w+)$/;

function isCertificateError(error: SmtpErrorLike): boolean {
  return [error.code, error.originalCode].some((code) => typeof code === 'string' && CERTIFICATE_CODE.test(code));
}

function networkReason(code: string | undefined): BounceReason {
  return code && TIMEOUT_CODES.has(code) ? 'timeout' : 'network_error';
}

/**
 * Classifies a failed SMTP send. `messageHandedOver` is true when the whole message body had
 * been written to the server (so only the final reply was missing).
 */
export function classifySmtpError(error: SmtpErrorLike, messageHandedOver: boolean): ClassifiedSendResult {
  const response = cleanResponse(error.response ?? error.message ?? 'SMTP error');
  const code = typeof error.responseCode === 'number' ? error.responseCode : undefined;
  // nodemailer reports a 421 ("closing connection") to RCPT TO or DATA as "Server closed the
  // connection" from CONN: the stage of that reply is unknown, not `connect`. (A 421 greeting
  // comes as EPROTOCOL from CONN, one to MAIL FROM keeps its command.)
  const closing = error.code === 'ECONNECTION' && error.command === 'CONN' && code !== undefined;
  const stage = error.code === 'EAUTH' ? 'auth' : closing ? undefined : stageOfCommand(error.command);
  const at = stage ? { stage } : {};

  // The account requires TLS (requireTLS, the default) and its server refused STARTTLS for good:
  // every send would fail the same way until an operator fixes the account's settings.
  if (error.command === 'STARTTLS' && code !== undefined && code >= 500) return { outcome: 'auth', reason: 'starttls_unavailable', code, response, ...at };
  if (code !== undefined && code >= 200) {
    // A 421 after the message was sent still means "not taken": the server answered.
    const verdict = classifyReply({ code, text: error.response ?? '', ...at });
    return { outcome: verdict.outcome, reason: verdict.reason, code, ...(verdict.enhancedCode ? { enhancedCode: verdict.enhancedCode } : {}), response, ...at };
  }
  if (error.code === 'EAUTH') return { outcome: 'auth', reason: 'credentials_refused', response, ...at };
  if (isCertificateError(error)) return { outcome: 'auth', reason: 'tls_certificate_invalid', response, ...at };
  if (messageHandedOver) return { outcome: 'transient', reason: networkReason(error.code), response, deliveryUncertain: true, ...at };
  if (error.code === 'EENVELOPE') {
    // nodemailer checks address syntax before sending: "Invalid recipient …", "Invalid sender …".
    if (/invalid sender/i.test(error.message ?? '')) return { outcome: 'sender_reputation', reason: 'sender_address_rejected', response, ...at };
    return { outcome: 'recipient_hard', reason: 'invalid_address', response, ...at };
  }
  if (error.code === 'EMESSAGE' && /larger than allowed/i.test(error.message ?? '')) return { outcome: 'recipient_soft', reason: 'message_too_large', response, ...at };
  return { outcome: 'transient', reason: networkReason(error.code), response, ...at };
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
const GMAIL_RATE_403 = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'concurrentLimitExceeded']);
const GMAIL_QUOTA_403 = new Set(['dailyLimitExceeded', 'quotaExceeded', 'limitExceeded', 'sendingLimitExceeded']);
const QUOTA_TEXT = /quota exceeded|sending limit|limit exceeded|daily user sending/i;
// "Invalid To header", "Recipient address required": the address itself is what Google refused.
const RECIPIENT_TEXT = /\b(?:to|cc|bcc) header\b|\brecipient\b|\binvalid (?:e-?mail )?address\b/i;
// Errors raised before a byte of the request could reach the server: safe to resend.
const PRE_CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function classifyGmailError(error: GmailErrorLike): ClassifiedSendResult {
  const response = cleanResponse(`${error.reason ? `${error.reason}: ` : ''}${error.message ?? 'Gmail API error'}`);
  const retry = error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {};
  const status = error.status;
  const reason = error.reason ?? '';
  // The token endpoint is the API's login: a failure there never reached users.messages.send.
  const stage: SendStage = error.duringTokenExchange ? 'auth' : 'api';
  const result = (outcome: SendOutcomeClass, why: BounceReason, extra: Partial<ClassifiedSendResult> = {}): ClassifiedSendResult => ({
    outcome,
    reason: why,
    ...(status ? { code: status } : {}),
    response,
    stage,
    ...extra,
  });

  if (OAUTH_AUTH_ERRORS.has(reason)) return result('auth', 'credentials_refused');
  if (status === undefined) {
    const uncertain = !error.duringTokenExchange && !(error.networkCode && PRE_CONNECT_CODES.has(error.networkCode));
    return result('transient', networkReason(error.networkCode), uncertain ? { deliveryUncertain: true } : {});
  }
  if (status >= 200 && status < 300) return result('accepted', 'delivered');
  if (status === 429) return result('transient', 'rate_limited', retry);
  if (status >= 500) return result('transient', 'temporary_failure', retry);
  if (status === 401) return result('auth', 'credentials_refused');
  if (status === 403) {
    if (GMAIL_RATE_403.has(reason)) return result('transient', 'rate_limited', retry);
    if (reason === 'backendError') return result('transient', 'temporary_failure', retry);
    if (GMAIL_QUOTA_403.has(reason) || QUOTA_TEXT.test(error.message ?? '')) return result('sender_reputation', 'sending_quota_exceeded');
    return result('auth', 'credentials_refused');
  }
  if (status === 404) return result('auth', 'credentials_refused');
  if (error.duringTokenExchange) return status === 400 ? result('auth', 'credentials_refused') : result('transient', 'temporary_failure', retry);
  if (status === 400) return RECIPIENT_TEXT.test(error.message ?? '') ? result('recipient_hard', 'invalid_address') : result('recipient_soft', 'undefined');
  return result('transient', 'temporary_failure', retry);
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
