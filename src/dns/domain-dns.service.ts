/**
 * Runs a sender domain's DNS check (domain-dns-check.ts) and records it: the spf_/dkim_/
 * dmarc_status columns, the whole report in dns_check_details, dns_checked_at, and the
 * domain's `dns_check_failed` alert (raised once, resolved when the domain passes again).
 * On demand (POST /api/domains/:id/dns/check) and daily for every domain (schedules.ts).
 */
import type { CredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import type { DomainRow } from '../domains/domain.repository';
import type { Logger } from '../logger';
import { checkDomainDns, type DomainDnsReport } from './domain-dns-check';
import { allDomainIds, sendingRoutesOf, storeDnsReport, syncDnsAlert } from './domain-dns.repository';
import type { DnsResolve } from './dns-resolver';

export interface DnsCheckDeps {
  db: Db;
  resolve: DnsResolve;
  cipher: CredentialCipher;
}

export async function recheckDomain(deps: DnsCheckDeps, domain: DomainRow, now: Date): Promise<{ domain: DomainRow; report: DomainDnsReport }> {
  const report = await checkDomainDns(
    deps.resolve,
    {
      domain: domain.domain.toLowerCase(),
      dkimSelector: domain.dkim_selector,
      dkimPrivateKey: domain.dkim_private_key_encrypted ? deps.cipher.decrypt(domain.dkim_private_key_encrypted) : null,
      routes: await sendingRoutesOf(deps.db, domain),
    },
    now,
  );
  const stored = await deps.db.transaction().execute(async (trx) => {
    const row = await storeDnsReport(trx, domain.id, report, now);
    if (row) await syncDnsAlert(trx, row, report, now);
    return row;
  });
  return { domain: stored ?? domain, report };
}

/** Every registered domain, one after the other (the DNS server is not to be flooded). */
export async function recheckAllDomains(deps: DnsCheckDeps, logger: Logger, now: Date): Promise<number> {
  let failing = 0;
  for (const id of await allDomainIds(deps.db)) {
    const domain = await deps.db.selectFrom('sender_domains').selectAll().where('id', '=', id).executeTakeFirst();
    if (!domain) continue;
    const { report } = await recheckDomain(deps, domain, now);
    if (report.failing.length > 0) failing++;
  }
  logger.info('sender domain DNS rechecked', { failing });
  return failing;
}
