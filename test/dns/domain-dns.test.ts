/**
 * Issue 15 item 5 through the HTTP API, against real zones served by dnsmasq: a sender
 * domain's SPF (for the relay its accounts send through, and Google for its Gmail accounts),
 * DKIM (published key = stored key), DMARC, MX and the relay's forward-confirmed reverse DNS
 * are checked on demand, written to sender_domains, shown with the records to publish, and a
 * failing domain raises one `dns_check_failed` alert and refuses (or warns on) campaign start.
 */
import crypto from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { useTestDatabase } from '../helpers/database';
import { startDnsmasq, type DnsPeer } from '../helpers/dns-peer';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { createAccount } from '../queue/fixtures';
import { sql } from 'kysely';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { Schedules } from '../../src/orchestrator/schedules';
import { dkimRecord } from '../../src/dns/domain-dns-check';

const t = useTestDatabase();

const newKey = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('sender domain DNS check', () => {
  const storedKey = newKey();
  const otherKey = newKey();
  let dns: DnsPeer;
  let world: World;
  let app: Express;
  let config: Config;
  /** The same configuration (and credential key) with other DNS settings. */
  const withDns = (dnsSettings: Partial<Config['dns']>) => testApp(t.db, { ...config, dns: { ...config.dns, ...dnsSettings } });
  let good: string;
  let bad: string;
  let goodAccount: string;
  let badAccount: string;
  const admin = () => bearer(world.a.adminToken);

  beforeAll(async () => {
    dns = await startDnsmasq({
      zones: ['good.test', 'bad.test'],
      txt: [
        ['good.test', 'v=spf1 a:relay.good.test include:_spf.google.com ~all'],
        ['s1._domainkey.good.test', dkimRecord(storedKey)],
        ['_dmarc.good.test', 'v=DMARC1; p=none; adkim=s'],
        // Authorises someone else, publishes another key, no DMARC, no MX.
        ['bad.test', 'v=spf1 ip4:192.0.2.1 -all'],
        ['s1._domainkey.bad.test', dkimRecord(otherKey)],
      ],
      hosts: [['relay.good.test', '127.0.0.10']],
      addresses: [['relay.bad.test', '127.0.0.20']],
      mx: [['good.test', 'mx.good.test', 10]],
    });
    config = testConfig({}, { dns: { servers: [dns.server], enforceOnStart: 'refuse' } });
    app = testApp(t.db, config);
    world = await createWorld(t.db, app, 'dns');
    good = await addSenderDomain(app, world.a.adminToken, 'good.test', { dkimSelector: 's1', dkimPrivateKey: storedKey });
    bad = await addSenderDomain(app, world.a.adminToken, 'bad.test', { dkimSelector: 's1', dkimPrivateKey: storedKey });
    goodAccount = (await createAccount(t.db, world.a.clientId, { email: 'ann@good.test', transport_settings: JSON.stringify({ host: 'relay.good.test', port: 587 }) })).id;
    await createAccount(t.db, world.a.clientId, { email: 'gia@good.test', transport: 'gmail', transport_settings: JSON.stringify({}) });
    badAccount = (await createAccount(t.db, world.a.clientId, { email: 'bob@bad.test', transport_settings: JSON.stringify({ host: 'relay.bad.test', port: 587 }) })).id;
    await createAccount(t.db, world.a.clientId, { email: 'gus@bad.test', transport: 'gmail', transport_settings: JSON.stringify({}) });
  });

  afterAll(async () => {
    await dns.close();
  });

  it('passes a domain whose records authorise its relay and Google, publish its key, a DMARC policy and an MX', async () => {
    const res = await request(app).post(`/api/domains/${good}/dns/check`).set(admin());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ domain: 'good.test', spfStatus: 'pass', dkimStatus: 'pass', dmarcStatus: 'pass' });
    expect(res.body.current).toMatchObject({
      spf: { status: 'pass' },
      dkim: { status: 'pass', selector: 's1' },
      dmarc: { status: 'pass', policy: 'none', alignment: { spf: 'relaxed', dkim: 'strict' } },
      mx: { status: 'pass', hosts: ['mx.good.test'] },
      ptr: { status: 'pass' },
      relays: [{ host: 'relay.good.test', ip: '127.0.0.10', spf: 'pass', ptr: ['relay.good.test'], forwardConfirmed: true }],
      failing: [],
    });
    const domain = await request(app).get(`/api/domains/${good}`).set(admin());
    expect(domain.body).toMatchObject({ spfStatus: 'pass', dkimStatus: 'pass', dmarcStatus: 'pass' });
    expect(domain.body.dnsCheckedAt).not.toBeNull();
  });

  it('shows the records to publish and the last result', async () => {
    const res = await request(app).get(`/api/domains/${good}/dns`).set(admin());
    expect(res.status).toBe(200);
    expect(res.body.expected).toEqual([
      expect.objectContaining({ type: 'TXT', name: 'good.test', value: 'v=spf1 a:relay.good.test include:_spf.google.com ~all' }),
      expect.objectContaining({ type: 'TXT', name: 's1._domainkey.good.test', value: dkimRecord(storedKey) }),
      expect.objectContaining({ type: 'TXT', name: '_dmarc.good.test', value: 'v=DMARC1; p=none; adkim=r; aspf=r' }),
    ]);
    expect(res.body.current.failing).toEqual([]);
  });

  it('fails each broken part with a reason, once alerted', async () => {
    const res = await request(app).post(`/api/domains/${bad}/dns/check`).set(admin());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ spfStatus: 'fail', dkimStatus: 'fail', dmarcStatus: 'fail' });
    expect(res.body.current.failing).toEqual(['spf', 'dkim', 'dmarc', 'mx', 'ptr']);
    expect(res.body.current.spf.detail).toMatch(/relay\.bad\.test \(127\.0\.0\.20\) is not authorised \(fail\)/);
    expect(res.body.current.spf.detail).toMatch(/Gmail accounts send through Google, but the record lacks include:_spf\.google\.com/);
    expect(res.body.current.dkim.detail).toMatch(/not the stored key/);
    expect(res.body.current.ptr.detail).toMatch(/127\.0\.0\.20 \(relay\.bad\.test, no PTR\)/);
    await request(app).post(`/api/domains/${bad}/dns/check`).set(admin());
    const alerts = await t.db.selectFrom('alerts').select(['code', 'severity', 'message']).where('client_id', '=', world.a.clientId).where('code', '=', 'dns_check_failed').execute();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toMatch(/bad\.test/);
  });

  it('resolves the alert once the domain passes again; the daily job rechecks every domain', async () => {
    const openAlerts = () => t.db.selectFrom('alerts').select('id').where('code', '=', 'dns_check_failed').where('resolved_at', 'is', null).where(sql<boolean>`details->>'domainId' = ${good}`).execute();
    await request(app).patch(`/api/domains/${good}`).set(admin()).send({ dkimPrivateKey: otherKey });
    const broken = await request(app).post(`/api/domains/${good}/dns/check`).set(admin());
    expect(broken.body.current.failing).toEqual(['dkim']);
    expect(await openAlerts()).toHaveLength(1);

    await request(app).patch(`/api/domains/${good}`).set(admin()).send({ dkimPrivateKey: storedKey });
    const before = (await t.db.selectFrom('sender_domains').select('dns_checked_at').where('id', '=', good).executeTakeFirstOrThrow()).dns_checked_at!;
    await new Schedules({ db: t.db, config, logger: createLogger('error'), onNewDay: () => undefined }).checkDns(new Date(before.getTime() + 60_000));
    const after = await t.db.selectFrom('sender_domains').select(['dkim_status', 'dns_checked_at']).where('id', '=', good).executeTakeFirstOrThrow();
    expect(after).toEqual({ dkim_status: 'pass', dns_checked_at: new Date(before.getTime() + 60_000) });
    expect(await openAlerts()).toHaveLength(0);
  });

  it('a lookup that cannot be answered is an error, not a failure', async () => {
    const unreachable = withDns({ servers: ['127.0.0.1:9'], timeoutMs: 200 });
    const res = await request(unreachable).post(`/api/domains/${good}/dns/check`).set(admin());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ spfStatus: 'error', dkimStatus: 'error', dmarcStatus: 'error' });
    expect(res.body.current.failing).toEqual([]);
    await request(app).post(`/api/domains/${good}/dns/check`).set(admin());
  });

  it('refuses to start a campaign sending from a failing domain, and warns when configured to', async () => {
    let n = 0;
    const create = async (accountId: string) => {
      n++;
      const campaign = await request(app).post('/api/campaigns').set(admin()).send({ name: `c-${n}`, steps: [{ subject: 'Hello', bodyText: 'Hi.' }], senderAccountIds: [accountId] });
      expect(campaign.status).toBe(201);
      const contact = await request(app).post('/api/contacts').set(admin()).send({ email: `lee-${n}@example.org` });
      await request(app).post(`/api/campaigns/${campaign.body.id}/contacts`).set(admin()).send({ contactIds: [contact.body.id] });
      return campaign.body.id as string;
    };
    const refused = await request(app).post(`/api/campaigns/${await create(badAccount)}/start`).set(admin());
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'sender_domain_dns_failing', details: { domains: [{ domain: 'bad.test', failing: ['spf', 'dkim', 'dmarc', 'mx', 'ptr'] }] } });

    const started = await request(app).post(`/api/campaigns/${await create(goodAccount)}/start`).set(admin());
    expect(started.status).toBe(200);
    expect(started.body.dnsWarnings).toBeUndefined();

    const warnApp = withDns({ enforceOnStart: 'warn' });
    const warned = await request(warnApp).post(`/api/campaigns/${await create(badAccount)}/start`).set(admin());
    expect(warned.body).toMatchObject({ campaign: { status: 'running' } });
    expect(warned.body.dnsWarnings).toEqual([{ domain: 'bad.test', failing: ['spf', 'dkim', 'dmarc', 'mx', 'ptr'] }]);
  });
});
