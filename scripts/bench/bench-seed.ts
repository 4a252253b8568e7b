/**
 * What the benches that run our compiled workers send: a client, SMTP mailboxes at a local
 * sink with every limit lifted, one running whole-day campaign of one personalised step with
 * all of them in its sender pool, and its contacts queued.
 */
import { sql } from 'kysely';
import type { createCredentialCipher } from '../../src/crypto/credential-cipher';
import type { Db } from '../../src/db/connection';
import { enqueueCampaign } from '../../src/queue/enqueue';

export interface BenchCampaign {
  /** Names the client, the campaign and the mailboxes' domains. */
  label: string;
  mailboxes: number;
  sinkPort: number;
  /** SMTP connections per mailbox; absent: the transport's default (one), as a mailbox is configured. */
  maxConnections?: number;
  cipher: ReturnType<typeof createCredentialCipher>;
  subject: string;
  body: string;
  /** Contacts numbered first … first + count − 1 (unique across rounds in one database). */
  contacts: { first: number; count: number };
}

/** The client's postal address, in every message's footer (the pg-boss baseline's too). */
export const BENCH_POSTAL_ADDRESS = '1 Bench Road';

export async function seedBenchCampaign(db: Db, seed: BenchCampaign): Promise<{ accountIds: string[]; campaignId: string }> {
  const client = await db.insertInto('clients').values({ name: `bench-${seed.label}-${Date.now()}`, postal_address: BENCH_POSTAL_ADDRESS, settings: '{}' }).returning('id').executeTakeFirstOrThrow();
  const accountIds: string[] = [];
  for (let i = 0; i < seed.mailboxes; i++) {
    const row = await db
      .insertInto('sender_accounts')
      .values({
        client_id: client.id,
        email: `sender${i}@${seed.label}-${i}.test`,
        display_name: `Bench ${i}`,
        transport: 'smtp',
        transport_settings: JSON.stringify({ host: '127.0.0.1', port: seed.sinkPort, ...(seed.maxConnections ? { maxConnections: seed.maxConnections } : {}) }),
        credentials_encrypted: seed.cipher.encrypt(JSON.stringify({ user: 'bench', pass: 'bench' })),
        daily_limit: 1_000_000,
        hourly_limit: 1_000_000,
        min_gap_seconds: 0,
        warmup_enabled: false,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    accountIds.push(row.id);
  }
  const campaign = await db
    .insertInto('campaigns')
    .values({ client_id: client.id, name: `bench ${seed.label}`, status: 'running', send_days: [1, 2, 3, 4, 5, 6, 7], window_start_minute: 0, window_end_minute: 1440 })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('sequence_steps').values({ campaign_id: campaign.id, step_number: 1, subject: seed.subject, body_text: seed.body, body_html: '', delay_minutes: 0 }).execute();
  await db.insertInto('campaign_senders').values(accountIds.map((id) => ({ campaign_id: campaign.id, account_id: id }))).execute();
  const { first, count } = seed.contacts;
  await sql`
    insert into contacts (client_id, email, email_domain, first_name, company)
    select ${client.id}, 'c' || g || '@r' || (g % 50) || '.test', 'r' || (g % 50) || '.test', 'Name' || g, 'Company ' || g
    from generate_series(${first}::int, ${first + count - 1}::int) g
  `.execute(db);
  await sql`insert into campaign_contacts (campaign_id, contact_id) select ${campaign.id}, id from contacts where client_id = ${client.id}`.execute(db);
  await enqueueCampaign(db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'bench.test' });
  await sql`vacuum analyze email_queue`.execute(db);
  return { accountIds, campaignId: campaign.id };
}
