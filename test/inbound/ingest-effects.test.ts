/**
 * Real inbound messages (Postfix DSNs of our own messages, ARF complaints, replies and
 * auto-replies from test/fixtures/inbound) fed to ingestInboundMessage against rows as the
 * sending engine leaves them: each class's effects on the queue, the contact, the suppression
 * list, the mailbox's health, alerts and the campaign stats, once per message.
 */
import { campaignStats } from '../../src/stats/stats.repository';
import { ingestInboundMessage } from '../../src/inbound/ingest';
import { createLogger } from '../../src/logger';
import { Schedules } from '../../src/orchestrator/schedules';
import { useTestDatabase } from '../helpers/database';
import { testConfig } from '../http/admin-api.helpers';
import { account, acceptedSends, fixture, inboundDeps, inboundWorld, membership, queueRow, suppression } from './inbound-world';

const t = useTestDatabase();
const SENT_AT = new Date('2026-12-01T19:41:59Z');
const RECEIVED = new Date('2026-12-01T19:42:05Z');
const deps = inboundDeps({}, () => RECEIVED);

describe('a hard bounce (a real Postfix DSN of our message)', () => {
  it('suppresses the address, stops the sequence, counts as bounced in the stats, and acts once however often it is read', async () => {
    const world = await inboundWorld(t.db, {
      accountEmail: 'bob@mail.harbour.test',
      contacts: [{ email: 'gone@bounce.test', messageId: '<7f96646c-1b2d-40d2-bd32-18946e22a449@mail.harbour.test>' }],
      sentAt: SENT_AT,
    });
    const gone = world.contacts.get('gone@bounce.test')!;
    const raw = fixture('postfix/02-failed-remote-rcpt-550-5.1.1.eml');

    const first = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: '1:101', raw, receivedAt: RECEIVED }, deps);
    expect(first).toMatchObject({ duplicate: false, kind: 'bounce' });
    const again = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: '1:101', raw, receivedAt: RECEIVED }, deps);
    expect(again).toEqual({ id: first.id, duplicate: true, kind: 'bounce' });

    const stored = await t.db.selectFrom('inbound_messages').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ kind: 'bounce', sub_kind: 'recipient_hard', reason: 'user_unknown', queue_id: gone.step1, campaign_id: world.campaignId, contact_id: gone.contactId, step_number: 1, match_method: 'message_id', client_id: world.clientId });
    expect(stored.headers).toMatchObject({ subject: 'Undelivered Mail Returned to Sender' });
    expect(stored.raw?.length).toBe(raw.length);

    expect(await suppression(t.db, world.clientId, 'gone@bounce.test')).toEqual({ reason: 'hard_bounce', source: `inbound:${first.id}` });
    expect(await membership(t.db, world.campaignId, gone.contactId)).toBe('bounced');
    expect((await queueRow(t.db, gone.step2)).status).toBe('cancelled');
    const bounces = await t.db.selectFrom('bounces').selectAll().where('client_id', '=', world.clientId).execute();
    expect(bounces).toEqual([expect.objectContaining({ bounce_type: 'hard', queue_id: gone.step1, account_id: world.accountId, code: '5.1.1', inbound_message_id: first.id })]);
    const stats = await campaignStats(t.db, world.campaignId, RECEIVED);
    expect(stats.totals).toMatchObject({ sent: 1, bounced: 1, cancelled: 1 });
  });
});

describe('hard bounces by DSN feed the mailbox bounce rate like SMTP-time bounces', () => {
  it('pauses the mailbox once its bounce rate passes health.bounceRateThresholdPct', async () => {
    const ids = ['<aa000001-0000-4000-8000-000000000001@mail.harbour.test>', '<aa000001-0000-4000-8000-000000000002@mail.harbour.test>'];
    const world = await inboundWorld(t.db, {
      accountEmail: 'rate@mail.harbour.test',
      contacts: [{ email: 'gone-1@bounce.test', messageId: ids[0]! }, { email: 'gone-2@bounce.test', messageId: ids[1]! }],
      sentAt: SENT_AT,
    });
    // 20 sends in the window (2 + 18): one bounce is 5 % (not over 5 %), two are 10 %.
    await acceptedSends(t.db, world, 18, new Date(SENT_AT.getTime() - 60_000));
    const dsn = (n: 1 | 2) =>
      fixture('postfix/02-failed-remote-rcpt-550-5.1.1.eml', { '<7f96646c-1b2d-40d2-bd32-18946e22a449@mail.harbour.test>': ids[n - 1]!, 'gone@bounce.test': `gone-${n}@bounce.test`, 'bob@mail.harbour.test': 'rate@mail.harbour.test' });
    await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'r1', raw: dsn(1), receivedAt: RECEIVED }, deps);
    expect(await account(t.db, world.accountId)).toMatchObject({ status: 'active' });
    const second = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'r2', raw: dsn(2), receivedAt: RECEIVED }, deps);
    expect(await account(t.db, world.accountId)).toMatchObject({ status: 'paused', pause_reason: 'bounce_rate' });
    expect(Number((await account(t.db, world.accountId)).health_score)).toBeLessThan(100);
    const stored = await t.db.selectFrom('inbound_messages').select('effects').where('id', '=', second.id).executeTakeFirstOrThrow();
    expect(stored.effects).toContainEqual({ type: 'account_paused', accountId: world.accountId, reason: 'bounce_rate' });
  });
});

describe('a soft bounce', () => {
  it('is counted, and suppresses the address only after inbound.softBounceSuppressAfter in the window', async () => {
    const id = (n: number) => `<a1e2c3d4-0011-4e1a-8b1c-e1e1e1e1e1${String(n).padStart(2, '0')}@mail.harbour.test>`;
    const world = await inboundWorld(t.db, {
      accountEmail: 'soft@mail.harbour.test',
      contacts: [{ email: 'full@courier-client.test', messageId: id(11) }],
      sentAt: new Date('2026-12-02T16:00:00Z'),
    });
    const full = world.contacts.get('full@courier-client.test')!;
    const soft = inboundDeps({ softBounceSuppressAfter: 2 }, () => new Date('2026-12-02T16:10:05Z'));
    const raw = fixture('mta/courier-failed-mailbox-full.eml');
    const first = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 's1', raw, receivedAt: new Date('2026-12-02T16:10:02Z') }, soft);
    expect(first.kind).toBe('bounce');
    expect(await suppression(t.db, world.clientId, 'full@courier-client.test')).toBeUndefined();
    expect((await queueRow(t.db, full.step2)).status).toBe('queued');
    await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 's2', raw, receivedAt: new Date('2026-12-02T16:10:02Z') }, soft);
    expect(await suppression(t.db, world.clientId, 'full@courier-client.test')).toMatchObject({ reason: 'soft_bounce' });
    const bounces = await t.db.selectFrom('bounces').select('bounce_type').where('client_id', '=', world.clientId).execute();
    expect(bounces).toEqual([{ bounce_type: 'soft' }, { bounce_type: 'soft' }]);
    // Soft bounces never count as bounced in the stats, nor stop the sequence by themselves.
    expect((await campaignStats(t.db, world.campaignId, new Date())).totals.bounced).toBe(0);
  });
});

describe('a DSN that names no Message-ID', () => {
  it('is matched by its failed recipient, sent by the mailbox it came back to, near the reported time', async () => {
    const world = await inboundWorld(t.db, {
      accountEmail: 'mixed@mail.harbour.test',
      contacts: [{ email: 'hard.fail@mixed-client.test', messageId: '<mixed-1@mail.harbour.test>' }],
      sentAt: new Date('2026-12-02T16:57:50Z'),
    });
    const raw = fixture('mta/rfc3464-three-recipients-mixed-uppercase-no-original.eml');
    const result = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'm1', raw, receivedAt: new Date('2026-12-02T17:00:01Z') }, deps);
    const stored = await t.db.selectFrom('inbound_messages').select(['kind', 'sub_kind', 'queue_id', 'match_method']).where('id', '=', result.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ kind: 'bounce', sub_kind: 'recipient_hard', queue_id: world.contacts.get('hard.fail@mixed-client.test')!.step1, match_method: 'recipient' });
    expect(await suppression(t.db, world.clientId, 'hard.fail@mixed-client.test')).toMatchObject({ reason: 'hard_bounce' });
  });

  it('matches nothing of another client, even with the same recipient and Message-ID', async () => {
    const other = await inboundWorld(t.db, {
      accountEmail: 'other-client@mail.harbour.test',
      contacts: [{ email: 'victim@bounce.test', messageId: '<c1e75e39-4812-45e3-882a-f2e042eeab22@mail.harbour.test>' }],
      sentAt: SENT_AT,
    });
    const mine = await inboundWorld(t.db, { accountEmail: 'mine@mail.harbour.test', contacts: [], sentAt: SENT_AT });
    const raw = fixture('postfix/06-failed-remote-rcpt-550-followup-step2.eml', { 'gone@bounce.test': 'victim@bounce.test' });
    const result = await ingestInboundMessage(t.db, { accountId: mine.accountId, source: 'imap', sourceKey: 'x1', raw, receivedAt: RECEIVED }, deps);
    const stored = await t.db.selectFrom('inbound_messages').select(['kind', 'queue_id', 'client_id', 'effects']).where('id', '=', result.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ kind: 'bounce', queue_id: null, client_id: mine.clientId, effects: [] });
    expect(await suppression(t.db, other.clientId, 'victim@bounce.test')).toBeUndefined();
  });
});

describe('a delay notice', () => {
  it('is stored and changes nothing: a delay is not a failure', async () => {
    const world = await inboundWorld(t.db, {
      accountEmail: 'delay@mail.harbour.test',
      contacts: [{ email: 'later@defer.test', messageId: '<4582f1cc-b3a7-4ccb-bae5-ab8a4496a3b7@mail.harbour.test>' }],
      sentAt: SENT_AT,
    });
    const later = world.contacts.get('later@defer.test')!;
    const result = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'd1', raw: fixture('postfix/04-delayed-remote-451-4.7.1.eml'), receivedAt: RECEIVED }, deps);
    expect(result.kind).toBe('delay');
    const stored = await t.db.selectFrom('inbound_messages').select(['queue_id', 'effects']).where('id', '=', result.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ queue_id: later.step1, effects: [] });
    expect(await membership(t.db, world.campaignId, later.contactId)).toBe('active');
    expect((await queueRow(t.db, later.step2)).status).toBe('queued');
    expect(await t.db.selectFrom('bounces').selectAll().where('client_id', '=', world.clientId).execute()).toEqual([]);
  });
});

describe('retention', () => {
  it('the timed job deletes messages older than inbound.retentionDays and keeps the bounces they recorded', async () => {
    const world = await inboundWorld(t.db, {
      accountEmail: 'old@mail.harbour.test',
      contacts: [{ email: 'gone-old@bounce.test', messageId: '<old-1@mail.harbour.test>' }],
      sentAt: new Date('2026-01-01T10:00:00Z'),
    });
    const raw = (n: number) => fixture('postfix/02-failed-remote-rcpt-550-5.1.1.eml', { '<7f96646c-1b2d-40d2-bd32-18946e22a449@mail.harbour.test>': '<old-1@mail.harbour.test>', 'gone@bounce.test': 'gone-old@bounce.test', 'Message-Id: <20261201194200': `Message-Id: <${n}` });
    const old = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'old', raw: raw(1), receivedAt: new Date('2026-01-01T10:05:00Z') }, deps);
    const recent = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'recent', raw: raw(2), receivedAt: new Date('2026-06-25T10:05:00Z') }, deps);
    const config = testConfig();
    const schedules = new Schedules({ db: t.db, config: { ...config, inbound: { ...config.inbound, retentionDays: 30 } }, logger: createLogger('error'), onNewDay: () => undefined });
    expect(await schedules.purgeInbound(new Date('2026-07-01T00:00:00Z'))).toBe(1);
    const left = await t.db.selectFrom('inbound_messages').select('id').where('account_id', '=', world.accountId).execute();
    expect(left).toEqual([{ id: recent.id }]);
    const bounces = await t.db.selectFrom('bounces').select('inbound_message_id').where('client_id', '=', world.clientId).orderBy('id').execute();
    expect(bounces).toEqual([{ inbound_message_id: null }, { inbound_message_id: recent.id }]);
    expect(old.id).not.toBe(recent.id);
  });
});
