/**
 * Yahoo Inc. (Yahoo Mail, AOL). Texts from senders.yahooinc.com/smtp-error-codes, field reports
 * and Sisimai's rhost/for-yahooinc. Yahoo's bracketed codes ([TSS04], [BL21], [PH01]) name the
 * block; many replies carry no enhanced code at all.
 */
import type { ClassificationRule } from './classification-rule';

export const YAHOO_RULES: readonly ClassificationRule[] = [
  // 554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - mta…
  { id: 'yahoo.user_unknown', provider: 'yahoo', match: { text: /user doesn'?t have an? [\w.-]+ account/i }, outcome: 'recipient_hard', reason: 'user_unknown' },
  // 554 delivery error: dd Sorry your message to x@yahoo.com cannot be delivered. This mailbox is
  // disabled (554.30); dd x@aol.com is no longer valid. Hard for the same reason as Gmail's
  // inactive accounts (gmail.rules.ts).
  { id: 'yahoo.mailbox_disabled', provider: 'yahoo', match: { text: /this mailbox is disabled|\bis no longer valid\b/i }, outcome: 'recipient_hard', reason: 'mailbox_disabled' },
  // 421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user
  // complaints - 4.16.55.1: Yahoo throttles our IP or domain (also for weak authentication).
  { id: 'yahoo.tss04', provider: 'yahoo', match: { text: /\[TSS04\]|deferred due to unexpected volume or user complaints/i }, outcome: 'sender_reputation', reason: 'rate_limited' },
  // 553 5.7.2 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed.
  { id: 'yahoo.permanently_deferred', provider: 'yahoo', match: { text: /will be permanently deferred/i }, outcome: 'sender_reputation', reason: 'bad_reputation' },
  // 553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.25, because the ip is in
  // Spamhaus's list; [BL23] … on Spamhaus XBL.
  { id: 'yahoo.blocklisted', provider: 'yahoo', match: { text: /\[BL2[1-3]\]/i }, outcome: 'sender_reputation', reason: 'blocklisted' },
  // 550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all
  // senders to authenticate with either SPF or DKIM. (5.7.9 is not an AUTH refusal here.)
  { id: 'yahoo.unauthenticated', provider: 'yahoo', match: { text: /yahoo requires all senders to authenticate/i }, outcome: 'sender_auth', reason: 'auth_unauthenticated' },
  // 554 Message not allowed - [PH01] Email not accepted for policy reasons; 554 5.7.9 Message not
  // accepted for policy reasons: Yahoo's content and policy filter, per message.
  { id: 'yahoo.policy', provider: 'yahoo', match: { text: /not accepted for policy reasons/i }, outcome: 'recipient_soft', reason: 'policy_rejected' },
];
