/**
 * GET /api/domains/:id/dns: the records the domain should publish and what its last check
 * found; POST /api/domains/:id/dns/check: check it now (a domain just fixed need not wait for
 * the daily recheck).
 */
import { z } from 'zod';
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import { getDomain, type DomainRow } from '../domains/domain.repository';
import { AppError } from '../http/app-error';
import type { ClientScope } from '../auth/client-scope';
import type { ApiRouter, RouteAudit } from '../http/api-router';
import { idParams } from '../http/validation';
import { dkimRecord, type DomainDnsReport } from './domain-dns-check';
import { sendingRoutesOf } from './domain-dns.repository';
import { recheckDomain } from './domain-dns.service';
import { createDnsResolver } from './dns-resolver';

const status = z.enum(['pass', 'fail', 'error', 'not_configured']);
const part = z.object({ status, detail: z.string() });

const reportOut = z
  .object({
    checkedAt: z.string(),
    spf: part.extend({ record: z.string().nullable() }),
    dkim: part.extend({ selector: z.string().nullable(), record: z.string().nullable() }),
    dmarc: part.extend({
      record: z.string().nullable(),
      policy: z.string().nullable(),
      alignment: z.object({ spf: z.enum(['relaxed', 'strict']), dkim: z.enum(['relaxed', 'strict']) }).nullable(),
    }),
    mx: part.extend({ hosts: z.array(z.string()) }),
    ptr: part,
    relays: z
      .array(z.object({ host: z.string(), ip: z.string(), spf: z.string().describe('SPF result for this address'), ptr: z.array(z.string()), forwardConfirmed: z.boolean() }))
      .describe('Addresses of the SMTP relays the domain’s accounts send through'),
    failing: z.array(z.string()).describe('The checks that fail: while any does, campaign start is refused or warned (dns.enforceOnStart)'),
  })
  .describe('What the last check found; null before the first check');

const domainDnsOut = z.object({
  domainId: z.uuid(),
  domain: z.string(),
  spfStatus: z.string(),
  dkimStatus: z.string(),
  dmarcStatus: z.string(),
  checkedAt: z.string().nullable(),
  expected: z
    .array(z.object({ type: z.literal('TXT'), name: z.string(), value: z.string(), purpose: z.string() }))
    .describe('The TXT records to publish for the domain’s current accounts and DKIM key'),
  current: reportOut.nullable(),
});

async function expectedRecords(db: Db, domain: DomainRow, dkimKey: string | null): Promise<z.infer<typeof domainDnsOut>['expected']> {
  const name = domain.domain.toLowerCase();
  const routes = await sendingRoutesOf(db, domain);
  const terms = [...new Set(routes.map((r) => (r.transport === 'gmail' ? 'include:_spf.google.com' : `a:${r.host!.toLowerCase()}`)))].sort();
  const records = [{ type: 'TXT' as const, name, value: ['v=spf1', ...terms, '~all'].join(' '), purpose: 'SPF: authorises the relays and Google servers the domain’s accounts send through (merge with what else sends for the domain: one SPF record only)' }];
  if (domain.dkim_selector && dkimKey) records.push({ type: 'TXT', name: `${domain.dkim_selector}._domainkey.${name}`, value: dkimRecord(dkimKey), purpose: 'DKIM: the public half of the stored signing key' });
  records.push({ type: 'TXT', name: `_dmarc.${name}`, value: 'v=DMARC1; p=none; adkim=r; aspf=r', purpose: 'DMARC: p=none is the minimum Gmail, Yahoo and Microsoft require of bulk senders; raise it to quarantine once reports are clean' });
  return records;
}

export function registerDomainDnsRoutes(api: ApiRouter, db: Db, config: Config, clock: () => Date): void {
  const audit: RouteAudit<unknown> = { load: (id: string, scope: ClientScope) => getDomain(db, scope, id) };
  const cipher = createCredentialCipher(config.credentialKeys);
  const deps = { db, cipher, resolve: createDnsResolver(config.dns) };
  const present = async (domain: DomainRow, report: DomainDnsReport | null) => ({
    domainId: domain.id,
    domain: domain.domain,
    spfStatus: domain.spf_status,
    dkimStatus: domain.dkim_status,
    dmarcStatus: domain.dmarc_status,
    checkedAt: domain.dns_checked_at?.toISOString() ?? null,
    expected: await expectedRecords(db, domain, domain.dkim_private_key_encrypted ? cipher.decrypt(domain.dkim_private_key_encrypted) : null),
    current: report,
  });
  const mustGet = async (scope: Parameters<typeof getDomain>[1], id: string) => {
    const domain = await getDomain(db, scope, id);
    if (!domain) throw new AppError(404, 'not_found', 'Domain not found');
    return domain;
  };

  api.route({
    method: 'get',
    path: '/domains/:id/dns',
    operationId: 'getDomainDns',
    tag: 'domains',
    summary: 'The DNS records a sender domain should publish (SPF, DKIM, DMARC) and what its last check found',
    params: idParams,
    response: domainDnsOut,
    handler: async ({ scope, params }) => {
      const domain = await mustGet(scope, params.id);
      const stored = domain.dns_check_details as unknown as DomainDnsReport | null;
      return present(domain, stored && typeof stored === 'object' && 'failing' in stored ? stored : null);
    },
  });
  api.route({
    method: 'post',
    path: '/domains/:id/dns/check',
    operationId: 'checkDomainDns',
    tag: 'domains',
    audit,
    summary: 'Check the sender domain’s DNS now (SPF, DKIM, DMARC, MX, relay PTR) and record the result',
    params: idParams,
    status: 200,
    response: domainDnsOut,
    handler: async ({ scope, params }) => {
      const { domain, report } = await recheckDomain(deps, await mustGet(scope, params.id), clock());
      return present(domain, report);
    },
  });
}
