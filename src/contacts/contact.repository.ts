import { sql, type Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import { containing, selectPage, type Page, type PageRows } from '../db/paging';
import type { ContactsTable } from '../db/database';
import type { ContactRecord } from './contact-csv';

export type ContactRow = Selectable<ContactsTable>;

export interface BatchResult {
  inserted: number;
  suppressed: number;
  /** Rows whose address was already a contact of this client. */
  existing: number;
  attached: number;
}

/**
 * Inserts one batch of validated contacts in a single statement: parameters are one array
 * per column (unnest), suppressed addresses are filtered out and counted, existing contacts
 * are left as they are, and with `campaignId` every non-suppressed contact of the batch (new
 * or existing) joins the campaign.
 */
export async function insertContactBatch(db: DbOrTx, clientId: string, campaignId: string | null, batch: ContactRecord[]): Promise<BatchResult> {
  const column = <K extends keyof ContactRecord>(key: K) => batch.map((c) => c[key]);
  const attach = campaignId
    ? sql`, attached as (
        insert into campaign_contacts (campaign_id, contact_id)
        (select ${campaignId}::uuid, id from inserted
         union all
         select ${campaignId}::uuid, c.id from contacts c join wanted w on c.client_id = ${clientId} and c.email = w.email)
        on conflict do nothing
        returning 1)`
    : sql``;
  const { rows } = await sql<{ suppressed: number; inserted: number; attached: number }>`
    with input as (
      select * from unnest(
        ${column('email')}::text[], ${column('emailDomain')}::text[], ${column('firstName')}::text[], ${column('lastName')}::text[],
        ${column('company')}::text[], ${column('timeZone')}::text[], ${column('customFieldsJson')}::jsonb[]
      ) as t(email, email_domain, first_name, last_name, company, time_zone, custom_fields)
    ), wanted as (
      select i.* from input i
      where not exists (select 1 from suppressions s where s.client_id = ${clientId} and s.email = any(suppression_keys(i.email)))
    ), inserted as (
      insert into contacts (client_id, email, email_domain, first_name, last_name, company, time_zone, custom_fields)
      select ${clientId}, email, email_domain, first_name, last_name, company, time_zone, custom_fields from wanted
      on conflict (client_id, email) do nothing
      returning id
    )${attach}
    select
      (select count(*) from input) - (select count(*) from wanted) as suppressed,
      (select count(*) from inserted) as inserted,
      ${campaignId ? sql`(select count(*) from attached)` : sql`0`} as attached
  `.execute(db);
  const row = rows[0] ?? { suppressed: 0, inserted: 0, attached: 0 };
  const suppressed = Number(row.suppressed);
  const inserted = Number(row.inserted);
  return { suppressed, inserted, existing: batch.length - suppressed - inserted, attached: Number(row.attached) };
}

export interface ContactFields {
  firstName?: string;
  lastName?: string;
  company?: string;
  timeZone?: string | null;
  customFields?: Record<string, string>;
}

export async function insertContact(db: DbOrTx, clientId: string, email: string, domain: string, fields: ContactFields): Promise<ContactRow> {
  return db
    .insertInto('contacts')
    .values({
      client_id: clientId,
      email,
      email_domain: domain,
      first_name: fields.firstName ?? '',
      last_name: fields.lastName ?? '',
      company: fields.company ?? '',
      time_zone: fields.timeZone ?? null,
      custom_fields: JSON.stringify(fields.customFields ?? {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listContacts(
  db: DbOrTx,
  scope: ClientScope,
  filter: Page & { search?: string; campaignId?: string },
): Promise<PageRows<ContactRow>> {
  let query = db.selectFrom('contacts').selectAll('contacts').where(ownedBy(scope, 'contacts.client_id'));
  if (filter.search) query = query.where('contacts.email', 'like', containing(filter.search.toLowerCase()));
  if (filter.campaignId) {
    query = query.innerJoin('campaign_contacts', 'campaign_contacts.contact_id', 'contacts.id').where('campaign_contacts.campaign_id', '=', filter.campaignId);
  }
  return selectPage(query.orderBy('contacts.created_at').orderBy('contacts.id'), filter);
}

export async function getContact(db: DbOrTx, scope: ClientScope, id: string): Promise<ContactRow | undefined> {
  return db.selectFrom('contacts').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

export async function updateContact(db: DbOrTx, scope: ClientScope, id: string, fields: ContactFields): Promise<ContactRow | undefined> {
  return db
    .updateTable('contacts')
    .set({
      ...(fields.firstName === undefined ? {} : { first_name: fields.firstName }),
      ...(fields.lastName === undefined ? {} : { last_name: fields.lastName }),
      ...(fields.company === undefined ? {} : { company: fields.company }),
      ...(fields.timeZone === undefined ? {} : { time_zone: fields.timeZone }),
      ...(fields.customFields === undefined ? {} : { custom_fields: JSON.stringify(fields.customFields) }),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .where(ownedBy(scope))
    .returningAll()
    .executeTakeFirst();
}

export async function deleteContact(db: DbOrTx, scope: ClientScope, id: string): Promise<boolean> {
  const result = await db.deleteFrom('contacts').where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
