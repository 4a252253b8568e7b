/** Alerts and alert channels as the API reads and writes them, scoped like every client-owned row. */
import type { Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import type { AlertChannelKind, AlertChannelsTable, AlertSeverity, AlertsTable } from '../db/database';
import { selectPage, type Page, type PageRows } from '../db/paging';

export type AlertRow = Selectable<AlertsTable>;
export type AlertChannelRow = Selectable<AlertChannelsTable>;

export interface AlertFilter {
  state?: 'open' | 'resolved' | 'all';
  severity?: AlertSeverity;
  code?: string;
  accountId?: string;
  acknowledged?: boolean;
}

export async function listAlerts(db: DbOrTx, scope: ClientScope, filter: AlertFilter, page: Page): Promise<PageRows<AlertRow>> {
  let query = db.selectFrom('alerts').selectAll().where(ownedBy(scope));
  if (filter.state === 'open') query = query.where('resolved_at', 'is', null);
  if (filter.state === 'resolved') query = query.where('resolved_at', 'is not', null);
  if (filter.severity) query = query.where('severity', '=', filter.severity);
  if (filter.code) query = query.where('code', '=', filter.code);
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
  if (filter.acknowledged !== undefined) query = query.where('acknowledged_at', filter.acknowledged ? 'is not' : 'is', null);
  return selectPage(query.orderBy('created_at', 'desc').orderBy('id', 'desc'), page);
}

export async function acknowledgeAlert(db: DbOrTx, scope: ClientScope, id: number, userId: string, at: Date): Promise<AlertRow | undefined> {
  // Acknowledged once: a second call keeps who acknowledged it first, and when.
  await db.updateTable('alerts').set({ acknowledged_at: at, acknowledged_by: userId }).where('id', '=', id).where('acknowledged_at', 'is', null).where(ownedBy(scope)).execute();
  return db.selectFrom('alerts').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}


export async function listChannels(db: DbOrTx, scope: ClientScope, page: Page): Promise<PageRows<AlertChannelRow>> {
  return selectPage(db.selectFrom('alert_channels').selectAll().where(ownedBy(scope)).orderBy('created_at').orderBy('id'), page);
}

export async function getChannel(db: DbOrTx, scope: ClientScope, id: string): Promise<AlertChannelRow | undefined> {
  return db.selectFrom('alert_channels').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

export interface ChannelFields {
  name?: string;
  minSeverity?: AlertSeverity;
  enabled?: boolean;
  settings?: Record<string, string>;
  secretEncrypted?: string | null;
}

export async function insertChannel(db: DbOrTx, clientId: string | null, kind: AlertChannelKind, fields: ChannelFields & { name: string }): Promise<AlertChannelRow> {
  return db
    .insertInto('alert_channels')
    .values({
      client_id: clientId,
      kind,
      name: fields.name,
      min_severity: fields.minSeverity ?? 'warning',
      enabled: fields.enabled ?? true,
      settings: JSON.stringify(fields.settings ?? {}),
      secret_encrypted: fields.secretEncrypted ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateChannel(db: DbOrTx, scope: ClientScope, id: string, fields: ChannelFields): Promise<AlertChannelRow | undefined> {
  return db
    .updateTable('alert_channels')
    .set({
      updated_at: new Date(),
      ...(fields.name !== undefined ? { name: fields.name } : {}),
      ...(fields.minSeverity !== undefined ? { min_severity: fields.minSeverity } : {}),
      ...(fields.enabled !== undefined ? { enabled: fields.enabled } : {}),
      ...(fields.settings !== undefined ? { settings: JSON.stringify(fields.settings) } : {}),
      ...(fields.secretEncrypted !== undefined ? { secret_encrypted: fields.secretEncrypted } : {}),
    })
    .where('id', '=', id)
    .where(ownedBy(scope))
    .returningAll()
    .executeTakeFirst();
}

export async function deleteChannel(db: DbOrTx, scope: ClientScope, id: string): Promise<boolean> {
  const result = await db.deleteFrom('alert_channels').where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
