import { Migrator, sql } from 'kysely';
import { migrations } from '../../db/migrations';
import { migrateToLatest } from '../../src/db/migrate';
import { createTestDatabase, useTestDatabase } from '../helpers/database';

/** The data model of 0001; later migrations may add tables. */
const EXPECTED_TABLES = [
  'alerts', 'audit_log', 'bounces', 'campaign_contacts', 'campaign_senders', 'campaigns', 'circuit_breakers', 'click_events',
  'clients', 'complaints', 'contacts', 'email_queue', 'lead_deliveries', 'leads', 'links', 'nodes', 'offers', 'open_events',
  'rate_counters', 'refresh_tokens', 'replies', 'runtime_settings', 'send_logs', 'sender_accounts', 'sender_domains',
  'sequence_steps', 'sponsor_api_keys', 'sponsors', 'suppressions', 'users', 'worker_heartbeats',
];

async function schemaFingerprint(db: Parameters<typeof migrateToLatest>[0]): Promise<string> {
  const { rows } = await sql<{ t: string }>`
    select string_agg(table_name || '.' || column_name || ':' || data_type, ',' order by table_name, column_name) as t
    from information_schema.columns where table_schema = 'public'`.execute(db);
  const indexes = await sql<{ t: string }>`select string_agg(indexdef, ',' order by indexname) as t from pg_indexes where schemaname = 'public'`.execute(db);
  return `${rows[0]?.t}|${indexes.rows[0]?.t}`;
}

describe('migrations', () => {
  it('create the whole data model in an empty database and then change nothing when run again', async () => {
    const empty = await createTestDatabase({ migrated: false });
    try {
      const first = await migrateToLatest(empty.db);
      expect(first.map((r) => [r.migrationName, r.status])).toEqual(Object.keys(migrations).map((name) => [name, 'Success']));

      const { rows } = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%'
        order by table_name`.execute(empty.db);
      expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(EXPECTED_TABLES));

      const before = await schemaFingerprint(empty.db);
      const second = await migrateToLatest(empty.db);
      expect(second).toEqual([]);
      expect(await schemaFingerprint(empty.db)).toBe(before);
    } finally {
      await empty.drop();
    }
  });

  it('apply each migration once when two servers migrate the same database at once', async () => {
    const empty = await createTestDatabase({ migrated: false });
    try {
      const results = await Promise.all([migrateToLatest(empty.db), migrateToLatest(empty.db)]);
      expect(results.flat().filter((r) => r.status === 'Success')).toHaveLength(Object.keys(migrations).length);
    } finally {
      await empty.drop();
    }
  });
});

describe('schema', () => {
  const t = useTestDatabase();

  async function seedQueueRow(messageId: string) {
    const client = await t.db.insertInto('clients').values({ name: `c-${messageId}` }).returning('id').executeTakeFirstOrThrow();
    const campaign = await t.db.insertInto('campaigns').values({ client_id: client.id, name: 'c' }).returning('id').executeTakeFirstOrThrow();
    const step = await t.db
      .insertInto('sequence_steps')
      .values({ campaign_id: campaign.id, step_number: 1, subject: 's' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const contact = await t.db
      .insertInto('contacts')
      .values({ client_id: client.id, email: `a-${messageId}@example.com`, email_domain: 'example.com' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const row = { client_id: client.id, campaign_id: campaign.id, contact_id: contact.id, step_id: step.id, step_number: 1, to_email: 'a@example.com', recipient_domain: 'example.com', message_id: messageId };
    const queued = await t.db.insertInto('email_queue').values(row).returning(['id', 'status']).executeTakeFirstOrThrow();
    return { row, queued };
  }

  it('queues one row per campaign, contact and step, with a unique Message-ID', async () => {
    const { row, queued } = await seedQueueRow('<m1@example.com>');
    expect(queued.status).toBe('queued');
    await expect(t.db.insertInto('email_queue').values({ ...row, message_id: '<m2@example.com>' }).execute()).rejects.toThrow(/duplicate key/);
  });

  it('refuses to edit or delete send history', async () => {
    const { row, queued } = await seedQueueRow('<m3@example.com>');
    const log = await t.db
      .insertInto('send_logs')
      .values({ queue_id: queued.id, client_id: row.client_id, campaign_id: row.campaign_id, message_id: row.message_id, attempt: 1, outcome: 'accepted' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await expect(t.db.updateTable('send_logs').set({ outcome: 'auth' }).where('id', '=', log.id).execute()).rejects.toThrow(/append-only/);
    await expect(t.db.deleteFrom('send_logs').where('id', '=', log.id).execute()).rejects.toThrow(/append-only/);
  });

  it('indexes only the waiting part of the queue for claiming', async () => {
    const { rows } = await sql<{ indexdef: string }>`
      select indexdef from pg_indexes where tablename = 'email_queue' and indexname like 'email_queue_waiting%'`.execute(t.db);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const r of rows) expect(r.indexdef).toMatch(/WHERE .*status = 'queued'/);
  });

  it('keeps one suppression per client and address, and an owner has no client while client users must', async () => {
    const client = await t.db.insertInto('clients').values({ name: 'supp' }).returning('id').executeTakeFirstOrThrow();
    await t.db.insertInto('suppressions').values({ client_id: client.id, email: 'x@example.com', reason: 'manual' }).execute();
    await expect(t.db.insertInto('suppressions').values({ client_id: client.id, email: 'x@example.com', reason: 'unsubscribed' }).execute()).rejects.toThrow(/duplicate key/);
    await expect(t.db.insertInto('users').values({ email: 'o@example.com', password_hash: 'h', role: 'client_admin' }).execute()).rejects.toThrow(/check constraint/);
    await expect(t.db.insertInto('users').values({ email: 'o@example.com', password_hash: 'h', role: 'owner', client_id: client.id }).execute()).rejects.toThrow(/check constraint/);
  });
});

describe('0010_warmup_start_and_last_error', () => {
  it('starts the warm-up of accounts that have been sending on their creation date in their zone, and leaves the others and set starts alone', async () => {
    const database = await createTestDatabase({ migrated: false });
    try {
      const migrator = new Migrator({ db: database.db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('0009_outcome_classes')).error).toBeUndefined();
      const client = await database.db.insertInto('clients').values({ name: 'backfill' }).returning('id').executeTakeFirstOrThrow();
      const created = '2026-03-01T20:00:00Z'; // 2 March in Tokyo
      const accounts: Array<[string, string, string | null, string]> = [
        // email, status, warmup_started_on, time_zone
        ['active-utc', 'active', null, 'UTC'],
        ['active-tokyo', 'active', null, 'Asia/Tokyo'],
        ['active-bad-zone', 'active', null, 'Mars/Olympus'],
        ['paused', 'paused', null, 'UTC'],
        ['suspended', 'suspended', null, 'UTC'],
        ['crashed', 'crashed', null, 'UTC'],
        ['disabled-sent', 'disabled', null, 'UTC'],
        ['disabled-never', 'disabled', null, 'UTC'],
        ['already-started', 'active', '2026-01-15', 'Asia/Tokyo'],
      ];
      const rows = await database.db
        .insertInto('sender_accounts')
        .values(accounts.map(([email, status, start, zone]) => ({ client_id: client.id, email: `${email}@backfill.example.com`, transport: 'sink' as const, transport_settings: '{}', status: status as 'active', warmup_started_on: start, time_zone: zone, created_at: created })))
        .returning(['id', 'email'])
        .execute();
      const idOf = (email: string) => rows.find((r) => r.email === `${email}@backfill.example.com`)!.id;
      await database.db
        .insertInto('send_logs')
        .values({ queue_id: 1, client_id: client.id, campaign_id: client.id, account_id: idOf('disabled-sent'), message_id: '<old@backfill.example.com>', attempt: 1, outcome: 'accepted' })
        .execute();

      await migrateToLatest(database.db);
      const after = await database.db.selectFrom('sender_accounts').select(['email', 'warmup_started_on']).where('client_id', '=', client.id).execute();
      expect(Object.fromEntries(after.map((a) => [a.email.split('@')[0], a.warmup_started_on]))).toEqual({
        'active-utc': '2026-03-01',
        'active-tokyo': '2026-03-02',
        'active-bad-zone': '2026-03-01',
        paused: '2026-03-01',
        suspended: '2026-03-01',
        crashed: '2026-03-01',
        'disabled-sent': '2026-03-01',
        'disabled-never': null,
        'already-started': '2026-01-15',
      });
    } finally {
      await database.drop();
    }
  });
});
