/**
 * The one way the system raises and resolves an alert (pauses with their reason, suspension,
 * crash loops, complaints, domain thresholds, DNS and blocklist failures). An alert is about an
 * entity (alertEntity): there is at most one open alert per (client, code, entity), so a repeat
 * bumps its `occurrences` instead of writing a row and sending another message. A new alert,
 * and the resolution of one that was sent, put a message for each matching channel into the
 * alert_deliveries outbox in the caller's transaction; the server's delivery loop sends them
 * (alert-delivery.service.ts).
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { AlertSeverity } from '../db/database';

/** What an alert is about; with the client and code it identifies the open alert. */
export const alertEntity = {
  account: (accountId: string) => `account:${accountId}`,
  domain: (domain: string) => `domain:${domain.toLowerCase()}`,
  mailbox: (id: string) => `mailbox:${id}`,
  /** A sending IP (blocklists, reverse DNS). */
  ip: (address: string) => `ip:${address}`,
} as const;

export interface AlertToRaise {
  /** null: a system alert (no client), seen by the owner only. */
  clientId: string | null;
  accountId: string | null;
  severity: AlertSeverity;
  code: string;
  entityKey: string;
  message: string;
  details: Record<string, unknown>;
  at?: Date;
}

export interface RaisedAlert {
  id: number;
  /** false: the alert was already open; only its counter moved and nothing is sent. */
  isNew: boolean;
}

const SEVERITIES = sql`array['info', 'warning', 'critical']::text[]`;

export async function raiseAlert(db: DbOrTx, alert: AlertToRaise): Promise<RaisedAlert> {
  const at = alert.at ?? new Date();
  const { rows } = await sql<{ id: number; is_new: boolean }>`
    insert into alerts (client_id, account_id, severity, code, entity_key, message, details, created_at, last_seen_at)
    values (${alert.clientId}, ${alert.accountId}, ${alert.severity}, ${alert.code}, ${alert.entityKey}, ${alert.message}, ${JSON.stringify(alert.details)}::jsonb, ${at}, ${at})
    on conflict (client_id, code, entity_key) where resolved_at is null
    do update set occurrences = alerts.occurrences + 1, last_seen_at = excluded.last_seen_at, message = excluded.message, details = excluded.details
    returning id, (xmax = 0) as is_new`.execute(db);
  const row = rows[0]!;
  const id = Number(row.id);
  if (row.is_new) {
    await sql`
      insert into alert_deliveries (channel_id, alert_id, event)
      select c.id, ${id}, 'raised'
      from alert_channels c
      where c.enabled and (c.client_id is null or c.client_id = ${alert.clientId})
        and array_position(${SEVERITIES}, c.min_severity) <= array_position(${SEVERITIES}, ${alert.severity}::text)`.execute(db);
  }
  return { id, isNew: row.is_new };
}

/**
 * The condition cleared: the open alerts of the entity (of these codes, or any; of this client,
 * or of any when the key is unique on its own) are resolved,
 * and each channel that was sent the alert is sent a "resolved" message. Returns their ids.
 */
export async function resolveAlerts(db: DbOrTx, which: { clientId?: string | null; entityKey: string; codes?: readonly string[]; at?: Date }): Promise<number[]> {
  let query = db.updateTable('alerts').set({ resolved_at: which.at ?? new Date() }).where('resolved_at', 'is', null).where('entity_key', '=', which.entityKey);
  // clientId omitted: the entity key names one thing whoever's it is (mailbox:<id>).
  if (which.clientId !== undefined) query = query.where(which.clientId === null ? sql<boolean>`client_id is null` : sql<boolean>`client_id = ${which.clientId}`);
  if (which.codes) query = query.where('code', 'in', which.codes.length > 0 ? [...which.codes] : ['']);
  const rows = await query.returning('id').execute();
  const ids = rows.map((r) => Number(r.id));
  await enqueueResolved(db, ids);
  return ids;
}

/** Resolves one alert by id (an inbound effect undone); false when it was not open. */
export async function resolveAlertById(db: DbOrTx, id: number, at: Date): Promise<boolean> {
  const row = await db.updateTable('alerts').set({ resolved_at: at }).where('id', '=', id).where('resolved_at', 'is', null).returning('id').executeTakeFirst();
  if (!row) return false;
  await enqueueResolved(db, [id]);
  return true;
}

// Messages are due now (the database's clock), whatever time the event carries: an event
// stamped later (a report's own date) must not hold its message back.
async function enqueueResolved(db: DbOrTx, alertIds: number[]): Promise<void> {
  if (alertIds.length === 0) return;
  // Only where the alert itself went: a channel that never heard of it (rate-limited, added
  // later) is not told it is over.
  await sql`
    insert into alert_deliveries (channel_id, alert_id, event)
    select distinct d.channel_id, d.alert_id, 'resolved'
    from alert_deliveries d join alert_channels c on c.id = d.channel_id
    where d.alert_id = any(${alertIds}::bigint[]) and d.event = 'raised' and d.status <> 'rate_limited' and c.enabled`.execute(db);
}

/** Account alerts that end when the account sends again (resumed by a probe or an operator). */
export const ACCOUNT_STOP_CODES = ['account_paused', 'account_auth_failed', 'worker_crashed', 'domain_not_registered'] as const;

/** The account is active again: its pause, suspension and crash alerts are resolved. */
export async function resolveAccountAlerts(db: DbOrTx, account: { clientId: string; accountId: string }, at?: Date): Promise<number[]> {
  return resolveAlerts(db, { clientId: account.clientId, entityKey: alertEntity.account(account.accountId), codes: ACCOUNT_STOP_CODES, ...(at ? { at } : {}) });
}
