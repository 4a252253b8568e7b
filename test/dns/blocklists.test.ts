/**
 * Issue 15 item 6 against real DNSBL and domain-blocklist zones served by rbldnsd: the relay
 * IPs of own SMTP servers and the sending, tracking and landing domains are looked up; a
 * listing raises one `blocklist_listed` alert (and, with dns.pauseOnListing, pauses the
 * mailboxes it affects), a 127.255.255.x answer is an error of the query and never a listing,
 * and the alert is resolved once the listing is gone.
 */
import { useTestDatabase } from '../helpers/database';
import { startRbldnsd, type DnsPeer } from '../helpers/dns-peer';
import { testConfig } from '../http/admin-api.helpers';
import { createAccount, createClient } from '../queue/fixtures';
import { checkBlocklists } from '../../src/dns/blocklists';
import { createDnsResolver } from '../../src/dns/dns-resolver';
import { createLogger } from '../../src/logger';

const t = useTestDatabase();
const NOW = new Date('2026-03-02T03:15:00Z');

describe('blocklist check', () => {
  let dns: DnsPeer;
  const zones = (listedIp: string) => [
    { zone: 'bl.test', type: 'ip4set' as const, lines: [':127.0.0.2:Listed for testing', listedIp, '127.0.0.30 :127.255.255.254:Query refused'] },
    { zone: 'dbl.test', type: 'dnset' as const, lines: [':127.0.1.2:Domain listed', 'listed-sender.test', 'click.listed-track.test', ':127.255.255.255:Excessive queries', 'refused-sender.test'] },
  ];
  const configFor = (server: string, pauseOnListing: boolean) =>
    testConfig({ BASE_URL: 'https://click.listed-track.test' }, { dns: { servers: [server], blocklists: [{ zone: 'bl.test', type: 'ip' }, { zone: 'dbl.test', type: 'domain' }], pauseOnListing } });
  const logger = createLogger('error');

  afterEach(async () => {
    await dns?.close();
  });

  it('alerts a listed relay IP, sending domain and tracking domain once each, and treats 127.255.255.x as an error', async () => {
    dns = await startRbldnsd(zones('127.0.0.20'));
    const client = await createClient(t.db);
    const listedRelay = await createAccount(t.db, client.id, { email: 'a@clean-sender.test', transport_settings: JSON.stringify({ host: '127.0.0.20', port: 587 }) });
    await createAccount(t.db, client.id, { email: 'b@listed-sender.test', transport_settings: JSON.stringify({ host: '127.0.0.40', port: 587 }) });
    await createAccount(t.db, client.id, { email: 'c@refused-sender.test', transport_settings: JSON.stringify({ host: '127.0.0.30', port: 587 }) });
    const config = configFor(dns.server, true);
    const resolve = createDnsResolver(config.dns);

    const findings = await checkBlocklists(t.db, config, resolve, logger, NOW);
    const result = (target: string) => findings.find((f) => f.target === target)?.result;
    expect([result('127.0.0.20'), result('listed-sender.test'), result('click.listed-track.test')]).toEqual(['listed', 'listed', 'listed']);
    expect([result('127.0.0.40'), result('clean-sender.test')]).toEqual(['clean', 'clean']);
    expect([result('127.0.0.30'), result('refused-sender.test')]).toEqual(['error', 'error']);

    await checkBlocklists(t.db, config, resolve, logger, NOW);
    const alerts = await t.db.selectFrom('alerts').select(['client_id', 'message', 'details']).where('code', '=', 'blocklist_listed').where('resolved_at', 'is', null).execute();
    const targets = alerts.map((a) => (a.details as { target: string }).target).sort();
    expect(targets).toEqual(['127.0.0.20', 'click.listed-track.test', 'listed-sender.test']);
    expect(alerts.find((a) => (a.details as { target: string }).target === 'click.listed-track.test')!.client_id).toBeNull();
    expect(alerts.find((a) => (a.details as { target: string }).target === '127.0.0.20')!.message).toMatch(/Listed for testing/);

    // pauseOnListing: the mailboxes sending through the listed IP and from the listed domain; not the one with an error.
    const statuses = await t.db.selectFrom('sender_accounts').select(['email', 'status', 'pause_reason']).where('client_id', '=', client.id).orderBy('email').execute();
    expect(statuses).toEqual([
      { email: listedRelay.email, status: 'paused', pause_reason: 'blocklisted' },
      { email: 'b@listed-sender.test', status: 'paused', pause_reason: 'blocklisted' },
      { email: 'c@refused-sender.test', status: 'active', pause_reason: null },
    ]);
  });

  it('resolves the alert when the listing is gone', async () => {
    dns = await startRbldnsd(zones('127.0.0.99'));
    const config = configFor(dns.server, false);
    await checkBlocklists(t.db, config, createDnsResolver(config.dns), logger, NOW);
    const open = await t.db.selectFrom('alerts').select('details').where('code', '=', 'blocklist_listed').where('resolved_at', 'is', null).execute();
    expect(open.map((a) => (a.details as { target: string }).target).sort()).toEqual(['click.listed-track.test', 'listed-sender.test']);
  });
});
