/**
 * Complaints, replies, auto-replies and ESP events through the real entry points: what each
 * does to the contact's sequences, the suppression list, the mailbox, alerts and stats.
 */
import { applyFeedbackEvent } from '../../src/inbound/feedback-event';
import { ingestInboundMessage } from '../../src/inbound/ingest';
import { updateAccount } from '../../src/accounts/account.repository';
import { scopeOf } from '../../src/auth/client-scope';
import { claimBatch } from '../../src/queue/claim';
import { campaignStats } from '../../src/stats/stats.repository';
import { liftedClaimSettings } from '../queue/fixtures';
import { useTestDatabase } from '../helpers/database';
import { addContactsByEmail } from './inbound-contacts';
import { account, fixture, inboundDeps, inboundWorld, membership, queueRow, suppression } from './inbound-world';

const t = useTestDatabase();
const RECEIVED = new Date('2026-12-04T14:00:05Z');
const deps = inboundDeps({}, () => RECEIVED);

describe('a spam complaint (ARF)', () => {
  const AOL_ID = '<a1e2c3d4-0101-4e1a-8b1c-e1e1e1e1e201@mail.harbour.test>';

  it('suppresses the address, stops every sequence of the contact, raises an alert, pauses the mailbox and counts in the stats', async () => {
    const world = await inboundWorld(t.db, { accountEmail: 'bob@mail.harbour.test', contacts: [{ email: 'annoyed.reader@aol.test', messageId: AOL_ID }], sentAt: new Date('2026-12-03T12:00:00Z') });
    const reader = world.contacts.get('annoyed.reader@aol.test')!;
    // The same contact in a second campaign of the client.
    const second = await inboundWorld(t.db, { accountEmail: '', clientId: world.clientId, accountId: world.accountId, contacts: [{ email: 'annoyed.reader@aol.test', messageId: '<second-campaign@mail.harbour.test>' }], sentAt: new Date('2026-12-03T12:00:00Z') });

    const result = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'c1', raw: fixture('complaint/arf-rfc5965-abuse-aol.eml'), receivedAt: RECEIVED }, deps);
    expect(result.kind).toBe('complaint');
    expect(await suppression(t.db, world.clientId, 'annoyed.reader@aol.test')).toEqual({ reason: 'complaint', source: `inbound:${result.id}` });
    expect(await membership(t.db, world.campaignId, reader.contactId)).toBe('complained');
    expect(await membership(t.db, second.campaignId, reader.contactId)).toBe('complained');
    expect((await queueRow(t.db, reader.step2)).status).toBe('cancelled');
    expect((await queueRow(t.db, second.contacts.get('annoyed.reader@aol.test')!.step2)).status).toBe('cancelled');
    expect(await account(t.db, world.accountId)).toMatchObject({ status: 'paused', pause_reason: 'complaint' });
    const alerts = await t.db.selectFrom('alerts').select(['code', 'account_id', 'severity']).where('client_id', '=', world.clientId).orderBy('id').execute();
    // The pause raises its own alert (it wrote none before: nobody learnt of it).
    expect(alerts).toEqual([
      { code: 'complaint_received', account_id: world.accountId, severity: 'warning' },
      { code: 'account_paused', account_id: world.accountId, severity: 'critical' },
    ]);
    expect((await campaignStats(t.db, world.campaignId, RECEIVED)).totals).toMatchObject({ sent: 1, complained: 1, unsubscribed: 0 });
  });

  it('sends again once an operator sets the paused mailbox active: the complaint that paused it is judged no more', async () => {
    const id = '<a1e2c3d4-0101-4e1a-8b1c-e1e1e1e1e2ff@mail.harbour.test>';
    const world = await inboundWorld(t.db, {
      accountEmail: 'resumed@mail.harbour.test',
      contacts: [{ email: 'annoyed.reader@aol.test', messageId: id }, { email: 'happy.reader@example.test', messageId: '<happy@mail.harbour.test>' }],
      sentAt: new Date('2026-12-03T12:00:00Z'),
      followUpMinutes: 60,
    });
    await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'resume-1', raw: fixture('complaint/arf-rfc5965-abuse-aol.eml', { [AOL_ID.slice(1, -1)]: id.slice(1, -1) }), receivedAt: RECEIVED }, deps);
    expect(await account(t.db, world.accountId)).toMatchObject({ status: 'paused', pause_reason: 'complaint' });

    const later = new Date(RECEIVED.getTime() + 60 * 60_000);
    await updateAccount(t.db, scopeOf(world.clientId), world.accountId, { status: 'active' }, later);
    expect(await account(t.db, world.accountId)).toMatchObject({ status: 'active', pause_reason: null });
    // The other contact's follow-up is due: the mailbox claims it (before, any complaint since
    // the last probe resume kept it waiting for ever).
    const claim = await claimBatch(t.db, world.accountId, later, liftedClaimSettings());
    expect(claim.kind).toBe('claimed');
    expect(claim.kind === 'claimed' && claim.rows.map((r) => r.id)).toEqual([world.contacts.get('happy.reader@example.test')!.step2]);
  });

  it('leaves the mailbox sending when inbound.pauseOnComplaint is off', async () => {
    const id = '<a1e2c3d4-0102-4e1a-8b1c-e1e1e1e1e202@mail.harbour.test>';
    const world = await inboundWorld(t.db, { accountEmail: 'keep@mail.harbour.test', contacts: [{ email: 'someone.at.yahoo@yahoo.test', messageId: id }], sentAt: new Date('2026-12-03T12:00:00Z') });
    await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'c2', raw: fixture('complaint/yahoo-cfl-arf-dkim.eml'), receivedAt: RECEIVED }, inboundDeps({ pauseOnComplaint: false }, () => RECEIVED));
    expect(await account(t.db, world.accountId)).toMatchObject({ status: 'active' });
    expect(await suppression(t.db, world.clientId, 'someone.at.yahoo@yahoo.test')).toMatchObject({ reason: 'complaint' });
  });
});

describe('a reply', () => {
  const REPLY_TO = '<a1e2c3d4-0301-4e1a-8b1c-e1e1e1e1e401@mail.harbour.test>';

  it('from the contact stops its sequence, marks the contact replied and counts as replied, with its text kept', async () => {
    const world = await inboundWorld(t.db, { accountEmail: 'reply-bob@mail.harbour.test', contacts: [{ email: 'jane.smith@prospect-client.test', messageId: REPLY_TO }], sentAt: new Date('2026-12-03T09:00:00Z') });
    const jane = world.contacts.get('jane.smith@prospect-client.test')!;
    const result = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'gmail', sourceKey: 'g1', raw: fixture('conversation/gmail-reply-quoted.eml'), receivedAt: RECEIVED }, deps);
    expect(result.kind).toBe('reply');
    expect(await membership(t.db, world.campaignId, jane.contactId)).toBe('replied');
    expect((await queueRow(t.db, jane.step2)).status).toBe('cancelled');
    const stored = await t.db.selectFrom('inbound_messages').select(['text', 'queue_id']).where('id', '=', result.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ text: 'Hi Bob,\n\nYes, Tuesday at 10:00 works for me. Send an invite.\n\nJane', queue_id: jane.step1 });
    const replies = await t.db.selectFrom('replies').select(['queue_id', 'from_email', 'snippet']).where('client_id', '=', world.clientId).execute();
    expect(replies).toEqual([{ queue_id: jane.step1, from_email: 'jane.smith@prospect-client.test', snippet: expect.stringContaining('Tuesday') }]);
    expect((await campaignStats(t.db, world.campaignId, RECEIVED)).totals).toMatchObject({ replied: 1, cancelled: 1 });
    expect(await suppression(t.db, world.clientId, jane.email)).toBeUndefined();
  });

  it('from another address in the thread is kept for a person and stops nothing', async () => {
    const id = '<a1e2c3d4-0302-4e1a-8b1c-e1e1e1e1e402@mail.harbour.test>';
    const world = await inboundWorld(t.db, { accountEmail: 'reply-tom@mail.harbour.test', contacts: [{ email: 'not-tom@prospect-client.test', messageId: id }], sentAt: new Date('2026-12-03T09:00:00Z') });
    const contact = world.contacts.get('not-tom@prospect-client.test')!;
    const result = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'gmail', sourceKey: 'g2', raw: fixture('conversation/outlook-reply-original-message.eml'), receivedAt: RECEIVED }, deps);
    expect(result.kind).toBe('unmatched');
    expect(await membership(t.db, world.campaignId, contact.contactId)).toBe('active');
    expect((await queueRow(t.db, contact.step2)).status).toBe('queued');
  });

  it('to a campaign that does not stop on reply is recorded, and the sequence goes on', async () => {
    const id = '<a1e2c3d4-0304-4e1a-8b1c-e1e1e1e1e404@mail.harbour.test>';
    const from = await fromOf('conversation/spanish-reply-escribio.eml');
    const world = await inboundWorld(t.db, { accountEmail: 'reply-go-on@mail.harbour.test', contacts: [{ email: from, messageId: id }], sentAt: new Date('2026-12-03T09:00:00Z'), stopOnReply: false });
    const contact = world.contacts.get(from)!;
    const result = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'gmail', sourceKey: 'g3', raw: fixture('conversation/spanish-reply-escribio.eml'), receivedAt: RECEIVED }, deps);
    expect(result.kind).toBe('reply');
    expect(await membership(t.db, world.campaignId, contact.contactId)).toBe('active');
    expect((await queueRow(t.db, contact.step2)).status).toBe('queued');
    expect((await campaignStats(t.db, world.campaignId, RECEIVED)).totals.replied).toBe(1);
  });

  it('stops the other contacts of the same company in the campaign when inbound.stopCompanyOnReply is on, never for a free-mail domain', async () => {
    const id = '<a1e2c3d4-0303-4e1a-8b1c-e1e1e1e1e403@mail.harbour.test>';
    const from = await fromOf('conversation/html-only-reply-with-script.eml');
    const domain = from.split('@')[1]!;
    const world = await inboundWorld(t.db, { accountEmail: 'company@mail.harbour.test', contacts: [{ email: from, messageId: id }, { email: `colleague@${domain}`, messageId: '<colleague@mail.harbour.test>' }], sentAt: new Date('2026-12-03T09:00:00Z') });
    const [outsider] = await addContactsByEmail(t.db, world.clientId, world.campaignId, ['friend@gmail.com']);
    await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'gmail', sourceKey: 'g4', raw: fixture('conversation/html-only-reply-with-script.eml'), receivedAt: RECEIVED }, inboundDeps({ stopCompanyOnReply: true, freeMailDomains: ['gmail.com', domain === 'gmail.com' ? 'x.test' : 'yahoo.com'] }, () => RECEIVED));
    const colleague = world.contacts.get(`colleague@${domain}`)!;
    expect(await membership(t.db, world.campaignId, colleague.contactId)).toBe('cancelled');
    expect((await queueRow(t.db, colleague.step2)).status).toBe('cancelled');
    expect(await membership(t.db, world.campaignId, outsider!.id)).toBe('active');
  });
});

describe('an auto-reply', () => {
  it('stops nothing and holds the next step back until the stated return date', async () => {
    const id = '<a1e2c3d4-0202-4e1a-8b1c-e1e1e1e1e302@mail.harbour.test>';
    const world = await inboundWorld(t.db, { accountEmail: 'ooo@mail.harbour.test', contacts: [{ email: 'dan@gmail-user.test', messageId: id }], sentAt: new Date('2026-12-04T10:00:00Z'), followUpMinutes: 24 * 60 });
    const dan = world.contacts.get('dan@gmail-user.test')!;
    const result = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'gmail', sourceKey: 'a1', raw: fixture('conversation/gmail-vacation-responder-returning-monday.eml'), receivedAt: new Date('2026-12-04T10:15:05Z') }, deps);
    expect(result.kind).toBe('auto_reply');
    expect(await membership(t.db, world.campaignId, dan.contactId)).toBe('active');
    const step2 = await queueRow(t.db, dan.step2);
    expect(step2).toMatchObject({ status: 'queued', run_after: new Date('2026-12-07T00:00:00Z') });
    expect((await campaignStats(t.db, world.campaignId, RECEIVED)).totals.replied).toBe(0);
  });

  it('without a return date holds it back inbound.autoReplyDelayHours from now', async () => {
    const id = '<a1e2c3d4-0205-4e1a-8b1c-e1e1e1e1e305@mail.harbour.test>';
    const world = await inboundWorld(t.db, { accountEmail: 'ticket@mail.harbour.test', contacts: [{ email: 'support@helpdesk-client.test', messageId: id }], sentAt: new Date('2026-12-04T11:00:00Z'), followUpMinutes: 60 });
    const support = world.contacts.get('support@helpdesk-client.test')!;
    await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'gmail', sourceKey: 'a2', raw: fixture('conversation/helpdesk-ticket-autoreply.eml'), receivedAt: new Date('2026-12-04T12:00:05Z') }, inboundDeps({ autoReplyDelayHours: 48 }, () => RECEIVED));
    expect(await queueRow(t.db, support.step2)).toMatchObject({ status: 'queued', run_after: new Date(RECEIVED.getTime() + 48 * 3_600_000) });
  });
});

describe('a message about nothing of ours', () => {
  it('is stored unmatched for a person, with no effects', async () => {
    const world = await inboundWorld(t.db, { accountEmail: 'inbox@mail.harbour.test', contacts: [], sentAt: RECEIVED });
    const result = await ingestInboundMessage(t.db, { accountId: world.accountId, source: 'imap', sourceKey: 'u1', raw: fixture('conversation/unrelated-new-message.eml'), receivedAt: RECEIVED }, deps);
    expect(result.kind).toBe('unmatched');
    const stored = await t.db.selectFrom('inbound_messages').select(['queue_id', 'effects', 'client_id']).where('id', '=', result.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ queue_id: null, effects: [], client_id: world.clientId });
  });
});

describe('an ESP event (applyFeedbackEvent)', () => {
  it('takes the same path as a DSN: a permanent bounce suppresses and stops, once per event id', async () => {
    const world = await inboundWorld(t.db, { accountEmail: 'ses@mail.harbour.test', contacts: [{ email: 'nobody@ses-client.test', messageId: '<ses-1@mail.harbour.test>' }], sentAt: new Date('2026-12-04T09:00:00Z') });
    const nobody = world.contacts.get('nobody@ses-client.test')!;
    const event = { source: 'ses', eventId: 'sns-0001', kind: 'bounce' as const, recipient: 'Nobody@ses-client.test', messageId: 'ses-1@mail.harbour.test', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown', occurredAt: RECEIVED, raw: { notificationType: 'Bounce' } };
    const first = await applyFeedbackEvent(t.db, event, deps);
    const again = await applyFeedbackEvent(t.db, event, deps);
    expect(first).toMatchObject({ kind: 'bounce', duplicate: false });
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await suppression(t.db, world.clientId, 'nobody@ses-client.test')).toMatchObject({ reason: 'hard_bounce' });
    expect((await queueRow(t.db, nobody.step2)).status).toBe('cancelled');
    expect(await t.db.selectFrom('bounces').select('bounce_type').where('client_id', '=', world.clientId).execute()).toEqual([{ bounce_type: 'hard' }]);
  });

  it('matches a complaint by recipient within the webhook’s client when the provider echoes no Message-ID', async () => {
    const world = await inboundWorld(t.db, { accountEmail: 'sg@mail.harbour.test', contacts: [{ email: 'grumpy@sg-client.test', messageId: '<sg-1@mail.harbour.test>' }], sentAt: new Date('2026-12-04T09:00:00Z') });
    const result = await applyFeedbackEvent(t.db, { source: 'sendgrid', eventId: 'sg-evt-1', kind: 'complaint', recipient: 'grumpy@sg-client.test', clientId: world.clientId, occurredAt: RECEIVED }, deps);
    expect(result.kind).toBe('complaint');
    expect(await suppression(t.db, world.clientId, 'grumpy@sg-client.test')).toMatchObject({ reason: 'complaint' });
    expect(await account(t.db, world.accountId)).toMatchObject({ status: 'paused', pause_reason: 'complaint' });
  });
});

async function fromOf(name: string): Promise<string> {
  const match = /^From:.*?<?([^\s<>]+@[^\s<>]+)>?\s*$/im.exec(fixture(name).toString('latin1'));
  return match![1]!.toLowerCase();
}
