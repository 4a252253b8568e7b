/**
 * ESP event webhooks (src/webhooks/):
 * - webhook_endpoints: one per client and provider account an operator points at us (SES
 *   through SNS, SendGrid, Mailgun); its id is in the public URL. The verification key
 *   (SendGrid's public key, Mailgun's signing key) is stored encrypted with the credential
 *   cipher; SES endpoints list the SNS topics they accept instead.
 * - webhook_deliveries: the outbox between the request (verified, stored, answered 2xx at
 *   once) and the loop that turns it into feedback events; unique on the body's hash per
 *   client and provider, so a batch the ESP delivers again costs one conflicting insert.
 * - webhook_tokens: Mailgun tokens seen, kept until they expire, so several nodes refuse a
 *   replayed one alike.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table webhook_endpoints (
      id uuid primary key default gen_random_uuid(),
      client_id uuid not null references clients (id) on delete cascade,
      provider text not null check (provider in ('ses', 'sendgrid', 'mailgun')),
      name text not null,
      verification_key_encrypted text,
      topic_arns text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index webhook_endpoints_client_idx on webhook_endpoints (client_id, created_at);

    create table webhook_deliveries (
      id bigint generated always as identity primary key,
      client_id uuid not null references clients (id) on delete cascade,
      endpoint_id uuid references webhook_endpoints (id) on delete set null,
      provider text not null,
      body bytea not null,
      body_sha256 bytea not null,
      received_at timestamptz not null default now(),
      status text not null default 'pending' check (status in ('pending', 'processing', 'done', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      lease_token uuid,
      lease_expires_at timestamptz,
      last_error text,
      events integer,
      processed_at timestamptz,
      unique (client_id, provider, body_sha256)
    );
    create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at, id) where status in ('pending', 'processing');
    create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, status) where endpoint_id is not null;
    create index webhook_deliveries_processed_idx on webhook_deliveries (processed_at) where processed_at is not null;

    create table webhook_tokens (
      endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
      token text not null,
      expires_at timestamptz not null,
      primary key (endpoint_id, token)
    );
    create index webhook_tokens_expiry_idx on webhook_tokens (expires_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table webhook_tokens;
    drop table webhook_deliveries;
    drop table webhook_endpoints;
  `.execute(db);
}
