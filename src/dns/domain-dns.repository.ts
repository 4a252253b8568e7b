import { sql } from 'kysely';
import { alertEntity, raiseAlert, resolveAlerts } from '../alerts/alerts';
import type { DbOrTx } from '../db/connection';
import type { DomainRow } from '../domains/domain.repository';
import type { DomainDnsReport, SendingRoute } from './domain-dns-check';

/** How the domain's own client's accounts on it send: their transports and SMTP relay hosts. */
export async function sendingRoutesOf(db: DbOrTx, domain: Pick<DomainRow, 'client_id' | 'domain'>): Promise<SendingRoute[]> {
  const rows = await db
    .selectFrom('sender_accounts')
    .select(['transport', sql<string | null>`transport_settings->>'host'`.as('host')])
    .distinct()
    .where('client_id', '=', domain.client_id)
    .where(sql<boolean>`lower(split_part(email, '@', 2)) = ${domain.domain.toLowerCase()}`)
    .where('transport', 'in', ['smtp', 'gmail'])
    .where('status', '!=', 'disabled')
    .execute();
  return rows.map((r) => (r.transport === 'smtp' && r.host ? { transport: 'smtp', host: r.host } : { transport: 'gmail' }));
}

const column = (status: string) => (status === 'not_configured' ? 'unchecked' : status);

export async function storeDnsReport(db: DbOrTx, domainId: string, report: DomainDnsReport, now: Date): Promise<DomainRow | undefined> {
  return db
    .updateTable('sender_domains')
    .set({ spf_status: column(report.spf.status), dkim_status: column(report.dkim.status), dmarc_status: column(report.dmarc.status), dns_check_details: JSON.stringify(report), dns_checked_at: now })
    .where('id', '=', domainId)
    .returningAll()
    .executeTakeFirst();
}

export async function allDomainIds(db: DbOrTx): Promise<string[]> {
  return (await db.selectFrom('sender_domains').select('id').orderBy('id').execute()).map((r) => r.id);
}

/** Stable codes: the alert channels (issue 15 item 4) route on them. */
export const DNS_ALERT = 'dns_check_failed';

/** One open alert per failing domain: raised when it starts failing, resolved when it passes again. */
export async function syncDnsAlert(db: DbOrTx, domain: Pick<DomainRow, 'id' | 'client_id' | 'domain'>, report: DomainDnsReport, now: Date): Promise<'raised' | 'resolved' | 'unchanged'> {
  const entityKey = alertEntity.domain(domain.domain);
  if (report.failing.length === 0) {
    const resolved = await resolveAlerts(db, { clientId: domain.client_id, entityKey, codes: [DNS_ALERT], at: now });
    return resolved.length > 0 ? 'resolved' : 'unchanged';
  }
  const reasons = report.failing.map((name) => `${name.toUpperCase()}: ${(report[name as 'spf'] as { detail: string }).detail}`);
  const raised = await raiseAlert(db, {
    clientId: domain.client_id,
    accountId: null,
    severity: 'critical',
    code: DNS_ALERT,
    entityKey,
    message: `Sender domain ${domain.domain}: its DNS check fails (${reasons.join('; ')}). Publish the records GET /api/domains/${domain.id}/dns shows.`,
    details: { domainId: domain.id, domain: domain.domain, failing: report.failing },
    at: now,
  });
  return raised.isNew ? 'raised' : 'unchanged';
}
