/**
 * Statistics from rollups kept up to date by triggers, not from scanning history at every
 * request (issue 17). The figures are those stats.repository.ts always answered; only where
 * they are computed changes.
 *
 * - queue_stats_rows: one row per queue row with what the stats need of it — its group (campaign,
 *   step, the account holding it: rowHolder), its state, and the first events recorded against
 *   it (first human open and click, first bounce and whether one was hard, first complaint, a
 *   reply tied to it). These firsts are sticky: deleting old events (retention) never takes a
 *   figure back. `replied` and `unsubscribed` also follow the contact's last sent step.
 * - stats_campaign_rollup (campaign, step, holder), stats_account_rollup (client, holder, UTC
 *   day the row was created) and stats_campaign_days (campaign, UTC day of each event): sums of
 *   those rows' 0/1 counters (src/stats/rollup-metrics.ts), kept as append-only deltas that
 *   stats_fold() merges every few seconds (readers sum every row of a key).
 * - One trigger function, stats_refresh(queue row, fact), recomputes a queue row's entry and
 *   moves its contribution (minus the old, plus the new) whenever the row or something it
 *   depends on changes: the queue row itself, an open, a click, a bounce, a complaint, a reply
 *   or the contact's campaign status. Recomputing from the row (not incrementing per event) makes
 *   the result independent of the order rows arrive in, and counts an open once per row however
 *   often the pixel is fetched.
 * Existing rows are backfilled in this migration with the same definitions, set-based, under a
 * lock that keeps writers out until the triggers exist.
 */
import { type Kysely, sql } from 'kysely';
import { COUNTER_SQL, DAY_COUNTERS, DAY_SQL, ROLLUP_COUNTERS } from '../../src/stats/rollup-metrics';

const on = (alias: string, expr: string) => expr.replaceAll('r.', `${alias}.`);
const counterColumns = ROLLUP_COUNTERS.map((c) => `${c} bigint not null default 0`).join(', ');
const dayColumns = DAY_COUNTERS.map((c) => `${c} bigint not null default 0`).join(', ');
const cols = ROLLUP_COUNTERS.join(', ');
const addExcluded = (table: string) => ROLLUP_COUNTERS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ');
/** Counter values of `alias` times `sign`. */
const signed = (alias: string, sign: string) => ROLLUP_COUNTERS.map((c) => `${sign} * ${on(alias, COUNTER_SQL[c])}`).join(', ');
const sums = ROLLUP_COUNTERS.map((c) => `sum(${COUNTER_SQL[c]})`).join(', ');
const holder = (q: string) => `case when ${q}.status in ('queued', 'suppressed', 'cancelled') then ${q}.account_id else coalesce(${q}.account_id, ${q}.claimed_by_account_id) end`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`lock table email_queue, open_events, click_events, bounces, complaints, replies, campaign_contacts in share row exclusive mode`.execute(db);
  await sql.raw(`
    create table queue_stats_rows (
      queue_id bigint primary key,
      client_id uuid not null,
      campaign_id uuid not null,
      contact_id uuid not null,
      step_number integer not null,
      account_id uuid,
      status text not null,
      attempts integer not null,
      created_at timestamptz not null,
      sent_at timestamptz,
      -- Only for bounced rows: a bounce without a bounce record counts on the day it was marked.
      updated_at timestamptz,
      hard_bounced boolean not null default false,
      first_bounce_at timestamptz,
      opened_at timestamptz,
      clicked_at timestamptz,
      complained_at timestamptz,
      replied_direct boolean not null default false,
      replied boolean not null default false,
      unsubscribed boolean not null default false
    );
    -- Account figures read partial days (the edges of a period) from here.
    create index queue_stats_rows_created_idx on queue_stats_rows (created_at);

    -- The rollups are append-only between folds: a trigger only inserts delta rows (folded =
    -- false), so concurrent writers never wait on, or deadlock over, a shared counter row (every
    -- claim from a campaign's pool would otherwise update that pool's one row). stats_fold()
    -- merges the deltas into one folded row per key every few seconds; readers sum all rows.
    create table stats_campaign_rollup (
      campaign_id uuid not null, step_number integer not null, account_id uuid, ${counterColumns},
      folded boolean not null default false
    );
    create unique index stats_campaign_rollup_key on stats_campaign_rollup (campaign_id, step_number, account_id) nulls not distinct where folded;
    create index stats_campaign_rollup_campaign_idx on stats_campaign_rollup (campaign_id);
    create table stats_account_rollup (
      client_id uuid not null, account_id uuid not null, day date not null, ${counterColumns},
      folded boolean not null default false
    );
    create unique index stats_account_rollup_key on stats_account_rollup (day, account_id) where folded;
    create index stats_account_rollup_client_idx on stats_account_rollup (client_id, day);
    create table stats_campaign_days (
      campaign_id uuid not null, day date not null, ${dayColumns},
      folded boolean not null default false
    );
    create unique index stats_campaign_days_key on stats_campaign_days (campaign_id, day) where folded;
    create index stats_campaign_days_campaign_idx on stats_campaign_days (campaign_id);
    create index stats_campaign_rollup_deltas on stats_campaign_rollup (campaign_id) where not folded;
    create index stats_account_rollup_deltas on stats_account_rollup (day) where not folded;
    create index stats_campaign_days_deltas on stats_campaign_days (campaign_id) where not folded;

    -- Folds the deltas into the folded rows, one folder at a time (any node may call it).
    create function stats_fold() returns void language plpgsql as $$
    begin
      if not pg_try_advisory_xact_lock(hashtext('outreach.stats_fold')) then return; end if;
      with fresh as (delete from stats_campaign_rollup where not folded returning *)
      insert into stats_campaign_rollup (campaign_id, step_number, account_id, ${cols}, folded)
        select campaign_id, step_number, account_id, ${ROLLUP_COUNTERS.map((c) => `sum(${c})`).join(', ')}, true from fresh group by 1, 2, 3
        on conflict (campaign_id, step_number, account_id) where folded do update set ${addExcluded('stats_campaign_rollup')};
      with fresh as (delete from stats_account_rollup where not folded returning *)
      insert into stats_account_rollup (client_id, account_id, day, ${cols}, folded)
        select min(client_id::text)::uuid, account_id, day, ${ROLLUP_COUNTERS.map((c) => `sum(${c})`).join(', ')}, true from fresh group by 2, 3
        on conflict (day, account_id) where folded do update set ${addExcluded('stats_account_rollup')};
      with fresh as (delete from stats_campaign_days where not folded returning *)
      insert into stats_campaign_days (campaign_id, day, ${DAY_COUNTERS.join(', ')}, folded)
        select campaign_id, day, ${DAY_COUNTERS.map((c) => `sum(${c})`).join(', ')}, true from fresh group by 1, 2
        on conflict (campaign_id, day) where folded do update set ${DAY_COUNTERS.map((c) => `${c} = stats_campaign_days.${c} + excluded.${c}`).join(', ')};
    end $$;
    -- Contact-level replies (not tied to a queue row) are looked up per contact.
    create index replies_campaign_contact_idx on replies (campaign_id, contact_id) where queue_id is null;

    -- Adds (sign 1) or takes back (sign -1) one row's contribution to every rollup.
    create function stats_add(r queue_stats_rows, sign integer) returns void language plpgsql as $$
    begin
      insert into stats_campaign_rollup (campaign_id, step_number, account_id, ${cols})
        values (r.campaign_id, r.step_number, r.account_id, ${signed('r', 'sign')});
      if r.account_id is not null then
        insert into stats_account_rollup (client_id, account_id, day, ${cols})
          values (r.client_id, r.account_id, (r.created_at at time zone 'UTC')::date, ${signed('r', 'sign')});
      end if;
    end $$;

    create function stats_add_day(campaign uuid, metric text, d date, sign integer) returns void language plpgsql as $$
    begin
      if d is null then return; end if;
      execute format('insert into stats_campaign_days (campaign_id, day, %1$I) values ($1, $2, $3)', metric)
        using campaign, d, sign;
    end $$;

    -- Moves a row's contribution from what it was (o) to what it is (n); either may be null.
    create function stats_move(o queue_stats_rows, n queue_stats_rows) returns void language plpgsql as $$
    begin
      if o.queue_id is not null and n.queue_id is not null
         and o.campaign_id = n.campaign_id and o.step_number = n.step_number and o.account_id is not distinct from n.account_id
         and o.client_id = n.client_id and o.created_at = n.created_at then
        if (${ROLLUP_COUNTERS.map((c) => on('o', COUNTER_SQL[c])).join(', ')}) is distinct from (${ROLLUP_COUNTERS.map((c) => on('n', COUNTER_SQL[c])).join(', ')}) then
          perform stats_add(o, -1);
          perform stats_add(n, 1);
        end if;
      else
        if o.queue_id is not null then perform stats_add(o, -1); end if;
        if n.queue_id is not null then perform stats_add(n, 1); end if;
      end if;
      ${DAY_COUNTERS.map(
        (m) => `if (${on('o', DAY_SQL[m])}) is distinct from (${on('n', DAY_SQL[m])}) then
        perform stats_add_day(o.campaign_id, '${m}', ${on('o', DAY_SQL[m])}, -1);
        perform stats_add_day(n.campaign_id, '${m}', ${on('n', DAY_SQL[m])}, 1);
      end if;`,
      ).join('\n      ')}
    end $$;

    -- Recomputes a queue row's entry, merging a new first event (fact) into it.
    create function stats_refresh(q email_queue, fact text default null, at timestamptz default null, hard boolean default false)
    returns void language plpgsql as $$
    declare
      o queue_stats_rows;
      n queue_stats_rows;
      last_sent boolean;
    begin
      select * into o from queue_stats_rows where queue_id = q.id for update;
      if found then n := o; else n.hard_bounced := false; n.replied_direct := false; end if;
      n.queue_id := q.id; n.client_id := q.client_id; n.campaign_id := q.campaign_id; n.contact_id := q.contact_id;
      n.step_number := q.step_number; n.account_id := ${holder('q')};
      n.status := q.status; n.attempts := q.attempts; n.created_at := q.created_at; n.sent_at := q.sent_at;
      n.updated_at := case when q.status = 'bounced' then q.updated_at end;
      if fact = 'open' then n.opened_at := least(n.opened_at, at);
      elsif fact = 'click' then n.clicked_at := least(n.clicked_at, at);
      elsif fact = 'bounce' then n.first_bounce_at := least(n.first_bounce_at, at); n.hard_bounced := n.hard_bounced or hard;
      elsif fact = 'complaint' then n.complained_at := least(n.complained_at, at);
      elsif fact = 'reply' then n.replied_direct := true;
      end if;
      -- Replies not tied to a row, and unsubscribes, count on the contact's last sent step.
      last_sent := q.sent_at is not null and not exists (select 1 from email_queue s
        where s.campaign_id = q.campaign_id and s.contact_id = q.contact_id and s.sent_at is not null and s.step_number > q.step_number);
      n.unsubscribed := last_sent and exists (select 1 from campaign_contacts cc
        where cc.campaign_id = q.campaign_id and cc.contact_id = q.contact_id and cc.status = 'unsubscribed');
      n.replied := n.replied_direct or (last_sent and exists (select 1 from replies r
        where r.queue_id is null and r.campaign_id = q.campaign_id and r.contact_id = q.contact_id));
      if o.queue_id is not null and n is not distinct from o then return; end if;
      perform stats_move(o, n);
      insert into queue_stats_rows values (n.*) on conflict (queue_id) do update set
        client_id = excluded.client_id, campaign_id = excluded.campaign_id, contact_id = excluded.contact_id,
        step_number = excluded.step_number, account_id = excluded.account_id, status = excluded.status,
        attempts = excluded.attempts, created_at = excluded.created_at, sent_at = excluded.sent_at,
        updated_at = excluded.updated_at, hard_bounced = excluded.hard_bounced, first_bounce_at = excluded.first_bounce_at,
        opened_at = excluded.opened_at, clicked_at = excluded.clicked_at, complained_at = excluded.complained_at,
        replied_direct = excluded.replied_direct, replied = excluded.replied, unsubscribed = excluded.unsubscribed;
    end $$;

    -- The contact's other sent rows: which one is the last sent step may have changed.
    create function stats_refresh_contact(campaign uuid, contact uuid, except_id bigint) returns void language plpgsql as $$
    declare s email_queue;
    begin
      for s in select * from email_queue where campaign_id = campaign and contact_id = contact and sent_at is not null and id <> coalesce(except_id, -1) loop
        perform stats_refresh(s);
      end loop;
    end $$;

    create function stats_on_queue() returns trigger language plpgsql as $$
    declare o queue_stats_rows;
    begin
      if tg_op = 'DELETE' then
        delete from queue_stats_rows where queue_id = old.id returning * into o;
        if found then perform stats_move(o, null); end if;
        if old.sent_at is not null then perform stats_refresh_contact(old.campaign_id, old.contact_id, old.id); end if;
        return null;
      end if;
      perform stats_refresh(new);
      if (tg_op = 'INSERT' and new.sent_at is not null)
         or (tg_op = 'UPDATE' and (old.sent_at is distinct from new.sent_at or old.step_number <> new.step_number)) then
        perform stats_refresh_contact(new.campaign_id, new.contact_id, new.id);
      end if;
      return null;
    end $$;
    create trigger email_queue_stats after insert or update or delete on email_queue
      for each row execute function stats_on_queue();

    -- An event for a row: skipped at once when the row already has an earlier one of its kind
    -- (the usual case for a repeated pixel fetch), else merged into the row's entry.
    create function stats_on_event(queue bigint, fact text, at timestamptz, hard boolean) returns void language plpgsql as $$
    declare q email_queue;
    begin
      if queue is null then return; end if;
      if fact = 'open' and exists (select 1 from queue_stats_rows where queue_id = queue and opened_at <= at) then return; end if;
      if fact = 'click' and exists (select 1 from queue_stats_rows where queue_id = queue and clicked_at <= at) then return; end if;
      if fact = 'complaint' and exists (select 1 from queue_stats_rows where queue_id = queue and complained_at <= at) then return; end if;
      if fact = 'reply' and exists (select 1 from queue_stats_rows where queue_id = queue and replied_direct) then return; end if;
      if fact = 'bounce' and exists (select 1 from queue_stats_rows where queue_id = queue and first_bounce_at <= at and (hard_bounced or not hard)) then return; end if;
      select * into q from email_queue where id = queue;
      if found then perform stats_refresh(q, fact, at, hard); end if;
    end $$;

    create function stats_on_open() returns trigger language plpgsql as $$
    begin perform stats_on_event(new.queue_id, 'open', new.occurred_at, false); return null; end $$;
    create trigger open_events_stats after insert on open_events
      for each row when (new.automated_reason is null) execute function stats_on_open();
    create function stats_on_click() returns trigger language plpgsql as $$
    begin perform stats_on_event(new.queue_id, 'click', new.occurred_at, false); return null; end $$;
    create trigger click_events_stats after insert on click_events
      for each row when (new.automated_reason is null) execute function stats_on_click();
    create function stats_on_bounce() returns trigger language plpgsql as $$
    begin perform stats_on_event(new.queue_id, 'bounce', new.received_at, new.bounce_type = 'hard'); return null; end $$;
    create trigger bounces_stats after insert on bounces
      for each row when (new.queue_id is not null) execute function stats_on_bounce();
    create function stats_on_complaint() returns trigger language plpgsql as $$
    begin perform stats_on_event(new.queue_id, 'complaint', new.received_at, false); return null; end $$;
    create trigger complaints_stats after insert on complaints
      for each row when (new.queue_id is not null) execute function stats_on_complaint();
    create function stats_on_reply() returns trigger language plpgsql as $$
    begin
      if new.queue_id is not null then perform stats_on_event(new.queue_id, 'reply', new.received_at, false);
      elsif new.campaign_id is not null and new.contact_id is not null then perform stats_refresh_contact(new.campaign_id, new.contact_id, null);
      end if;
      return null;
    end $$;
    create trigger replies_stats after insert on replies for each row execute function stats_on_reply();
    create function stats_on_campaign_contact() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then perform stats_refresh_contact(old.campaign_id, old.contact_id, null);
      else perform stats_refresh_contact(new.campaign_id, new.contact_id, null);
      end if;
      return null;
    end $$;
    create trigger campaign_contacts_stats after insert or delete or update of status on campaign_contacts
      for each row execute function stats_on_campaign_contact();
  `).execute(db);
  await backfill(db);
}

/**
 * The same definitions as stats_refresh, set-based over every existing row (also used by the
 * history bench after a bulk fill with the triggers off: the rollup tables must be empty).
 */
export async function backfill(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
    insert into queue_stats_rows
    select q.id, q.client_id, q.campaign_id, q.contact_id, q.step_number, ${holder('q')}, q.status, q.attempts, q.created_at, q.sent_at,
      case when q.status = 'bounced' then q.updated_at end,
      coalesce(b.hard, false), b.first_at, o.first_at, c.first_at, x.first_at, rp.queue_id is not null, rp.queue_id is not null, false
    from email_queue q
    left join (select queue_id, bool_or(bounce_type = 'hard') as hard, min(received_at) as first_at from bounces where queue_id is not null group by 1) b on b.queue_id = q.id
    left join (select queue_id, min(occurred_at) as first_at from open_events where automated_reason is null group by 1) o on o.queue_id = q.id
    left join (select queue_id, min(occurred_at) as first_at from click_events where automated_reason is null group by 1) c on c.queue_id = q.id
    left join (select queue_id, min(received_at) as first_at from complaints where queue_id is not null group by 1) x on x.queue_id = q.id
    left join (select distinct queue_id from replies where queue_id is not null) rp on rp.queue_id = q.id;

    with last_sent as (
      select distinct on (campaign_id, contact_id) queue_id, campaign_id, contact_id from queue_stats_rows
      where sent_at is not null order by campaign_id, contact_id, step_number desc
    ),
    flags as (
      select l.queue_id,
        exists (select 1 from campaign_contacts cc where cc.campaign_id = l.campaign_id and cc.contact_id = l.contact_id and cc.status = 'unsubscribed') as unsubscribed,
        exists (select 1 from replies r where r.queue_id is null and r.campaign_id = l.campaign_id and r.contact_id = l.contact_id) as contact_replied
      from last_sent l
    )
    update queue_stats_rows r set unsubscribed = f.unsubscribed, replied = r.replied or f.contact_replied
    from flags f where f.queue_id = r.queue_id and (f.unsubscribed or f.contact_replied);

    insert into stats_campaign_rollup (campaign_id, step_number, account_id, ${cols}, folded)
      select campaign_id, step_number, account_id, ${sums}, true from queue_stats_rows r group by 1, 2, 3;
    insert into stats_account_rollup (client_id, account_id, day, ${cols}, folded)
      select min(client_id::text)::uuid, account_id, (created_at at time zone 'UTC')::date, ${sums}, true
      from queue_stats_rows r where account_id is not null group by 2, 3;
    insert into stats_campaign_days (campaign_id, day, ${DAY_COUNTERS.join(', ')}, folded)
      select campaign_id, day, ${DAY_COUNTERS.map((m) => `count(*) filter (where metric = '${m}')`).join(', ')}, true
      from (${DAY_COUNTERS.map((m) => `select campaign_id, ${DAY_SQL[m]} as day, '${m}' as metric from queue_stats_rows r`).join(' union all ')}) e
      where day is not null group by 1, 2;
  `).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop trigger email_queue_stats on email_queue;
    drop trigger open_events_stats on open_events;
    drop trigger click_events_stats on click_events;
    drop trigger bounces_stats on bounces;
    drop trigger complaints_stats on complaints;
    drop trigger replies_stats on replies;
    drop trigger campaign_contacts_stats on campaign_contacts;
    drop function stats_on_queue, stats_on_open, stats_on_click, stats_on_bounce, stats_on_complaint, stats_on_reply,
      stats_on_campaign_contact, stats_on_event, stats_refresh_contact, stats_refresh, stats_move, stats_add_day, stats_add, stats_fold;
    drop index replies_campaign_contact_idx;
    drop table stats_campaign_days, stats_account_rollup, stats_campaign_rollup, queue_stats_rows;
  `.execute(db);
}
