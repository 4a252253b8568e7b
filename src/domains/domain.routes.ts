/** Sender domains. The DKIM private key is write-only: stored encrypted, never returned. */
import { z } from 'zod';
import { clientForCreate } from '../auth/client-scope';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { isUniqueViolation } from '../http/db-errors';
import { idParams, uuid } from '../http/validation';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { deleteDomain, getDomain, insertDomain, listDomains, updateDomain, type DomainRow } from './domain.repository';

export const domainName = z
  .string()
  .max(253)
  .regex(/^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a domain name such as example.com')
  .transform((value) => value.toLowerCase());

const pemKey = z
  .string()
  .max(10_000)
  .regex(/^-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----\s*$/, 'must be a PEM private key');

const fields = z.object({
  dkimSelector: z.string().regex(/^[a-z0-9](?:[a-z0-9-_.]{0,62})$/i, 'must be a DNS label such as s1').nullable(),
  dkimPrivateKey: pemKey.nullable(),
  dailyLimit: z.number().int().positive().max(10_000_000).nullable(),
});

const domainOut = z.object({
  id: z.uuid(),
  clientId: z.uuid(),
  domain: z.string(),
  dkimSelector: z.string().nullable(),
  hasDkimKey: z.boolean(),
  spfStatus: z.string(),
  dkimStatus: z.string(),
  dmarcStatus: z.string(),
  dnsCheckedAt: z.string().nullable(),
  dailyLimit: z.number().nullable(),
  createdAt: z.string(),
});

function present(d: DomainRow): z.infer<typeof domainOut> {
  return {
    id: d.id,
    clientId: d.client_id,
    domain: d.domain,
    dkimSelector: d.dkim_selector,
    hasDkimKey: d.dkim_private_key_encrypted !== null,
    spfStatus: d.spf_status,
    dkimStatus: d.dkim_status,
    dmarcStatus: d.dmarc_status,
    dnsCheckedAt: d.dns_checked_at?.toISOString() ?? null,
    dailyLimit: d.daily_limit,
    createdAt: d.created_at.toISOString(),
  };
}

export function registerDomainRoutes(api: ApiRouter, db: Db, config: Config): void {
  const cipher = createCredentialCipher(config.credentialKeys);
  const sealKey = (key: string | null | undefined) => (key === undefined ? undefined : key === null ? null : cipher.encrypt(key));

  api.route({
    method: 'get',
    path: '/domains',
    tag: 'domains',
    summary: 'List sender domains',
    query: pageQuery,
    response: pagedResponse('domains', domainOut),
    handler: async ({ scope, query }) => paged('domains', query, await listDomains(db, scope, query), present),
  });
  api.route({
    method: 'post',
    path: '/domains',
    tag: 'domains',
    summary: 'Add a sender domain',
    body: fields.partial().extend({ domain: domainName, clientId: uuid.optional() }).strict(),
    response: domainOut,
    errors: [409],
    handler: async ({ scope, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      try {
        return present(await insertDomain(db, clientId, body.domain, { ...body, dkimPrivateKeyEncrypted: sealKey(body.dkimPrivateKey) }));
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError(409, 'conflict', 'This domain is already registered', { issues: [{ path: 'domain', message: 'already registered' }] });
        throw error;
      }
    },
  });
  api.route({
    method: 'get',
    path: '/domains/:id',
    tag: 'domains',
    summary: 'Get a sender domain',
    params: idParams,
    response: domainOut,
    handler: async ({ scope, params }) => {
      const domain = await getDomain(db, scope, params.id);
      if (!domain) throw new AppError(404, 'not_found', 'Domain not found');
      return present(domain);
    },
  });
  api.route({
    method: 'patch',
    path: '/domains/:id',
    tag: 'domains',
    summary: 'Update a sender domain (DKIM selector and key, daily limit)',
    params: idParams,
    body: fields.partial().strict(),
    response: domainOut,
    handler: async ({ scope, params, body }) => {
      const domain = await updateDomain(db, scope, params.id, { ...body, dkimPrivateKeyEncrypted: sealKey(body.dkimPrivateKey) });
      if (!domain) throw new AppError(404, 'not_found', 'Domain not found');
      return present(domain);
    },
  });
  api.route({
    method: 'delete',
    path: '/domains/:id',
    tag: 'domains',
    summary: 'Delete a sender domain',
    params: idParams,
    status: 204,
    handler: async ({ scope, params }) => {
      if (!(await deleteDomain(db, scope, params.id))) throw new AppError(404, 'not_found', 'Domain not found');
    },
  });
}
