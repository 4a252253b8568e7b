/**
 * Every sender account's address must be on a sender domain of its own client (the API checks
 * it from now on; DKIM keys are looked up by client and domain). Accounts made before:
 *
 * 1. a domain no client has registered, used by the accounts of one client only: registered
 *    for that client (no DKIM key: the same as before, when nothing signed its mail);
 * 2. every account is linked (domain_id) to its client's domain of its address, or to none;
 * 3. the rest, on a domain another client holds or used by several clients: left as they are
 *    but suspended (pause_reason 'domain_not_registered'), with a critical alert and an audit
 *    row each, until the owner moves the domain (POST /api/domains/:id/transfer) or deletes
 *    the account. The API refuses to activate them until their domain is their client's.
 *
 * sender_domains stays unique on lower(domain) across clients (0001).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    insert into sender_domains (client_id, domain)
    select min(a.client_id::text)::uuid, lower(split_part(a.email, '@', 2))
    from sender_accounts a
    where not exists (select 1 from sender_domains d where lower(d.domain) = lower(split_part(a.email, '@', 2)))
    group by lower(split_part(a.email, '@', 2))
    having count(distinct a.client_id) = 1;

    update sender_accounts a
    set domain_id = (
      select d.id from sender_domains d where d.client_id = a.client_id and lower(d.domain) = lower(split_part(a.email, '@', 2))
    );

    with stranded as (
      update sender_accounts a
      set status = 'suspended', pause_reason = 'domain_not_registered', probe_pending = false, updated_at = now()
      where a.domain_id is null and a.status <> 'disabled'
      returning a.id, a.client_id, a.email, a.status
    ), alerted as (
      insert into alerts (client_id, account_id, severity, code, message, details)
      select s.client_id, s.id, 'critical', 'domain_not_registered',
             'Sender account ' || s.email || ' is suspended: its domain is not a sender domain of its client (another client holds it, or several clients use it). The owner can move the domain to this client, or delete the account.',
             jsonb_build_object('domain', lower(split_part(s.email, '@', 2)))
      from stranded s
    )
    insert into audit_log (client_id, actor_type, actor_id, action, entity_type, entity_id, details)
    select s.client_id, 'system', '0013_account_domain_ownership', 'account.suspended', 'sender_account', s.id::text,
           jsonb_build_object('reason', 'domain_not_registered', 'domain', lower(split_part(s.email, '@', 2)))
    from stranded s;
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0013_account_domain_ownership cannot be rolled back');
}
