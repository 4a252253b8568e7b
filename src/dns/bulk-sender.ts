/**
 * Bulk-sender rules (issue 15 item 7): Gmail (since Feb 2024), Yahoo and Microsoft (May 2025)
 * hold a domain that sends about 5,000 messages a day to their consumer mailboxes to stricter
 * rules (SPF and DKIM and DMARC aligned, one-click unsubscribe, spam rate under 0.3 %), for
 * good once reached, counted per *primary* domain (example.com for mail.example.com).
 * Counted here: distinct recipients at dns.consumerDomains accepted today (UTC) per sender
 * domain, summed per primary domain (a recipient mailed from two subdomains counts twice: the
 * count errs high). From dns.bulkSenderWarnAt a `bulk_sender_threshold` warning is raised,
 * once per client, primary domain and day (hourly job in schedules.ts).
 */
import { sql } from 'kysely';
import { getDomain as primaryDomainOf } from 'tldts';
import { alertEntity, raiseAlert } from '../alerts/alerts';
import type { DbOrTx } from '../db/connection';

export const BULK_SENDER_ALERT = 'bulk_sender_threshold';
/** The daily volume at which the providers' bulk-sender rules apply. */
export const BULK_SENDER_LIMIT = 5000;

export type Provider = 'gmail' | 'yahoo' | 'microsoft' | 'other';

export interface BulkSenderSettings {
  bulkSenderWarnAt: number;
  consumerDomains: string[];
}

export interface BulkSenderCount {
  clientId: string;
  primaryDomain: string;
  day: string;
  consumerRecipients: number;
  byProvider: Record<Provider, number>;
  warnAt: number;
  limit: number;
  /** At or over warnAt. */
  warning: boolean;
}

const FAMILIES: Array<[Provider, RegExp]> = [
  ['gmail', /^(gmail|googlemail)\./],
  ['yahoo', /^(yahoo|ymail|rocketmail|aol)\./],
  ['microsoft', /^(outlook|hotmail|live|msn|windowslive)\./],
];

/** The consumer provider of a recipient domain, undefined when it is not a consumer domain. */
export function consumerProvider(domain: string, patterns: readonly string[]): Provider | undefined {
  const d = domain.toLowerCase();
  const matches = patterns.some((p) => (p.endsWith('.*') ? d.startsWith(p.slice(0, -1)) : d === p));
  if (!matches) return undefined;
  return FAMILIES.find(([, re]) => re.test(d))?.[0] ?? 'other';
}

export const utcDay = (now: Date) => now.toISOString().slice(0, 10);

/** Today's (UTC) counts of every primary domain that sent to a consumer domain. */
export async function bulkSenderCounts(db: DbOrTx, settings: BulkSenderSettings, now: Date): Promise<BulkSenderCount[]> {
  const day = utcDay(now);
  const rows = await db
    .selectFrom('send_logs as l')
    .innerJoin('email_queue as q', 'q.id', 'l.queue_id')
    .innerJoin('sender_accounts as a', 'a.id', 'l.account_id')
    .select(['a.client_id', sql<string>`lower(split_part(a.email, '@', 2))`.as('sender_domain'), sql<string>`lower(q.recipient_domain)`.as('recipient_domain'), sql<string>`count(distinct lower(q.to_email))`.as('n')])
    .where('l.outcome', '=', 'accepted')
    .where('l.created_at', '>=', new Date(`${day}T00:00:00Z`))
    .groupBy(['a.client_id', sql`lower(split_part(a.email, '@', 2))`, sql`lower(q.recipient_domain)`])
    .execute();
  const counts = new Map<string, BulkSenderCount>();
  for (const row of rows) {
    const provider = consumerProvider(row.recipient_domain, settings.consumerDomains);
    if (!provider) continue;
    const primaryDomain = primaryDomainOf(row.sender_domain) ?? row.sender_domain;
    const key = `${row.client_id}/${primaryDomain}`;
    const count = counts.get(key) ?? { clientId: row.client_id, primaryDomain, day, consumerRecipients: 0, byProvider: { gmail: 0, yahoo: 0, microsoft: 0, other: 0 }, warnAt: settings.bulkSenderWarnAt, limit: BULK_SENDER_LIMIT, warning: false };
    count.consumerRecipients += Number(row.n);
    count.byProvider[provider] += Number(row.n);
    count.warning = count.consumerRecipients >= settings.bulkSenderWarnAt;
    counts.set(key, count);
  }
  return [...counts.values()];
}

/** One warning per client, primary domain and day at or over the threshold; returns how many were raised. */
export async function warnBulkSenders(db: DbOrTx, settings: BulkSenderSettings, now: Date): Promise<number> {
  let raised = 0;
  for (const count of await bulkSenderCounts(db, settings, now)) {
    if (!count.warning) continue;
    const existing = await db
      .selectFrom('alerts')
      .select('id')
      .where('client_id', '=', count.clientId)
      .where('code', '=', BULK_SENDER_ALERT)
      .where(sql<boolean>`details->>'primaryDomain' = ${count.primaryDomain} and details->>'day' = ${count.day}`)
      .executeTakeFirst();
    if (existing) continue;
    await raiseAlert(db, {
      clientId: count.clientId,
      accountId: null,
      severity: 'warning',
      code: BULK_SENDER_ALERT,
      // One per primary domain and day: a new day's count is a new warning.
      entityKey: `${alertEntity.domain(count.primaryDomain)}@${count.day}`,
      message: `Primary domain ${count.primaryDomain} has sent to ${count.consumerRecipients} Gmail / Yahoo / Microsoft consumer recipients today (warning at ${count.warnAt}); at ${count.limit} a day it becomes a bulk sender for good: SPF, DKIM and aligned DMARC, one-click unsubscribe and a spam rate under 0.3 % are then required.`,
      details: { ...count },
      at: now,
    });
    raised++;
  }
  return raised;
}
