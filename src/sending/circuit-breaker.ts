/**
 * Circuit breakers (per provider route of one client, and per recipient domain). States:
 *   closed (failures < failuresToOpen) ──run of route failures──▶ open (opened_until)
 *   open ──opened_until passes──▶ half-open (one more failure reopens at once; a success closes)
 * While a provider breaker is open its accounts do not claim; while a recipient-domain
 * breaker is open no claim takes rows to that domain.
 *
 * Keys and what counts, so one mailbox's or one client's trouble never stops the others:
 *   provider          `<client id>|smtp:<host>:<port>` or `<client id>|gmail`: only failures that
 *                     say the route to the provider is broken (cannot connect, TLS, greeting
 *                     refused; Gmail API 5xx and network errors). A reply about one mailbox
 *                     (its rate, its quota, a 4xx to its MAIL/RCPT/DATA) is that mailbox's own
 *                     failure run (sender_accounts.consecutive_failures), not the provider's.
 *   recipient_domain  only transient replies to RCPT or DATA (the recipient side answered);
 *                     never our own network faults, authentication or the provider's limits.
 */
import type { TransportKind } from '../db/database';
import type { SendResult } from '../transports/transport';

export interface BreakerAccount {
  client_id: string;
  transport: TransportKind;
  transport_settings: Record<string, unknown>;
}

/** The provider route a send goes through, for one client. */
export function providerKey(account: BreakerAccount): string {
  if (account.transport === 'smtp') {
    const host = String(account.transport_settings.host ?? 'unknown').toLowerCase();
    return `${account.client_id}|smtp:${host}:${String(account.transport_settings.port ?? '')}`;
  }
  return `${account.client_id}|${account.transport}`;
}

/** Which breakers a failed (not accepted) result counts for. */
export function breakersCounting(result: SendResult): { provider: boolean; recipientDomain: boolean } {
  if (result.outcome !== 'transient') return { provider: false, recipientDomain: false };
  const provider = result.stage === 'connect' || (result.stage === 'api' && result.code !== 429 && result.reason !== 'rate_limited');
  const recipientDomain = (result.stage === 'rcpt' || result.stage === 'data') && result.code !== undefined && result.code >= 400 && result.code < 500;
  return { provider, recipientDomain };
}
