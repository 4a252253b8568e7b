/**
 * What every fixture in test/fixtures/inbound must classify as: kind, each recipient's action,
 * status and class through the bounce table, and the keys that find our message.
 */
import type { BounceReason } from '../../src/bounces/bounce-reasons';
import type { AutoReplyKind, ComplaintReport, DeliveryAction, InboundKind } from '../../src/inbound/inbound-classification';
import type { SendOutcomeClass } from '../../src/transports/transport';

export interface RecipientCase {
  recipient: string;
  action: DeliveryAction;
  status?: string;
  outcome?: SendOutcomeClass;
  reason?: BounceReason;
}

export interface InboundCase {
  file: string;
  kind: InboundKind;
  evidence: string;
  recipients?: RecipientCase[];
  messageIds: string[];
  feedbackId?: string;
  originalRecipient?: string;
  originalSender?: string;
  complaint?: Partial<ComplaintReport>;
  autoReplyKind?: AutoReplyKind;
  returnDate?: string;
  text?: string;
}

const FEEDBACK_BOB = '5b1d2c3e-0f4a-4b6c-8d7e-9f0a1b2c3d4e:7fcd7551-169e-449f-a2b9-e189c76c3533:b9037547-6588-4ea9-bdb1-13f860e66ce1:outreach';
const POSTFIX_BOB = '26aea5c7-a86c-407b-8b57-aa04d0367cd0:7fcd7551-169e-449f-a2b9-e189c76c3533:b9037547-6588-4ea9-bdb1-13f860e66ce1:outreach';
const POSTFIX_ALICE = '26aea5c7-a86c-407b-8b57-aa04d0367cd0:7fcd7551-169e-449f-a2b9-e189c76c3533:1c5c9169-6612-4eb8-bccd-cd3ee62c33a7:outreach';
/** Our Message-IDs in the mta/ fixtures: <a1e2c3d4-0001-…-e1e1e1e1e101@…> for bounce 0001. */
const ours = (n: string) => `<a1e2c3d4-${n}-4e1a-8b1c-e1e1e1e1e1${n.slice(2)}@mail.harbour.test>`;
const USER_UNKNOWN = { outcome: 'recipient_hard', reason: 'user_unknown' } as const;
const GREYLIST_EXPIRED = { outcome: 'recipient_soft', reason: 'greylisted' } as const;
const ALICE_MULTI = '<df3861fb-2703-404e-b015-80e640538eba@mail.harbour.test>';

export const POSTFIX_CASES: InboundCase[] = [
  { file: 'postfix/01-failed-local-unknown-user-5.1.1.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'nosuchuser@local.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: ['<7b7b199b-a90f-4aec-858e-c5b409d4a8d6@mail.harbour.test>'], feedbackId: POSTFIX_ALICE, originalRecipient: 'nosuchuser@local.test', originalSender: 'alice@mail.harbour.test' },
  { file: 'postfix/02-failed-remote-rcpt-550-5.1.1.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'gone@bounce.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: ['<7f96646c-1b2d-40d2-bd32-18946e22a449@mail.harbour.test>'], feedbackId: POSTFIX_BOB, originalRecipient: 'gone@bounce.test', originalSender: 'bob@mail.harbour.test' },
  { file: 'postfix/03-failed-remote-data-554-5.7.1.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'filtered@dataspam.test', action: 'failed', status: '5.7.1', outcome: 'recipient_soft', reason: 'content_rejected' }], messageIds: ['<c4a6b260-87b0-4700-8e6d-05c946160114@mail.harbour.test>'], feedbackId: POSTFIX_BOB, originalRecipient: 'filtered@dataspam.test' },
  { file: 'postfix/04-delayed-remote-451-4.7.1.eml', kind: 'delay', evidence: 'rfc3464', recipients: [{ recipient: 'later@defer.test', action: 'delayed', status: '4.7.1', outcome: 'transient', reason: 'greylisted' }], messageIds: ['<4582f1cc-b3a7-4ccb-bae5-ab8a4496a3b7@mail.harbour.test>'], feedbackId: POSTFIX_BOB, originalRecipient: 'later@defer.test' },
  { file: 'postfix/05-failed-expired-after-451-4.7.1.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'later@defer.test', action: 'failed', status: '4.7.1', ...GREYLIST_EXPIRED }], messageIds: ['<4582f1cc-b3a7-4ccb-bae5-ab8a4496a3b7@mail.harbour.test>'], feedbackId: POSTFIX_BOB },
  { file: 'postfix/06-failed-remote-rcpt-550-followup-step2.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'gone@bounce.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: ['<c1e75e39-4812-45e3-882a-f2e042eeab22@mail.harbour.test>'], feedbackId: POSTFIX_BOB },
  { file: 'postfix/07-failed-local-unknown-ret-hdrs-envid-orcpt.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'nosuchuser2@local.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: [ALICE_MULTI], feedbackId: POSTFIX_ALICE, originalSender: 'alice@mail.harbour.test' },
  { file: 'postfix/08-failed-one-of-three-rcpts-ret-full-envid.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'gone3@bounce.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: [ALICE_MULTI], feedbackId: POSTFIX_ALICE, originalRecipient: 'gone3@bounce.test' },
  { file: 'postfix/09-failed-unroutable-domain-5.7.1.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'someone@nowhere.test', action: 'failed', status: '5.7.1', outcome: 'recipient_soft', reason: 'policy_rejected' }], messageIds: [ALICE_MULTI], feedbackId: POSTFIX_ALICE },
  { file: 'postfix/10-delivered-success-notify.eml', kind: 'delivered', evidence: 'rfc3464', recipients: [{ recipient: 'delivered@recipients.test', action: 'delivered', status: '2.0.0' }], messageIds: [ALICE_MULTI], feedbackId: POSTFIX_ALICE },
  { file: 'postfix/11-delayed-one-of-three-rcpts-envid.eml', kind: 'delay', evidence: 'rfc3464', recipients: [{ recipient: 'later3@defer.test', action: 'delayed', status: '4.7.1', outcome: 'transient', reason: 'greylisted' }], messageIds: [ALICE_MULTI], feedbackId: POSTFIX_ALICE },
  { file: 'postfix/12-failed-expired-one-of-three-rcpts-envid.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'later3@defer.test', action: 'failed', status: '4.7.1', ...GREYLIST_EXPIRED }], messageIds: [ALICE_MULTI], feedbackId: POSTFIX_ALICE },
];

export const MTA_CASES: InboundCase[] = [
  // Exim reports Status: 5.0.0; the diagnostic's 5.1.1 decides the class.
  { file: 'mta/exim-failed-550-5.1.1.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'ghost@exim-client.test', action: 'failed', status: '5.0.0', ...USER_UNKNOWN }], messageIds: [ours('0001')], feedbackId: FEEDBACK_BOB, originalRecipient: 'ghost@exim-client.test', originalSender: 'bob@mail.harbour.test' },
  { file: 'mta/exim-text-only-failed-unrouteable.eml', kind: 'bounce', evidence: 'text', recipients: [{ recipient: 'sales@gone-domain.test', action: 'failed', outcome: 'recipient_hard', reason: 'host_unknown' }], messageIds: [ours('0002')], feedbackId: FEEDBACK_BOB, originalRecipient: 'sales@gone-domain.test' },
  // A warning: the mailbox-full 452 is retried, not a failure; no copy came back, References names ours.
  { file: 'mta/exim-delayed-warning.eml', kind: 'delay', evidence: 'text', recipients: [{ recipient: 'slow@busy-client.test', action: 'delayed', status: '4.2.2', outcome: 'transient', reason: 'mailbox_full' }], messageIds: [ours('0003')], originalRecipient: 'slow@busy-client.test' },
  { file: 'mta/qmail-failed-user-unknown.eml', kind: 'bounce', evidence: 'text', recipients: [{ recipient: 'nobody@qmail-client.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: [ours('0004')], feedbackId: FEEDBACK_BOB, originalRecipient: 'nobody@qmail-client.test', originalSender: 'bob@mail.harbour.test' },
  { file: 'mta/yahoo-failed-user-unknown.eml', kind: 'bounce', evidence: 'text', recipients: [{ recipient: 'no.such.person@yahoo.test', action: 'failed', ...USER_UNKNOWN }], messageIds: [ours('0005')], feedbackId: FEEDBACK_BOB },
  { file: 'mta/microsoft365-ndr-recipient-not-found-5.1.10.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'former.employee@contoso365.test', action: 'failed', status: '5.1.10', ...USER_UNKNOWN }], messageIds: [ours('0006')], feedbackId: FEEDBACK_BOB, originalRecipient: 'former.employee@contoso365.test' },
  { file: 'mta/exchange2010-text-ndr-recipnotfound.eml', kind: 'bounce', evidence: 'text', recipients: [{ recipient: 'jane.doe@fabrikam-onprem.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: [ours('0007')], feedbackId: FEEDBACK_BOB, originalSender: 'bob@mail.harbour.test' },
  { file: 'mta/gmail-mailer-daemon-address-not-found.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'missing.person@gmail-client.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: [ours('0008')], feedbackId: FEEDBACK_BOB },
  { file: 'mta/gmail-mailer-daemon-delay-text.eml', kind: 'delay', evidence: 'text', recipients: [{ recipient: 'slowpoke@greylist-client.test', action: 'delayed', status: '4.7.0', outcome: 'transient', reason: 'temporary_failure' }], messageIds: [ours('0009')] },
  { file: 'mta/sendmail-failed-user-unknown.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'unknown.user@sendmail-client.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN }], messageIds: [ours('0010')], feedbackId: FEEDBACK_BOB },
  { file: 'mta/courier-failed-mailbox-full.eml', kind: 'bounce', evidence: 'rfc3464', recipients: [{ recipient: 'full@courier-client.test', action: 'failed', status: '5.2.2', outcome: 'recipient_soft', reason: 'mailbox_full' }], messageIds: [ours('0011')], feedbackId: FEEDBACK_BOB },
  {
    file: 'mta/rfc3464-three-recipients-mixed-uppercase-no-original.eml',
    kind: 'bounce',
    evidence: 'rfc3464',
    recipients: [
      { recipient: 'hard.fail@mixed-client.test', action: 'failed', status: '5.1.1', ...USER_UNKNOWN },
      { recipient: 'quota@mixed-client.test', action: 'delayed', status: '4.2.2', outcome: 'transient', reason: 'mailbox_full' },
      { recipient: 'happy@mixed-client.test', action: 'delivered', status: '2.0.0' },
      // Our IP on a blocklist: the sender's problem, never the recipient's.
      { recipient: 'blocked@mixed-client.test', action: 'failed', status: '5.7.1', outcome: 'sender_reputation', reason: 'blocklisted' },
    ],
    messageIds: [],
    originalRecipient: 'hard.fail@mixed-client.test',
    originalSender: 'bob@mail.harbour.test',
  },
  { file: 'mta/postfix-old-text-only-undelivered.eml', kind: 'bounce', evidence: 'text', recipients: [{ recipient: 'moved.on@oldpostfix-client.test', action: 'failed', status: '5.1.6', outcome: 'recipient_hard', reason: 'has_moved' }], messageIds: [ours('0012')] },
];

export const COMPLAINT_CASES: InboundCase[] = [
  { file: 'complaint/arf-rfc5965-abuse-aol.eml', kind: 'complaint', evidence: 'arf', messageIds: ['<a1e2c3d4-0101-4e1a-8b1c-e1e1e1e1e201@mail.harbour.test>'], feedbackId: FEEDBACK_BOB, originalRecipient: 'annoyed.reader@aol.test', originalSender: 'bob@mail.harbour.test', complaint: { feedbackType: 'abuse', userAgent: 'AOL SComp', originalRcptTo: 'annoyed.reader@aol.test', sourceIp: '192.0.2.25', reportedDomain: 'mail.harbour.test', arrivalDate: new Date('2026-12-03T12:58:12Z') } },
  { file: 'complaint/yahoo-cfl-arf-dkim.eml', kind: 'complaint', evidence: 'arf', messageIds: ['<a1e2c3d4-0102-4e1a-8b1c-e1e1e1e1e202@mail.harbour.test>'], feedbackId: FEEDBACK_BOB, originalRecipient: 'someone.at.yahoo@yahoo.test', complaint: { feedbackType: 'abuse', originalMailFrom: 'bob@mail.harbour.test', reportedDomain: 'mail.harbour.test', arrivalDate: new Date('2026-12-03T14:09:55Z') } },
  // JMRP names the complainer only in the attached original's X-HmXmrOriginalRecipient.
  { file: 'complaint/microsoft-jmrp-arf.eml', kind: 'complaint', evidence: 'arf', messageIds: ['<a1e2c3d4-0103-4e1a-8b1c-e1e1e1e1e203@mail.harbour.test>'], feedbackId: FEEDBACK_BOB, originalRecipient: 'sender.complaint@outlook.test', complaint: { feedbackType: 'abuse', userAgent: 'Microsoft JMRP', sourceIp: '192.0.2.25' } },
  { file: 'complaint/microsoft-jmrp-legacy-attachment.eml', kind: 'complaint', evidence: 'jmrp', messageIds: ['<a1e2c3d4-0104-4e1a-8b1c-e1e1e1e1e204@mail.harbour.test>'], feedbackId: FEEDBACK_BOB, originalRecipient: 'legacy.complainer@hotmail.test', complaint: { feedbackType: 'abuse' } },
  // A DMARC failure report is about a forger, not a recipient's complaint: a person looks at it.
  { file: 'complaint/arf-auth-failure-dmarc-report.eml', kind: 'unmatched', evidence: 'arf', messageIds: ['<spoofed-1@elsewhere.test>'], complaint: { feedbackType: 'auth-failure', sourceIp: '203.0.113.66' } },
];

export const CONVERSATION_CASES: InboundCase[] = [
  { file: 'conversation/outlook-automatic-reply-oof.eml', kind: 'auto_reply', evidence: 'auto-submitted', autoReplyKind: 'out_of_office', returnDate: '2026-12-14', messageIds: ['<a1e2c3d4-0201-4e1a-8b1c-e1e1e1e1e301@mail.harbour.test>'] },
  { file: 'conversation/gmail-vacation-responder-returning-monday.eml', kind: 'auto_reply', evidence: 'auto-submitted', autoReplyKind: 'out_of_office', returnDate: '2026-12-07', messageIds: ['<a1e2c3d4-0202-4e1a-8b1c-e1e1e1e1e302@mail.harbour.test>'] },
  { file: 'conversation/german-abwesenheitsnotiz.eml', kind: 'auto_reply', evidence: 'x-autoreply', autoReplyKind: 'out_of_office', returnDate: '2026-12-18', messageIds: ['<a1e2c3d4-0203-4e1a-8b1c-e1e1e1e1e303@mail.harbour.test>'] },
  { file: 'conversation/french-reponse-automatique.eml', kind: 'auto_reply', evidence: 'x-autoreply', autoReplyKind: 'out_of_office', returnDate: '2026-12-15', messageIds: ['<a1e2c3d4-0204-4e1a-8b1c-e1e1e1e1e304@mail.harbour.test>'], text: 'Bonjour,\n\nJe suis absente du bureau et serai de retour le 15 décembre.\n\nCordialement,\nCéline' },
  { file: 'conversation/helpdesk-ticket-autoreply.eml', kind: 'auto_reply', evidence: 'auto-submitted', autoReplyKind: 'other', messageIds: ['<a1e2c3d4-0205-4e1a-8b1c-e1e1e1e1e305@mail.harbour.test>'] },
  { file: 'conversation/challenge-response-verify.eml', kind: 'auto_reply', evidence: 'challenge-response', autoReplyKind: 'other', messageIds: [] },
  { file: 'conversation/mailing-list-digest.eml', kind: 'unmatched', evidence: 'mailing-list', messageIds: ['<digest-2026-48@list-host.test>'] },
  { file: 'conversation/gmail-reply-quoted.eml', kind: 'reply', evidence: 'in-reply-to', messageIds: ['<a1e2c3d4-0301-4e1a-8b1c-e1e1e1e1e401@mail.harbour.test>', '<a1e2c3d4-0300-4e1a-8b1c-e1e1e1e1e400@mail.harbour.test>'], text: 'Hi Bob,\n\nYes, Tuesday at 10:00 works for me. Send an invite.\n\nJane' },
  { file: 'conversation/outlook-reply-original-message.eml', kind: 'reply', evidence: 'in-reply-to', messageIds: ['<a1e2c3d4-0302-4e1a-8b1c-e1e1e1e1e402@mail.harbour.test>'], text: 'Not interested, please remove me from your list.\n\nTom' },
  { file: 'conversation/html-only-reply-with-script.eml', kind: 'reply', evidence: 'in-reply-to', messageIds: ['<a1e2c3d4-0303-4e1a-8b1c-e1e1e1e1e403@mail.harbour.test>'], text: 'Sounds interesting & worth a chat.\n\nEve' },
  { file: 'conversation/spanish-reply-escribio.eml', kind: 'reply', evidence: 'in-reply-to', messageIds: ['<a1e2c3d4-0304-4e1a-8b1c-e1e1e1e1e404@mail.harbour.test>'], text: 'Hola Bob, sí, hablemos el martes.\n\nLucía' },
  { file: 'conversation/unrelated-new-message.eml', kind: 'unmatched', evidence: 'no-thread', messageIds: [] },
  // A read receipt names our message but says nothing a person wrote.
  { file: 'conversation/read-receipt-mdn.eml', kind: 'unmatched', evidence: 'other-report', messageIds: ['<a1e2c3d4-0301-4e1a-8b1c-e1e1e1e1e401@mail.harbour.test>'] },
];

export const ALL_CASES = [...POSTFIX_CASES, ...MTA_CASES, ...COMPLAINT_CASES, ...CONVERSATION_CASES];
