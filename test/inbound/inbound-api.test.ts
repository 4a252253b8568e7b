/**
 * The inbound API over the real app: lists and filters per campaign, account, contact, kind
 * and match; one message with its source only for owner and client_admin; a person's
 * reclassification undoing the old class's effects and applying the new one, both ways; bad
 * input answered 4xx.
 */
import request from 'supertest';
import { ingestInboundMessage } from '../../src/inbound/ingest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { fixture, inboundDeps, inboundWorld, membership, queueRow, suppression, type InboundWorld } from './inbound-world';

const t = useTestDatabase();
const RECEIVED = new Date('2026-12-04T14:00:05Z');
const deps = inboundDeps({}, () => RECEIVED);

describe('the inbound API', () => {
  let world: World;
  let rows: InboundWorld;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    const app = testApp(t.db, testConfig(), () => RECEIVED);
    world = await createWorld(t.db, app, 'inb');
    rows = await inboundWorld(t.db, {
      clientId: world.a.clientId,
      accountEmail: 'bob@mail.harbour.test',
      contacts: [
        { email: 'gone@bounce.test', messageId: '<7f96646c-1b2d-40d2-bd32-18946e22a449@mail.harbour.test>' },
        { email: 'support@helpdesk-client.test', messageId: '<a1e2c3d4-0205-4e1a-8b1c-e1e1e1e1e305@mail.harbour.test>' },
        { email: 'not-tom@prospect-client.test', messageId: '<a1e2c3d4-0302-4e1a-8b1c-e1e1e1e1e402@mail.harbour.test>' },
      ],
      sentAt: new Date('2026-12-01T19:41:59Z'),
    });
    const ingest = async (name: string, file: string) => {
      ids[name] = (await ingestInboundMessage(t.db, { accountId: rows.accountId, source: 'imap', sourceKey: name, raw: fixture(file), receivedAt: RECEIVED }, deps)).id;
    };
    await ingest('bounce', 'postfix/02-failed-remote-rcpt-550-5.1.1.eml');
    await ingest('helpdesk', 'conversation/helpdesk-ticket-autoreply.eml');
    await ingest('colleague', 'conversation/outlook-reply-original-message.eml');
    await ingest('unrelated', 'conversation/unrelated-new-message.eml');
  });

  const get = (path: string, token = world.a.adminToken) => request(world.app).get(path).set(bearer(token));
  const reclassify = (id: number, body: unknown, token = world.a.adminToken) => request(world.app).post(`/api/inbound/${id}/reclassify`).set(bearer(token)).send(body as object);

  it('lists a client’s messages newest first, filtered by campaign, contact, kind and match, paged by cursor', async () => {
    const all = await get('/api/inbound');
    expect(all.status).toBe(200);
    expect(all.body.messages.map((m: { id: number }) => m.id)).toEqual([ids.unrelated, ids.colleague, ids.helpdesk, ids.bounce]);
    expect(all.body.messages[3]).toMatchObject({ kind: 'bounce', subKind: 'recipient_hard', source: 'imap', accountId: rows.accountId, match: { queueId: rows.contacts.get('gone@bounce.test')!.step1, campaignId: rows.campaignId, stepNumber: 1, method: 'message_id' } });

    const byCampaign = await get(`/api/inbound?campaignId=${rows.campaignId}`);
    expect(byCampaign.body.messages.map((m: { id: number }) => m.id)).toEqual([ids.helpdesk, ids.bounce]);
    const byContact = await get(`/api/inbound?contactId=${rows.contacts.get('gone@bounce.test')!.contactId}`);
    expect(byContact.body.messages.map((m: { id: number }) => m.id)).toEqual([ids.bounce]);
    const unmatched = await get('/api/inbound?matched=false');
    expect(unmatched.body.messages.map((m: { id: number }) => m.id)).toEqual([ids.unrelated, ids.colleague]);
    const autoReplies = await get(`/api/inbound?kind=auto_reply&accountId=${rows.accountId}`);
    expect(autoReplies.body.messages.map((m: { id: number }) => m.id)).toEqual([ids.helpdesk]);

    const page1 = await get('/api/inbound?limit=3');
    expect(page1.body.messages).toHaveLength(3);
    const page2 = await get(`/api/inbound?limit=3&cursor=${page1.body.nextCursor}`);
    expect(page2.body).toEqual({ messages: [expect.objectContaining({ id: ids.bounce })], nextCursor: null });

    // Another client sees none of them.
    expect((await get('/api/inbound', world.b.adminToken)).body.messages).toEqual([]);
    expect((await get(`/api/inbound/${ids.bounce}`, world.b.adminToken)).status).toBe(404);
  });

  it('shows one message with headers, class, match and effects; its source only to owner and client_admin', async () => {
    const admin = await get(`/api/inbound/${ids.bounce}`);
    expect(admin.status).toBe(200);
    expect(admin.body.headers.subject).toBe('Undelivered Mail Returned to Sender');
    expect(admin.body.classification.report.recipients[0]).toMatchObject({ recipient: 'gone@bounce.test', status: '5.1.1' });
    expect(admin.body.effects.map((e: { type: string }) => e.type)).toEqual(['bounce', 'suppression', 'contact_status', 'queue_cancelled']);
    expect(Buffer.from(admin.body.raw, 'base64').toString('latin1')).toContain('Final-Recipient: rfc822; gone@bounce.test');
    const viewer = await get(`/api/inbound/${ids.bounce}`, world.a.viewerToken);
    expect(viewer.status).toBe(200);
    expect(viewer.body.raw).toBeNull();
    expect((await get(`/api/inbound/${ids.bounce}`, world.ownerToken)).body.raw).toEqual(admin.body.raw);
  });

  it('reclassifies a hard bounce that was not one: the suppression goes, the sequence resumes; and back again', async () => {
    const gone = rows.contacts.get('gone@bounce.test')!;
    const undo = await reclassify(ids.bounce!, { kind: 'delay' });
    expect(undo.status).toBe(200);
    expect(undo.body).toMatchObject({ kind: 'delay', effects: [], history: [{ from: { kind: 'bounce', subKind: 'recipient_hard' }, to: { kind: 'delay' }, undone: ['queue_cancelled', 'contact_status', 'suppression', 'bounce'], applied: [] }] });
    expect(await suppression(t.db, rows.clientId, 'gone@bounce.test')).toBeUndefined();
    expect(await membership(t.db, rows.campaignId, gone.contactId)).toBe('active');
    expect((await queueRow(t.db, gone.step2)).status).toBe('queued');
    expect(await t.db.selectFrom('bounces').selectAll().where('queue_id', '=', gone.step1).execute()).toEqual([]);

    const redo = await reclassify(ids.bounce!, { kind: 'bounce', bounceType: 'hard' });
    expect(redo.status).toBe(200);
    expect(await suppression(t.db, rows.clientId, 'gone@bounce.test')).toEqual({ reason: 'hard_bounce', source: `inbound:${ids.bounce}` });
    expect(await membership(t.db, rows.campaignId, gone.contactId)).toBe('bounced');
    expect((await queueRow(t.db, gone.step2)).status).toBe('cancelled');
    expect(redo.body.history).toHaveLength(2);
    const audit = await t.db.selectFrom('audit_log').select(['actor_type', 'actor_id', 'action']).where('entity_type', '=', 'inbound_message').where('entity_id', '=', String(ids.bounce)).execute();
    expect(audit).toEqual([
      { actor_type: 'user', actor_id: world.a.adminId, action: 'inbound.reclassified' },
      { actor_type: 'user', actor_id: world.a.adminId, action: 'inbound.reclassified' },
    ]);
  });

  it('reclassifies an auto-reply that was a person’s reply: the delay is undone and the sequence stops', async () => {
    const support = rows.contacts.get('support@helpdesk-client.test')!;
    const delayed = await queueRow(t.db, support.step2);
    const original = new Date('2026-12-01T19:41:59Z').getTime() + 3 * 24 * 60 * 60_000;
    expect(delayed.run_after.getTime()).toBeGreaterThan(original);
    const res = await reclassify(ids.helpdesk!, { kind: 'reply' });
    expect(res.status).toBe(200);
    expect(await membership(t.db, rows.campaignId, support.contactId)).toBe('replied');
    const row = await queueRow(t.db, support.step2);
    expect(row.status).toBe('cancelled');
    expect(row.run_after.getTime()).toBe(original);
    expect(await t.db.selectFrom('replies').select('queue_id').where('inbound_message_id', '=', ids.helpdesk!).execute()).toEqual([{ queue_id: support.step1 }]);
  });

  it('takes a person’s word for a reply from another address in the thread', async () => {
    const contact = rows.contacts.get('not-tom@prospect-client.test')!;
    const res = await reclassify(ids.colleague!, { kind: 'reply' });
    expect(res.status).toBe(200);
    expect(res.body.match).toMatchObject({ queueId: contact.step1 });
    expect(await membership(t.db, rows.campaignId, contact.contactId)).toBe('replied');
  });

  it('answers bad input with 4xx', async () => {
    expect((await reclassify(ids.unrelated!, { kind: 'spam' })).status).toBe(400);
    expect((await reclassify(ids.unrelated!, { kind: 'reply', bounceType: 'hard' })).status).toBe(400);
    expect((await reclassify(ids.unrelated!, { kind: 'auto_reply', returnDate: '2026-13-45' })).status).toBe(400);
    expect((await reclassify(ids.unrelated!, { kind: 'reply', extra: 1 })).status).toBe(400);
    const same = await reclassify(ids.unrelated!, { kind: 'unmatched' });
    expect(same.status).toBe(409);
    expect(same.body.error.code).toBe('unchanged');
    expect((await reclassify(ids.unrelated!, { kind: 'reply' }, world.a.viewerToken)).status).toBe(403);
    expect((await reclassify(ids.unrelated!, { kind: 'reply' }, world.b.adminToken)).status).toBe(404);
    expect((await request(world.app).post('/api/inbound/abc/reclassify').set(bearer(world.a.adminToken)).send({ kind: 'reply' })).status).toBe(404);
    expect((await get('/api/inbound?matched=maybe')).status).toBe(400);
    expect((await get('/api/inbound?kind=spam')).status).toBe(400);
    expect((await get('/api/inbound?campaignId=nope')).status).toBe(400);
    expect((await get('/api/inbound?cursor=-1')).status).toBe(400);
    expect((await get('/api/inbound/99999999')).status).toBe(404);
  });
});
