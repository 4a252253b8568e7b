/**
 * Campaign start while a sender domain of the campaign fails its DNS check (the stored result
 * of the last check; an unchecked domain does not count): dns.enforceOnStart "refuse" answers
 * 422 sender_domain_dns_failing, "warn" starts and says which domains fail, "off" ignores it.
 * Receivers refuse or spam-folder mail of a domain without working SPF / DKIM / DMARC, so
 * starting would burn the contacts.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { AppError } from '../http/app-error';

export type EnforceOnStart = 'refuse' | 'warn' | 'off';

export interface FailingDomain {
  domain: string;
  failing: string[];
}

/** The campaign's sender domains (registered for its client) whose last DNS check fails. */
export async function failingSenderDomains(db: DbOrTx, campaignId: string): Promise<FailingDomain[]> {
  const rows = await db
    .selectFrom('campaign_senders as cs')
    .innerJoin('sender_accounts as a', 'a.id', 'cs.account_id')
    .innerJoin('sender_domains as d', (join) => join.onRef('d.client_id', '=', 'a.client_id').on(sql<boolean>`lower(d.domain) = lower(split_part(a.email, '@', 2))`))
    .select(['d.domain', 'd.spf_status', 'd.dkim_status', 'd.dmarc_status', sql<string[] | null>`array(select jsonb_array_elements_text(d.dns_check_details->'failing'))`.as('failing')])
    .distinct()
    .where('cs.campaign_id', '=', campaignId)
    .execute();
  return rows
    .map((r) => {
      const columns = (['spf', 'dkim', 'dmarc'] as const).filter((name) => r[`${name}_status`] === 'fail');
      return { domain: r.domain, failing: [...new Set([...columns, ...(r.failing ?? [])])] };
    })
    .filter((d) => d.failing.length > 0)
    .sort((a, b) => a.domain.localeCompare(b.domain));
}

/** Throws under "refuse"; returns the failing domains to report under "warn". */
export async function guardCampaignStart(db: DbOrTx, campaignId: string, mode: EnforceOnStart): Promise<FailingDomain[]> {
  if (mode === 'off') return [];
  const failing = await failingSenderDomains(db, campaignId);
  if (failing.length > 0 && mode === 'refuse') {
    throw new AppError(422, 'sender_domain_dns_failing', `The campaign cannot start while its sender domains fail their DNS check: ${failing.map((d) => `${d.domain} (${d.failing.join(', ')})`).join('; ')}. See GET /api/domains/:id/dns, publish the records, then POST /api/domains/:id/dns/check.`, {
      issues: failing.map((d) => ({ path: 'senderAccountIds', message: `${d.domain} fails ${d.failing.join(', ')}` })),
      domains: failing,
    });
  }
  return failing;
}
