import type { Selectable } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { selectPage, type Page, type PageRows } from '../db/paging';
import type { ClientsTable } from '../db/database';
import type { ClientScope } from '../auth/client-scope';

export type ClientRow = Selectable<ClientsTable>;

export interface ClientFields {
  name?: string;
  postalAddress?: string;
  trackingDomain?: string | null;
  dailyLimit?: number | null;
}

/** Clients are scoped by their own id: a client user sees exactly one row. */
function byScope(scope: ClientScope) {
  return scope.clientId;
}

export async function clientExists(db: DbOrTx, id: string): Promise<boolean> {
  return (await db.selectFrom('clients').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

export async function listClients(db: DbOrTx, scope: ClientScope, page: Page): Promise<PageRows<ClientRow>> {
  let query = db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id');
  const own = byScope(scope);
  if (own !== null) query = query.where('id', '=', own);
  return selectPage(query, page);
}

export async function getClient(db: DbOrTx, scope: ClientScope, id: string): Promise<ClientRow | undefined> {
  let query = db.selectFrom('clients').selectAll().where('id', '=', id);
  const own = byScope(scope);
  if (own !== null) query = query.where('id', '=', own);
  return query.executeTakeFirst();
}

export async function insertClient(db: DbOrTx, fields: ClientFields & { name: string }): Promise<ClientRow> {
  return db
    .insertInto('clients')
    .values({
      name: fields.name,
      postal_address: fields.postalAddress ?? '',
      tracking_domain: fields.trackingDomain ?? null,
      daily_limit: fields.dailyLimit ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateClient(db: DbOrTx, scope: ClientScope, id: string, fields: ClientFields): Promise<ClientRow | undefined> {
  let query = db
    .updateTable('clients')
    .set({
      ...(fields.name === undefined ? {} : { name: fields.name }),
      ...(fields.postalAddress === undefined ? {} : { postal_address: fields.postalAddress }),
      ...(fields.trackingDomain === undefined ? {} : { tracking_domain: fields.trackingDomain }),
      ...(fields.dailyLimit === undefined ? {} : { daily_limit: fields.dailyLimit }),
      updated_at: new Date(),
    })
    .where('id', '=', id);
  const own = byScope(scope);
  if (own !== null) query = query.where('id', '=', own);
  return query.returningAll().executeTakeFirst();
}

export async function deleteClient(db: DbOrTx, id: string): Promise<boolean> {
  const result = await db.deleteFrom('clients').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
