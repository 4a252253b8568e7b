/**
 * What the account API reads to say what each mailbox is doing, for a page of accounts in two
 * queries whatever its size (never one per account):
 *   1. the accounts with their worker's heartbeat (worker_heartbeats, written by the workers and
 *      the orchestrator) and their latest attempt that was not accepted (send_logs, through the
 *      partial index send_logs_account_failure_idx of migration 0010);
 *   2. today's account/day counter of each (rate_counters), by the very key the claim reserves.
 */
import { sql, type Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import type { AccountStatus, SendLogsTable, TransportKind, WorkerHeartbeatsTable } from '../db/database';
import { containing, countAll, likeLiteral, type Page, type PageRows } from '../db/paging';
import { readCounts } from '../queue/rate-counter.repository';
import { counterId, windowStarts, type CounterKey } from '../sending/limits';
import { API_COLUMNS, type AccountView } from './account.repository';

export interface AccountActivityRow extends AccountView {
  deferral_rate_pct: number;
  next_send_at: Date | null;
  probe_pending: boolean;
  heartbeat: Pick<Selectable<WorkerHeartbeatsTable>, 'state' | 'details' | 'beat_at' | 'node_id'> | null;
  last_error: Pick<Selectable<SendLogsTable>, 'created_at' | 'outcome' | 'reason' | 'smtp_code' | 'enhanced_code' | 'response'> | null;
  /** Its inbox reading (src/inbound/readers), when read: the last poll that failed, in a row. */
  inbound: { last_read_at: Date | null; last_error: string | null; last_error_at: Date | null; consecutive_failures: number } | null;
}

export interface AccountFilter {
  status?: AccountStatus;
  transport?: TransportKind;
  /** The address's domain name, exactly (`example.com` matches `a@example.com`, not `a@sub.example.com`). */
  domain?: string;
  /** Part of the address, any case. */
  search?: string;
  /** One account (GET /accounts/:id). */
  id?: string;
}

export type AccountPage = Page & AccountFilter;

export async function listAccountActivity(db: DbOrTx, scope: ClientScope, page: AccountPage): Promise<PageRows<AccountActivityRow>> {
  // The page first, then the joins: the per-account lookups run for this page's rows only.
  let accounts = db.selectFrom('sender_accounts').where(ownedBy(scope));
  if (page.status) accounts = accounts.where('status', '=', page.status);
  if (page.transport) accounts = accounts.where('transport', '=', page.transport);
  // Addresses are stored lower-cased (normalizeEmail).
  if (page.domain) accounts = accounts.where('email', 'like', `%@${likeLiteral(page.domain.toLowerCase())}`);
  if (page.search) accounts = accounts.where('email', 'like', containing(page.search.toLowerCase()));
  if (page.id) accounts = accounts.where('id', '=', page.id);
  const selected = accounts
    .select(API_COLUMNS)
    .select(['deferral_rate_pct', 'next_send_at', 'probe_pending', sql<boolean>`credentials_encrypted is not null`.as('has_credentials')])
    .orderBy('email');
  const rows = await db
    .selectFrom(selected.limit(page.limit).offset(page.offset).as('a'))
    .leftJoin('worker_heartbeats as hb', 'hb.account_id', 'a.id')
    .leftJoin('inbound_mailboxes as im', 'im.account_id', 'a.id')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('send_logs as l')
          .select(['l.created_at', 'l.outcome', 'l.reason', 'l.smtp_code', 'l.enhanced_code', 'l.response'])
          .whereRef('l.account_id', '=', 'a.id')
          // Word for word the predicate of send_logs_account_failure_idx (a literal, not a parameter).
          .where(sql<boolean>`l.outcome not in ('accepted', 'reconciled')`)
          .orderBy('l.created_at', 'desc')
          .orderBy('l.id', 'desc')
          .limit(1)
          .as('le'),
      (join) => join.onTrue(),
    )
    .selectAll('a')
    .select(['hb.state as hb_state', 'hb.details as hb_details', 'hb.beat_at as hb_beat_at', 'hb.node_id as hb_node_id'])
    .select(['im.id as im_id', 'im.last_read_at as im_read_at', 'im.last_error as im_error', 'im.last_error_at as im_error_at', 'im.consecutive_failures as im_failures'])
    .select(['le.created_at as le_at', 'le.outcome as le_outcome', 'le.reason as le_reason', 'le.smtp_code as le_code', 'le.enhanced_code as le_enhanced_code', 'le.response as le_response'])
    .orderBy('a.email')
    .execute();
  const presented = rows.map(({ hb_state, hb_details, hb_beat_at, hb_node_id, le_at, le_outcome, le_reason, le_code, le_enhanced_code, le_response, im_id, im_read_at, im_error, im_error_at, im_failures, ...account }) => ({
    ...account,
    inbound: im_id === null ? null : { last_read_at: im_read_at, last_error: im_error, last_error_at: im_error_at, consecutive_failures: im_failures ?? 0 },
    heartbeat: hb_state === null || hb_beat_at === null ? null : { state: hb_state, details: hb_details ?? {}, beat_at: hb_beat_at, node_id: hb_node_id },
    last_error:
      le_at === null || le_outcome === null
        ? null
        : { created_at: le_at, outcome: le_outcome, reason: le_reason, smtp_code: le_code, enhanced_code: le_enhanced_code, response: le_response },
  }));
  return { rows: presented, total: await countAll(selected, page, rows.length) };
}

/**
 * Sends counted against each account's limit today: its account/day counter of the local day
 * containing `now`, found by the key the claim reserves (sending/limits.ts windowStarts), so it
 * is the same counter the orchestrator reads (account-demand.repository.ts).
 */
export async function sentTodayByAccount(db: DbOrTx, accounts: Array<{ id: string; time_zone: string }>, now: Date): Promise<Map<string, number>> {
  const keys = new Map<string, CounterKey>(
    accounts.map((a) => [a.id, { scope: 'account', scopeKey: a.id, windowKind: 'day', windowStart: windowStarts(now, a.time_zone).accountDay }]),
  );
  const counts = await readCounts(db, [...keys.values()]);
  return new Map([...keys].map(([id, key]) => [id, counts.get(counterId(key)) ?? 0]));
}
