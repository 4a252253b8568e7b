/**
 * Sender domains. The DKIM private key is write-only: stored encrypted, never returned.
 * A domain belongs to one client (unique across clients, whatever its case): a client that
 * adds a domain another client holds gets 409 without learning which client, and only the
 * owner moves a domain from one client to another (POST /domains/:id/transfer). A domain
 * that accounts of its client send from can neither be deleted nor moved.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { clientForCreate } from '../auth/client-scope';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ClientScope } from '../auth/client-scope';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { isUniqueViolation } from '../http/db-errors';
import { idParams, singleLine, uuid } from '../http/validation';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { host, port } from '../accounts/account.schemas';
import { clientExists } from '../clients/client.repository';
import { domainRates, type DomainRates } from './domain-rates';
import { countAccountsOnDomain, deleteDomain, getDomain, insertDomain, listDomains, moveDomain, updateDomain, type DomainFields, type DomainRow, type StoredBounceMailbox } from './domain.repository';

export const domainName = z
  .string()
  .max(253)
  .regex(/^([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/, 'must be a domain name such as example.com')
  .transform((value) => value.toLowerCase());

const pemKey = z
  .string()
  .max(10_000)
  .regex(/^-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----\s*$/, 'must be a PEM private key')
  // Signatures are rsa-sha256 (src/transports/dkim-signer.ts): any other key could not sign.
  .refine(isRsaKey, 'must be an RSA private key');

function isRsaKey(pem: string): boolean {
  try {
    return crypto.createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

/**
 * An IMAP mailbox that receives the bounces of this domain's mail when its accounts send
 * through a relay with its own return path (the bounces never reach the accounts' inboxes).
 * Read like an inbox (src/inbound/readers); the password is write-only.
 */
const bounceMailboxIn = z
  .object({
    host,
    port,
    secure: z.boolean().default(true).describe('TLS from the first byte (IMAPS, usually port 993)'),
    user: z.string().min(1).max(320),
    password: z.string().min(1).max(1000),
    mailbox: singleLine(200).optional().describe('Default INBOX'),
  })
  .strict();

const fields = z.object({
  bounceMailbox: bounceMailboxIn.nullable().describe('IMAP mailbox the bounces of relayed mail come back to; null removes it'),
  dkimSelector: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be a DNS label such as s1').nullable(),
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
  bounceMailbox: z
    .object({ host: z.string(), port: z.number(), secure: z.boolean(), user: z.string(), mailbox: z.string() })
    .nullable()
    .describe('Its bounce mailbox, without the password; null when none'),
  rates: z
    .object({
      windowDays: z.number(),
      sends: z.number().describe('Attempts of its mailboxes accepted or refused for the address in the window'),
      hardBounces: z.number().describe('Hard bounces, at SMTP time or returned (DSN, ESP), in the window'),
      complaints: z.number(),
      complaintRatePct: z.number().describe('Complaints / sends in percent (Gmail and Yahoo: stay under 0.1, never reach 0.3)'),
      bounceRatePct: z.number(),
      judged: z.boolean().describe('Enough sends (inbound.domainRateMinSends) for the thresholds to apply'),
    })
    .describe('Complaint and hard-bounce rates over the last inbound.domainRateWindowDays'),
  createdAt: z.string(),
});

function present(d: DomainRow, rates: DomainRates): z.infer<typeof domainOut> {
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
    bounceMailbox: d.bounce_mailbox ? { ...(d.bounce_mailbox as unknown as StoredBounceMailbox), mailbox: (d.bounce_mailbox as unknown as StoredBounceMailbox).mailbox ?? 'INBOX' } : null,
    rates,
    createdAt: d.created_at.toISOString(),
  };
}

export function registerDomainRoutes(api: ApiRouter, db: Db, config: Config, clock: () => Date = () => new Date()): void {
  const audit: RouteAudit<unknown> = { load: (id: string, scope: ClientScope) => getDomain(db, scope, id) };
  /** The domains as presented, with their rates (one query per client among them). */
  const presentAll = async (domains: DomainRow[]) => {
    const rates = new Map<string, DomainRates>();
    for (const clientId of new Set(domains.map((d) => d.client_id))) {
      const names = domains.filter((d) => d.client_id === clientId).map((d) => d.domain.toLowerCase());
      for (const [name, r] of await domainRates(db, clientId, names, config.inbound, clock())) rates.set(`${clientId}/${name}`, r);
    }
    return domains.map((d) => present(d, rates.get(`${d.client_id}/${d.domain.toLowerCase()}`)!));
  };
  const presentOne = async (domain: DomainRow) => (await presentAll([domain]))[0]!;
  const cipher = createCredentialCipher(config.credentialKeys);
  const sealKey = (key: string | null | undefined) => (key === undefined ? undefined : key === null ? null : cipher.encrypt(key));
  const sealBounceMailbox = (given: z.output<typeof bounceMailboxIn> | null | undefined): DomainFields['bounceMailbox'] => {
    if (given === undefined || given === null) return given;
    const { password, ...settings } = given;
    return { settings, secretEncrypted: cipher.encrypt(JSON.stringify({ pass: password })) };
  };

  api.route({
    method: 'get',
    path: '/domains',
    operationId: 'listDomains',
    tag: 'domains',
    summary: 'List sender domains',
    query: pageQuery,
    response: pagedResponse('domains', domainOut),
    handler: async ({ scope, query }) => {
      const page = await listDomains(db, scope, query);
      const presented = new Map((await presentAll(page.rows)).map((d) => [d.id, d]));
      return paged('domains', query, page, (d) => presented.get(d.id)!);
    },
  });
  api.route({
    method: 'post',
    path: '/domains',
    operationId: 'createDomain',
    tag: 'domains',
    audit,
    summary: 'Add a sender domain',
    body: fields.partial().extend({ domain: domainName, clientId: uuid.optional() }).strict(),
    response: domainOut,
    errors: [409],
    handler: async ({ scope, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      try {
        return presentOne(await insertDomain(db, clientId, body.domain, { ...body, dkimPrivateKeyEncrypted: sealKey(body.dkimPrivateKey), bounceMailbox: sealBounceMailbox(body.bounceMailbox) }));
      } catch (error) {
        // Never says which client holds it.
        if (isUniqueViolation(error)) throw new AppError(409, 'domain_taken', 'This domain is already registered; only the owner can move a domain between clients', { issues: [{ path: 'domain', message: 'already registered' }] });
        throw error;
      }
    },
  });
  api.route({
    method: 'get',
    path: '/domains/:id',
    operationId: 'getDomain',
    tag: 'domains',
    summary: 'Get a sender domain',
    params: idParams,
    response: domainOut,
    handler: async ({ scope, params }) => {
      const domain = await getDomain(db, scope, params.id);
      if (!domain) throw new AppError(404, 'not_found', 'Domain not found');
      return presentOne(domain);
    },
  });
  api.route({
    method: 'patch',
    path: '/domains/:id',
    operationId: 'updateDomain',
    tag: 'domains',
    audit,
    summary: 'Update a sender domain (DKIM selector and key, daily limit, bounce mailbox)',
    params: idParams,
    body: fields.partial().strict(),
    response: domainOut,
    handler: async ({ scope, params, body }) => {
      const domain = await updateDomain(db, scope, params.id, { ...body, dkimPrivateKeyEncrypted: sealKey(body.dkimPrivateKey), bounceMailbox: sealBounceMailbox(body.bounceMailbox) });
      if (!domain) throw new AppError(404, 'not_found', 'Domain not found');
      return presentOne(domain);
    },
  });
  api.route({
    method: 'delete',
    path: '/domains/:id',
    operationId: 'deleteDomain',
    tag: 'domains',
    audit,
    summary: 'Delete a sender domain',
    params: idParams,
    status: 204,
    errors: [409],
    handler: async ({ scope, params }) => {
      const domain = await getDomain(db, scope, params.id);
      if (!domain) throw new AppError(404, 'not_found', 'Domain not found');
      await refuseWhileInUse(domain, 'deleted');
      if (!(await deleteDomain(db, scope, params.id))) throw new AppError(404, 'not_found', 'Domain not found');
    },
  });
  api.route({
    method: 'post',
    path: '/domains/:id/transfer',
    operationId: 'transferDomain',
    tag: 'domains',
    audit,
    summary: 'Move a sender domain, with its DKIM key and limits, to another client (owner only; refused while accounts of its client send from it)',
    access: 'owner',
    params: idParams,
    body: z.object({ clientId: uuid }).strict(),
    status: 200,
    response: domainOut,
    errors: [409],
    handler: async ({ scope, params, body, auth }) => {
      const domain = await getDomain(db, scope, params.id);
      if (!domain) throw new AppError(404, 'not_found', 'Domain not found');
      if (!(await clientExists(db, body.clientId))) throw new AppError(404, 'not_found', 'Client not found', { issues: [{ path: 'clientId', message: 'no such client' }] });
      if (domain.client_id === body.clientId) return presentOne(domain);
      await refuseWhileInUse(domain, 'moved');
      const moved = await db.transaction().execute((trx) => moveDomain(trx, domain, body.clientId, auth.userId));
      if (!moved) throw new AppError(404, 'not_found', 'Domain not found');
      return presentOne(moved);
    },
  });

  /** Its accounts would be left sending from a domain their client no longer has. */
  async function refuseWhileInUse(domain: DomainRow, verb: 'deleted' | 'moved'): Promise<void> {
    const accounts = await countAccountsOnDomain(db, domain);
    if (accounts > 0) {
      throw new AppError(409, 'domain_in_use', `The domain cannot be ${verb} while ${accounts} sender account(s) of its client use it: delete them first`, { accounts });
    }
  }
}
