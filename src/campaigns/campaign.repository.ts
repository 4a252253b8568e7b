import { sql, type Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import { containing, selectPage, type Page, type PageRows } from '../db/paging';
import type { CampaignsTable, CampaignStatus, SequenceStepsTable } from '../db/database';

export type CampaignRow = Selectable<CampaignsTable>;
export type StepRow = Selectable<SequenceStepsTable>;

export interface CampaignSettings {
  name?: string;
  timeZone?: string;
  useRecipientTimeZone?: boolean;
  sendDays?: number[];
  windowStartMinute?: number;
  windowEndMinute?: number;
  dailyLimit?: number | null;
  trackOpens?: boolean;
  trackClicks?: boolean;
  stopOnReply?: boolean;
  /** null: inbound.stopCompanyOnReply decides. */
  stopCompanyOnReply?: boolean | null;
}

export interface StepInput {
  subject: string;
  bodyHtml: string;
  bodyText: string;
  delayMinutes: number;
}

function settingsColumns(s: CampaignSettings) {
  return {
    ...(s.name === undefined ? {} : { name: s.name }),
    ...(s.timeZone === undefined ? {} : { time_zone: s.timeZone }),
    ...(s.useRecipientTimeZone === undefined ? {} : { use_recipient_time_zone: s.useRecipientTimeZone }),
    ...(s.sendDays === undefined ? {} : { send_days: s.sendDays }),
    ...(s.windowStartMinute === undefined ? {} : { window_start_minute: s.windowStartMinute }),
    ...(s.windowEndMinute === undefined ? {} : { window_end_minute: s.windowEndMinute }),
    ...(s.dailyLimit === undefined ? {} : { daily_limit: s.dailyLimit }),
    ...(s.trackOpens === undefined ? {} : { track_opens: s.trackOpens }),
    ...(s.trackClicks === undefined ? {} : { track_clicks: s.trackClicks }),
    ...(s.stopOnReply === undefined ? {} : { stop_on_reply: s.stopOnReply }),
    ...(s.stopCompanyOnReply === undefined ? {} : { stop_company_on_reply: s.stopCompanyOnReply }),
  };
}

export async function insertCampaign(db: DbOrTx, clientId: string, settings: CampaignSettings & { name: string }): Promise<CampaignRow> {
  return db
    .insertInto('campaigns')
    .values({ client_id: clientId, ...settingsColumns(settings), name: settings.name })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listCampaigns(db: DbOrTx, scope: ClientScope, page: Page & { status?: CampaignStatus; search?: string }): Promise<PageRows<CampaignRow>> {
  let query = db.selectFrom('campaigns').selectAll().where(ownedBy(scope));
  if (page.status) query = query.where('status', '=', page.status);
  if (page.search) query = query.where('name', 'ilike', containing(page.search));
  return selectPage(query.orderBy('created_at', 'desc').orderBy('id'), page);
}

export async function getCampaign(db: DbOrTx, scope: ClientScope, id: string, forUpdate = false): Promise<CampaignRow | undefined> {
  const query = db.selectFrom('campaigns').selectAll().where('id', '=', id).where(ownedBy(scope));
  return (forUpdate ? query.forUpdate() : query).executeTakeFirst();
}

export async function updateCampaignSettings(db: DbOrTx, scope: ClientScope, id: string, settings: CampaignSettings): Promise<CampaignRow | undefined> {
  return db
    .updateTable('campaigns')
    .set({ ...settingsColumns(settings), updated_at: new Date() })
    .where('id', '=', id)
    .where(ownedBy(scope))
    .returningAll()
    .executeTakeFirst();
}

/** The campaign's status, read under a shared lock on its row held until the transaction ends. */
export async function lockCampaignStatus(db: DbOrTx, id: string): Promise<CampaignStatus | undefined> {
  const row = await db.selectFrom('campaigns').select('status').where('id', '=', id).forShare().executeTakeFirst();
  return row?.status;
}

/** Moves a campaign between states only from the states given: a guarded UPDATE. */
export async function transitionCampaign(
  db: DbOrTx,
  scope: ClientScope,
  id: string,
  from: CampaignStatus[],
  to: CampaignStatus,
  now: Date,
): Promise<CampaignRow | undefined> {
  return db
    .updateTable('campaigns')
    .set({
      status: to,
      updated_at: now,
      ...(to === 'running' ? { started_at: sql<Date>`coalesce(started_at, ${now})` } : {}),
      ...(to === 'cancelled' || to === 'completed' ? { completed_at: now } : {}),
    })
    .where('id', '=', id)
    .where(ownedBy(scope))
    .where('status', 'in', from)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteCampaign(db: DbOrTx, scope: ClientScope, id: string): Promise<boolean> {
  const result = await db.deleteFrom('campaigns').where('id', '=', id).where(ownedBy(scope)).where('status', '=', 'draft').executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function listSteps(db: DbOrTx, campaignId: string): Promise<StepRow[]> {
  return db.selectFrom('sequence_steps').selectAll().where('campaign_id', '=', campaignId).orderBy('step_number').execute();
}

export async function replaceSteps(db: DbOrTx, campaignId: string, steps: StepInput[]): Promise<StepRow[]> {
  await db.deleteFrom('sequence_steps').where('campaign_id', '=', campaignId).execute();
  if (steps.length === 0) return [];
  return db
    .insertInto('sequence_steps')
    .values(
      steps.map((step, index) => ({
        campaign_id: campaignId,
        step_number: index + 1,
        subject: step.subject,
        body_html: step.bodyHtml,
        body_text: step.bodyText,
        delay_minutes: step.delayMinutes,
      })),
    )
    .returningAll()
    .execute();
}

export async function listSenderIds(db: DbOrTx, campaignId: string): Promise<string[]> {
  const rows = await db.selectFrom('campaign_senders').select('account_id').where('campaign_id', '=', campaignId).orderBy('account_id').execute();
  return rows.map((r) => r.account_id);
}

export async function replaceSenders(db: DbOrTx, campaignId: string, accountIds: string[]): Promise<void> {
  await db.deleteFrom('campaign_senders').where('campaign_id', '=', campaignId).execute();
  if (accountIds.length === 0) return;
  await db
    .insertInto('campaign_senders')
    .values(accountIds.map((accountId) => ({ campaign_id: campaignId, account_id: accountId })))
    .execute();
}

/** Active senders of the pool (what a start needs at least one of). */
export async function countActiveSenders(db: DbOrTx, campaignId: string): Promise<number> {
  const row = await db
    .selectFrom('campaign_senders')
    .innerJoin('sender_accounts', 'sender_accounts.id', 'campaign_senders.account_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('campaign_senders.campaign_id', '=', campaignId)
    .where('sender_accounts.status', 'in', ['active', 'paused'])
    .executeTakeFirstOrThrow();
  return row.n;
}

export async function countCampaignContacts(db: DbOrTx, campaignId: string): Promise<number> {
  const row = await db
    .selectFrom('campaign_contacts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('campaign_id', '=', campaignId)
    .executeTakeFirstOrThrow();
  return row.n;
}

/** The campaign's contacts, in pages, with the fields templates use (for validation). */
export async function* campaignContactFields(db: DbOrTx, campaignId: string, pageSize = 5000) {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await db
      .selectFrom('campaign_contacts')
      .innerJoin('contacts', 'contacts.id', 'campaign_contacts.contact_id')
      .select(['contacts.id', 'contacts.email', 'contacts.first_name', 'contacts.last_name', 'contacts.company', 'contacts.custom_fields'])
      .where('campaign_contacts.campaign_id', '=', campaignId)
      .where('campaign_contacts.status', '=', 'active')
      .where('contacts.id', '>', after)
      .orderBy('contacts.id')
      .limit(pageSize)
      .execute();
    yield* rows;
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) return;
    after = last.id;
  }
}

/**
 * The time zones the campaign's active contacts are sent to in (recipient-time-zone
 * campaigns): each contact's own when Postgres knows it, else the campaign's, as at claim.
 */
export async function listContactTimeZones(db: DbOrTx, campaignId: string, campaignTimeZone: string): Promise<string[]> {
  const { rows } = await sql<{ zone: string }>`
    select distinct coalesce(safe_time_zone(z.time_zone), ${campaignTimeZone}) as zone
    from (
      select distinct ct.time_zone from campaign_contacts cc join contacts ct on ct.id = cc.contact_id
      where cc.campaign_id = ${campaignId} and cc.status = 'active'
    ) z
    order by zone`.execute(db);
  return rows.map((r) => r.zone);
}

/** Cancel: every row still waiting is cancelled; rows a worker holds finish on their own. */
export async function cancelWaitingQueueRows(db: DbOrTx, campaignId: string, now: Date): Promise<number> {
  const result = await db
    .updateTable('email_queue')
    .set({ status: 'cancelled', last_error: 'campaign cancelled', updated_at: now })
    .where('campaign_id', '=', campaignId)
    .where('status', 'in', ['queued', 'held'])
    .executeTakeFirst();
  await db.updateTable('campaign_contacts').set({ status: 'cancelled' }).where('campaign_id', '=', campaignId).where('status', '=', 'active').execute();
  return Number(result.numUpdatedRows);
}

export async function attachContacts(db: DbOrTx, campaignId: string, clientId: string, contactIds: string[]): Promise<number> {
  if (contactIds.length === 0) return 0;
  const { rows } = await sql<{ n: number }>`
    with attached as (
      insert into campaign_contacts (campaign_id, contact_id)
      select ${campaignId}::uuid, c.id from contacts c where c.client_id = ${clientId} and c.id = any(${contactIds}::uuid[])
      on conflict do nothing returning 1)
    select count(*)::int as n from attached`.execute(db);
  return rows[0]?.n ?? 0;
}
