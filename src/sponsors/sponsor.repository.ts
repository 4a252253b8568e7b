/** Sponsors, their API keys and offers. Admin reads and writes go through ownedBy(scope). */
import type { Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import { selectPage, type Page, type PageRows } from '../db/paging';
import type { OffersTable, SponsorApiKeysTable, SponsorsTable } from '../db/database';

export type SponsorRow = Selectable<SponsorsTable>;
export type OfferRow = Selectable<OffersTable>;
export type ApiKeyRow = Omit<Selectable<SponsorApiKeysTable>, 'key_hash'>;

export async function insertSponsor(
  db: DbOrTx,
  values: { clientId: string; name: string; deliveryUrl: string | null; deliverySecretEncrypted: string },
): Promise<SponsorRow> {
  return db
    .insertInto('sponsors')
    .values({ client_id: values.clientId, name: values.name, delivery_url: values.deliveryUrl, delivery_secret_encrypted: values.deliverySecretEncrypted })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listSponsors(db: DbOrTx, scope: ClientScope, page: Page): Promise<PageRows<SponsorRow>> {
  return selectPage(db.selectFrom('sponsors').selectAll().where(ownedBy(scope)).orderBy('created_at').orderBy('id'), page);
}

export async function getSponsor(db: DbOrTx, scope: ClientScope, id: string): Promise<SponsorRow | undefined> {
  return db.selectFrom('sponsors').selectAll().where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

export async function insertApiKey(db: DbOrTx, sponsorId: string, prefix: string, hash: string): Promise<ApiKeyRow> {
  return db
    .insertInto('sponsor_api_keys')
    .values({ sponsor_id: sponsorId, key_prefix: prefix, key_hash: hash })
    .returning(['id', 'sponsor_id', 'key_prefix', 'last_used_at', 'revoked_at', 'created_at'])
    .executeTakeFirstOrThrow();
}

export async function listApiKeys(db: DbOrTx, sponsorId: string, page: Page): Promise<PageRows<ApiKeyRow>> {
  return selectPage(
    db
      .selectFrom('sponsor_api_keys')
      .select(['id', 'sponsor_id', 'key_prefix', 'last_used_at', 'revoked_at', 'created_at'])
      .where('sponsor_id', '=', sponsorId)
      .orderBy('created_at')
      .orderBy('id'),
    page,
  );
}

export async function revokeApiKey(db: DbOrTx, sponsorId: string, keyId: string): Promise<boolean> {
  const result = await db
    .updateTable('sponsor_api_keys')
    .set({ revoked_at: new Date() })
    .where('id', '=', keyId)
    .where('sponsor_id', '=', sponsorId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface KeyOwner {
  keyId: string;
  keyHash: string;
  revoked: boolean;
  sponsorId: string;
  sponsorActive: boolean;
  clientId: string;
}

export async function findKeyByPrefix(db: DbOrTx, prefix: string): Promise<KeyOwner | undefined> {
  const row = await db
    .selectFrom('sponsor_api_keys as k')
    .innerJoin('sponsors as s', 's.id', 'k.sponsor_id')
    .select(['k.id', 'k.key_hash', 'k.revoked_at', 's.id as sponsor_id', 's.status', 's.client_id'])
    .where('k.key_prefix', '=', prefix)
    .executeTakeFirst();
  return (
    row && {
      keyId: row.id,
      keyHash: row.key_hash,
      revoked: row.revoked_at !== null,
      sponsorId: row.sponsor_id,
      sponsorActive: row.status === 'active',
      clientId: row.client_id,
    }
  );
}

/** At most one write a minute per key: last_used_at is for people, not for accounting. */
export async function touchApiKey(db: DbOrTx, keyId: string): Promise<void> {
  await db
    .updateTable('sponsor_api_keys')
    .set({ last_used_at: new Date() })
    .where('id', '=', keyId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(Date.now() - 60_000))]))
    .execute();
}

export interface NewOffer {
  clientId: string;
  sponsorId: string;
  name: string;
  description: string;
  landingUrl: string | null;
  payoutCents: number | null;
  leadFields: string[];
}

export async function insertOffer(db: DbOrTx, offer: NewOffer): Promise<OfferRow> {
  return db
    .insertInto('offers')
    .values({
      client_id: offer.clientId,
      sponsor_id: offer.sponsorId,
      name: offer.name,
      description: offer.description,
      landing_url: offer.landingUrl,
      payout_cents: offer.payoutCents,
      lead_fields: JSON.stringify(offer.leadFields),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listOffersOfSponsor(db: DbOrTx, sponsorId: string, options: Page & { activeOnly: boolean }): Promise<PageRows<OfferRow>> {
  let query = db.selectFrom('offers').selectAll().where('sponsor_id', '=', sponsorId);
  if (options.activeOnly) query = query.where('status', '=', 'active');
  return selectPage(query.orderBy('created_at').orderBy('id'), options);
}

export async function getOfferOfSponsor(db: DbOrTx, sponsorId: string, offerId: string): Promise<OfferRow | undefined> {
  return db.selectFrom('offers').selectAll().where('id', '=', offerId).where('sponsor_id', '=', sponsorId).executeTakeFirst();
}

export async function getOffer(db: DbOrTx, offerId: string): Promise<OfferRow | undefined> {
  return db.selectFrom('offers').selectAll().where('id', '=', offerId).executeTakeFirst();
}

export async function getSponsorById(db: DbOrTx, sponsorId: string): Promise<SponsorRow | undefined> {
  return db.selectFrom('sponsors').selectAll().where('id', '=', sponsorId).executeTakeFirst();
}
