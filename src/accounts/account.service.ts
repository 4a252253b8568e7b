/**
 * Creating sender accounts, one or hundreds from a CSV. Credentials are encrypted here, the
 * only place that sees them in clear besides the worker that sends; each account is linked to
 * the sender domain of its address, which must be one of its own client's (else 422, or an
 * invalid row in a CSV). Limits the caller leaves out
 * come from config `sending.defaultDailyLimit`, `defaultHourlyLimit` and `minGapSeconds`; an
 * account created active starts its warm-up today (account-warmup.ts).
 */
import type { z } from 'zod';
import type { Tunables } from '../config';
import type { CredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { CsvRows } from '../http/csv-reader';
import { fieldIssues, type FieldIssue } from '../http/validation';
import { emailDomain } from '../contacts/email-address';
import { findDomainsByName } from '../domains/domain.repository';
import { existingAccountEmails, insertAccounts, type AccountView, type NewAccount } from './account.repository';
import { activationDate, requestedWarmupStart } from './account-warmup';
import { createAccountBody } from './account.schemas';

export type CreateAccountInput = z.output<typeof createAccountBody>;

/** What a new account gets for the limits its creator leaves out. */
export interface AccountDefaults {
  dailyLimit: number;
  hourlyLimit: number;
  minGapSeconds: number;
}

export function accountDefaults(sending: Tunables['sending']): AccountDefaults {
  return { dailyLimit: sending.defaultDailyLimit, hourlyLimit: sending.defaultHourlyLimit, minGapSeconds: sending.minGapSeconds };
}

export interface NewAccountContext {
  cipher: CredentialCipher;
  defaults: AccountDefaults;
  now: Date;
}

/** The account to insert, or the issues (field paths) that stop it: a warm-up start in the future. */
export function toNewAccount(input: CreateAccountInput, ctx: NewAccountContext): { account: NewAccount; issues?: undefined } | { issues: FieldIssue[] } {
  const status = input.status ?? 'active';
  const warmup = requestedWarmupStart(input, input.timeZone, ctx.now);
  if (warmup.issues.length > 0) return { issues: warmup.issues };
  return {
    account: {
      email: input.email,
      transport: input.transport,
      transportSettings: input.transportSettings,
      credentialsEncrypted: 'credentials' in input && input.credentials ? ctx.cipher.encrypt(JSON.stringify(input.credentials)) : null,
      displayName: input.displayName,
      domainId: input.domainId,
      status,
      dailyLimit: input.dailyLimit ?? ctx.defaults.dailyLimit,
      hourlyLimit: input.hourlyLimit ?? ctx.defaults.hourlyLimit,
      minGapSeconds: input.minGapSeconds ?? ctx.defaults.minGapSeconds,
      warmupEnabled: input.warmupEnabled,
      warmupCurve: input.warmupCurve,
      warmupStartedOn: warmup.startedOn ?? (status === 'active' ? activationDate(ctx.now, input.timeZone) : undefined),
      timeZone: input.timeZone,
    },
  };
}

/**
 * Why an account cannot be on its address's domain: the domain is not a sender domain of the
 * account's own client (whoever else holds it: the answer is the same, so nothing is learnt
 * about other clients), or the caller named another of its domains as `domainId`.
 */
export interface DomainProblem {
  code: 'domain_not_registered' | 'domain_mismatch';
  issue: FieldIssue;
}

/** `domains`: the client's sender domains by name (findDomainsByName). */
export function domainProblem(email: string, domains: ReadonlyMap<string, string>, requestedDomainId?: string | null): DomainProblem | undefined {
  const name = emailDomain(email);
  const domainId = domains.get(name);
  if (!domainId) return { code: 'domain_not_registered', issue: { path: 'email', message: `${name} is not a sender domain of this client: add it first (POST /api/domains)` } };
  if (requestedDomainId !== undefined && requestedDomainId !== domainId) return { code: 'domain_mismatch', issue: { path: 'domainId', message: `must be the id of ${name}, the domain of the address` } };
  return undefined;
}

/** An account's address must be on a sender domain of its own client: that is also whose DKIM key signs its mail. */
export function domainError(problem: DomainProblem): AppError {
  const message = problem.code === 'domain_not_registered' ? "The address's domain is not a sender domain of this client" : 'domainId is not the domain of the address';
  return new AppError(422, problem.code, message, { issues: [problem.issue] });
}

/** Links each account to its client's sender domain of its address; per account, the problem that stops it, if any. */
export async function linkDomains(db: Db, clientId: string, accounts: NewAccount[]): Promise<Array<DomainProblem | undefined>> {
  const domains = await findDomainsByName(db, clientId, [...new Set(accounts.map((a) => emailDomain(a.email)))]);
  return accounts.map((account) => {
    const problem = domainProblem(account.email, domains, account.domainId);
    if (!problem) account.domainId = domains.get(emailDomain(account.email)) ?? null;
    return problem;
  });
}

export interface AccountImportRow {
  line: number;
  email: string;
  status: 'created' | 'skipped' | 'invalid';
  accountId?: string;
  errors?: Array<{ path: string; message: string }>;
}

/**
 * CSV columns; the credentials columns are write-only like the API's `credentials`.
 * `warmup_started_on` / `warmup_day` are the API's warmupStartedOn / warmupDay, for mailboxes
 * that are already warm; `status` (active, paused, disabled) defaults to active.
 * `smtp_secure`, `smtp_require_tls`, `smtp_max_connections` and `smtp_ehlo_name` are the API's
 * transportSettings secure, requireTLS, maxConnections and ehloName, with the same defaults.
 * `smtp_user` defaults to the address; with both it and `smtp_password` empty the account sends
 * without AUTH (a relay that allows this host by IP address).
 * A Gmail row (transport `gmail`) gives either `gmail_service_account_key` (the key file's
 * JSON, as Google issues it, in one quoted cell) or `gmail_client_id`, `gmail_client_secret`
 * and `gmail_refresh_token` (OAuth).
 */
export const ACCOUNT_CSV_COLUMNS = [
  'email', 'display_name', 'transport', 'smtp_host', 'smtp_port', 'smtp_secure', 'smtp_require_tls', 'smtp_max_connections', 'smtp_ehlo_name',
  'smtp_user', 'smtp_password', 'imap_host', 'imap_port', 'daily_limit', 'hourly_limit', 'min_gap_seconds', 'warmup', 'time_zone',
  'status', 'warmup_started_on', 'warmup_day',
  'gmail_service_account_key', 'gmail_client_id', 'gmail_client_secret', 'gmail_refresh_token',
] as const;

/** The API's `credentials` of a Gmail row: the service-account key file, or the OAuth columns. */
function gmailCredentialsOf(row: Record<string, string>): unknown {
  const key = row.gmail_service_account_key?.trim();
  if (!key) return { type: 'oauth2', client_id: row.gmail_client_id?.trim() ?? '', client_secret: row.gmail_client_secret?.trim() ?? '', refresh_token: row.gmail_refresh_token?.trim() ?? '' };
  try {
    return JSON.parse(key) as unknown;
  } catch {
    // Left as text, zod reports `credentials` as not an object.
    return key;
  }
}

function rowToInput(row: Record<string, string>): unknown {
  const num = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : Number(value));
  const bool = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : /^(true|yes|1)$/i.test(value.trim()));
  const text = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  const transport = (row.transport ?? 'smtp').trim().toLowerCase() || 'smtp';
  return {
    email: row.email ?? '',
    transport,
    displayName: text(row.display_name),
    dailyLimit: num(row.daily_limit),
    hourlyLimit: num(row.hourly_limit),
    minGapSeconds: num(row.min_gap_seconds),
    warmupEnabled: bool(row.warmup),
    timeZone: text(row.time_zone),
    status: text(row.status?.trim().toLowerCase()),
    warmupStartedOn: text(row.warmup_started_on?.trim()),
    warmupDay: num(row.warmup_day),
    ...(transport === 'smtp'
      ? {
          transportSettings: {
            host: row.smtp_host ?? '',
            port: num(row.smtp_port) ?? 587,
            secure: bool(row.smtp_secure),
            requireTLS: bool(row.smtp_require_tls),
            maxConnections: num(row.smtp_max_connections),
            ehloName: text(row.smtp_ehlo_name?.trim()),
            ...(text(row.imap_host) ? { imap: { host: row.imap_host, port: num(row.imap_port) ?? 993 } } : {}),
          },
          ...(text(row.smtp_user) || text(row.smtp_password) ? { credentials: { user: row.smtp_user || row.email || '', pass: row.smtp_password ?? '' } } : {}),
        }
      : {}),
    ...(transport === 'gmail' ? { credentials: gmailCredentialsOf(row) } : {}),
  };
}

/**
 * Imports accounts from a CSV. Rows are independent: valid ones are created together (one
 * transaction), invalid ones and addresses that already exist are reported per line. The
 * whole file is read before anything is written, so a file the reader rejects (malformed,
 * over a limit) creates nothing.
 */
export async function importAccountsCsv(
  db: Db,
  csvRows: CsvRows,
  options: NewAccountContext & { clientId: string; maxRows: number },
): Promise<{ created: number; skipped: number; invalid: number; rows: AccountImportRow[] }> {
  const rows: AccountImportRow[] = [];
  const valid: Array<{ report: AccountImportRow; account: NewAccount }> = [];
  const seen = new Set<string>();
  let header: string[] | undefined;
  for await (const { fields, line } of csvRows) {
    if (!header) {
      header = fields.map((h) => h.trim().toLowerCase().replace(/[\s-]+/g, '_'));
      if (!header.includes('email')) throw new AppError(400, 'invalid_csv_header', 'The CSV header has no "email" column', { line });
      continue;
    }
    if (rows.length >= options.maxRows) throw new AppError(413, 'too_many_rows', `At most ${options.maxRows} accounts per file`);
    // Columns by header name; a short row leaves its last columns out, extra fields are ignored.
    const record = Object.create(null) as Record<string, string>;
    header.forEach((name, index) => {
      const value = fields[index];
      if (value !== undefined) record[name] = value;
    });
    const parsed = createAccountBody.safeParse(rowToInput(record));
    // The address is echoed back, but never more of it than an address can hold.
    const report: AccountImportRow = { line, email: (record.email ?? '').trim().toLowerCase().slice(0, 320), status: 'invalid' };
    rows.push(report);
    if (!parsed.success) {
      // Never echo credential values back: only paths and messages.
      report.errors = fieldIssues(parsed.error);
      continue;
    }
    if (seen.has(parsed.data.email)) {
      report.status = 'skipped';
      report.errors = [{ path: 'email', message: 'appears earlier in the file' }];
      continue;
    }
    const prepared = toNewAccount(parsed.data, options);
    if (prepared.issues) {
      report.errors = prepared.issues;
      continue;
    }
    seen.add(parsed.data.email);
    valid.push({ report, account: prepared.account });
  }
  if (rows.length === 0) throw new AppError(400, 'invalid_csv_header', 'The file has no rows: expected a header row with an "email" column and one account per line');

  const existing = await existingAccountEmails(db, valid.map((v) => v.account.email));
  let toCreate = valid.filter(({ report, account }) => {
    if (!existing.has(account.email)) return true;
    report.status = 'skipped';
    report.errors = [{ path: 'email', message: 'an account with this address exists' }];
    return false;
  });
  const problems = await linkDomains(db, options.clientId, toCreate.map((v) => v.account));
  toCreate = toCreate.filter(({ report }, index) => {
    const problem = problems[index];
    if (!problem) return true;
    report.errors = [problem.issue];
    return false;
  });
  const created: AccountView[] = await db.transaction().execute((trx) => insertAccounts(trx, options.clientId, toCreate.map((v) => v.account)));
  const idByEmail = new Map(created.map((a) => [a.email, a.id]));
  for (const { report, account } of toCreate) {
    report.status = 'created';
    report.accountId = idByEmail.get(account.email);
  }
  return {
    created: created.length,
    skipped: rows.filter((r) => r.status === 'skipped').length,
    invalid: rows.filter((r) => r.status === 'invalid').length,
    rows,
  };
}
