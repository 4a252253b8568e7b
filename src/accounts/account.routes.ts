/** Sender accounts, single and bulk (CSV). Credentials are write-only. */
import { z } from 'zod';
import { clientForCreate, scopeOf } from '../auth/client-scope';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { getDomain } from '../domains/domain.repository';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { receiveCsv } from '../http/csv-upload';
import { isUniqueViolation } from '../http/db-errors';
import { idParams, pagination } from '../http/validation';
import { deleteAccount, getAccount, insertAccounts, listAccounts, updateAccount, type AccountView } from './account.repository';
import { accountOut, createAccountBody, updateAccountBody } from './account.schemas';
import { ACCOUNT_CSV_COLUMNS, importAccountsCsv, linkDomains, toNewAccount } from './account.service';

export function presentAccount(a: AccountView): z.infer<typeof accountOut> {
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
  };
}

const conflict = () => new AppError(409, 'conflict', 'An account with this address exists', { issues: [{ path: 'email', message: 'already registered' }] });

export function registerAccountRoutes(api: ApiRouter, db: Db, config: Config): void {
  const cipher = createCredentialCipher(config.credentialKeys);

  /** A domain id given by the caller must be one of the account's client's domains. */
  const checkDomain = async (clientId: string, domainId: string | null | undefined) => {
    if (domainId && !(await getDomain(db, scopeOf(clientId), domainId))) {
      throw new AppError(404, 'not_found', 'Domain not found', { issues: [{ path: 'domainId', message: 'no such domain' }] });
    }
  };

  api.route({
    method: 'get',
    path: '/accounts',
    tag: 'accounts',
    summary: 'List sender accounts',
    query: pagination.extend({ status: z.enum(['active', 'paused', 'suspended', 'disabled', 'crashed']).optional() }),
    response: z.object({ accounts: z.array(accountOut) }),
    handler: async ({ scope, query }) => ({ accounts: (await listAccounts(db, scope, query)).map(presentAccount) }),
  });

  api.route({
    method: 'post',
    path: '/accounts',
    tag: 'accounts',
    summary: 'Add a sender account (credentials are stored encrypted and never returned)',
    body: createAccountBody,
    response: accountOut,
    errors: [409],
    handler: async ({ scope, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      await checkDomain(clientId, body.domainId);
      const account = toNewAccount(body, cipher);
      await linkDomains(db, clientId, [account]);
      try {
        const [created] = await insertAccounts(db, clientId, [account]);
        if (!created) throw new Error('insert returned no row');
        return presentAccount(created);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict();
        throw error;
      }
    },
  });

  api.route({
    method: 'post',
    path: '/accounts/import',
    tag: 'accounts',
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
      return receiveCsv(req, config.imports.maxCsvBytes, ({ stream }) => importAccountsCsv(db, stream, { clientId, cipher, maxRows: config.imports.maxAccountRows }));
    },
  });

  api.route({
    method: 'get',
    path: '/accounts/:id',
    tag: 'accounts',
    summary: 'Get a sender account',
    params: idParams,
    response: accountOut,
    handler: async ({ scope, params }) => {
      const account = await getAccount(db, scope, params.id);
      if (!account) throw new AppError(404, 'not_found', 'Account not found');
      return presentAccount(account);
    },
  });

  api.route({
    method: 'patch',
    path: '/accounts/:id',
    tag: 'accounts',
    summary: 'Update limits, status, settings or credentials of a sender account',
    params: idParams,
    body: updateAccountBody,
    response: accountOut,
    handler: async ({ scope, params, body }) => {
      const existing = await getAccount(db, scope, params.id);
      if (!existing) throw new AppError(404, 'not_found', 'Account not found');
      await checkDomain(existing.client_id, body.domainId);
      const { credentials, ...rest } = body;
      const updated = await updateAccount(db, scopeOf(existing.client_id), existing.id, {
        ...rest,
        ...(credentials ? { credentialsEncrypted: cipher.encrypt(JSON.stringify(credentials)) } : {}),
      });
      if (!updated) throw new AppError(404, 'not_found', 'Account not found');
      return presentAccount(updated);
    },
  });

  api.route({
    method: 'delete',
    path: '/accounts/:id',
    tag: 'accounts',
    summary: 'Delete a sender account',
    params: idParams,
    status: 204,
    handler: async ({ scope, params }) => {
      if (!(await deleteAccount(db, scope, params.id))) throw new AppError(404, 'not_found', 'Account not found');
    },
  });
}
