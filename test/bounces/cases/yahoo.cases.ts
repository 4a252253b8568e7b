/** Yahoo Mail and AOL replies (mta*.mail.*.yahoo.com), in Yahoo's words. */
import type { ReplyCase } from './reply-case';

export const YAHOO_CASES: ReplyCase[] = [
  {
    name: "Yahoo 554 user doesn't have a yahoo.com account",
    input: { stage: 'rcpt', text: "554 delivery error: dd This user doesn't have a yahoo.com account (nobody@yahoo.com) [0] - mta4012.mail.bf1.yahoo.com" },
    outcome: 'recipient_hard', reason: 'user_unknown', rule: 'yahoo.user_unknown',
  },
  {
    name: "AOL 554 user doesn't have an aol.com account",
    input: { stage: 'data', text: "554 delivery error: dd This user doesn't have an aol.com account (nobody@aol.com) [0] - mta1234.mail.gq1.yahoo.com" },
    outcome: 'recipient_hard', reason: 'user_unknown', rule: 'yahoo.user_unknown',
  },
  {
    name: 'Yahoo 554 this mailbox is disabled (554.30)',
    input: { stage: 'data', text: '554 delivery error: dd Sorry your message to someone@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta1234.mail.bf1.yahoo.com' },
    outcome: 'recipient_hard', reason: 'mailbox_disabled', rule: 'yahoo.mailbox_disabled',
  },
  {
    name: 'AOL 554 address is no longer valid',
    input: { stage: 'data', text: '554 delivery error: dd someone@aol.com is no longer valid. [0] - mta1234.mail.gq1.yahoo.com' },
    outcome: 'recipient_hard', reason: 'mailbox_disabled', rule: 'yahoo.mailbox_disabled',
  },
  {
    name: 'Yahoo 421 4.7.0 [TSS04] deferred for volume or complaints',
    input: { stage: 'mail', text: '421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes' },
    outcome: 'sender_reputation', reason: 'rate_limited', rule: 'yahoo.tss04',
  },
  {
    name: 'Yahoo 553 5.7.2 [TSS09] permanently deferred',
    input: { stage: 'mail', text: '553 5.7.2 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes' },
    outcome: 'sender_reputation', reason: 'bad_reputation', rule: 'yahoo.permanently_deferred',
  },
  {
    name: "Yahoo 553 5.7.1 [BL21] IP on Spamhaus's list",
    input: { stage: 'connect', text: "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.25, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes" },
    outcome: 'sender_reputation', reason: 'blocklisted', rule: 'yahoo.blocklisted',
  },
  {
    name: 'Yahoo 550 5.7.9 sender unauthenticated',
    input: { stage: 'data', text: '550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.' },
    outcome: 'sender_auth', reason: 'auth_unauthenticated', rule: 'yahoo.unauthenticated',
  },
  {
    name: 'Yahoo 554 [PH01] not accepted for policy reasons',
    input: { stage: 'data', text: '554 Message not allowed - [PH01] Email not accepted for policy reasons. Please visit https://postmaster.yahooinc.com/error-codes' },
    outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'yahoo.policy',
  },
  {
    name: 'Yahoo 554 5.7.9 not accepted for policy reasons (5.7.9 is no AUTH refusal here)',
    input: { stage: 'data', text: '554 5.7.9 Message not accepted for policy reasons. See https://postmaster.yahooinc.com/error-codes' },
    outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'yahoo.policy',
  },
  {
    name: 'Yahoo 451 unresolvable RFC.5321 from domain',
    input: { stage: 'mail', text: '451 Message temporarily deferred due to unresolvable RFC.5321 from domain. See https://senders.yahooinc.com/error-codes#unresolvable-from-domain' },
    outcome: 'sender_auth', reason: 'sender_domain_unresolvable', rule: 'generic.sender_domain_unresolvable',
  },
  {
    name: 'AOL 552 mailbox not found',
    input: { stage: 'data', text: '552 1 Requested mail action aborted, mailbox not found' },
    outcome: 'recipient_hard', reason: 'user_unknown', rule: 'generic.user_unknown.text',
  },
  {
    name: 'Yahoo 450 user receiving mail too quickly',
    input: { stage: 'rcpt', text: '450 User is receiving mail too quickly' },
    outcome: 'transient', reason: 'recipient_rate_limited', rule: 'generic.recipient_rate_limited',
  },
  {
    name: 'Yahoo 421 max messages per connection',
    input: { stage: 'mail', text: '421 Max message per connection reached, closing transmission channel' },
    outcome: 'transient', reason: 'temporary_failure', rule: 'generic.temporary',
  },
];
