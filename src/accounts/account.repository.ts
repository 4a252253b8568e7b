import { sql, type Selectable } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import type { AccountStatus, SenderAccountsTable, TransportKind } from '../db/database';

/** Every column except the encrypted credentials, which never leave the repository layer for the API. */
export const API_COLUMNS = [
  'id', 'client_id', 'domain_id', 'email', 'display_name', 'transport', 'transport_settings', 'status', 'pause_reason', 'paused_until',
  'daily_limit', 'hourly_limit', 'min_gap_seconds', 'warmup_enabled', 'warmup_curve', 'warmup_started_on', 'health_score', 'time_zone',
  'created_at', 'updated_at',
] as const;

export type AccountView = Pick<Selectable<SenderAccountsTable>, (typeof API_COLUMNS)[number]> & { has_credentials: boolean };

export interface AccountFields {
  domainId?: string | null;
  displayName?: string;
  transportSettings?: Record<string, unknown>;
  credentialsEncrypted?: string | null;
  status?: AccountStatus;
  dailyLimit?: number;
  hourlyLimit?: number;
  minGapSeconds?: number;
  warmupEnabled?: boolean;
  warmupCurve?: string | null;
  /** Sets (or moves) the warm-up start: 'YYYY-MM-DD' in the account's zone. */
  warmupStartedOn?: string;
  timeZone?: string;
}

export interface AccountUpdate extends AccountFields {
  /** The account becomes active today (this local date): its warm-up starts now unless it already has. */
  activatedOn?: string;
}

export interface NewAccount extends AccountFields {
  email: string;
  transport: TransportKind;
}

/**
 * An operator setting a paused or suspended account active resumes it as a probe success does:
 * its health period restarts (resumed_at), so the bounces and complaints that paused it are
 * judged no more (the claim refuses an account with any complaint since resumed_at: without
 * this, a mailbox paused for a complaint could never send again). An account already active
 * keeps its period. In SET, `status` is the row's value before the update.
 */
const operatorResume = (now: Date) => ({
  pause_reason: null,
  paused_until: null,
  probe_pending: false,
  consecutive_failures: sql<number>`case when status = 'active' then consecutive_failures else 0 end`,
  resumed_at: sql<Date | null>`case when status = 'active' then resumed_at else ${now}::timestamptz end`,
});

function columns(f: AccountFields) {
  return {
    ...(f.domainId === undefined ? {} : { domain_id: f.domainId }),
    ...(f.displayName === undefined ? {} : { display_name: f.displayName }),
    ...(f.transportSettings === undefined ? {} : { transport_settings: JSON.stringify(f.transportSettings) }),
    ...(f.credentialsEncrypted === undefined ? {} : { credentials_encrypted: f.credentialsEncrypted }),
    ...(f.status === undefined ? {} : { status: f.status, ...(f.status === 'active' ? { pause_reason: null, paused_until: null } : {}) }),
    ...(f.dailyLimit === undefined ? {} : { daily_limit: f.dailyLimit }),
    ...(f.hourlyLimit === undefined ? {} : { hourly_limit: f.hourlyLimit }),
    ...(f.minGapSeconds === undefined ? {} : { min_gap_seconds: f.minGapSeconds }),
    ...(f.warmupEnabled === undefined ? {} : { warmup_enabled: f.warmupEnabled }),
    ...(f.warmupCurve === undefined ? {} : { warmup_curve: f.warmupCurve }),
    ...(f.warmupStartedOn === undefined ? {} : { warmup_started_on: f.warmupStartedOn }),
    ...(f.timeZone === undefined ? {} : { time_zone: f.timeZone }),
  };
}

function selectView(db: DbOrTx) {
  return db
    .selectFrom('sender_accounts')
    .select(API_COLUMNS)
    .select(sql<boolean>`credentials_encrypted is not null`.as('has_credentials'));
}

export async function getAccount(db: DbOrTx, scope: ClientScope, id: string): Promise<AccountView | undefined> {
  return selectView(db).where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

/** The encrypted credentials of one account (for a test send); never returned by the API. */
export async function getAccountCredentials(db: DbOrTx, scope: ClientScope, id: string): Promise<string | null | undefined> {
  const row = await db.selectFrom('sender_accounts').select('credentials_encrypted').where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
  return row?.credentials_encrypted;
}

export async function insertAccounts(db: DbOrTx, clientId: string, accounts: NewAccount[]): Promise<AccountView[]> {
  if (accounts.length === 0) return [];
  const inserted = await db
    .insertInto('sender_accounts')
    .values(accounts.map((a) => ({ client_id: clientId, email: a.email, transport: a.transport, ...columns(a) })))
    .returning('id')
    .execute();
  const ids = inserted.map((r) => r.id);
  return selectView(db).where('id', 'in', ids).orderBy('email').execute();
}

export async function updateAccount(db: DbOrTx, scope: ClientScope, id: string, fields: AccountUpdate, now = new Date()): Promise<AccountView | undefined> {
  // First activation starts the warm-up; a start already there (earlier activation, or given
  // for a warm mailbox) is kept, even by two activations racing.
  const activation = fields.activatedOn === undefined || fields.warmupStartedOn !== undefined ? {} : { warmup_started_on: sql<string>`coalesce(warmup_started_on, ${fields.activatedOn}::date)` };
  const row = await db
    .updateTable('sender_accounts')
    .set({ ...columns(fields), ...(fields.status === 'active' ? operatorResume(now) : {}), ...activation, updated_at: now })
    .where('id', '=', id)
    .where(ownedBy(scope))
    .returning('id')
    .executeTakeFirst();
  return row ? getAccount(db, scope, id) : undefined;
}

export async function deleteAccount(db: DbOrTx, scope: ClientScope, id: string): Promise<boolean> {
  const result = await db.deleteFrom('sender_accounts').where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Which of these ids are accounts of this client (the rest are foreign or unknown). */
export async function ownedAccountIds(db: DbOrTx, clientId: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('sender_accounts').select('id').where('client_id', '=', clientId).where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}

export async function existingAccountEmails(db: DbOrTx, emails: string[]): Promise<Set<string>> {
  if (emails.length === 0) return new Set();
  const rows = await db.selectFrom('sender_accounts').select('email').where('email', 'in', emails).execute();
  return new Set(rows.map((r) => r.email.toLowerCase()));
}
