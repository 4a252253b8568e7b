/** The suppression list as the admin API manages it (adding from the mail flow is in suppression.repository.ts). */
import { sql, type Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import { containing, selectPage, type Page, type PageRows } from '../db/paging';
import type { SuppressionReason, SuppressionsTable } from '../db/database';

export type SuppressionRow = Selectable<SuppressionsTable>;

export async function listSuppressions(
  db: DbOrTx,
  scope: ClientScope,
  filter: Page & { search?: string; reason?: SuppressionReason },
): Promise<PageRows<SuppressionRow>> {
  let query = db.selectFrom('suppressions').selectAll().where(ownedBy(scope));
  if (filter.search) query = query.where('email', 'like', containing(filter.search.toLowerCase()));
  if (filter.reason) query = query.where('reason', '=', filter.reason);
  return selectPage(query.orderBy('id'), filter);
}

export async function getSuppression(db: DbOrTx, scope: ClientScope, id: number): Promise<SuppressionRow | undefined> {
  return db.selectFrom('suppressions').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

export async function deleteSuppression(db: DbOrTx, scope: ClientScope, id: number): Promise<boolean> {
  const result = await db.deleteFrom('suppressions').where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Adds addresses (already normalized) in one statement and marks this client's rows still
 * waiting in the queue for them as suppressed, so the change holds before the next claim.
 * Returns how many addresses were newly suppressed.
 */
export async function addSuppressions(db: DbOrTx, clientId: string, emails: string[], reason: SuppressionReason, source: string): Promise<number> {
  if (emails.length === 0) return 0;
  const { rows } = await sql<{ added: number }>`
    with added as (
      insert into suppressions (client_id, email, reason, source)
      select ${clientId}::uuid, e, ${reason}, ${source} from unnest(${emails}::text[]) as e
      on conflict (client_id, email) do nothing
      returning email
    ), stopped as (
      update email_queue set status = 'suppressed', last_error = 'suppressed', updated_at = now()
      where client_id = ${clientId} and status = 'queued' and to_email = any(${emails}::text[])
      returning 1
    )
    select (select count(*) from added)::int as added, (select count(*) from stopped)::int as stopped`.execute(db);
  return rows[0]?.added ?? 0;
}

/** Every suppression of the scope, in pages by id (for the CSV export). */
export async function* allSuppressions(db: DbOrTx, scope: ClientScope, pageSize = 5000): AsyncGenerator<SuppressionRow> {
  let after = 0;
  for (;;) {
    const rows = await db.selectFrom('suppressions').selectAll().where(ownedBy(scope)).where('id', '>', after).orderBy('id').limit(pageSize).execute();
    yield* rows;
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) return;
    after = last.id;
  }
}
