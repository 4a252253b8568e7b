/**
 * The rest of issue 14's effects.
 *
 * - campaigns.stop_company_on_reply: a reply also stops every other contact of the same
 *   (non free-mail) company domain in that campaign. null: inbound.stopCompanyOnReply decides,
 *   so campaigns made before this column follow the configuration as they did.
 * - open_events / click_events.source ('pixel' / 'link': ours; 'ses', 'sendgrid', 'mailgun':
 *   an ESP's open or click webhook) and provider_event_id, unique per source, so an ESP event
 *   delivered twice is one row. An ESP's click names a URL, not one of our tracked links:
 *   link_id is null for it and url holds what the ESP reported.
 * - sender_domain_rate_levels: the complaint-rate level (warn / pause) a sender domain of a
 *   client was last alerted at, so crossing a threshold raises one alert, not one per complaint.
 *   Keyed by the domain name, as the rates are (accounts send from a domain whether or not it
 *   is registered in sender_domains).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table campaigns add column stop_company_on_reply boolean;

    alter table open_events
      add column source text not null default 'pixel',
      add column provider_event_id text;
    create unique index open_events_provider_event_idx on open_events (source, provider_event_id) where provider_event_id is not null;

    alter table click_events
      alter column link_id drop not null,
      add column source text not null default 'link',
      add column provider_event_id text,
      add column url text;
    create unique index click_events_provider_event_idx on click_events (source, provider_event_id) where provider_event_id is not null;

    create table sender_domain_rate_levels (
      client_id uuid not null references clients (id) on delete cascade,
      domain text not null,
      level text not null check (level in ('warn', 'pause')),
      complaint_rate_pct double precision not null,
      updated_at timestamptz not null default now(),
      primary key (client_id, domain)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table sender_domain_rate_levels;
    drop index click_events_provider_event_idx;
    alter table click_events drop column url, drop column provider_event_id, drop column source;
    drop index open_events_provider_event_idx;
    alter table open_events drop column provider_event_id, drop column source;
    alter table campaigns drop column stop_company_on_reply;
  `.execute(db);
}
