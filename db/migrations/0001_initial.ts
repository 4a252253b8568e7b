/**
 * The whole data model. Later migrations add columns; this file never changes once landed.
 *
 * Conventions: tenant-owned tables carry client_id (invariant 5 is enforced in repositories
 * by always filtering on it); uuid keys for entities, bigint identity keys for the hot and
 * append-only tables; timestamps are timestamptz.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table clients (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      postal_address text not null default '',
      tracking_domain text,
      daily_limit integer check (daily_limit > 0),
      settings jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index clients_name_key on clients (lower(name));

    create table users (
      id uuid primary key default gen_random_uuid(),
      client_id uuid references clients (id) on delete cascade,
      email text not null,
      password_hash text not null,
      role text not null check (role in ('owner', 'client_admin', 'client_viewer')),
      -- Bumped on password change: every token carrying an older version is refused.
      token_version integer not null default 0,
      disabled_at timestamptz,
      last_login_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((role = 'owner') = (client_id is null))
    );
    create unique index users_email_key on users (lower(email));

    create table refresh_tokens (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      token_hash text not null unique,
      expires_at timestamptz not null,
      revoked_at timestamptz,
      created_at timestamptz not null default now()
    );

    create table sender_domains (
      id uuid primary key default gen_random_uuid(),
      client_id uuid not null references clients (id) on delete cascade,
      domain text not null,
      dkim_selector text,
      dkim_private_key_encrypted text,
      spf_status text not null default 'unchecked',
      dkim_status text not null default 'unchecked',
      dmarc_status text not null default 'unchecked',
      dns_checked_at timestamptz,
      dns_check_details jsonb not null default '{}',
      daily_limit integer check (daily_limit > 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index sender_domains_domain_key on sender_domains (lower(domain));
    create index sender_domains_client_idx on sender_domains (client_id);

    create table sender_accounts (
      id uuid primary key default gen_random_uuid(),
      client_id uuid not null references clients (id) on delete cascade,
      domain_id uuid references sender_domains (id) on delete set null,
      email text not null,
      display_name text not null default '',
      transport text not null check (transport in ('smtp', 'gmail', 'sink')),
      -- Non-secret transport settings (SMTP host/port/TLS, Gmail auth mode); secrets are in
      -- credentials_encrypted only.
      transport_settings jsonb not null default '{}',
      credentials_encrypted text,
      status text not null default 'active'
        check (status in ('active', 'paused', 'suspended', 'disabled', 'crashed')),
      pause_reason text,
      paused_until timestamptz,
      daily_limit integer not null default 50 check (daily_limit >= 0),
      hourly_limit integer not null default 20 check (hourly_limit >= 0),
      min_gap_seconds integer not null default 90 check (min_gap_seconds >= 0),
      warmup_enabled boolean not null default true,
      warmup_curve text,
      warmup_started_on date,
      health_score numeric(5, 2) not null default 100,
      consecutive_failures integer not null default 0,
      probe_pending boolean not null default false,
      next_send_at timestamptz,
      time_zone text not null default 'UTC',
      owner_node_id text,
      owner_lease_expires_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index sender_accounts_email_key on sender_accounts (lower(email));
    create index sender_accounts_client_idx on sender_accounts (client_id);
    create index sender_accounts_owner_idx on sender_accounts (owner_node_id, owner_lease_expires_at);

    create table campaigns (
      id uuid primary key default gen_random_uuid(),
      client_id uuid not null references clients (id) on delete cascade,
      name text not null,
      status text not null default 'draft'
        check (status in ('draft', 'running', 'paused', 'completed', 'cancelled')),
      time_zone text not null default 'UTC',
      use_recipient_time_zone boolean not null default false,
      send_days smallint[] not null default '{1,2,3,4,5}',
      window_start_minute integer not null default 540 check (window_start_minute between 0 and 1440),
      window_end_minute integer not null default 1020 check (window_end_minute between 0 and 1440),
      daily_limit integer check (daily_limit > 0),
      track_opens boolean not null default false,
      track_clicks boolean not null default false,
      stop_on_reply boolean not null default true,
      started_at timestamptz,
      completed_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index campaigns_client_idx on campaigns (client_id);
    create index campaigns_running_idx on campaigns (id) where status = 'running';

    create table campaign_senders (
      campaign_id uuid not null references campaigns (id) on delete cascade,
      account_id uuid not null references sender_accounts (id) on delete cascade,
      primary key (campaign_id, account_id)
    );
    create index campaign_senders_account_idx on campaign_senders (account_id);

    create table sequence_steps (
      id uuid primary key default gen_random_uuid(),
      campaign_id uuid not null references campaigns (id) on delete cascade,
      step_number integer not null check (step_number >= 1),
      subject text not null,
      body_html text not null default '',
      body_text text not null default '',
      delay_minutes integer not null default 0 check (delay_minutes >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (campaign_id, step_number)
    );

    create table contacts (
      id uuid primary key default gen_random_uuid(),
      client_id uuid not null references clients (id) on delete cascade,
      -- Stored lower-cased so uniqueness and suppression checks are exact matches.
      email text not null,
      email_domain text not null,
      first_name text not null default '',
      last_name text not null default '',
      company text not null default '',
      time_zone text,
      custom_fields jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (client_id, email)
    );

    create table campaign_contacts (
      campaign_id uuid not null references campaigns (id) on delete cascade,
      contact_id uuid not null references contacts (id) on delete cascade,
      status text not null default 'active'
        check (status in ('active', 'replied', 'bounced', 'unsubscribed', 'finished', 'cancelled')),
      -- The mailbox that sent step 1: follow-ups go out from it, in its thread.
      account_id uuid references sender_accounts (id) on delete set null,
      thread_message_id text,
      added_at timestamptz not null default now(),
      primary key (campaign_id, contact_id)
    );
    create index campaign_contacts_contact_idx on campaign_contacts (contact_id);

    create table email_queue (
      id bigint generated always as identity primary key,
      client_id uuid not null references clients (id) on delete cascade,
      campaign_id uuid not null references campaigns (id) on delete cascade,
      contact_id uuid not null references contacts (id) on delete cascade,
      step_id uuid not null references sequence_steps (id) on delete cascade,
      step_number integer not null,
      account_id uuid references sender_accounts (id) on delete set null,
      to_email text not null,
      recipient_domain text not null,
      status text not null default 'queued'
        check (status in ('queued', 'claimed', 'sending', 'sent', 'bounced', 'failed',
                          'unknown', 'held', 'suppressed', 'cancelled')),
      run_after timestamptz not null default now(),
      attempts integer not null default 0,
      -- Fixed at enqueue and kept across retries: the key for duplicate detection.
      message_id text not null unique,
      lease_token uuid,
      lease_expires_at timestamptz,
      last_error text,
      priority integer not null default 0,
      sent_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (campaign_id, contact_id, step_id)
    );
    -- The hot part of the queue: only waiting rows are indexed for claiming.
    create index email_queue_waiting_assigned_idx on email_queue (account_id, priority desc, run_after, id)
      where status = 'queued' and account_id is not null;
    create index email_queue_waiting_pool_idx on email_queue (campaign_id, priority desc, run_after, id)
      where status = 'queued' and account_id is null;
    create index email_queue_leased_idx on email_queue (lease_expires_at)
      where status in ('claimed', 'sending');
    create index email_queue_unknown_idx on email_queue (account_id) where status = 'unknown';
    create index email_queue_campaign_status_idx on email_queue (campaign_id, status);
    create index email_queue_contact_idx on email_queue (contact_id);

    create table send_logs (
      id bigint generated always as identity primary key,
      queue_id bigint not null,
      client_id uuid not null,
      campaign_id uuid not null,
      account_id uuid,
      message_id text not null,
      attempt integer not null,
      outcome text not null
        check (outcome in ('accepted', 'transient', 'recipient_permanent', 'sender_blocked', 'auth', 'unknown', 'reconciled')),
      smtp_code integer,
      enhanced_code text,
      response text,
      provider_message_id text,
      duration_ms integer,
      created_at timestamptz not null default now()
    );
    create index send_logs_queue_idx on send_logs (queue_id);
    create index send_logs_account_time_idx on send_logs (account_id, created_at);
    create index send_logs_campaign_time_idx on send_logs (campaign_id, created_at);

    -- Send history is evidence: refuse edits and deletes at the database level.
    create function refuse_send_log_change() returns trigger language plpgsql as $$
    begin
      raise exception 'send_logs is append-only';
    end $$;
    create trigger send_logs_append_only before update or delete on send_logs
      for each row execute function refuse_send_log_change();

    create table suppressions (
      id bigint generated always as identity primary key,
      client_id uuid not null references clients (id) on delete cascade,
      email text not null,
      reason text not null check (reason in ('unsubscribed', 'hard_bounce', 'complaint', 'manual')),
      source text not null default '',
      created_at timestamptz not null default now(),
      unique (client_id, email)
    );

    create table bounces (
      id bigint generated always as identity primary key,
      client_id uuid not null references clients (id) on delete cascade,
      queue_id bigint,
      account_id uuid,
      email text not null,
      bounce_type text not null check (bounce_type in ('hard', 'soft')),
      code text,
      diagnostic text,
      source text not null default '',
      received_at timestamptz not null default now()
    );
    create index bounces_client_time_idx on bounces (client_id, received_at);
    create index bounces_account_time_idx on bounces (account_id, received_at);

    create table complaints (
      id bigint generated always as identity primary key,
      client_id uuid not null references clients (id) on delete cascade,
      queue_id bigint,
      account_id uuid,
      email text not null,
      source text not null default '',
      received_at timestamptz not null default now()
    );
    create index complaints_account_time_idx on complaints (account_id, received_at);

    create table replies (
      id bigint generated always as identity primary key,
      client_id uuid not null references clients (id) on delete cascade,
      queue_id bigint,
      campaign_id uuid,
      contact_id uuid,
      account_id uuid,
      from_email text not null,
      subject text not null default '',
      snippet text not null default '',
      message_id text,
      received_at timestamptz not null default now()
    );
    create index replies_campaign_idx on replies (campaign_id);

    -- Tracked links are stored here so a click never takes its target from the URL.
    create table links (
      id bigint generated always as identity primary key,
      client_id uuid not null references clients (id) on delete cascade,
      campaign_id uuid not null references campaigns (id) on delete cascade,
      step_id uuid not null references sequence_steps (id) on delete cascade,
      url text not null,
      created_at timestamptz not null default now(),
      unique (step_id, url)
    );

    create table open_events (
      id bigint generated always as identity primary key,
      client_id uuid not null,
      campaign_id uuid not null,
      queue_id bigint not null,
      ip inet,
      user_agent text,
      -- Mail-privacy proxies and scanners fetch pixels too: flagged, not counted as human.
      automated_reason text,
      occurred_at timestamptz not null default now()
    );
    create index open_events_campaign_idx on open_events (campaign_id, occurred_at);
    create index open_events_queue_idx on open_events (queue_id);

    create table click_events (
      id bigint generated always as identity primary key,
      client_id uuid not null,
      campaign_id uuid not null,
      queue_id bigint not null,
      link_id bigint not null,
      ip inet,
      user_agent text,
      automated_reason text,
      occurred_at timestamptz not null default now()
    );
    create index click_events_campaign_idx on click_events (campaign_id, occurred_at);
    create index click_events_queue_idx on click_events (queue_id);

    create table sponsors (
      id uuid primary key default gen_random_uuid(),
      client_id uuid not null references clients (id) on delete cascade,
      name text not null,
      delivery_url text,
      delivery_secret_encrypted text,
      status text not null default 'active' check (status in ('active', 'disabled')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index sponsors_client_idx on sponsors (client_id);

    create table sponsor_api_keys (
      id uuid primary key default gen_random_uuid(),
      sponsor_id uuid not null references sponsors (id) on delete cascade,
      -- A short public prefix to find the row; only a hash of the whole key is stored.
      key_prefix text not null unique,
      key_hash text not null,
      last_used_at timestamptz,
      revoked_at timestamptz,
      created_at timestamptz not null default now()
    );

    create table offers (
      id uuid primary key default gen_random_uuid(),
      client_id uuid not null references clients (id) on delete cascade,
      sponsor_id uuid not null references sponsors (id) on delete cascade,
      name text not null,
      description text not null default '',
      landing_url text,
      payout_cents integer check (payout_cents >= 0),
      lead_fields jsonb not null default '[]',
      status text not null default 'active' check (status in ('active', 'paused', 'archived')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index offers_sponsor_idx on offers (sponsor_id);

    create table leads (
      id uuid primary key default gen_random_uuid(),
      client_id uuid not null references clients (id) on delete cascade,
      sponsor_id uuid not null references sponsors (id) on delete cascade,
      offer_id uuid references offers (id) on delete set null,
      idempotency_key text not null,
      email text not null,
      data jsonb not null default '{}',
      source_queue_id bigint,
      created_at timestamptz not null default now(),
      unique (sponsor_id, idempotency_key)
    );

    create table lead_deliveries (
      id bigint generated always as identity primary key,
      lead_id uuid not null unique references leads (id) on delete cascade,
      status text not null default 'pending' check (status in ('pending', 'delivering', 'delivered', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      lease_expires_at timestamptz,
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index lead_deliveries_due_idx on lead_deliveries (next_attempt_at) where status = 'pending';

    create table nodes (
      id text primary key,
      hostname text not null,
      pid integer not null,
      started_at timestamptz not null default now(),
      last_heartbeat_at timestamptz not null default now()
    );

    create table worker_heartbeats (
      account_id uuid primary key references sender_accounts (id) on delete cascade,
      node_id text,
      pid integer,
      state text not null,
      details jsonb not null default '{}',
      beat_at timestamptz not null default now()
    );

    -- Limit counters, reserved in the same transaction as the claim (invariant 3).
    -- scope: account | sender_domain | recipient_domain | campaign | client | global.
    create table rate_counters (
      scope text not null,
      scope_key text not null,
      window_kind text not null check (window_kind in ('day', 'hour', 'minute')),
      window_start timestamptz not null,
      count integer not null default 0 check (count >= 0),
      primary key (scope, scope_key, window_kind, window_start)
    );
    create index rate_counters_window_idx on rate_counters (window_start);

    create table circuit_breakers (
      scope text not null check (scope in ('provider', 'recipient_domain')),
      scope_key text not null,
      consecutive_failures integer not null default 0,
      opened_until timestamptz,
      updated_at timestamptz not null default now(),
      primary key (scope, scope_key)
    );

    create table alerts (
      id bigint generated always as identity primary key,
      client_id uuid references clients (id) on delete cascade,
      account_id uuid references sender_accounts (id) on delete cascade,
      severity text not null check (severity in ('info', 'warning', 'critical')),
      code text not null,
      message text not null,
      details jsonb not null default '{}',
      created_at timestamptz not null default now(),
      resolved_at timestamptz
    );
    create index alerts_open_idx on alerts (created_at) where resolved_at is null;

    create table audit_log (
      id bigint generated always as identity primary key,
      client_id uuid,
      actor_type text not null check (actor_type in ('user', 'system', 'worker', 'sponsor')),
      actor_id text,
      action text not null,
      entity_type text not null,
      entity_id text,
      details jsonb not null default '{}',
      created_at timestamptz not null default now()
    );
    create index audit_log_entity_idx on audit_log (entity_type, entity_id, created_at);
    create index audit_log_client_idx on audit_log (client_id, created_at);

    create table runtime_settings (
      key text primary key,
      value jsonb not null,
      updated_at timestamptz not null default now()
    );
  `.execute(db);
}

export async function down(): Promise<void> {
  // Never rolled back: data is never thrown away by a migration.
  throw new Error('0001_initial cannot be rolled back');
}
