/**
 * The dev sink's captured mail: with no real sender accounts, the embedded default delivers to
 * a local SMTP sink and the dashboard shows what would have gone out.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table sink_messages (
      id bigint generated always as identity primary key,
      mail_from text not null default '',
      rcpt_to text[] not null default '{}',
      message_id text,
      subject text not null default '',
      raw text not null,
      size_bytes integer not null,
      received_at timestamptz not null default now()
    );
    create index sink_messages_received_idx on sink_messages (received_at desc, id desc);
    create index sink_messages_message_id_idx on sink_messages (message_id);
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0003_sink_messages cannot be rolled back');
}
