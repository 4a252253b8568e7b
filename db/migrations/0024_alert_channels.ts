/**
 * Alerts that reach a person (src/alerts/):
 * - alerts gain an entity key, so there is one open alert per (client, code, entity): a repeat
 *   bumps `occurrences` and `last_seen_at` instead of a new row and a new message; and
 *   acknowledgement (who, when). Rows written before this migration get a key of their own.
 * - alert_channels: where alerts go (Telegram bot, Slack incoming webhook, signed webhook,
 *   e-mail). client_id null: the owner's, receiving every alert; otherwise a client's, receiving
 *   that client's. The secret (bot token, Slack URL, signing secret) is encrypted with the
 *   credential cipher and never answered.
 * - alert_deliveries: the outbox of messages per channel (raised, resolved, test), retried with
 *   back-off under a lease like lead_deliveries; 'rate_limited' rows were never sent.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table alerts
      add column entity_key text,
      add column occurrences integer not null default 1,
      add column last_seen_at timestamptz,
      add column acknowledged_at timestamptz,
      add column acknowledged_by uuid references users (id) on delete set null;
    update alerts set entity_key = 'alert:' || id, last_seen_at = created_at;
    alter table alerts
      alter column entity_key set not null,
      alter column last_seen_at set not null,
      alter column last_seen_at set default now();
    create unique index alerts_open_entity_idx on alerts (client_id, code, entity_key) nulls not distinct where resolved_at is null;
    create index alerts_client_idx on alerts (client_id, created_at);
    -- Resolving by an entity unique on its own (mailbox:<id>) without its client: cheap enough for every poll.
    create index alerts_open_entity_key_idx on alerts (entity_key) where resolved_at is null;

    create table alert_channels (
      id uuid primary key default gen_random_uuid(),
      client_id uuid references clients (id) on delete cascade,
      kind text not null check (kind in ('telegram', 'slack', 'webhook', 'email')),
      name text not null,
      min_severity text not null default 'warning' check (min_severity in ('info', 'warning', 'critical')),
      enabled boolean not null default true,
      settings jsonb not null default '{}',
      secret_encrypted text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index alert_channels_client_idx on alert_channels (client_id, created_at);

    create table alert_deliveries (
      id bigint generated always as identity primary key,
      channel_id uuid not null references alert_channels (id) on delete cascade,
      alert_id bigint references alerts (id) on delete cascade,
      event text not null check (event in ('raised', 'resolved', 'test')),
      status text not null default 'pending' check (status in ('pending', 'delivering', 'delivered', 'failed', 'rate_limited')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      lease_token uuid,
      lease_expires_at timestamptz,
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index alert_deliveries_due_idx on alert_deliveries (next_attempt_at) where status in ('pending', 'delivering');
    create index alert_deliveries_channel_idx on alert_deliveries (channel_id, created_at);
    create index alert_deliveries_alert_idx on alert_deliveries (alert_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table alert_deliveries;
    drop table alert_channels;
    drop index alerts_open_entity_key_idx;
    drop index alerts_client_idx;
    drop index alerts_open_entity_idx;
    alter table alerts drop column entity_key, drop column occurrences, drop column last_seen_at, drop column acknowledged_at, drop column acknowledged_by;
  `.execute(db);
}
