/** The text a person reads: the same words on every channel, and the JSON a webhook receives. */
import type { Selectable } from 'kysely';
import type { AlertsTable } from '../db/database';

type Alert = Selectable<AlertsTable>;

export function alertSubject(event: 'raised' | 'resolved' | 'test', alert: Alert | undefined): string {
  if (event === 'test' || !alert) return 'Outreach alerts: test message';
  return event === 'resolved' ? `[RESOLVED] ${alert.code}` : `[${alert.severity.toUpperCase()}] ${alert.code}`;
}

export function alertText(event: 'raised' | 'resolved' | 'test', alert: Alert | undefined): string {
  if (event === 'test' || !alert) return 'Test message from the outreach platform: this channel receives its alerts.';
  const repeats = alert.occurrences > 1 ? ` (seen ${alert.occurrences} times)` : '';
  return event === 'resolved' ? `Resolved: ${alert.message}` : `${alert.severity.toUpperCase()}: ${alert.message}${repeats}`;
}

export function alertWebhookBody(deliveryId: number, event: 'raised' | 'resolved' | 'test', alert: Alert | undefined, now: Date): string {
  return JSON.stringify({
    deliveryId,
    event,
    sentAt: now.toISOString(),
    text: alertText(event, alert),
    alert: alert
      ? {
          id: Number(alert.id),
          clientId: alert.client_id,
          accountId: alert.account_id,
          severity: alert.severity,
          code: alert.code,
          entityKey: alert.entity_key,
          message: alert.message,
          details: alert.details,
          occurrences: alert.occurrences,
          createdAt: alert.created_at.toISOString(),
          resolvedAt: alert.resolved_at?.toISOString() ?? null,
        }
      : null,
  });
}
