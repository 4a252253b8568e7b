/**
 * Sends, hard bounces and complaints of a client's sender domains in a rolling window: counted
 * per mailbox of the domain on the (account_id, time) indexes of send_logs, bounces and
 * complaints, so a request reads the window's rows of those mailboxes, never their history.
 * A send is an attempt accepted or refused for the address (recipient_hard); hard bounces are
 * SMTP-time and returned (DSN, ESP) alike; complaints from any source.
 */
import { sql } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';

export interface DomainCounts {
  sends: number;
  hardBounces: number;
  complaints: number;
}

/** Counts per lower-case domain name (a domain none of whose mailboxes sent is absent). */
export async function domainCounts(db: DbOrTx, clientId: string, domains: readonly string[], since: Date): Promise<Map<string, DomainCounts>> {
  if (domains.length === 0) return new Map();
  const { rows } = await sql<{ domain: string; sends: string; hard_bounces: string; complaints: string }>`
    select a.domain,
      sum((select count(*) from send_logs s where s.account_id = a.id and s.created_at >= ${since} and s.outcome in ('accepted', 'recipient_hard'))) as sends,
      sum((select count(*) from bounces b where b.account_id = a.id and b.received_at >= ${since} and b.bounce_type = 'hard')) as hard_bounces,
      sum((select count(*) from complaints c where c.account_id = a.id and c.received_at >= ${since})) as complaints
    from (select id, lower(split_part(email, '@', 2)) as domain from sender_accounts where client_id = ${clientId}) a
    where a.domain = any(${domains.map((d) => d.toLowerCase())}::text[])
    group by a.domain`.execute(db);
  return new Map(rows.map((r) => [r.domain, { sends: Number(r.sends), hardBounces: Number(r.hard_bounces), complaints: Number(r.complaints) }]));
}

/** Every sender domain the scope's mailboxes send from (registered in sender_domains or not), by client. */
export async function sendingDomains(db: DbOrTx, scope: ClientScope): Promise<Array<{ clientId: string; domain: string }>> {
  const { rows } = await sql<{ client_id: string; domain: string }>`
    select distinct client_id, lower(split_part(email, '@', 2)) as domain from sender_accounts where ${ownedBy(scope)} order by 2, 1`.execute(db);
  return rows.map((r) => ({ clientId: r.client_id, domain: r.domain }));
}

export type RateLevel = 'warn' | 'pause';

export async function storedRateLevel(db: DbOrTx, clientId: string, domain: string): Promise<RateLevel | undefined> {
  const row = await db.selectFrom('sender_domain_rate_levels').select('level').where('client_id', '=', clientId).where('domain', '=', domain).forUpdate().executeTakeFirst();
  return row?.level;
}

export async function setRateLevel(db: DbOrTx, clientId: string, domain: string, level: RateLevel | undefined, complaintRatePct: number, now: Date): Promise<void> {
  if (!level) {
    await db.deleteFrom('sender_domain_rate_levels').where('client_id', '=', clientId).where('domain', '=', domain).execute();
    return;
  }
  await db
    .insertInto('sender_domain_rate_levels')
    .values({ client_id: clientId, domain, level, complaint_rate_pct: complaintRatePct, updated_at: now })
    .onConflict((oc) => oc.columns(['client_id', 'domain']).doUpdateSet({ level, complaint_rate_pct: complaintRatePct, updated_at: now }))
    .execute();
}
