/**
 * email_queue rows and their states (DESIGN.md "Queue row states"):
 *
 *   queued ──claim──▶ claimed ──mark sending──▶ sending ──result──▶ sent | bounced | failed
 *     ▲                 │                          │                 | queued (retry, run_after later)
 *     └──release/expiry─┘                          ├─ unsure / lease expired ──▶ unknown
 *                                                  │      unknown ──reconcile──▶ sent | queued | held
 *   queued ──claim finds it suppressed──▶ suppressed; contact no longer active ──▶ cancelled
 *
 * Every change is one guarded `UPDATE … WHERE status IN (…) [AND lease_token = $me] RETURNING`,
 * so a worker that lost its lease (sweeper, another worker) changes nothing.
 */
import { sql, type Updateable } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { EmailQueueTable, QueueStatus } from '../db/database';
import { isWithinWindow } from '../sending/sending-window';
import { rowInRecipientWindow } from './recipient-window.repository';

export interface CandidateRow {
  id: number;
  client_id: string;
  campaign_id: string;
  contact_id: string;
  step_id: string;
  step_number: number;
  account_id: string | null;
  to_email: string;
  recipient_domain: string;
  message_id: string;
  attempts: number;
  suppressed: boolean;
  contact_status: string;
  campaign_daily_limit: number | null;
}

export interface CandidateQuery {
  accountId: string;
  now: Date;
  limit: number;
  /** Recipient-domain counters are keyed `${senderDomain}>${recipientDomain}`. */
  senderDomain: string;
  recipientDomainDailyLimit: number;
  dayStart: Date;
  /** Also unassigned rows of the account's pool campaigns (false: assigned rows only). */
  pool: boolean;
}

interface ClaimableCampaign {
  id: string;
  time_zone: string;
  use_recipient_time_zone: boolean;
  send_days: number[];
  window_start_minute: number;
  window_end_minute: number;
  in_pool: boolean;
}

/**
 * Waiting rows this account may take now, locked with SKIP LOCKED: rows assigned to it, then
 * unassigned step-1 rows of running campaigns whose sender pool includes it. Rows outside
 * their campaign's sending window, to a recipient domain whose breaker is open or whose
 * counter is full, or of a campaign at its daily limit are left for later.
 *
 * Each scan is one campaign (or one set of campaigns) in index order with LIMIT, so a claim
 * reads about as many rows as it takes. The sending window of a campaign in its own time zone
 * is decided once here (sending-window.ts); only recipient-time-zone campaigns filter per row.
 */
export async function selectClaimCandidates(db: DbOrTx, query: CandidateQuery, random: () => number = Math.random): Promise<CandidateRow[]> {
  if (query.limit <= 0) return [];
  const result = await sql<ClaimableCampaign>`
    select c.id, c.time_zone, c.use_recipient_time_zone, c.send_days, c.window_start_minute, c.window_end_minute,
           exists (select 1 from campaign_senders cs where cs.campaign_id = c.id and cs.account_id = ${query.accountId}) as in_pool
    from campaigns c
    where c.status = 'running'
      and (c.id in (select cs.campaign_id from campaign_senders cs where cs.account_id = ${query.accountId})
           or c.id in (select distinct q.campaign_id from email_queue q where q.account_id = ${query.accountId} and q.status = 'queued'))
  `.execute(db);
  const open = result.rows.filter(
    (c) =>
      c.use_recipient_time_zone ||
      isWithinWindow({ sendDays: c.send_days, windowStartMinute: c.window_start_minute, windowEndMinute: c.window_end_minute, timeZone: c.time_zone }, query.now),
  );
  if (open.length === 0) return [];
  const plainIds = open.filter((c) => !c.use_recipient_time_zone).map((c) => c.id);
  const zoned = open.filter((c) => c.use_recipient_time_zone);

  const rows: CandidateRow[] = [];
  const take = async (source: CandidateSource) => {
    if (rows.length < query.limit) rows.push(...(await selectCandidates(db, query, source, query.limit - rows.length)));
  };
  if (plainIds.length > 0) await take({ assigned: true, campaignIds: plainIds, perRowWindow: false });
  for (const c of zoned) await take({ assigned: true, campaignIds: [c.id], perRowWindow: true });
  if (!query.pool) return rows;
  const pool = open.filter((c) => c.in_pool);
  // A random start keeps campaigns sharing a sender fair.
  const start = Math.floor(random() * pool.length);
  for (let i = 0; i < pool.length && rows.length < query.limit; i++) {
    const c = pool[(start + i) % pool.length] as ClaimableCampaign;
    await take({ assigned: false, campaignIds: [c.id], perRowWindow: c.use_recipient_time_zone });
  }
  return rows;
}

interface CandidateSource {
  assigned: boolean;
  campaignIds: string[];
  /** The window in each recipient's time zone (campaigns that ask for it). */
  perRowWindow: boolean;
}

/** How many waiting rows, in claim order, the first try looks at per row wanted. */
const HEAD_ROWS_PER_WANTED = 4;

/**
 * First among the first few waiting rows in claim order (read straight off the waiting-row
 * index), then, only if those could not fill the claim (rows locked by other workers, full
 * recipient domains, open breakers), among all of them. Why: over the whole waiting set the
 * planner misjudges how many rows wait, joins and sorts all of them and only then takes the
 * first `limit` (60 ms per claim at 17,000 waiting rows, growing with the queue).
 */
async function selectCandidates(db: DbOrTx, q: CandidateQuery, source: CandidateSource, limit: number): Promise<CandidateRow[]> {
  const headSize = Math.max(50, limit * HEAD_ROWS_PER_WANTED);
  const head = await selectCandidatesAmong(db, q, source, limit, headSize);
  if (head.rows.length >= limit || head.waiting < headSize) return head.rows;
  const all = await selectCandidatesAmong(db, q, source, limit, undefined);
  return all.rows;
}

async function selectCandidatesAmong(
  db: DbOrTx,
  q: CandidateQuery,
  source: CandidateSource,
  limit: number,
  headSize: number | undefined,
): Promise<{ rows: CandidateRow[]; waiting: number }> {
  const ownership = source.assigned
    ? sql`q.account_id = ${q.accountId} and q.campaign_id = any(${source.campaignIds}::uuid[])`
    : sql`q.account_id is null and q.campaign_id = ${source.campaignIds[0] ?? null}`;
  const window = source.perRowWindow ? sql`and ${rowInRecipientWindow(q.now)}` : sql``;
  const waiting = sql`q.status = 'queued' and q.run_after <= ${q.now} and ${ownership}`;
  let waitingCount = 0;
  let inHead = sql``;
  if (headSize !== undefined) {
    const headRows = await sql<{ id: number }>`
      select q.id from email_queue q where ${waiting}
      order by q.priority desc, q.run_after, q.id
      limit ${headSize}
    `.execute(db);
    waitingCount = headRows.rows.length;
    if (waitingCount === 0) return { rows: [], waiting: 0 };
    inHead = sql`and q.id = any(${headRows.rows.map((r) => r.id)}::bigint[])`;
  }
  const result = await sql<CandidateRow>`
    select q.id, q.client_id, q.campaign_id, q.contact_id, q.step_id, q.step_number, q.account_id, q.to_email, q.recipient_domain,
           q.message_id, q.attempts,
           exists (select 1 from suppressions s where s.client_id = q.client_id and s.email = any(suppression_keys(q.to_email))) as suppressed,
           -- A subquery, not a join: Postgres would hash all of the campaign's contacts for it.
           -- No row (contact taken out of the campaign) reads as not active: the claim cancels it.
           (select cc.status from campaign_contacts cc where cc.campaign_id = q.campaign_id and cc.contact_id = q.contact_id) as contact_status,
           c.daily_limit as campaign_daily_limit
    from email_queue q
    join campaigns c on c.id = q.campaign_id and c.status = 'running'
    where ${waiting} ${inHead}
      ${window}
      -- Scalar subqueries, not NOT EXISTS: Postgres plans each as a lookup of its one key per row.
      -- As anti-joins, a planner that misjudged the (fast-growing) counters read every recipient
      -- domain counter of the day once per candidate row (measured: 400 rows × 400 counters,
      -- 60–100 ms per claim, growing with the day).
      and coalesce((
        select b.opened_until > ${q.now} from circuit_breakers b
        where b.scope = 'recipient_domain' and b.scope_key = q.recipient_domain
      ), false) = false
      and coalesce((
        select r.count from rate_counters r
        where r.scope = 'recipient_domain' and r.scope_key = ${q.senderDomain} || '>' || q.recipient_domain
          and r.window_kind = 'day' and r.window_start = ${q.dayStart}
      ), 0) < ${q.recipientDomainDailyLimit}
      and (c.daily_limit is null or coalesce((
        select r.count from rate_counters r
        where r.scope = 'campaign' and r.scope_key = c.id::text and r.window_kind = 'day' and r.window_start = ${q.dayStart}
      ), 0) < c.daily_limit)
    order by q.priority desc, q.run_after, q.id
    limit ${limit}
    for update of q skip locked
  `.execute(db);
  return { rows: result.rows, waiting: waitingCount };
}

export async function markClaimed(
  db: DbOrTx,
  ids: number[],
  claim: { leaseToken: string; accountId: string; now: Date; leaseExpiresAt: Date },
): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('email_queue')
    .set({
      status: 'claimed',
      lease_token: claim.leaseToken,
      lease_expires_at: claim.leaseExpiresAt,
      claimed_by_account_id: claim.accountId,
      claimed_at: claim.now,
      updated_at: claim.now,
    })
    .where('id', 'in', ids)
    .where('status', '=', 'queued')
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Rows found unsendable at claim (suppressed address, contact no longer active). */
export async function markUnsendable(db: DbOrTx, ids: number[], status: 'suppressed' | 'cancelled', reason: string, now: Date): Promise<number> {
  if (ids.length === 0) return 0;
  const rows = await db
    .updateTable('email_queue')
    .set({ status, last_error: reason, updated_at: now })
    .where('id', 'in', ids)
    .where('status', '=', 'queued')
    .returning('id')
    .execute();
  return rows.length;
}

/**
 * claimed → sending, just before these rows are handed to the transport (one row per free
 * connection, so a crash leaves only rows actually on the wire uncertain); renews the lease.
 * A row already `sending` under this lease counts as marked: a retried write whose first try
 * committed before its connection broke must not look like a lost lease.
 */
export async function markSending(db: DbOrTx, ids: number[], leaseToken: string, now: Date, leaseExpiresAt: Date): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('email_queue')
    .set({ status: 'sending', sending_at: now, lease_expires_at: leaseExpiresAt, updated_at: now })
    .where('id', 'in', ids)
    .where('status', 'in', ['claimed', 'sending'])
    .where('lease_token', '=', leaseToken)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Extends the lease of the rows of a batch still held (claimed or sending); returns their ids. */
export async function renewLease(db: DbOrTx, ids: number[], leaseToken: string, leaseExpiresAt: Date): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('email_queue')
    .set({ lease_expires_at: leaseExpiresAt })
    .where('id', 'in', ids)
    .where('status', 'in', ['claimed', 'sending'])
    .where('lease_token', '=', leaseToken)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export interface TransitionedRow {
  id: number;
  client_id: string;
  campaign_id: string;
  contact_id: string;
  step_number: number;
  account_id: string | null;
  to_email: string;
  recipient_domain: string;
  message_id: string;
  attempts: number;
  claimed_by_account_id: string | null;
  claimed_at: Date | null;
}

export const RETURNED_COLUMNS = [
  'id',
  'client_id',
  'campaign_id',
  'contact_id',
  'step_number',
  'account_id',
  'to_email',
  'recipient_domain',
  'message_id',
  'attempts',
  'claimed_by_account_id',
  'claimed_at',
] as const;

/**
 * The one guarded state change: applies `patch` to row `id` only while it is in one of `from`
 * and (when given) still holds `leaseToken`. Undefined when the guard did not match.
 */
export async function transition(
  db: DbOrTx,
  id: number,
  from: QueueStatus[],
  leaseToken: string | null,
  patch: Updateable<EmailQueueTable>,
): Promise<TransitionedRow | undefined> {
  let query = db.updateTable('email_queue').set(patch).where('id', '=', id).where('status', 'in', from);
  if (leaseToken !== null) query = query.where('lease_token', '=', leaseToken);
  return query.returning(RETURNED_COLUMNS).executeTakeFirst();
}

/** Many rows → sent at once (the fast path for a batch of accepted sends). */
export async function markManySent(
  db: DbOrTx,
  items: Array<{ id: number; providerMessageId?: string }>,
  leaseToken: string,
  now: Date,
): Promise<TransitionedRow[]> {
  if (items.length === 0) return [];
  const result = await sql<TransitionedRow>`
    update email_queue q
    set status = 'sent', sent_at = ${now}, attempts = q.attempts + 1, lease_token = null, lease_expires_at = null,
        last_error = null, updated_at = ${now}
    where q.id = any(${items.map((i) => i.id)}::bigint[]) and q.status in ('sending', 'unknown') and q.lease_token = ${leaseToken}
    returning ${sql.join(RETURNED_COLUMNS.map((c) => sql.ref(`q.${c}`)))}
  `.execute(db);
  return result.rows;
}

/**
 * claimed → queued for rows never handed to the transport (shutdown, batch cut short).
 * Returns the rows so their counter reservations can be released.
 */
export async function releaseClaims(db: DbOrTx, leaseToken: string, ids: number[] | undefined, now: Date): Promise<TransitionedRow[]> {
  let query = db
    .updateTable('email_queue')
    .set({ status: 'queued', lease_token: null, lease_expires_at: null, updated_at: now })
    .where('status', '=', 'claimed')
    .where('lease_token', '=', leaseToken);
  if (ids) {
    if (ids.length === 0) return [];
    query = query.where('id', 'in', ids);
  }
  return query.returning(RETURNED_COLUMNS).execute();
}

export interface ExpiredLease {
  id: number;
  status: 'claimed' | 'sending';
  lease_token: string;
  claimed_by_account_id: string | null;
  sending_at: Date | null;
}

/** `accountId`: only the leases that account holds. */
export async function findExpiredLeases(db: DbOrTx, now: Date, limit: number, accountId?: string): Promise<ExpiredLease[]> {
  const rows = await db
    .selectFrom('email_queue')
    .select(['id', 'status', 'lease_token', 'claimed_by_account_id', 'sending_at'])
    .where('status', 'in', ['claimed', 'sending'])
    .where('lease_expires_at', '<', now)
    .$if(accountId !== undefined, (qb) => qb.where('claimed_by_account_id', '=', accountId as string))
    .orderBy('lease_expires_at')
    .limit(limit)
    .execute();
  return rows.filter((r): r is ExpiredLease => r.lease_token !== null && (r.status === 'claimed' || r.status === 'sending'));
}

export interface UnknownRow {
  id: number;
  lease_token: string | null;
  message_id: string;
  claimed_by_account_id: string | null;
  account_id: string | null;
  /** When the row became unknown. */
  updated_at: Date;
}

/** `accountId`: only the rows that account was sending. */
export async function findUnknownRows(db: DbOrTx, limit: number, accountId?: string): Promise<UnknownRow[]> {
  return db
    .selectFrom('email_queue')
    .select(['id', 'lease_token', 'message_id', 'claimed_by_account_id', 'account_id', 'updated_at'])
    .where('status', '=', 'unknown')
    .$if(accountId !== undefined, (qb) => qb.where('claimed_by_account_id', '=', accountId as string))
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function countByStatus(db: DbOrTx, campaignId?: string): Promise<Record<string, number>> {
  let query = db.selectFrom('email_queue').select((eb) => ['status', eb.fn.countAll<number>().as('n')]).groupBy('status');
  if (campaignId) query = query.where('campaign_id', '=', campaignId);
  const rows = await query.execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/**
 * Settles an `unknown` row from what the sender's Sent mail says: sent (found), queued (not
 * found, or requeue policy), or held for an operator (cannot tell). Guarded by status and the
 * lease token the row carried when read.
 */
export async function settleUnknown(
  db: DbOrTx,
  id: number,
  leaseToken: string | null,
  to: 'sent' | 'queued' | 'held',
  now: Date,
  note: string,
): Promise<TransitionedRow | undefined> {
  const result = await sql<TransitionedRow>`
    update email_queue q
    set status = ${to},
        sent_at = case when ${to} = 'sent' then ${now}::timestamptz else q.sent_at end,
        attempts = case when ${to} = 'sent' then q.attempts + 1 else q.attempts end,
        run_after = case when ${to} = 'queued' then ${now}::timestamptz else q.run_after end,
        lease_token = null, lease_expires_at = null, last_error = ${note}, updated_at = ${now}
    where q.id = ${id} and q.status = 'unknown' and q.lease_token is not distinct from ${leaseToken}::uuid
    returning ${sql.join(RETURNED_COLUMNS.map((c) => sql.ref(`q.${c}`)))}
  `.execute(db);
  return result.rows[0];
}
