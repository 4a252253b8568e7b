import type { Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import { selectPage, type Page, type PageRows } from '../db/paging';
import type { SenderDomainsTable } from '../db/database';

export type DomainRow = Selectable<SenderDomainsTable>;

export interface DomainFields {
  dkimSelector?: string | null;
  dkimPrivateKeyEncrypted?: string | null;
  dailyLimit?: number | null;
}

export async function listDomains(db: DbOrTx, scope: ClientScope, page: Page): Promise<PageRows<DomainRow>> {
  return selectPage(db.selectFrom('sender_domains').selectAll().where(ownedBy(scope)).orderBy('domain').orderBy('id'), page);
}

export async function getDomain(db: DbOrTx, scope: ClientScope, id: string): Promise<DomainRow | undefined> {
  return db.selectFrom('sender_domains').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

export async function findDomainsByName(db: DbOrTx, clientId: string, names: string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await db.selectFrom('sender_domains').select(['id', 'domain']).where('client_id', '=', clientId).where('domain', 'in', names).execute();
  return new Map(rows.map((r) => [r.domain, r.id]));
}

export async function insertDomain(db: DbOrTx, clientId: string, domain: string, fields: DomainFields): Promise<DomainRow> {
  return db
    .insertInto('sender_domains')
    .values({
      client_id: clientId,
      domain,
      dkim_selector: fields.dkimSelector ?? null,
      dkim_private_key_encrypted: fields.dkimPrivateKeyEncrypted ?? null,
      daily_limit: fields.dailyLimit ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateDomain(db: DbOrTx, scope: ClientScope, id: string, fields: DomainFields): Promise<DomainRow | undefined> {
  return db
    .updateTable('sender_domains')
    .set({
      ...(fields.dkimSelector === undefined ? {} : { dkim_selector: fields.dkimSelector }),
      ...(fields.dkimPrivateKeyEncrypted === undefined ? {} : { dkim_private_key_encrypted: fields.dkimPrivateKeyEncrypted }),
      ...(fields.dailyLimit === undefined ? {} : { daily_limit: fields.dailyLimit }),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .where(ownedBy(scope))
    .returningAll()
    .executeTakeFirst();
}

export async function deleteDomain(db: DbOrTx, scope: ClientScope, id: string): Promise<boolean> {
  const result = await db.deleteFrom('sender_domains').where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
