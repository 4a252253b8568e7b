/**
 * Inbox reading through the admin API: a domain's bounce mailbox set, validated, shown without
 * its password and read; an account whose inbox cannot be read shows why (lastInboundError).
 */
import request from 'supertest';
import { createCredentialCipher } from '../../../src/crypto/credential-cipher';
import { useTestDatabase } from '../../helpers/database';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../../http/admin-api.helpers';
import { startImapPeer, type ImapPeer } from '../../peers/imap-peer';
import { deliverByImap, fixture, poller, recorder } from './reading-harness';

const t = useTestDatabase();

describe('inbox reading in the admin API', () => {
  const config = testConfig();
  let world: World;
  let peer: ImapPeer;
  const api = () => request(world.app);
  const admin = () => bearer(world.a.adminToken);
  const cipher = createCredentialCipher(config.credentialKeys);

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db, config), 'inbound');
    peer = await startImapPeer({ user: 'api-bounces@example.test', pass: 'api-secret' });
  });
  afterAll(async () => {
    await peer?.stop();
  });

  it('sets a bounce mailbox on a domain (password write-only), reads it, and removes it with null', async () => {
    const created = await api()
      .post('/api/domains')
      .set(admin())
      .send({ domain: 'relay-bounces.test', bounceMailbox: { host: peer.host, port: peer.port, secure: false, user: peer.user, password: peer.pass } });
    expect(created.status).toBe(201);
    expect(created.body.bounceMailbox).toEqual({ host: peer.host, port: peer.port, secure: false, user: peer.user, mailbox: 'INBOX' });
    expect(JSON.stringify(created.body)).not.toContain(peer.pass);
    const stored = await t.db.selectFrom('sender_domains').select(['bounce_mailbox', 'bounce_mailbox_secret_encrypted']).where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(peer.pass);

    await deliverByImap(peer, [fixture('postfix/02-failed-remote-rcpt-550-5.1.1.eml')]);
    const rec = recorder();
    const reader = poller(t.db, rec.deliver, { cipher });
    await reader.drain();
    await reader.stop();
    expect(rec.calls.map((c) => [c.source, c.kind])).toEqual([['bounce_mailbox', 'bounce']]);

    const removed = await api().patch(`/api/domains/${created.body.id}`).set(admin()).send({ bounceMailbox: null });
    expect(removed.status).toBe(200);
    expect(removed.body.bounceMailbox).toBeNull();
    expect(await t.db.selectFrom('sender_domains').select('bounce_mailbox_secret_encrypted').where('id', '=', created.body.id).executeTakeFirstOrThrow()).toEqual({ bounce_mailbox_secret_encrypted: null });
  });

  it.each([
    ['no password', { host: 'imap.example.com', port: 993, user: 'u' }, 'bounceMailbox.password'],
    ['a port out of range', { host: 'imap.example.com', port: 0, user: 'u', password: 'p' }, 'bounceMailbox.port'],
    ['a host that is no host name', { host: 'imap example', port: 993, user: 'u', password: 'p' }, 'bounceMailbox.host'],
    ['an unknown field', { host: 'imap.example.com', port: 993, user: 'u', password: 'p', deleteAfterReading: true }, 'bounceMailbox'],
  ])('refuses a bounce mailbox with %s: 400 naming the field', async (_what, bounceMailbox, path) => {
    const res = await api().post('/api/domains').set(admin()).send({ domain: `bad-${Date.now()}.test`, bounceMailbox });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.issues.map((issue: { path: string }) => issue.path)).toContain(path);
  });

  it("shows why an account's inbox could not be read, and nothing once a read succeeds", async () => {
    await addSenderDomain(world.app, world.a.adminToken, 'inbox-owner.test');
    const account = await api()
      .post('/api/accounts')
      .set(admin())
      .send({
        email: 'reader@inbox-owner.test',
        transport: 'smtp',
        transportSettings: { host: '127.0.0.1', port: 2525, requireTLS: false, imap: { host: peer.host, port: peer.port, secure: false } },
        credentials: { user: 'smtp-user', pass: 'smtp-pass', imapUser: peer.user, imapPass: 'not-the-password' },
      });
    expect(account.status).toBe(201);
    expect(account.body).toMatchObject({ lastInboundError: null, lastInboundReadAt: null });

    const reader = poller(t.db, recorder().deliver, { cipher });
    await reader.drain();
    const failed = await api().get(`/api/accounts/${account.body.id}`).set(admin());
    expect(failed.body.lastInboundError).toEqual({ at: expect.any(String), message: `IMAP login refused by 127.0.0.1:${peer.port}`, consecutiveFailures: 1 });
    expect(failed.body.lastInboundReadAt).toBeNull();

    const fixed = await api()
      .patch(`/api/accounts/${account.body.id}`)
      .set(admin())
      .send({ credentials: { user: 'smtp-user', pass: 'smtp-pass', imapUser: peer.user, imapPass: peer.pass } });
    expect(fixed.status).toBe(200);
    await t.db.updateTable('inbound_mailboxes').set({ next_poll_at: new Date(0) }).execute();
    await reader.drain();
    await reader.stop();
    const read = await api().get(`/api/accounts/${account.body.id}`).set(admin());
    expect(read.body.lastInboundError).toBeNull();
    expect(read.body.lastInboundReadAt).toEqual(expect.any(String));
  }, 30_000);
});
