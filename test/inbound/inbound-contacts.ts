/** Contacts with given addresses, added to a campaign as active. */
import type { Db } from '../../src/db/connection';

export async function addContactsByEmail(db: Db, clientId: string, campaignId: string, emails: string[]) {
  const contacts = [];
  for (const email of emails) {
    const existing = await db.selectFrom('contacts').select(['id', 'email']).where('client_id', '=', clientId).where('email', '=', email.toLowerCase()).executeTakeFirst();
    const contact =
      existing ??
      (await db
        .insertInto('contacts')
        .values({ client_id: clientId, email: email.toLowerCase(), email_domain: email.split('@')[1]!.toLowerCase(), first_name: 'Pat', company: 'Acme', custom_fields: '{}' })
        .returning(['id', 'email'])
        .executeTakeFirstOrThrow());
    await db.insertInto('campaign_contacts').values({ campaign_id: campaignId, contact_id: contact.id }).execute();
    contacts.push(contact);
  }
  return contacts;
}
