/**
 * Inbox reading (issue 14 item 1).
 *
 * - inbound_mailboxes: one row per mailbox the server reads — an account's own inbox (SMTP
 *   accounts with IMAP settings, Gmail accounts) or a sender domain's bounce mailbox (relays
 *   with their own return path). It is the cursor (IMAP UIDVALIDITY + last UID read, or the
 *   Gmail historyId), the schedule (next_poll_at, spread over the poll interval) and the claim
 *   (claimed_until / claimed_by: two nodes never read one mailbox at once), and it keeps the
 *   last read error the API shows. Rows are kept while their account or domain exists, so a
 *   mailbox whose reading is switched off and on again resumes from its cursor.
 * - sender_domains.bounce_mailbox (host, port, secure, user, mailbox: returned by the API)
 *   and bounce_mailbox_secret_encrypted (its password, write-only, AES-256-GCM).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table sender_domains
      add column bounce_mailbox jsonb,
      add column bounce_mailbox_secret_encrypted text;

    create table inbound_mailboxes (
      id uuid primary key default gen_random_uuid(),
      account_id uuid unique references sender_accounts (id) on delete cascade,
      domain_id uuid unique references sender_domains (id) on delete cascade,
      -- Mail received before this is never read: a new mailbox does not replay its history.
      since timestamptz not null,
      uid_validity bigint,
      last_uid bigint,
      gmail_history_id text,
      -- Newest receive time read: where a re-read after a UIDVALIDITY change or an expired
      -- Gmail history starts (less a day).
      last_seen_at timestamptz,
      next_poll_at timestamptz not null,
      claimed_until timestamptz,
      claimed_by text,
      last_read_at timestamptz,
      last_error text,
      last_error_at timestamptz,
      consecutive_failures integer not null default 0,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint inbound_mailboxes_one_owner check ((account_id is null) <> (domain_id is null))
    );
    create index inbound_mailboxes_due_idx on inbound_mailboxes (next_poll_at);
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0019_inbound_mailboxes cannot be rolled back');
}
