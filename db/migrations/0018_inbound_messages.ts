/**
 * Inbound mail and ESP feedback events (src/inbound/): every message a reader or webhook hands
 * over is stored once, with what it was classified as, the queue row it was matched to, the
 * effects that were applied (so a person's reclassification can undo them) and a bounded copy
 * of its source.
 *
 * - inbound_messages: idempotent on (source, account_key, source_key); account_key is the
 *   account id or '' (a bounce mailbox or ESP webhook has none), kept apart from account_id so
 *   deleting an account never makes two stored messages collide.
 * - suppressions.reason gains 'soft_bounce' (N soft bounces in a window), and
 *   campaign_contacts.status gains 'complained' (a complaint stops every sequence of the
 *   contact without counting it as an unsubscribe).
 * - bounces, complaints and replies name the inbound message that recorded them, so the
 *   stats keep reading the same tables and a reclassification removes exactly its own rows.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table inbound_messages (
      id bigint generated always as identity primary key,
      client_id uuid references clients (id) on delete cascade,
      account_id uuid references sender_accounts (id) on delete set null,
      account_key text not null default '',
      source text not null,
      source_key text not null,
      received_at timestamptz not null,
      from_address text,
      to_address text,
      subject text not null default '',
      message_id text,
      headers jsonb not null default '{}',
      kind text not null check (kind in ('bounce', 'delay', 'delivered', 'complaint', 'reply', 'auto_reply', 'unmatched')),
      sub_kind text,
      reason text,
      evidence text not null default '',
      classification jsonb not null default '{}',
      queue_id bigint,
      campaign_id uuid,
      contact_id uuid,
      step_number integer,
      match_method text,
      text text,
      raw bytea,
      raw_size integer not null default 0,
      effects jsonb not null default '[]',
      history jsonb not null default '[]',
      created_at timestamptz not null default now(),
      unique (source, account_key, source_key)
    );
    create index inbound_messages_client_idx on inbound_messages (client_id, id);
    create index inbound_messages_campaign_idx on inbound_messages (campaign_id, id) where campaign_id is not null;
    create index inbound_messages_account_idx on inbound_messages (account_id, id) where account_id is not null;
    create index inbound_messages_contact_idx on inbound_messages (contact_id, id) where contact_id is not null;
    create index inbound_messages_received_idx on inbound_messages (received_at);

    alter table bounces add column inbound_message_id bigint references inbound_messages (id) on delete set null;
    alter table complaints add column inbound_message_id bigint references inbound_messages (id) on delete set null;
    alter table replies add column inbound_message_id bigint references inbound_messages (id) on delete set null;
    create index complaints_queue_idx on complaints (queue_id) where queue_id is not null;
    -- Soft bounces of one address in a window decide its suppression.
    create index bounces_client_email_idx on bounces (client_id, email, received_at);

    alter table suppressions drop constraint suppressions_reason_check;
    alter table suppressions add constraint suppressions_reason_check
      check (reason in ('unsubscribed', 'hard_bounce', 'soft_bounce', 'complaint', 'manual'));
    alter table campaign_contacts drop constraint campaign_contacts_status_check;
    alter table campaign_contacts add constraint campaign_contacts_status_check
      check (status in ('active', 'replied', 'bounced', 'complained', 'unsubscribed', 'finished', 'cancelled'));
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table bounces drop column inbound_message_id;
    alter table complaints drop column inbound_message_id;
    alter table replies drop column inbound_message_id;
    drop table inbound_messages;
  `.execute(db);
}
