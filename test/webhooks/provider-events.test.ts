/**
 * How each provider's events become feedback events: every recipient of an SES bounce or
 * complaint, SES's own Permanent / Transient verdict, SendGrid's Title-case
 * bounce_classification (listmonk compares it in lower case and so makes every SendGrid bounce
 * hard), Mailgun's permanent / temporary severity, and the events that have no effect.
 */
import { mailgunEvents } from '../../src/webhooks/mailgun';
import { sendgridEvents } from '../../src/webhooks/sendgrid';
import { sesEvents } from '../../src/webhooks/ses-events';
import { snsMessageSchema } from '../../src/webhooks/sns';
import { sesBounce, snsNotification } from './esp-peers';

const notification = (event: unknown) => snsMessageSchema.parse({ ...snsNotification(event, { MessageId: 'sns-1' }), SignatureVersion: '2', Signature: 'x' });

describe('SES events', () => {
  it('gives one event per bounced recipient, keyed by the SNS MessageId and the recipient, with SES’s verdict as the fallback', () => {
    const event = sesBounce('<ours-1@mail.example.test>', [
      { email: 'One@example.org', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 unknown' },
      { email: 'two@example.org', status: '4.2.2', diagnostic: 'smtp; 452 4.2.2 mailbox full' },
    ], 'Transient', 'MailboxFull');
    const events = sesEvents(notification(event));
    expect(events.map(({ raw: _raw, occurredAt: _at, ...e }) => e)).toEqual([
      { source: 'ses', kind: 'bounce', eventId: 'sns-1:one@example.org', recipient: 'one@example.org', messageId: '<ours-1@mail.example.test>', providerMessageId: event.mail.messageId, status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 unknown', bounceType: 'soft' },
      { source: 'ses', kind: 'bounce', eventId: 'sns-1:two@example.org', recipient: 'two@example.org', messageId: '<ours-1@mail.example.test>', providerMessageId: event.mail.messageId, status: '4.2.2', diagnostic: 'smtp; 452 4.2.2 mailbox full', bounceType: 'soft' },
    ]);
    expect(sesEvents(notification(sesBounce('<x@y>', [{ email: 'a@example.org', status: '5.0.0', diagnostic: 'x' }], 'Permanent')))[0]).toMatchObject({ bounceType: 'hard' });
    expect(sesEvents(notification(sesBounce('<x@y>', [{ email: 'a@example.org', status: '5.0.0', diagnostic: 'x' }], 'Undetermined')))[0]!.bounceType).toBeUndefined();
  });

  it('maps complaints (every complainer), deliveries, delays and opens; Send and Reject events give none', () => {
    const mail = { messageId: 'ses-id', destination: ['Pat <pat@example.org>'], commonHeaders: { messageId: '<ours-2@mail.example.test>' } };
    const at = '2026-12-04T09:00:00.000Z';
    const kinds = (event: object) => sesEvents(notification({ mail, ...event })).map((e) => `${e.kind}:${e.recipient}`);
    expect(kinds({ notificationType: 'Complaint', complaint: { timestamp: at, complainedRecipients: [{ emailAddress: 'pat@example.org' }, { emailAddress: 'sam@example.org' }] } })).toEqual(['complaint:pat@example.org', 'complaint:sam@example.org']);
    expect(kinds({ eventType: 'Delivery', delivery: { timestamp: at, recipients: ['pat@example.org'], smtpResponse: '250 ok' } })).toEqual(['delivered:pat@example.org']);
    expect(kinds({ eventType: 'DeliveryDelay', deliveryDelay: { timestamp: at, delayType: 'MailboxFull', delayedRecipients: [{ emailAddress: 'pat@example.org', status: '4.2.2' }] } })).toEqual(['delay:pat@example.org']);
    expect(kinds({ eventType: 'Open', open: { timestamp: at } })).toEqual(['open:pat@example.org']);
    expect(kinds({ eventType: 'Send', send: {} })).toEqual([]);
    expect(() => sesEvents(notification({ eventType: 'Bounce', mail }))).toThrow(/bounce object/);
  });
});

describe('SendGrid events', () => {
  const bounce = (fields: object) => sendgridEvents([{ email: 'a@example.org', timestamp: 1_780_000_000, event: 'bounce', sg_event_id: 'e1', ...fields }])[0]!;

  it('reads bounce_classification in the Title case SendGrid sends (and any other case)', () => {
    expect(bounce({ type: 'bounce', bounce_classification: 'Invalid Address' }).bounceType).toBe('hard');
    expect(bounce({ type: 'bounce', bounce_classification: 'Mailbox Unavailable' }).bounceType).toBe('hard');
    expect(bounce({ type: 'bounce', bounce_classification: 'invalid address' }).bounceType).toBe('hard');
    expect(bounce({ type: 'bounce', bounce_classification: 'Technical Failure' }).bounceType).toBe('soft');
    expect(bounce({ type: 'blocked', bounce_classification: 'Reputation' }).bounceType).toBe('soft');
    expect(bounce({ type: 'blocked' }).bounceType).toBe('soft');
    expect(bounce({ type: 'bounce' }).bounceType).toBe('hard');
  });

  it('maps each event type, keyed by sg_event_id, and skips those with no effect', () => {
    const events = sendgridEvents(
      ['processed', 'dropped', 'deferred', 'delivered', 'spamreport', 'open', 'click', 'unsubscribe', 'group_resubscribe'].map((event, i) => ({ email: 'a@example.org', timestamp: 1_780_000_000, event, sg_event_id: `e${i}` })),
    );
    expect(events.map((e) => `${e.eventId}:${e.kind}`)).toEqual(['e1:other', 'e2:delay', 'e3:delivered', 'e4:complaint', 'e5:open', 'e6:click', 'e7:unsubscribe']);
  });
});

describe('Mailgun events', () => {
  const event = (fields: object) =>
    mailgunEvents({ signature: { timestamp: '1', token: 't', signature: '0'.repeat(64) }, 'event-data': { id: 'm1', timestamp: 1_780_000_000.5, recipient: 'a@example.org', ...fields } });

  it('makes a permanent failure a bounce and a temporary one a delay', () => {
    expect(event({ event: 'failed', severity: 'permanent', 'delivery-status': { code: 550, message: 'no such user' } })[0]).toMatchObject({ kind: 'bounce', bounceType: 'hard', status: '550', diagnostic: 'no such user', eventId: 'm1' });
    expect(event({ event: 'failed', severity: 'permanent', reason: 'old' })[0]).toMatchObject({ kind: 'bounce', bounceType: 'soft' });
    expect(event({ event: 'failed', severity: 'temporary' })[0]).toMatchObject({ kind: 'delay' });
    expect(event({ event: 'complained' })[0]).toMatchObject({ kind: 'complaint' });
    expect(event({ event: 'accepted' })).toEqual([]);
  });
});
