/**
 * Circuit breakers (per provider and per recipient domain). States:
 *   closed (failures < failuresToOpen) ──run of transient failures──▶ open (opened_until)
 *   open ──opened_until passes──▶ half-open (one more failure reopens at once; a success closes)
 * While a provider breaker is open its accounts do not claim; while a recipient-domain
 * breaker is open no claim takes rows to that domain.
 */
import type { TransportKind } from '../db/database';

/** The provider a send goes through: the SMTP relay host, or the API. */
export function providerKey(transport: TransportKind, settings: Record<string, unknown>): string {
  if (transport === 'smtp') return `smtp:${String(settings.host ?? 'unknown').toLowerCase()}`;
  return transport;
}
