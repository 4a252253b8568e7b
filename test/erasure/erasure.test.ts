/**
 * Erasure of a person: after POST /api/erasures the address is nowhere in the database — a
 * scan of every text, jsonb, text[] and bytea column of every table finds no trace of it — but
 * its keyed hash, which the suppression checks match, so importing it again is suppressed.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import request from 'supertest';
import { createDb, type Db } from '../../src/db/connection';
import { addressHash } from '../../src/erasure/address-hash';
import { isSuppressed } from '../../src/suppressions/suppression.repository';
import { useTestDatabase } from '../helpers/database';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';

const VICTIM = 'victim.person@example.com';

/** Every (table, column) of a textual kind and the rows naming `needle` in it. */
async function traces(db: Db, needle: string): Promise<string[]> {
  const { rows: columns } = await sql<{ table_name: string; column_name: string; data_type: string }>`
    select c.table_name, c.column_name, c.data_type from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
    where c.table_schema = 'public' and c.data_type in ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'bytea', 'USER-DEFINED')`.execute(db);
  const found: string[] = [];
  for (const { table_name: table, column_name: column, data_type: type } of columns) {
    const text = type === 'bytea' ? sql`encode(${sql.ref(column)}, 'escape')` : sql`${sql.ref(column)}::text`;
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where position(${needle} in lower(${text})) > 0`.execute(db);
    if (rows[0]!.n > 0) found.push(`${table}.${column}: ${rows[0]!.n}`);
  }
  return found;
}

describe('erasure of a person', () => {
  const t = useTestDatabase();
  const config = testConfig();
  let db: Db;
  let w: World;
  let campaignId: string;

  beforeAll(async () => {
    // The server's sessions carry the erasure key (src/db/connection.ts); the test's own do not.
    db = createDb(t.url, { poolMax: 3, idleTimeoutMs: 1000, addressHashKey: config.addressHashKey });
    const app = testApp(db, config);
    w = await createWorld(db, app, 'er');
    const admin = bearer(w.a.adminToken);
    await addSenderDomain(app, w.a.adminToken, 'er-a.example');
    const account = await request(app).post('/api/accounts').set(admin).send({ email: 'box@er-a.example', transport: 'sink', transportSettings: { host: '127.0.0.1', port: 2525 } });
    expect(account.status).toBe(201);
    const campaign = await request(app)
      .post('/api/campaigns')
      .set(admin)
      .send({ name: 'Erase me', senderAccountIds: [account.body.id], steps: [{ subject: 'Hi {{first_name|there}}', bodyText: 'Hello' }] });
    expect(campaign.status).toBe(201);
    campaignId = campaign.body.id;
    // Through the API (its audit row holds the address in `changes`) and through an import.
    expect((await request(app).post('/api/contacts').set(admin).send({ email: 'Victim.Person@example.com', firstName: 'Vic' })).status).toBe(201);
    const imported = await request(app).post(`/api/campaigns/${campaignId}/contacts/import`).set(admin).attach('file', Buffer.from(`email\n${VICTIM}\nother@example.com\n`), 'c.csv');
    expect(imported.status).toBe(200);
    const started = await request(app).post(`/api/campaigns/${campaignId}/start`).set(admin);
    expect([started.status, JSON.stringify(started.body)]).toEqual([200, expect.any(String)]);
    // Client B knows the same person.
    expect((await request(app).post('/api/contacts').set(bearer(w.b.adminToken)).send({ email: VICTIM })).status).toBe(201);

    const queue = await db.selectFrom('email_queue').select(['id', 'message_id', 'account_id']).where('to_email', '=', VICTIM).executeTakeFirstOrThrow();
    const contact = await db.selectFrom('contacts').select('id').where('email', '=', VICTIM).where('client_id', '=', w.a.clientId).executeTakeFirstOrThrow();
    const clientId = w.a.clientId;
    // What sending and feedback would have left about them.
    await db
      .insertInto('send_logs')
      .values({ queue_id: queue.id, client_id: clientId, campaign_id: campaignId, message_id: queue.message_id, attempt: 1, outcome: 'recipient_hard', smtp_code: 550, response: `550 5.1.1 <${VICTIM}>: Recipient address rejected` })
      .execute();
    await db.insertInto('open_events').values({ client_id: clientId, campaign_id: campaignId, queue_id: queue.id, ip: '203.0.113.9', user_agent: 'Mail/1.0' }).execute();
    await db.insertInto('click_events').values({ client_id: clientId, campaign_id: campaignId, queue_id: queue.id, ip: '203.0.113.9', url: `https://example.com/?who=${VICTIM}` }).execute();
    await db.insertInto('bounces').values({ client_id: clientId, queue_id: queue.id, email: VICTIM, bounce_type: 'hard', diagnostic: `user ${VICTIM} unknown` }).execute();
    await db.insertInto('complaints').values({ client_id: clientId, queue_id: queue.id, email: VICTIM }).execute();
    const inbound = await db
      .insertInto('inbound_messages')
      .values({
        client_id: clientId, account_key: 'k', source: 'imap', source_key: '1:7', received_at: new Date(), kind: 'reply', from_address: VICTIM, subject: 'Re: Hi',
        headers: JSON.stringify({ from: `Vic <${VICTIM}>` }), classification: '{}', effects: '[]', history: '[]', text: 'Please stop', raw: Buffer.from(`From: <${VICTIM.toUpperCase()}>\r\n\r\nPlease stop`),
        queue_id: queue.id, contact_id: contact.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('replies').values({ client_id: clientId, queue_id: queue.id, contact_id: contact.id, from_email: VICTIM, subject: 'Re: Hi', snippet: 'Please stop', inbound_message_id: inbound.id }).execute();
    const body = Buffer.from(JSON.stringify([{ email: VICTIM, event: 'open' }]));
    await db.insertInto('webhook_deliveries').values({ client_id: clientId, provider: 'sendgrid', body, body_sha256: crypto.createHash('sha256').update(body).digest() }).execute();
    const sponsor = await db.insertInto('sponsors').values({ client_id: clientId, name: 'Acme' }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('leads').values({ client_id: clientId, sponsor_id: sponsor.id, idempotency_key: 'k1', email: VICTIM, data: JSON.stringify({ email: VICTIM }) }).execute();
    await db.insertInto('sink_messages').values({ rcpt_to: [VICTIM], subject: 'Hi Vic', raw: `To: ${VICTIM}\r\n\r\nHello`, size_bytes: 30 }).execute();
    await db.insertInto('alerts').values({ client_id: clientId, severity: 'warning', code: 'test', entity_key: `recipient:${VICTIM}`, message: `bounces from ${VICTIM}`, last_seen_at: new Date() }).execute();
    await db.insertInto('suppressions').values({ client_id: clientId, email: VICTIM, reason: 'hard_bounce' }).execute();
  });

  afterAll(async () => {
    await db.destroy();
  });

  it('computes the same keyed hash in Postgres as in Node', async () => {
    const { rows } = await sql<{ h: string }>`select address_hash(${` ${VICTIM.toUpperCase()} `}) as h`.execute(db);
    expect(rows[0]!.h).toBe(addressHash(config.addressHashKey, VICTIM));
    // A session without the key matches nothing rather than hashing with an empty key.
    const { rows: keyless } = await sql<{ h: string | null }>`select address_hash(${VICTIM}) as h`.execute(t.db);
    expect(keyless[0]!.h).toBeNull();
  });

  it('refuses bad requests: a viewer, a bad address, another client', async () => {
    expect((await request(w.app).post('/api/erasures').set(bearer(w.a.viewerToken)).send({ email: VICTIM })).status).toBe(403);
    const bad = await request(w.app).post('/api/erasures').set(bearer(w.a.adminToken)).send({ email: 'not an address' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'validation_failed']);
    expect((await request(w.app).post('/api/erasures').set(bearer(w.a.adminToken)).send({ email: VICTIM, clientId: w.b.clientId })).status).toBe(404);
    expect((await request(w.app).post('/api/erasures').set(bearer(w.ownerToken)).send({ email: VICTIM, clientId: crypto.randomUUID() })).status).toBe(404);
  });

  it("erases a client's data about the person, leaves other clients' alone, and keeps only the hash", async () => {
    expect(await traces(db, VICTIM)).not.toEqual([]);
    const res = await request(w.app).post('/api/erasures').set(bearer(w.a.adminToken)).send({ email: VICTIM.toUpperCase() });
    expect(res.status).toBe(200);
    const hash = addressHash(config.addressHashKey, VICTIM);
    expect(res.body).toMatchObject({ addressHash: hash, clients: 1 });
    expect(res.body.counts).toMatchObject({
      contacts: 1, email_queue: 1, open_events: 1, click_events: 1, bounces: 1, complaints: 1, replies: 1, inbound_messages: 1,
      webhook_deliveries: 1, leads: 1, sink_messages: 1, send_logs_redacted: 1, suppressions: 1, suppressions_hashed: 1,
    });
    expect(res.body.counts.audit_log_redacted).toBeGreaterThanOrEqual(1);

    // Client B's contact (and the audit row of its creation) stay: this was client A's erasure.
    const left = await traces(db, VICTIM);
    expect(left.sort()).toEqual(['audit_log.changes: 1', 'contacts.email: 1']);
    // send_logs rows stay (counts add up), their answer without the address.
    const log = await db.selectFrom('send_logs').select('response').where('campaign_id', '=', campaignId).where('outcome', '=', 'recipient_hard').executeTakeFirstOrThrow();
    expect(log.response).toBe('550 5.1.1 <[erased]>: Recipient address rejected');
    await expect(sql`delete from send_logs`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`update send_logs set response = 'x'`.execute(db)).rejects.toThrow(/append-only/);

    const suppression = await db.selectFrom('suppressions').selectAll().where('client_id', '=', w.a.clientId).execute();
    expect(suppression.map((s) => s.email)).toEqual([`erased:${hash}`]);
    expect(await isSuppressed(db, w.a.clientId, VICTIM)).toBe(true);
    expect(await isSuppressed(db, w.b.clientId, VICTIM)).toBe(false);
    // The erasure's own rows name the hash, never the address.
    const audit = await db.selectFrom('audit_log').selectAll().where('action', 'in', ['eraseContact', 'contact.erased']).execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['contact.erased', 'eraseContact']);
    expect(JSON.stringify(audit)).toContain(hash);
    // An erasure cannot be undone from the suppression list.
    expect((await request(w.app).delete(`/api/suppressions/${suppression[0]!.id}`).set(bearer(w.a.adminToken))).status).toBe(409);
  });

  it('suppresses the address when it is imported again, in any case', async () => {
    const again = await request(w.app)
      .post(`/api/campaigns/${campaignId}/contacts/import`)
      .set(bearer(w.a.adminToken))
      .attach('file', Buffer.from(`email\n${VICTIM.toUpperCase()}\nnew@example.com\n`), 'c.csv');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ suppressed: 1 });
    expect(await db.selectFrom('contacts').select('id').where('client_id', '=', w.a.clientId).where('email', '=', VICTIM).execute()).toEqual([]);
  });

  it('lets the owner erase across every client, leaving no trace anywhere', async () => {
    const res = await request(w.app).post('/api/erasures').set(bearer(w.ownerToken)).send({ email: VICTIM });
    expect(res.status).toBe(200);
    expect(res.body.counts).toMatchObject({ contacts: 1 });
    expect(res.body.clients).toBeGreaterThanOrEqual(2);
    expect(await traces(db, VICTIM)).toEqual([]);
    expect(await isSuppressed(db, w.b.clientId, VICTIM)).toBe(true);
  });
});
