/**
 * A campaign's stopCompanyOnReply through the real API (create, patch, read, bad input) and its
 * effect through the real ingest: the campaign's own setting wins over inbound.stopCompanyOnReply
 * both ways; null follows the configuration.
 */
import request from 'supertest';
import { ingestInboundMessage } from '../../src/inbound/ingest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';
import { fixture, inboundDeps, inboundWorld, membership, queueRow } from '../inbound/inbound-world';

const t = useTestDatabase();
const RECEIVED = new Date('2026-12-04T14:00:05Z');
const REPLIED_TO = '<a1e2c3d4-0303-4e1a-8b1c-e1e1e1e1e403@mail.harbour.test>';
const REPLY = 'conversation/html-only-reply-with-script.eml';

describe('a campaign’s stopCompanyOnReply', () => {
  let world: World;
  const api = () => request(world.app);

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'company');
  });

  it('is null (the configuration decides) unless given, is set and read back, and a wrong type is a 400 naming the field', async () => {
    const created = await api().post('/api/campaigns').set(bearer(world.a.adminToken)).send({ name: 'Default company stop' });
    expect(created.status).toBe(201);
    expect(created.body.stopCompanyOnReply).toBeNull();
    const explicit = await api().post('/api/campaigns').set(bearer(world.a.adminToken)).send({ name: 'Company stop', stopCompanyOnReply: true });
    expect(explicit.body.stopCompanyOnReply).toBe(true);
    const patched = await api().patch(`/api/campaigns/${explicit.body.id}`).set(bearer(world.a.adminToken)).send({ stopCompanyOnReply: false });
    expect(patched.status).toBe(200);
    expect(patched.body.stopCompanyOnReply).toBe(false);
    expect((await api().get(`/api/campaigns/${explicit.body.id}`).set(bearer(world.a.adminToken))).body.stopCompanyOnReply).toBe(false);
    const bad = await api().patch(`/api/campaigns/${explicit.body.id}`).set(bearer(world.a.adminToken)).send({ stopCompanyOnReply: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(['stopCompanyOnReply']);
  });

  /** A running campaign where eve@html-client.test replies; a colleague on her domain and a free-mail contact wait for step 2. */
  async function replyWith(setting: boolean | null, configured: boolean, key: string) {
    const rows = await inboundWorld(t.db, {
      clientId: world.a.clientId,
      accountEmail: `company-${key}@mail.harbour.test`,
      contacts: [
        { email: 'eve@html-client.test', messageId: `<replied-${key}@mail.harbour.test>` },
        { email: 'colleague@html-client.test', messageId: `<colleague-${key}@mail.harbour.test>` },
        { email: 'friend@gmail.com', messageId: `<friend-${key}@mail.harbour.test>` },
      ],
      sentAt: new Date('2026-12-03T09:00:00Z'),
    });
    if (setting !== null) {
      const patched = await api().patch(`/api/campaigns/${rows.campaignId}`).set(bearer(world.a.adminToken)).send({ stopCompanyOnReply: setting });
      expect(patched.status).toBe(200);
    }
    const deps = inboundDeps({ stopCompanyOnReply: configured, freeMailDomains: ['gmail.com'] }, () => RECEIVED);
    const result = await ingestInboundMessage(t.db, { accountId: rows.accountId, source: 'gmail', sourceKey: `reply-${key}`, raw: fixture(REPLY, { [REPLIED_TO.slice(1, -1)]: `replied-${key}@mail.harbour.test` }), receivedAt: RECEIVED }, deps);
    expect(result.kind).toBe('reply');
    const colleague = rows.contacts.get('colleague@html-client.test')!;
    const friend = rows.contacts.get('friend@gmail.com')!;
    return {
      colleague: [await membership(t.db, rows.campaignId, colleague.contactId), (await queueRow(t.db, colleague.step2)).status],
      friend: await membership(t.db, rows.campaignId, friend.contactId),
    };
  }

  it('on: a reply stops the colleagues of the same company in that campaign although the configuration says no', async () => {
    expect(await replyWith(true, false, 'on')).toEqual({ colleague: ['cancelled', 'cancelled'], friend: 'active' });
  });

  it('off: a reply stops only the contact who replied although the configuration says yes', async () => {
    expect(await replyWith(false, true, 'off')).toEqual({ colleague: ['active', 'queued'], friend: 'active' });
  });

  it('null: the configuration decides', async () => {
    expect(await replyWith(null, true, 'null')).toEqual({ colleague: ['cancelled', 'cancelled'], friend: 'active' });
  });
});
