/**
 * Tracked links. A click URL carries only a link id; the target is read back from here, so
 * no redirect target ever comes from a URL (no open redirect).
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

export interface UpsertLinksInput {
  clientId: string;
  campaignId: string;
  stepId: string;
  urls: Iterable<string>;
}

/** Stores the step's links (once per step and URL) and returns url → link id. */
export async function upsertLinks(db: DbOrTx, input: UpsertLinksInput): Promise<Map<string, number>> {
  const urls = [...new Set(input.urls)];
  const ids = new Map<string, number>();
  if (urls.length === 0) return ids;
  // "do update" with a no-op so RETURNING yields existing rows too, in one round trip.
  const rows = await db
    .insertInto('links')
    .values(urls.map((url) => ({ client_id: input.clientId, campaign_id: input.campaignId, step_id: input.stepId, url })))
    .onConflict((oc) => oc.columns(['step_id', 'url']).doUpdateSet({ url: sql`excluded.url` }))
    .returning(['id', 'url'])
    .execute();
  for (const row of rows) ids.set(row.url, row.id);
  return ids;
}

export interface StoredLink {
  id: number;
  clientId: string;
  campaignId: string;
  url: string;
}

export async function findLink(db: DbOrTx, linkId: number): Promise<StoredLink | undefined> {
  const row = await db.selectFrom('links').select(['id', 'client_id', 'campaign_id', 'url']).where('id', '=', linkId).executeTakeFirst();
  return row ? { id: row.id, clientId: row.client_id, campaignId: row.campaign_id, url: row.url } : undefined;
}
