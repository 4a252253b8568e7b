/**
 * Generic rules about the recipient (RFC 3463 subjects X.1 address, X.2 mailbox, X.3 system, X.7
 * policy; Postfix / Exim / Sendmail / qmail texts), read after every sender-side rule, and the
 * two rules that make the table total. Hard (suppress) only for Sisimai's hard reasons: user
 * unknown, host unknown, moved, not accepting, plus our call on disabled mailboxes (below).
 * Status rules come before text rules, so a server's own code wins over loose wording; the
 * text rules catch replies with no enhanced code.
 */
import type { ClassificationRule } from './classification-rule';

export const GENERIC_RECIPIENT_RULES: readonly ClassificationRule[] = [
  // 451 4.7.1 Greylisted, please try again later; 450 4.2.0 … Recipient address rejected:
  // Greylisted (Postgrey). Transient whatever the code: it only asks for a second attempt.
  { id: 'generic.greylisted', provider: 'generic', match: { text: /\bgr[ae]y-?list(?:ed|ing)?\b/i }, outcome: 'transient', reason: 'greylisted' },

  // --- Recipient, hard. A 4xx of these ("450 4.1.1 … unverified address") is softened to transient. ---
  { id: 'generic.user_unknown.status', provider: 'generic', match: { status: ['*.1.1'] }, outcome: 'recipient_hard', reason: 'user_unknown' },
  { id: 'generic.invalid_address.status', provider: 'generic', match: { status: ['*.1.3'] }, outcome: 'recipient_hard', reason: 'invalid_address' },
  // 5.1.2 bad destination system; 5.4.4 unable to route (Postfix "Host or domain name not found").
  { id: 'generic.host_unknown.status', provider: 'generic', match: { status: ['*.1.2', '*.4.4'] }, outcome: 'recipient_hard', reason: 'host_unknown' },
  { id: 'generic.has_moved.status', provider: 'generic', match: { status: ['*.1.6'] }, outcome: 'recipient_hard', reason: 'has_moved' },
  // 556 5.1.10 … Domain nomail.test does not accept mail (nullMX): RFC 7505.
  { id: 'generic.not_accepting.status', provider: 'generic', match: { status: ['*.1.10'] }, outcome: 'recipient_hard', reason: 'not_accepting' },
  // RFC 7504: 521 host does not accept mail, 556 domain does not accept mail.
  { id: 'generic.not_accepting.code', provider: 'generic', match: { codes: [521, 556] }, outcome: 'recipient_hard', reason: 'not_accepting' },
  { id: 'generic.not_accepting.text', provider: 'generic', match: { text: /does not accept (?:e-?)?mail|\bnull ?mx\b/i }, outcome: 'recipient_hard', reason: 'not_accepting' },

  // Before the 5.2.1 rule: Gmail answers "550 5.2.1 … receiving mail at a rate that prevents
  // additional messages from being delivered" for a busy, not a disabled, mailbox.
  { id: 'generic.recipient_rate_limited', provider: 'generic', match: { text: /receiving mail (?:too quickly|at a rate)/i }, outcome: 'recipient_soft', reason: 'recipient_rate_limited' },
  // 5.2.1 mailbox disabled, not accepting messages. Hard, our call (Sisimai calls it soft,
  // "suspend"): RFC 3463 allows both readings, but for outreach a disabled mailbox stays disabled
  // for the life of a sequence, and every retry is another bounce counted against our sender.
  // A 4.2.1 ("450 4.2.1 Mailbox busy") is not matched: that one is temporary by nature.
  { id: 'generic.mailbox_disabled.status', provider: 'generic', match: { status: ['5.2.1'] }, outcome: 'recipient_hard', reason: 'mailbox_disabled' },

  // --- Recipient, soft: retried a few times, then failed; never suppressed. ---
  // 5.2.2 mailbox full is soft even as a 5xx: the owner can make room (RFC 3463 calls it a
  // "persistent transient failure"); the temporary 4.2.2 is softened further, to transient.
  { id: 'generic.mailbox_full.status', provider: 'generic', match: { status: ['*.2.2'] }, outcome: 'recipient_soft', reason: 'mailbox_full' },
  { id: 'generic.message_too_large.status', provider: 'generic', match: { status: ['*.2.3', '*.3.4'] }, outcome: 'recipient_soft', reason: 'message_too_large' },

  // --- The same by text, for replies without an enhanced code. ---
  { id: 'generic.user_unknown.text', provider: 'generic', match: { text: /\buser unknown\b|\bunknown (?:user|recipient|mailbox)\b|\bno such (?:user|mailbox|recipient|address|account)\b|\b(?:user|mailbox|recipient|address|account)(?: name)? (?:does not|doesn'?t|did not) exist\b|\b(?:mailbox|recipient|user) not found\b|\binvalid (?:recipient|mailbox)\b|\bnot a valid (?:mailbox|recipient|user)\b|\bbad destination mailbox\b/i }, outcome: 'recipient_hard', reason: 'user_unknown' },
  // 553 Requested action not taken: mailbox name not allowed (RFC 5321's 553: address syntax).
  { id: 'generic.invalid_address.text', provider: 'generic', match: { text: /\bmailbox name not allowed\b|\bbad recipient address syntax\b/i }, outcome: 'recipient_hard', reason: 'invalid_address' },
  // 550 Unrouteable address (Exim).
  { id: 'generic.host_unknown.text', provider: 'generic', match: { text: /host or domain name not found|\bdomain (?:name )?(?:not found|does not exist|doesn'?t exist)|\bno such domain\b|\bunrouteable address\b|\bnxdomain\b/i }, outcome: 'recipient_hard', reason: 'host_unknown' },
  { id: 'generic.mailbox_disabled.text', provider: 'generic', match: { text: /\b(?:mailbox|recipient|addressee) (?:is |has been )?(?:disabled|deactivated|inactive)\b|\binactive (?:mailbox|recipient)\b|\bmailbox disabled\b/i }, outcome: 'recipient_hard', reason: 'mailbox_disabled' },
  // 552 Requested mail action aborted: exceeded storage allocation (RFC 5321's own 552 text).
  { id: 'generic.mailbox_full.text', provider: 'generic', match: { text: /\bmailbox (?:is )?full\b|\bover ?quota\b|\bquota exceeded\b|\bexceeded storage allocation\b|\bout of (?:disk |storage )?space\b|\binsufficient (?:disk )?(?:space|storage)\b|\bmailbox size limit\b/i }, outcome: 'recipient_soft', reason: 'mailbox_full' },
  { id: 'generic.message_too_large.text', provider: 'generic', match: { text: /\bmessage (?:size )?(?:exceeds|too (?:big|large))|\bexceeds? (?:the )?(?:maximum )?(?:message )?size\b/i }, outcome: 'recipient_soft', reason: 'message_too_large' },
  // 554 5.7.1 Message rejected as spam by content filter: this message's content, for this
  // recipient's filter. Read after the reputation rules, which also mention spam.
  { id: 'generic.content_rejected', provider: 'generic', match: { text: /\bspam\b|\bcontent filter|\bmessage content\b|\bvirus\b|\bmalware\b|\bphishing\b|\b(?:prohibited|blocked|banned|suspicious|dangerous) (?:content|attachment|url|link|file)|\battachment\b/i }, outcome: 'recipient_soft', reason: 'content_rejected' },
  // A 5.7.x that no rule above explained: a policy of this recipient or its domain (Microsoft
  // 5.7.133 external senders refused, transport rules, Apple CS01 …), not proof against us.
  { id: 'generic.policy_rejected', provider: 'generic', match: { status: ['5.7.*'], severity: 'permanent' }, outcome: 'recipient_soft', reason: 'policy_rejected' },

  // --- Total: every reply matches one of these. ---
  { id: 'generic.temporary', provider: 'generic', match: { severity: 'temporary' }, outcome: 'transient', reason: 'temporary_failure' },
  // An unrecognised permanent failure is soft: "5xx means hard" suppresses good addresses.
  { id: 'generic.undefined', provider: 'generic', match: { severity: 'permanent' }, outcome: 'recipient_soft', reason: 'undefined' },
];
