import type { Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import { selectPage, type Page, type PageRows } from '../db/paging';
import type { SenderDomainsTable } from '../db/database';

export type DomainRow = Selectable<SenderDomainsTable>;

/** A bounce mailbox as stored: everything but its password, which is encrypted apart. */
export interface StoredBounceMailbox {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  mailbox?: string;
}

export interface DomainFields {
  dkimSelector?: string | null;
  dkimPrivateKeyEncrypted?: string | null;
  dailyLimit?: number | null;
  /** null removes it (and its password). */
  bounceMailbox?: { settings: StoredBounceMailbox; secretEncrypted: string } | null;
}

function bounceMailboxColumns(fields: DomainFields) {
  if (fields.bounceMailbox === undefined) return {};
  if (fields.bounceMailbox === null) return { bounce_mailbox: null, bounce_mailbox_secret_encrypted: null };
  return { bounce_mailbox: JSON.stringify(fields.bounceMailbox.settings), bounce_mailbox_secret_encrypted: fields.bounceMailbox.secretEncrypted };
}

export async function listDomains(db: DbOrTx, scope: ClientScope, page: Page): Promise<PageRows<DomainRow>> {
  return selectPage(db.selectFrom('sender_domains').selectAll().where(ownedBy(scope)).orderBy('domain').orderBy('id'), page);
}

export async function getDomain(db: DbOrTx, scope: ClientScope, id: string): Promise<DomainRow | undefined> {
  return db.selectFrom('sender_domains').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

/** The client's own sender domains among `names` (lower-case): name → id. Another client's never match. */
export async function findDomainsByName(db: DbOrTx, clientId: string, names: string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .selectFrom('sender_domains')
    .select(['id', 'domain'])
    .where('client_id', '=', clientId)
    .where((eb) => eb(eb.fn('lower', ['domain']), 'in', names))
    .execute();
  return new Map(rows.map((r) => [r.domain.toLowerCase(), r.id]));
}

/** Accounts of the domain's own client whose address is on it: while there are any, the domain can neither go nor move. */
export async function countAccountsOnDomain(db: DbOrTx, domain: Pick<DomainRow, 'id' | 'client_id' | 'domain'>): Promise<number> {
  const row = await db
    .selectFrom('sender_accounts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('client_id', '=', domain.client_id)
    .where((eb) => eb.or([eb('domain_id', '=', domain.id), eb(eb.fn('lower', [eb.fn('split_part', ['email', eb.val('@'), eb.val(2)])]), '=', domain.domain.toLowerCase())]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Gives the domain (with its DKIM key and limits) to another client, with an audit row naming the owner who did it. Run in a transaction. */
export async function moveDomain(db: DbOrTx, domain: Pick<DomainRow, 'id' | 'client_id' | 'domain'>, clientId: string, userId: string): Promise<DomainRow | undefined> {
  const moved = await db.updateTable('sender_domains').set({ client_id: clientId, updated_at: new Date() }).where('id', '=', domain.id).returningAll().executeTakeFirst();
  if (!moved) return undefined;
  await db
    .insertInto('audit_log')
    .values({
      client_id: clientId,
      actor_type: 'user',
      actor_id: userId,
      action: 'domain.transferred',
      entity_type: 'sender_domain',
      entity_id: domain.id,
      details: JSON.stringify({ domain: domain.domain, fromClientId: domain.client_id, toClientId: clientId }),
    })
    .execute();
  return moved;
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
      ...bounceMailboxColumns(fields),
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
      ...bounceMailboxColumns(fields),
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
