/**
 * Sender accounts, single and bulk (CSV). Credentials are write-only. Every account read shows
 * what the mailbox is doing (account-activity.ts); the list stays two queries per page.
 */
import { resolveAccountAlerts } from '../alerts/alerts';
import { z } from 'zod';
import { clientForCreate, scopeOf, type ClientScope } from '../auth/client-scope';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { emailDomain } from '../contacts/email-address';
import { findDomainsByName, getDomain } from '../domains/domain.repository';
import { AppError } from '../http/app-error';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { receiveCsv } from '../http/csv-upload';
import { isUniqueViolation } from '../http/db-errors';
import { paged, pagedResponse } from '../http/paging';
import { idParams, parseOrThrow, type FieldIssue } from '../http/validation';
import { describeActivity, type AccountActivity } from './account-activity';
import { listAccountActivity, sentTodayByAccount, type AccountActivityRow, type AccountPage } from './account-activity.repository';
import { registerAccountBulkRoute } from './account-bulk.routes';
import { registerAccountHistoryRoutes } from './account-history.routes';
import { registerAccountVerifyRoute } from './account-verify.routes';
import { activationDate, requestedWarmupStart } from './account-warmup';
import { deleteAccount, getAccount, insertAccounts, updateAccount, type AccountView } from './account.repository';
import { accountListQuery, accountOut, createAccountBody, credentialsFor, updateAccountBody } from './account.schemas';
import { ACCOUNT_CSV_COLUMNS, accountDefaults, domainError, domainProblem, importAccountsCsv, linkDomains, toNewAccount } from './account.service';

export function presentAccount(a: AccountActivityRow, activity: AccountActivity): z.infer<typeof accountOut> {
  return {
    id: a.id,
    clientId: a.client_id,
    domainId: a.domain_id,
    email: a.email,
    displayName: a.display_name,
    transport: a.transport,
    transportSettings: a.transport_settings,
    hasCredentials: a.has_credentials,
    status: a.status,
    pauseReason: a.pause_reason,
    dailyLimit: a.daily_limit,
    hourlyLimit: a.hourly_limit,
    minGapSeconds: a.min_gap_seconds,
    warmupEnabled: a.warmup_enabled,
    warmupCurve: a.warmup_curve,
    healthScore: a.health_score,
    timeZone: a.time_zone,
    createdAt: a.created_at.toISOString(),
    warmupStartedOn: a.warmup_started_on,
    warmupDay: activity.warmupDay,
    effectiveDailyLimit: activity.effectiveDailyLimit,
    sentToday: activity.sentToday,
    nextSendAt: activity.nextSendAt?.toISOString() ?? null,
    waitReason: activity.waitReason,
    worker: activity.worker && { ...activity.worker, lastHeartbeatAt: activity.worker.lastHeartbeatAt.toISOString() },
    lastError: a.last_error && {
      at: a.last_error.created_at.toISOString(),
      outcome: a.last_error.outcome,
      reason: a.last_error.reason,
      code: a.last_error.smtp_code,
      enhancedCode: a.last_error.enhanced_code,
      response: a.last_error.response,
    },
    lastInboundReadAt: a.inbound?.last_read_at?.toISOString() ?? null,
    lastInboundError:
      a.inbound?.last_error && a.inbound.last_error_at
        ? { at: a.inbound.last_error_at.toISOString(), message: a.inbound.last_error, consecutiveFailures: a.inbound.consecutive_failures }
        : null,
  };
}

/**
 * Only an SMTP account may do without credentials (a relay that allows it by IP address), and
 * not while it looks its Sent mail up over IMAP, which needs a login.
 */
function credentialsAfterUpdate(existing: AccountView, body: z.output<typeof updateAccountBody>): FieldIssue[] {
  if (body.credentials !== null && (body.credentials || existing.has_credentials)) return [];
  if (existing.transport === 'gmail') return [{ path: 'credentials', message: 'a Gmail account needs its credentials' }];
  const settings = (body.transportSettings ?? existing.transport_settings) as { imap?: unknown };
  if (existing.transport === 'smtp' && settings.imap) return [{ path: 'credentials', message: 'the IMAP Sent-mail lookup needs credentials' }];
  return [];
}

const invalidBody = (issues: FieldIssue[]) => new AppError(400, 'validation_failed', 'Invalid body', { issues });

/** PATCH credentials, checked against the shape of the account's own transport. */
function parseCredentialsFor(transport: 'smtp' | 'gmail' | 'sink', credentials: Record<string, unknown>): unknown {
  const schema = credentialsFor(transport);
  if (!schema) throw invalidBody([{ path: 'credentials', message: `a ${transport} account takes no credentials` }]);
  return parseOrThrow(z.object({ credentials: schema }), { credentials }, 'body').credentials;
}

const conflict = () => new AppError(409, 'conflict', 'An account with this address exists', { issues: [{ path: 'email', message: 'already registered' }] });

export function registerAccountRoutes(api: ApiRouter, db: Db, config: Config, clock: () => Date = () => new Date()): void {
  const audit: RouteAudit<unknown> = { load: (id: string, scope: ClientScope) => getAccount(db, scope, id) };
  const cipher = createCredentialCipher(config.credentialKeys);
  const defaults = accountDefaults(config.sending);
  const activitySettings = { warmup: config.warmup, heartbeatStaleMs: config.orchestrator.heartbeatStaleMs };

  /** Accounts of the scope as the API shows them: two queries for the whole page. */
  const readAccounts = async (scope: ClientScope, page: AccountPage) => {
    const now = clock();
    const { rows, total } = await listAccountActivity(db, scope, page);
    const sent = await sentTodayByAccount(db, rows, now);
    return { rows: rows.map((row) => presentAccount(row, describeActivity(row, sent.get(row.id) ?? 0, activitySettings, now))), total };
  };
  const readAccount = async (scope: ClientScope, id: string) => {
    const {
      rows: [account],
    } = await readAccounts(scope, { limit: 1, offset: 0, id });
    if (!account) throw new AppError(404, 'not_found', 'Account not found');
    return account;
  };

  /** A domain id given by the caller must be one of the account's client's domains. */
  const checkDomain = async (clientId: string, domainId: string | null | undefined) => {
    if (domainId && !(await getDomain(db, scopeOf(clientId), domainId))) {
      throw new AppError(404, 'not_found', 'Domain not found', { issues: [{ path: 'domainId', message: 'no such domain' }] });
    }
  };

  api.route({
    method: 'get',
    path: '/accounts',
    operationId: 'listAccounts',
    tag: 'accounts',
    summary: 'List sender accounts (filter by status, transport, domain, part of the address, and for the owner ?clientId=)',
    query: accountListQuery,
    response: pagedResponse('accounts', accountOut),
    handler: async ({ scope, query }) => paged('accounts', query, await readAccounts(scope, query), (account) => account),
  });

  api.route({
    method: 'post',
    path: '/accounts',
    operationId: 'createAccount',
    tag: 'accounts',
    audit,
    summary: "Add a sender account (credentials are stored encrypted and never returned); its address must be on one of its client's sender domains; an active one starts its warm-up today unless warmupStartedOn or warmupDay says it is already warm",
    body: createAccountBody,
    response: accountOut,
    errors: [409, 422],
    handler: async ({ scope, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      await checkDomain(clientId, body.domainId);
      const prepared = toNewAccount(body, { cipher, defaults, now: clock() });
      if (prepared.issues) throw invalidBody(prepared.issues);
      const { account } = prepared;
      const [problem] = await linkDomains(db, clientId, [account]);
      if (problem) throw domainError(problem);
      try {
        const [created] = await insertAccounts(db, clientId, [account]);
        if (!created) throw new Error('insert returned no row');
        return readAccount(scopeOf(clientId), created.id);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict();
        throw error;
      }
    },
  });

  api.route({
    method: 'post',
    path: '/accounts/import',
    operationId: 'importAccounts',
    tag: 'accounts',
    audit,
    summary: `Import sender accounts from a CSV (columns: ${ACCOUNT_CSV_COLUMNS.join(', ')}); per-row report`,
    upload: { contentType: 'multipart/form-data', description: 'The CSV as the "file" part, or the raw file with Content-Type: text/csv' },
    status: 200,
    response: z.object({
      created: z.number(),
      skipped: z.number(),
      invalid: z.number(),
      rows: z.array(
        z.object({
          line: z.number(),
          email: z.string(),
          status: z.enum(['created', 'skipped', 'invalid']),
          accountId: z.uuid().optional(),
          errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
        }),
      ),
    }),
    errors: [413, 415],
    handler: async ({ req, scope }) => {
      const clientId = await clientForCreate(db, scope);
      return receiveCsv(req, config.imports, ({ rows }) => importAccountsCsv(db, rows, { clientId, cipher, defaults, now: clock(), maxRows: config.imports.maxAccountRows }));
    },
  });

  // Before /accounts/:id: "bulk" is not an id.
  registerAccountBulkRoute(api, db, clock);
  registerAccountHistoryRoutes(api, db, clock);

  api.route({
    method: 'get',
    path: '/accounts/:id',
    operationId: 'getAccount',
    tag: 'accounts',
    summary: 'Get a sender account',
    params: idParams,
    response: accountOut,
    handler: async ({ scope, params }) => readAccount(scope, params.id),
  });

  api.route({
    method: 'patch',
    path: '/accounts/:id',
    operationId: 'updateAccount',
    tag: 'accounts',
    audit,
    summary: 'Update limits, status, settings, warm-up start or credentials of a sender account (its first activation starts its warm-up)',
    params: idParams,
    body: updateAccountBody,
    response: accountOut,
    errors: [422],
    handler: async ({ scope, params, body }) => {
      const existing = await getAccount(db, scope, params.id);
      if (!existing) throw new AppError(404, 'not_found', 'Account not found');
      await checkDomain(existing.client_id, body.domainId);
      // Activating it (say one suspended because its domain is not its client's) or naming its domain.
      if (body.domainId !== undefined || body.status === 'active') {
        const problem = domainProblem(existing.email, await findDomainsByName(db, existing.client_id, [emailDomain(existing.email)]), body.domainId);
        if (problem) throw domainError(problem);
      }
      const { credentials: given, warmupStartedOn, warmupDay, ...rest } = body;
      const credentials = given && parseCredentialsFor(existing.transport, given);
      const now = clock();
      const timeZone = body.timeZone ?? existing.time_zone;
      const warmup = requestedWarmupStart({ warmupStartedOn, warmupDay }, timeZone, now);
      if (warmup.issues.length > 0) throw invalidBody(warmup.issues);
      const credentialIssues = credentialsAfterUpdate(existing, body);
      if (credentialIssues.length > 0) throw invalidBody(credentialIssues);
      const updated = await updateAccount(db, scopeOf(existing.client_id), existing.id, {
        ...rest,
        ...(credentials === null ? { credentialsEncrypted: null } : {}),
        ...(credentials ? { credentialsEncrypted: cipher.encrypt(JSON.stringify(credentials)) } : {}),
        ...(warmup.startedOn ? { warmupStartedOn: warmup.startedOn } : {}),
        ...(body.status === 'active' ? { activatedOn: activationDate(now, timeZone) } : {}),
      }, now);
      if (!updated) throw new AppError(404, 'not_found', 'Account not found');
      // Sending again: whatever stopped it (pause, suspension, crash loop) is over.
      if (body.status === 'active') await resolveAccountAlerts(db, { clientId: existing.client_id, accountId: existing.id }, now);
      return readAccount(scopeOf(existing.client_id), existing.id);
    },
  });

  registerAccountVerifyRoute(api, db, config, cipher);

  api.route({
    method: 'delete',
    path: '/accounts/:id',
    operationId: 'deleteAccount',
    tag: 'accounts',
    audit,
    summary: 'Delete a sender account',
    params: idParams,
    status: 204,
    handler: async ({ scope, params }) => {
      if (!(await deleteAccount(db, scope, params.id))) throw new AppError(404, 'not_found', 'Account not found');
    },
  });
}
