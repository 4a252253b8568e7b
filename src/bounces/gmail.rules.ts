/**
 * Gmail and Google Workspace (gmail-smtp-in, smtp.gmail.com, smtp-relay.gmail.com). Texts from
 * Google's SMTP error reference (support.google.com/a/answer/3726730) and Sisimai's
 * rhost/for-google; Gmail quotes a help link in every reply, the phrases below are its own.
 * Gmail gives some RFC 7372 codes its own meaning (4.7.23 is PTR, 4.7.27 SPF, 4.7.30 DKIM,
 * 4.7.32 alignment, 4.7.40 DMARC record), so those rules also require Gmail's wording.
 * Credentials (534 5.7.9 / 5.7.14, 535 5.7.8), 530 and 454 replies need no Gmail rule: the
 * generic account rules read them by code.
 */
import type { ClassificationRule } from './classification-rule';

export const GMAIL_RULES: readonly ClassificationRule[] = [
  // 550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking …
  { id: 'gmail.user_unknown', provider: 'gmail', match: { text: /email account that you tried to reach does not exist/i }, outcome: 'recipient_hard', reason: 'user_unknown' },
  // 553-5.1.2 We weren't able to find the recipient domain. Please check for any spelling errors …
  { id: 'gmail.domain_not_found', provider: 'gmail', match: { text: /weren'?t able to find the recipient domain/i }, outcome: 'recipient_hard', reason: 'host_unknown' },
  // 553-5.1.3 The recipient address <x> is not a valid RFC 5321 address. (5.1.7 is the same words
  // about our sender address: that one is the generic sender rule's.)
  { id: 'gmail.invalid_address', provider: 'gmail', match: { status: ['*.1.3'], text: /not a valid RFC[ -]?5321 address/i }, outcome: 'recipient_hard', reason: 'invalid_address' },
  // 550-5.2.1 The email account that you tried to reach is disabled / is inactive. Hard, unlike
  // Sisimai's "suspend": Google deactivates accounts after two years unused and rarely brings one
  // back within a sequence's lifetime, while every retry is one more bounce against our sender.
  { id: 'gmail.account_disabled', provider: 'gmail', match: { text: /account that you tried to reach is (?:disabled|inactive)/i }, outcome: 'recipient_hard', reason: 'mailbox_disabled' },
  // 452-4.2.2 The recipient's inbox is out of storage space (OverQuotaTemp); 552-5.2.2 … and
  // inactive (OverQuotaPerm); 550 5.7.1 Email quota exceeded (a 5.7 code, hence a rule of its own).
  { id: 'gmail.over_quota', provider: 'gmail', match: { text: /inbox is out of storage space|account that you tried to reach is over quota|email quota exceeded/i }, outcome: 'recipient_soft', reason: 'mailbox_full' },
  // 550-5.4.5 Daily user sending limit exceeded. / Daily SMTP relay limit exceeded for user: our
  // mailbox is out of its Workspace quota for the day, not the recipient's problem.
  { id: 'gmail.sending_quota', provider: 'gmail', match: { text: /daily (?:user )?sending (?:quota|limit) exceeded|daily smtp relay (?:sending )?limit exceeded/i }, outcome: 'sender_reputation', reason: 'sending_quota_exceeded' },
  // 421-4.7.28 Gmail has detected an unusual rate of mail originating from your IP address / DKIM
  // domain …; 550-5.7.28 There is an unusual rate of unsolicited mail originating from your IP.
  { id: 'gmail.unusual_rate', provider: 'gmail', match: { text: /unusual rate of (?:unsolicited )?mail/i }, outcome: 'sender_reputation', reason: 'rate_limited' },
  // 421-4.7.0 This message is suspicious due to the very low reputation of the sending IP address
  // / domain; 550-5.7.1 Our system has detected that this message is likely suspicious due to …
  { id: 'gmail.low_reputation', provider: 'gmail', match: { text: /very low reputation of the sending (?:ip|domain)/i }, outcome: 'sender_reputation', reason: 'bad_reputation' },
  // 550-5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the
  // amount of spam sent to Gmail, this message has been blocked.
  { id: 'gmail.unsolicited', provider: 'gmail', match: { text: /likely unsolicited mail/i }, outcome: 'sender_reputation', reason: 'unsolicited' },
  // 550-5.7.1 The IP you're using to send mail is not authorized to send email directly to our
  // servers. Please use the SMTP relay at your service provider instead. (a dynamic-IP list)
  { id: 'gmail.ip_not_authorized', provider: 'gmail', match: { text: /not authorized to send email directly to our servers/i }, outcome: 'sender_reputation', reason: 'blocklisted' },
  // 421-4.7.0 This message is suspicious due to the nature of the content or the links within;
  // 552-5.7.0 This message was blocked because its content presents a potential security issue.
  { id: 'gmail.content', provider: 'gmail', match: { text: /nature of the content or the links within|content presents a potential security issue|illegal attachment/i }, outcome: 'recipient_soft', reason: 'content_rejected' },
  // 550-5.7.26 Unauthenticated email from acme.test is not accepted due to domain's DMARC policy
  // (451 4.7.26 when DNS failures prevented the check).
  { id: 'gmail.auth_dmarc_policy', provider: 'gmail', match: { status: ['*.7.26'], text: /dmarc policy/i }, outcome: 'sender_auth', reason: 'auth_dmarc' },
  // 550-5.7.26 The MAIL FROM domain [acme.test] has an SPF record with a hard fail policy (-all)
  // but it fails to pass SPF checks with the ip: [192.0.2.25].
  { id: 'gmail.auth_spf_hard_fail', provider: 'gmail', match: { status: ['*.7.26'], text: /spf record with a hard fail/i }, outcome: 'sender_auth', reason: 'auth_spf' },
  // 421-4.7.27 Your email has been rate limited because SPF authentication didn't pass for this message.
  { id: 'gmail.auth_spf', provider: 'gmail', match: { status: ['*.7.27'], text: /\bspf\b/i }, outcome: 'sender_auth', reason: 'auth_spf' },
  // 421-4.7.30 Your email has been rate limited because DKIM authentication didn't pass for this message.
  { id: 'gmail.auth_dkim', provider: 'gmail', match: { status: ['*.7.30'], text: /\bdkim\b/i }, outcome: 'sender_auth', reason: 'auth_dkim' },
  // 421-4.7.32 Your email has been rate limited because the From: header (RFC5322) in this message
  // isn't aligned with either the authenticated SPF or DKIM organizational domain.
  { id: 'gmail.auth_unaligned', provider: 'gmail', match: { status: ['*.7.32'], text: /aligned with either the authenticated spf or dkim/i }, outcome: 'sender_auth', reason: 'auth_unaligned' },
  // 421-4.7.40 Your email has been rate limited because the sending domain doesn't have a DMARC record.
  { id: 'gmail.auth_no_dmarc', provider: 'gmail', match: { status: ['*.7.40'], text: /dmarc record/i }, outcome: 'sender_auth', reason: 'auth_dmarc' },
  // 421-4.7.29 Your email has been rate limited because this message wasn't sent over a TLS
  // connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP connections.
  { id: 'gmail.tls_required', provider: 'gmail', match: { status: ['*.7.29'], text: /use tls\/ssl for smtp/i }, outcome: 'sender_auth', reason: 'tls_required' },
  // 421-4.7.23 The sending IP address for this message doesn't have a PTR record, or the PTR
  // record's forward DNS entry doesn't match the sending IP address (4.7.23 is SPF in RFC 7372).
  { id: 'gmail.ptr', provider: 'gmail', match: { text: /(?:have|has) a ptr record/i }, outcome: 'sender_auth', reason: 'auth_ptr' },
  // 550-5.7.0 Mail Sending denied. This error occurs if the sender account is disabled or not
  // registered within your Google Workspace domain. (smtp-relay.gmail.com)
  { id: 'gmail.relay_sending_denied', provider: 'gmail', match: { text: /mail sending denied/i }, outcome: 'auth', reason: 'relay_denied' },
];
