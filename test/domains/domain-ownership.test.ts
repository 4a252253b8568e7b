/**
 * Issue 13 item 1 through the HTTP API: a sender account's address must be on a sender domain
 * of its own client (create, CSV import, activation); DKIM keys are found by (client, domain),
 * so client B never signs with client A's key, even with an account made before the check;
 * a domain belongs to one client, and only the owner moves it.
 */
import crypto from 'node:crypto';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addSenderDomain, bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

const dkimKey = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const signingDomains = (raw: string) => [...raw.replace(/\r\n[ \t]+/g, ' ').matchAll(/^DKIM-Signature:.*?[;\s]d=([^;\s]+)/gim)].map((m) => m[1]);

describe('sender domains belong to one client', () => {
  let world: World;
  let peer: SmtpPeer;
  let aDomain: string;
  const api = () => request(world.app);
  const adminA = () => bearer(world.a.adminToken);
  const adminB = () => bearer(world.b.adminToken);
  const smtpAccount = (email: string) => ({ email, transport: 'smtp', transportSettings: { host: peer.host, port: peer.port, requireTLS: false }, credentials: { user: 'u', pass: 'p' } });

  let sends = 0;
  /** A campaign of `token`'s client sending through `accountId`, and a test send of its step 1: the raw message as received. */
  const testSend = async (token: string, accountId: string) => {
    const auth = bearer(token);
    const n = sends++;
    const campaign = await api().post('/api/campaigns').set(auth).send({ name: `c-${n}`, steps: [{ subject: 'Hello', bodyText: 'Hi there.' }], senderAccountIds: [accountId] });
    expect(campaign.status).toBe(201);
    const contact = await api().post('/api/contacts').set(auth).send({ email: `lee-${n}@example.org` });
    const before = peer.received.length;
    const sent = await api().post(`/api/campaigns/${campaign.body.id}/test-send`).set(auth).send({ stepNumber: 1, to: 'me@example.org', contactId: contact.body.id });
    expect(sent.body).toMatchObject({ outcome: 'accepted' });
    expect(peer.received).toHaveLength(before + 1);
    return peer.received[before]!.raw;
  };

  beforeAll(async () => {
    peer = await startSmtpPeer();
    world = await createWorld(t.db, testApp(t.db), 'own');
    aDomain = await addSenderDomain(world.app, world.a.adminToken, 'a-brand.example.com', { dkimSelector: 's1', dkimPrivateKey: dkimKey() });
    await addSenderDomain(world.app, world.b.adminToken, 'b-brand.example.com', { dkimSelector: 's1', dkimPrivateKey: dkimKey() });
  });

  afterAll(async () => {
    await peer.close();
  });

  it("refuses an account on another client's domain, or on no registered domain, the same way (422 naming the email field)", async () => {
    const answers = [];
    for (const email of ['x@a-brand.example.com', 'x@A-Brand.Example.com', 'x@nobody.example.com']) {
      const res = await api().post('/api/accounts').set(adminB()).send(smtpAccount(email));
      answers.push({ status: res.status, code: res.body.error?.code, paths: res.body.error?.details.issues.map((i: { path: string }) => i.path) });
      // Nothing about who holds it.
      expect(JSON.stringify(res.body)).not.toMatch(new RegExp(`${world.a.clientId}|own-a`));
    }
    expect(answers).toEqual(Array(3).fill({ status: 422, code: 'domain_not_registered', paths: ['email'] }));
    // Not for the owner acting for client B either.
    const owner = await api().post('/api/accounts').set(bearer(world.ownerToken)).send({ ...smtpAccount('y@a-brand.example.com'), clientId: world.b.clientId });
    expect({ status: owner.status, code: owner.body.error?.code }).toEqual({ status: 422, code: 'domain_not_registered' });
    expect(await t.db.selectFrom('sender_accounts').select('id').where('client_id', '=', world.b.clientId).execute()).toEqual([]);

    const own = await api().post('/api/accounts').set(adminA()).send(smtpAccount('x@a-brand.example.com'));
    expect(own.status).toBe(201);
    expect(own.body.domainId).toBe(aDomain);
  });

  it("reports CSV rows on another client's domain per line, and imports the others", async () => {
    const csv = ['email,transport', 'one@b-brand.example.com,sink', 'two@a-brand.example.com,sink', 'three@B-BRAND.example.com,sink'].join('\n');
    const res = await api().post('/api/accounts/import').set(adminB()).set('Content-Type', 'text/csv').send(csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 2, invalid: 1 });
    expect(res.body.rows[1]).toEqual({ line: 3, email: 'two@a-brand.example.com', status: 'invalid', errors: [{ path: 'email', message: expect.stringContaining('a-brand.example.com is not a sender domain of this client') }] });
    expect(await t.db.selectFrom('sender_accounts').select('id').where('email', '=', 'two@a-brand.example.com').execute()).toEqual([]);
  });

  it("refuses a domainId that is not the address's domain, and the activation of an account whose domain is not its client's", async () => {
    const bDomain = (await api().get('/api/domains').set(adminB())).body.domains[0].id as string;
    const account = await api().post('/api/accounts').set(adminB()).send({ email: 'pat@b-brand.example.com', transport: 'sink', status: 'paused' });
    expect(account.body.domainId).toBe(bDomain);
    const other = await addSenderDomain(world.app, world.b.adminToken, 'b-other.example.com');
    for (const domainId of [other, null]) {
      const res = await api().patch(`/api/accounts/${account.body.id}`).set(adminB()).send({ domainId });
      expect({ status: res.status, code: res.body.error?.code, paths: res.body.error?.details.issues.map((i: { path: string }) => i.path) }).toEqual({ status: 422, code: 'domain_mismatch', paths: ['domainId'] });
    }
    expect((await api().patch(`/api/accounts/${account.body.id}`).set(adminB()).send({ domainId: aDomain })).status).toBe(404);
    const mismatched = await api().post('/api/accounts').set(adminB()).send({ email: 'kim@b-brand.example.com', transport: 'sink', domainId: other });
    expect({ status: mismatched.status, code: mismatched.body.error?.code }).toEqual({ status: 422, code: 'domain_mismatch' });

    // An account made before the check, on A's domain (as 0013 leaves them: suspended).
    await t.db.updateTable('sender_accounts').set({ email: 'pat@a-brand.example.com', domain_id: null, status: 'suspended' }).where('id', '=', account.body.id).execute();
    const activated = await api().patch(`/api/accounts/${account.body.id}`).set(adminB()).send({ status: 'active' });
    expect({ status: activated.status, code: activated.body.error?.code }).toEqual({ status: 422, code: 'domain_not_registered' });
    expect((await api().patch(`/api/accounts/${account.body.id}`).set(adminB()).send({ dailyLimit: 5 })).status).toBe(200);
    await api().delete(`/api/accounts/${account.body.id}`).set(adminB());
  });

  it("never signs client B's mail with client A's key, even from an account on A's domain made before the check", async () => {
    const fromA = await api().post('/api/accounts').set(adminA()).send(smtpAccount('sales@a-brand.example.com'));
    expect(signingDomains(await testSend(world.a.adminToken, fromA.body.id))).toEqual(['a-brand.example.com']);

    const fromB = await api().post('/api/accounts').set(adminB()).send(smtpAccount('sales@b-brand.example.com'));
    expect(signingDomains(await testSend(world.b.adminToken, fromB.body.id))).toEqual(['b-brand.example.com']);
    // The address moved onto A's domain behind the API's back (data from before the check).
    await t.db.updateTable('sender_accounts').set({ email: 'intruder@a-brand.example.com', domain_id: null }).where('id', '=', fromB.body.id).execute();
    const raw = await testSend(world.b.adminToken, fromB.body.id);
    expect(raw).toMatch(/^From: .*intruder@a-brand\.example\.com/m);
    expect(signingDomains(raw)).toEqual([]);
    await api().delete(`/api/accounts/${fromB.body.id}`).set(adminB());
  });

  it('keeps a domain to one client whatever its case: 409 without saying which client holds it', async () => {
    for (const [token, body] of [
      [world.b.adminToken, { domain: 'A-BRAND.example.com' }],
      [world.ownerToken, { domain: 'a-brand.example.com', clientId: world.b.clientId }],
    ] as const) {
      const res = await api().post('/api/domains').set(bearer(token)).send(body);
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 409, code: 'domain_taken' });
      expect(JSON.stringify(res.body)).not.toMatch(new RegExp(`${world.a.clientId}|own-a|${aDomain}`));
    }
    expect((await api().get('/api/domains').set(adminB())).body.domains.map((d: { domain: string }) => d.domain)).not.toContain('a-brand.example.com');
  });

  it('lets only the owner move a domain, with its key, once no account of its client uses it', async () => {
    const move = (token: string, id: string, clientId: string) => api().post(`/api/domains/${id}/transfer`).set(bearer(token)).send({ clientId });
    expect((await move(world.a.adminToken, aDomain, world.b.clientId)).status).toBe(403);
    expect((await move(world.b.adminToken, aDomain, world.b.clientId)).status).toBe(403);
    expect((await move(world.ownerToken, aDomain, '00000000-0000-4000-8000-000000000000')).status).toBe(404);

    const inUse = await move(world.ownerToken, aDomain, world.b.clientId);
    expect({ status: inUse.status, code: inUse.body.error?.code }).toEqual({ status: 409, code: 'domain_in_use' });
    const deleteInUse = await api().delete(`/api/domains/${aDomain}`).set(adminA());
    expect({ status: deleteInUse.status, code: deleteInUse.body.error?.code }).toEqual({ status: 409, code: 'domain_in_use' });

    for (const account of (await api().get('/api/accounts').set(adminA())).body.accounts as Array<{ id: string }>) {
      expect((await api().delete(`/api/accounts/${account.id}`).set(adminA())).status).toBe(204);
    }
    const moved = await move(world.ownerToken, aDomain, world.b.clientId);
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: aDomain, clientId: world.b.clientId, domain: 'a-brand.example.com', hasDkimKey: true });
    expect((await api().get(`/api/domains/${aDomain}`).set(adminA())).status).toBe(404);
    const audit = await t.db.selectFrom('audit_log').select(['actor_type', 'actor_id', 'details']).where('action', '=', 'domain.transferred').execute();
    expect(audit).toEqual([{ actor_type: 'user', actor_id: world.ownerId, details: { domain: 'a-brand.example.com', fromClientId: world.a.clientId, toClientId: world.b.clientId } }]);

    // Now B's: B's accounts on it are signed with its key, A's are refused.
    const fromB = await api().post('/api/accounts').set(adminB()).send(smtpAccount('new@a-brand.example.com'));
    expect(fromB.status).toBe(201);
    expect(signingDomains(await testSend(world.b.adminToken, fromB.body.id))).toEqual(['a-brand.example.com']);
    expect((await api().post('/api/accounts').set(adminA()).send(smtpAccount('back@a-brand.example.com'))).status).toBe(422);
  });
});
