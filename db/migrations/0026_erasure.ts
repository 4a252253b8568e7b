/**
 * Erasure of a person (issue 17 item 3, src/erasure/):
 * - address_hash(address): HMAC-SHA256 of the lower-cased address, hex, keyed by the server's
 *   erasure key. The key never enters the database: each session of the server and its workers
 *   carries it as two session settings given at connect (src/db/connection.ts, the HMAC inner
 *   and outer padded keys), so a dump of the database holds hashes without their key. HMAC is
 *   built from the core sha256() (pgcrypto is not assumed). A session without the key gets null:
 *   hashed entries then match nothing, so only such sessions (ad-hoc scripts) miss them.
 * - suppression_keys(address): what a suppression row for the address can hold: the address
 *   itself, or 'erased:<hash>' once the person was erased. Every suppression check compares
 *   `s.email = any(suppression_keys(x))`, one lookup of the (client_id, email) index.
 * - send_logs stays append-only, except that a transaction that declared itself an erasure
 *   (`set local outreach.erasure = 'on'`) may rewrite the `response` text (an SMTP answer can
 *   quote the address) and nothing else; deletes stay refused.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function address_hash(address text) returns text language sql stable parallel safe as $$
      select encode(sha256(
        decode(nullif(current_setting('outreach.address_hash_opad', true), ''), 'hex')
        || sha256(decode(nullif(current_setting('outreach.address_hash_ipad', true), ''), 'hex') || convert_to(lower(btrim(address)), 'UTF8'))
      ), 'hex')
    $$;

    create function suppression_keys(address text) returns text[] language sql stable parallel safe as $$
      select array[lower(btrim(address)), 'erased:' || address_hash(address)]
    $$;

    create or replace function refuse_send_log_change() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE' and current_setting('outreach.erasure', true) = 'on'
         and (to_jsonb(new) - 'response') = (to_jsonb(old) - 'response') then
        return new;
      end if;
      raise exception 'send_logs is append-only';
    end $$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function refuse_send_log_change() returns trigger language plpgsql as $$
    begin
      raise exception 'send_logs is append-only';
    end $$;
    drop function suppression_keys(text);
    drop function address_hash(text);
  `.execute(db);
}
