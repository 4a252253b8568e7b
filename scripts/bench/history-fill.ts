/**
 * Realistic synthetic send history, written with generate_series (a million sends in well under
 * a minute): 4 clients, 1,200 mailboxes, one campaign per 5,000 sends (hundreds at a million),
 * two steps per contact, 60,000 sends a day back from `now`; opens on ~35 % of sent rows (1–3
 * human fetches, some proxy fetches), clicks ~6 %, hard bounces ~3 %, replies ~2 % (a few not
 * tied to a row), complaints ~0.1 %, unsubscribes ~0.5 %, one send_logs row per attempt; the
 * last hours still waiting in every queue state. Ids are md5-derived so a run is repeatable.
 *
 * Uses only columns that exist since migration 0024, so the migration test can fill a database
 * of the schema before the rollups with it. Shared by that test and scripts/bench/history.bench.ts.
 */
import { sql, type Kysely } from 'kysely';

export interface HistoryShape {
  sends: number;
  now: Date;
  /** Rows (contacts, queue rows) are numbered from here: a second fill adds to the first. */
  offset?: number;
  mailboxes?: number;
  sendsPerCampaign?: number;
  sendsPerDay?: number;
}

export async function fillHistory(db: Kysely<unknown>, shape: HistoryShape): Promise<void> {
  const { sends, now, offset = 0, mailboxes = 1200, sendsPerCampaign = 5000, sendsPerDay = 60_000 } = shape;
  const contacts = Math.ceil(sends / 2);
  const campaigns = Math.max(4, Math.ceil(sends / sendsPerCampaign));
  const c0 = offset / 2;
  // md5-derived, with the version 4 and variant bits set so the API's uuid checks accept them.
  const id = (kind: string, n: string) =>
    sql.raw(`(select overlay(overlay(h placing '4' from 13) placing '8' from 17)::uuid from md5('${kind}' || (${n})) h)`);
  // A queue row's contact number, from its message id '<h{k}.{step}@history.bench>'.
  const contactOf = (q: string) => sql.raw(`split_part(substr(${q}.message_id, 3), '.', 1)::bigint`);
  const ownRows = (q: string) => sql`${contactOf(q)} >= ${c0}::bigint`;
  for (const statement of [
    sql`insert into clients (id, name) select ${id('client', 'n')}, 'history ' || n from generate_series(0, 3) n on conflict do nothing`,
    sql`insert into sender_domains (id, client_id, domain) select ${id('domain', 'n')}, ${id('client', 'n')}, 'h' || n || '.bench.example'
      from generate_series(0, 3) n on conflict do nothing`,
    sql`insert into sender_accounts (id, client_id, domain_id, email, transport)
      select ${id('account', 'n')}, ${id('client', 'n % 4')}, ${id('domain', 'n % 4')}, 'm' || n || '@h' || (n % 4) || '.bench.example', 'sink'
      from generate_series(0, ${mailboxes - 1}::int) n on conflict do nothing`,
    sql`insert into campaigns (id, client_id, name, status) select ${id('campaign', 'n')}, ${id('client', 'n % 4')}, 'history ' || n, 'running'
      from generate_series(0, ${campaigns - 1}::int) n on conflict do nothing`,
    sql`insert into sequence_steps (id, campaign_id, step_number, subject)
      select ${id('step', "n || '/' || s")}, ${id('campaign', 'n')}, s, 'step ' || s from generate_series(0, ${campaigns - 1}::int) n, generate_series(1, 2) s
      on conflict do nothing`,
    sql`insert into links (client_id, campaign_id, step_id, url)
      select ${id('client', 'n % 4')}, ${id('campaign', 'n')}, ${id('step', "n || '/' || s")}, 'https://bench.example/' || s
      from generate_series(0, ${campaigns - 1}::int) n, generate_series(1, 2) s on conflict do nothing`,
  ]) await statement.execute(db);
  await db.connection().execute(async (conn) => {
    const run = (query: ReturnType<typeof sql>) => query.execute(conn);
    // One row per contact: its campaign, mailbox, when step 1 was created, and its fate (a fixed
    // hash of its number, so the fractions hold at every size).
    await run(sql`drop table if exists history_contacts`);
    await run(sql`
      create temporary table history_contacts as
      select k, ${id('contact', 'k')} as contact_id, k % ${campaigns} as campaign,
        ((k / ${campaigns}) % ${mailboxes / 4}) * 4 + (k % ${campaigns}) % 4 as mailbox,
        ${now}::timestamptz - make_interval(secs => (${c0 + contacts} - k) * 86400.0 / ${sendsPerDay / 2}) as created_at,
        ('x' || substr(md5('fate' || k), 1, 7))::bit(28)::int % 10000 as fate
      from generate_series(${c0}::bigint, ${c0 + contacts - 1}::bigint) k`);
    await run(sql`
      insert into contacts (id, client_id, email, email_domain)
      select contact_id, ${id('client', 'campaign % 4')}, 'p' || k || '@r' || (k % 500) || '.example', 'r' || (k % 500) || '.example' from history_contacts`);
    await run(sql`
      insert into campaign_contacts (campaign_id, contact_id, status, account_id)
      select ${id('campaign', 'campaign')}, contact_id,
        case when fate between 350 and 549 then 'replied' when fate between 560 and 609 then 'unsubscribed' when fate < 300 then 'bounced' else 'active' end,
        ${id('account', 'mailbox')}
      from history_contacts`);
    await run(sql`
      insert into suppressions (client_id, email, reason, created_at)
      select ${id('client', 'campaign % 4')}, 'p' || k || '@r' || (k % 500) || '.example', 'unsubscribed', created_at + interval '2 days'
      from history_contacts where fate between 560 and 609 and created_at + interval '2 days' < ${now}
      on conflict do nothing`);
    // Step 1 when created; step 2 three days later (scheduled while in the future, cancelled
    // when the contact bounced, failed, replied or unsubscribed). The last hour still waits.
    await run(sql`
      with rows as (
        select h.*, s as step, h.created_at + (s - 1) * interval '3 days' as at, ('x' || substr(md5('row' || h.k || '/' || s), 1, 7))::bit(28)::int % 10000 as rh
        from history_contacts h cross join generate_series(1, 2) s
      ),
      fated as (
        select *, case
          when step = 2 and at > ${now} then 'queued'
          when step = 2 and (fate < 350 or fate between 350 and 549 or fate between 560 and 609) then 'cancelled'
          when at > ${now}::timestamptz - interval '1 hour' then (array['queued', 'queued', 'queued', 'claimed', 'sending', 'unknown', 'held', 'queued'])[1 + rh % 8]
          when step = 1 and fate < 150 then 'bounced'
          when step = 1 and fate between 300 and 349 then 'failed'
          when rh % 1000 = 7 then 'suppressed'
          else 'sent' end as status
        from rows
      )
      insert into email_queue (client_id, campaign_id, contact_id, step_id, step_number, account_id, claimed_by_account_id, to_email, recipient_domain,
        status, run_after, attempts, message_id, sent_at, created_at, updated_at)
      select ${id('client', 'campaign % 4')}, ${id('campaign', 'campaign')}, contact_id, ${id('step', "campaign || '/' || step")}, step,
        case when step = 2 or status not in ('queued', 'suppressed') or rh % 2 = 0 then ${id('account', 'mailbox')} end,
        case when status not in ('queued', 'suppressed', 'cancelled') then ${id('account', 'mailbox')} end,
        'p' || k || '@r' || (k % 500) || '.example', 'r' || (k % 500) || '.example',
        status, greatest(at, ${now}::timestamptz - interval '1 hour') + case when status = 'queued' and rh % 3 = 0 then interval '2 hours' else interval '0' end,
        case when status in ('failed', 'held') or (status = 'queued' and rh % 5 = 0) then 1 + rh % 3 else case when status in ('sent', 'bounced') then 1 else 0 end end,
        '<h' || k || '.' || step || '@history.bench>',
        case when status = 'sent' then at + make_interval(mins => rh % 50) end,
        at, at + make_interval(mins => rh % 50)
      from fated`);
  });
  await sql`
    -- Hard bounces: half at the SMTP answer (status bounced), half by DSN after acceptance.
    insert into bounces (client_id, queue_id, account_id, email, bounce_type, code, received_at)
    select q.client_id, q.id, q.claimed_by_account_id, q.to_email, 'hard', '5.1.1', q.updated_at + interval '5 minutes' from email_queue q
    where q.message_id like '<h%@history.bench>' and ${ownRows('q')} and (q.status = 'bounced' or (q.status = 'sent' and q.step_number = 1 and ('x' || substr(md5('fate' || ${contactOf('q')}), 1, 7))::bit(28)::int % 10000 between 150 and 299));
  `.execute(db);
  await sql`
    with sent as (select q.*, ('x' || substr(md5('ev' || q.id), 1, 7))::bit(28)::int % 10000 as eh from email_queue q
      where q.message_id like '<h%@history.bench>' and q.sent_at is not null and ${ownRows('q')})
    , opens as (insert into open_events (client_id, campaign_id, queue_id, user_agent, automated_reason, occurred_at)
      select client_id, campaign_id, id, 'Mozilla/5.0', null, sent_at + make_interval(mins => 10 + eh % 600 + n * 37) from sent, generate_series(0, 2) n where eh < 3500 and n <= eh % 3
      union all select client_id, campaign_id, id, 'GoogleImageProxy', 'privacy_proxy', sent_at + interval '1 minute' from sent where eh between 3500 and 4499
      returning 1)
    , clicks as (insert into click_events (client_id, campaign_id, queue_id, link_id, user_agent, occurred_at)
      select s.client_id, s.campaign_id, s.id, l.id, 'Mozilla/5.0', s.sent_at + make_interval(mins => 20 + s.eh % 600) from sent s
      join links l on l.step_id = s.step_id where s.eh < 600 returning 1)
    , logs as (insert into send_logs (queue_id, client_id, campaign_id, account_id, message_id, attempt, outcome, smtp_code, response, duration_ms, created_at)
      select id, client_id, campaign_id, claimed_by_account_id, message_id, 1, 'accepted', 250, '250 2.0.0 OK queued as ' || id, 80 + eh % 400, sent_at from sent
      returning 1)
    select (select count(*) from opens) + (select count(*) from clicks) + (select count(*) from logs)
  `.execute(db);
  await sql`
    with first_steps as (select q.*, ('x' || substr(md5('fate' || ${contactOf('q')}), 1, 7))::bit(28)::int % 10000 as fate from email_queue q
      where q.message_id like '<h%@history.bench>' and q.step_number = 1 and q.sent_at is not null and ${ownRows('q')})
    , replies_in as (insert into replies (client_id, queue_id, campaign_id, contact_id, account_id, from_email, subject, snippet, received_at)
      select client_id, case when fate % 10 = 3 then null else id end, campaign_id, contact_id, claimed_by_account_id, to_email, 'Re: step 1', 'Thanks, tell me more', sent_at + interval '6 hours'
      from first_steps where fate between 350 and 549 returning 1)
    , complaints_in as (insert into complaints (client_id, queue_id, account_id, email, source, received_at)
      select client_id, id, claimed_by_account_id, to_email, 'arf', sent_at + interval '1 day' from first_steps where fate between 550 and 559 returning 1)
    select (select count(*) from replies_in) + (select count(*) from complaints_in)
  `.execute(db);
}
