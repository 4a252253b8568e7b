/**
 * Opens, clicks and unsubscribes reported by ESP webhooks, read from provider bodies by the real
 * mappers and applied through applyFeedbackEvent: tracking events of the matched queue row (not
 * inbound messages a person must look at), judged by the same automation detection as our pixel
 * and links, once per provider event id; an ESP unsubscribe suppresses the address.
 */
import { parseTunables } from '../../src/config';
import { applyFeedbackEvent } from '../../src/inbound/feedback-event';
import { campaignStats } from '../../src/stats/stats.repository';
import { createAutomationDetector } from '../../src/tracking/automation-detector';
import { mailgunEvents } from '../../src/webhooks/mailgun';
import { sendgridEvents } from '../../src/webhooks/sendgrid';
import { useTestDatabase } from '../helpers/database';
import { inboundDeps, inboundWorld, membership, queueRow, suppression } from './inbound-world';

const t = useTestDatabase();
const SENT = new Date('2026-12-04T09:00:00Z');
const LATER = new Date('2026-12-04T11:00:00Z');
const tracking = parseTunables({}).tracking;
const deps = { ...inboundDeps({}, () => LATER), tracking: { detector: createAutomationDetector(tracking), scannerClickWindowSeconds: tracking.scannerClickWindowSeconds } };
const unix = (d: Date) => Math.floor(d.getTime() / 1000);
const HUMAN_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36';

const mailgunBody = (data: Record<string, unknown>) => ({ signature: { timestamp: '1', token: 't', signature: '0'.repeat(64) }, 'event-data': data });

describe('ESP opens and clicks', () => {
  it('become tracking events of the matched row, counted in the stats once per provider event, with no inbound message', async () => {
    const world = await inboundWorld(t.db, { accountEmail: 'esp-open@mail.harbour.test', contacts: [{ email: 'reader@esp-client.test', messageId: '<esp-open-1@mail.harbour.test>' }], sentAt: SENT });
    const row = world.contacts.get('reader@esp-client.test')!;
    const events = sendgridEvents([
      { event: 'open', email: 'reader@esp-client.test', timestamp: unix(LATER), sg_event_id: 'sg-open-1', 'smtp-id': '<esp-open-1@mail.harbour.test>', ip: '203.0.113.9', useragent: HUMAN_UA },
      { event: 'click', email: 'reader@esp-client.test', timestamp: unix(LATER), sg_event_id: 'sg-click-1', 'smtp-id': '<esp-open-1@mail.harbour.test>', ip: '203.0.113.9', useragent: HUMAN_UA, url: 'https://example.com/offer' },
    ]);
    for (const event of [...events, ...events]) await applyFeedbackEvent(t.db, { ...event, clientId: world.clientId }, deps);

    const opens = await t.db.selectFrom('open_events').select(['queue_id', 'source', 'provider_event_id', 'ip', 'user_agent', 'automated_reason']).where('campaign_id', '=', world.campaignId).execute();
    expect(opens).toEqual([{ queue_id: row.step1, source: 'sendgrid', provider_event_id: 'sg-open-1', ip: '203.0.113.9', user_agent: HUMAN_UA, automated_reason: null }]);
    const clicks = await t.db.selectFrom('click_events').select(['queue_id', 'source', 'link_id', 'url', 'automated_reason']).where('campaign_id', '=', world.campaignId).execute();
    expect(clicks).toEqual([{ queue_id: row.step1, source: 'sendgrid', link_id: null, url: 'https://example.com/offer', automated_reason: null }]);
    expect(await t.db.selectFrom('inbound_messages').select('id').where('client_id', '=', world.clientId).execute()).toEqual([]);
    expect((await campaignStats(t.db, world.campaignId, LATER)).totals).toMatchObject({ sent: 1, opened: 1, clicked: 1 });
  });

  it('flags a privacy proxy’s open and a scanner’s click (Mailgun, matched by recipient) and does not count them', async () => {
    const world = await inboundWorld(t.db, { accountEmail: 'esp-proxy@mail.harbour.test', contacts: [{ email: 'proxied@esp-client.test', messageId: '<esp-proxy-1@mail.harbour.test>' }], sentAt: SENT });
    const open = mailgunEvents(mailgunBody({ id: 'mg-open-1', event: 'opened', timestamp: unix(LATER), recipient: 'proxied@esp-client.test', ip: '66.249.84.1', 'client-info': { 'user-agent': 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)' } }));
    const click = mailgunEvents(mailgunBody({ id: 'mg-click-1', event: 'clicked', timestamp: unix(LATER), recipient: 'proxied@esp-client.test', ip: '198.51.100.7', 'client-info': { 'user-agent': 'Mimecast URL protect' }, url: 'https://example.com/x' }));
    for (const event of [...open, ...click]) await applyFeedbackEvent(t.db, { ...event, clientId: world.clientId }, deps);
    const reasons = async (table: 'open_events' | 'click_events') => (await t.db.selectFrom(table).select(['source', 'automated_reason']).where('campaign_id', '=', world.campaignId).execute());
    expect(await reasons('open_events')).toEqual([{ source: 'mailgun', automated_reason: 'privacy_proxy_ua' }]);
    expect(await reasons('click_events')).toEqual([{ source: 'mailgun', automated_reason: 'scanner_ua' }]);
    expect((await campaignStats(t.db, world.campaignId, LATER)).totals).toMatchObject({ opened: 0, clicked: 0 });
  });

  it('an open that matches none of our rows is dropped, not stored for a person', async () => {
    const world = await inboundWorld(t.db, { accountEmail: 'esp-none@mail.harbour.test', contacts: [{ email: 'someone@esp-client.test', messageId: '<esp-none-1@mail.harbour.test>' }], sentAt: SENT });
    const result = await applyFeedbackEvent(t.db, { source: 'ses', eventId: 'ses-open-x', kind: 'open', recipient: 'stranger@elsewhere.test', clientId: world.clientId, occurredAt: LATER }, deps);
    expect(result).toEqual({ kind: 'open', duplicate: false, queueId: null });
    expect(await t.db.selectFrom('inbound_messages').select('id').where('client_id', '=', world.clientId).execute()).toEqual([]);
  });
});

describe('ESP unsubscribes', () => {
  it('suppress the address (reason unsubscribed) and stop its waiting steps, for SendGrid and Mailgun alike', async () => {
    const world = await inboundWorld(t.db, {
      accountEmail: 'esp-unsub@mail.harbour.test',
      contacts: [{ email: 'leaver@esp-client.test', messageId: '<esp-unsub-1@mail.harbour.test>' }, { email: 'group-leaver@esp-client.test', messageId: '<esp-unsub-2@mail.harbour.test>' }],
      sentAt: SENT,
    });
    const events = [
      ...sendgridEvents([{ event: 'group_unsubscribe', email: 'group-leaver@esp-client.test', timestamp: unix(LATER), sg_event_id: 'sg-unsub-1' }]),
      ...mailgunEvents(mailgunBody({ id: 'mg-unsub-1', event: 'unsubscribed', timestamp: unix(LATER), recipient: 'leaver@esp-client.test', message: { headers: { 'message-id': 'esp-unsub-1@mail.harbour.test' } } })),
    ];
    for (const event of events) await applyFeedbackEvent(t.db, { ...event, clientId: world.clientId }, deps);
    for (const email of ['leaver@esp-client.test', 'group-leaver@esp-client.test']) {
      const contact = world.contacts.get(email)!;
      expect(await suppression(t.db, world.clientId, email)).toMatchObject({ reason: 'unsubscribed' });
      expect(await membership(t.db, world.campaignId, contact.contactId)).toBe('unsubscribed');
      expect((await queueRow(t.db, contact.step2)).status).toBe('cancelled');
    }
    expect(await t.db.selectFrom('inbound_messages').select('id').where('client_id', '=', world.clientId).execute()).toEqual([]);
  });
});
