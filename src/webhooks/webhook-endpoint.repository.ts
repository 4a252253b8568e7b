/** Webhook endpoints: one per client and ESP account, scoped like every client-owned row. */
import type { Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import type { WebhookEndpointsTable, WebhookProvider } from '../db/database';
import { selectPage, type Page, type PageRows } from '../db/paging';

export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;

export interface EndpointFields {
  name?: string;
  verificationKeyEncrypted?: string | null;
  topicArns?: string[];
}

export async function listEndpoints(db: DbOrTx, scope: ClientScope, page: Page): Promise<PageRows<WebhookEndpointRow>> {
  return selectPage(db.selectFrom('webhook_endpoints').selectAll().where(ownedBy(scope)).orderBy('created_at').orderBy('id'), page);
}

export async function getEndpoint(db: DbOrTx, scope: ClientScope, id: string): Promise<WebhookEndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

/** The endpoint a public webhook URL names, whoever's it is (the URL's provider must match). */
export async function findEndpoint(db: DbOrTx, provider: WebhookProvider, id: string): Promise<WebhookEndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where('provider', '=', provider).executeTakeFirst();
}

export async function insertEndpoint(db: DbOrTx, clientId: string, provider: WebhookProvider, fields: Required<Pick<EndpointFields, 'name'>> & EndpointFields): Promise<WebhookEndpointRow> {
  return db
    .insertInto('webhook_endpoints')
    .values({ client_id: clientId, provider, name: fields.name, verification_key_encrypted: fields.verificationKeyEncrypted ?? null, topic_arns: fields.topicArns ?? [] })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateEndpoint(db: DbOrTx, scope: ClientScope, id: string, fields: EndpointFields): Promise<WebhookEndpointRow | undefined> {
  return db
    .updateTable('webhook_endpoints')
    .set({
      updated_at: new Date(),
      ...(fields.name !== undefined ? { name: fields.name } : {}),
      ...(fields.verificationKeyEncrypted !== undefined ? { verification_key_encrypted: fields.verificationKeyEncrypted } : {}),
      ...(fields.topicArns !== undefined ? { topic_arns: fields.topicArns } : {}),
    })
    .where('id', '=', id)
    .where(ownedBy(scope))
    .returningAll()
    .executeTakeFirst();
}

export async function deleteEndpoint(db: DbOrTx, scope: ClientScope, id: string): Promise<boolean> {
  const result = await db.deleteFrom('webhook_endpoints').where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export interface EndpointActivity {
  pending: number;
  failed: number;
  lastReceivedAt: Date | null;
}

/** Per endpoint: deliveries waiting or given up, and the last one received (for the operator's view). */
export async function endpointActivity(db: DbOrTx, ids: string[]): Promise<Map<string, EndpointActivity>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => [
      'endpoint_id',
      eb.fn.count<string>('id').filterWhere('status', 'in', ['pending', 'processing']).as('pending'),
      eb.fn.count<string>('id').filterWhere('status', '=', 'failed').as('failed'),
      eb.fn.max('received_at').as('last_received_at'),
    ])
    .where('endpoint_id', 'in', ids)
    .groupBy('endpoint_id')
    .execute();
  return new Map(rows.map((r) => [r.endpoint_id!, { pending: Number(r.pending), failed: Number(r.failed), lastReceivedAt: r.last_received_at ?? null }]));
}
