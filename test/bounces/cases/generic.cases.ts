/**
 * Generic RFC 3463 answers as Postfix, Exim, Sendmail, qmail, Dovecot, Amazon SES, filtering
 * gateways and others send them, plus ESP-style inputs that carry only a status or only a text.
 */
import { lines, type ReplyCase } from './reply-case';

export const GENERIC_CASES: ReplyCase[] = [
  // --- Recipient, hard ---
  { name: 'Postfix 550 5.1.1 user unknown in virtual mailbox table', input: { stage: 'rcpt', text: '550 5.1.1 <gone@example.test>: Recipient address rejected: User unknown in virtual mailbox table' }, outcome: 'recipient_hard', reason: 'user_unknown', rule: 'generic.user_unknown.status' },
  { name: 'qmail 550 no mailbox here by that name (#5.1.1)', input: { stage: 'rcpt', text: '550 sorry, no mailbox here by that name. (#5.1.1)' }, outcome: 'recipient_hard', reason: 'user_unknown', rule: 'generic.user_unknown.status' },
  { name: 'Exim 550 No such user here', input: { stage: 'rcpt', text: '550 No such user here' }, outcome: 'recipient_hard', reason: 'user_unknown', rule: 'generic.user_unknown.text' },
  { name: 'ESP event with only the status 5.1.1', input: { enhancedCode: '5.1.1', text: '' }, outcome: 'recipient_hard', reason: 'user_unknown', rule: 'generic.user_unknown.status' },
  { name: 'ESP event with only a description (read as a final failure)', input: { text: 'Recipient address rejected: User unknown' }, outcome: 'recipient_hard', reason: 'user_unknown', rule: 'generic.user_unknown.text' },
  { name: 'Postfix 450 4.1.1 unverified address (temporary: softened)', input: { stage: 'rcpt', text: '450 4.1.1 <jane@example.test>: Recipient address rejected: unverified address: Host or domain name not found. Name service error for name=example.test type=MX: Host not found, try again' }, outcome: 'transient', reason: 'user_unknown', rule: 'generic.user_unknown.status' },
  { name: 'Postfix 501 5.1.3 bad recipient address syntax', input: { stage: 'rcpt', text: '501 5.1.3 Bad recipient address syntax' }, outcome: 'recipient_hard', reason: 'invalid_address', rule: 'generic.invalid_address.status' },
  { name: 'RFC 5321 553 mailbox name not allowed', input: { stage: 'rcpt', text: '553 Requested action not taken: mailbox name not allowed' }, outcome: 'recipient_hard', reason: 'invalid_address', rule: 'generic.invalid_address.text' },
  { name: 'Sendmail 550 5.1.2 host unknown', input: { stage: 'rcpt', text: '550 5.1.2 <someone@nowhere.example>... Host unknown (Name server: nowhere.example: host not found)' }, outcome: 'recipient_hard', reason: 'host_unknown', rule: 'generic.host_unknown.status' },
  { name: 'Postfix DSN 5.4.4 host or domain name not found', input: { enhancedCode: '5.4.4', text: 'X-Postfix; Host or domain name not found. Name service error for name=nowhere.example type=A: Host not found' }, outcome: 'recipient_hard', reason: 'host_unknown', rule: 'generic.host_unknown.status' },
  { name: 'Exim 550 Unrouteable address', input: { stage: 'rcpt', text: '550 Unrouteable address' }, outcome: 'recipient_hard', reason: 'host_unknown', rule: 'generic.host_unknown.text' },
  { name: 'Postfix 551 5.1.6 user has moved', input: { stage: 'rcpt', text: '551 5.1.6 <jdoe@example.test>: Recipient address rejected: User has moved to jdoe@example.org' }, outcome: 'recipient_hard', reason: 'has_moved', rule: 'generic.has_moved.status' },
  { name: 'Postfix 556 5.1.10 null MX', input: { stage: 'rcpt', text: '556 5.1.10 <someone@nomail.example>: Recipient address rejected: Domain nomail.example does not accept mail (nullMX)' }, outcome: 'recipient_hard', reason: 'not_accepting', rule: 'generic.not_accepting.status' },
  { name: 'DSN 521 5.3.2 host does not accept mail (RFC 7504)', input: { text: 'smtp; 521 5.3.2 mx.nomail.example does not accept mail' }, outcome: 'recipient_hard', reason: 'not_accepting', rule: 'generic.not_accepting.code' },
  { name: 'ESP description: domain does not accept mail', input: { text: 'Domain nomail.example does not accept mail (nullMX)' }, outcome: 'recipient_hard', reason: 'not_accepting', rule: 'generic.not_accepting.text' },
  { name: 'RFC 3463 550 5.2.1 mailbox disabled', input: { stage: 'rcpt', text: '550 5.2.1 Mailbox disabled, not accepting messages' }, outcome: 'recipient_hard', reason: 'mailbox_disabled', rule: 'generic.mailbox_disabled.status' },
  { name: 'ESP description: mailbox disabled', input: { text: 'Mailbox disabled, not accepting messages' }, outcome: 'recipient_hard', reason: 'mailbox_disabled', rule: 'generic.mailbox_disabled.text' },

  // --- Recipient, soft ---
  { name: 'Dovecot 552 5.2.2 quota exceeded (mailbox full is soft even as a 5xx)', input: { stage: 'data', text: '552 5.2.2 <jane@example.test> Quota exceeded (mailbox for user is full)' }, outcome: 'recipient_soft', reason: 'mailbox_full', rule: 'generic.mailbox_full.status' },
  { name: 'Postfix 452 4.2.2 mailbox full (transient)', input: { stage: 'rcpt', text: '452 4.2.2 <jane@example.test>: Recipient address rejected: Mailbox full' }, outcome: 'transient', reason: 'mailbox_full', rule: 'generic.mailbox_full.status' },
  { name: 'RFC 5321 552 exceeded storage allocation', input: { stage: 'data', text: '552 Requested mail action aborted: exceeded storage allocation' }, outcome: 'recipient_soft', reason: 'mailbox_full', rule: 'generic.mailbox_full.text' },
  { name: 'ESP event with only the status 4.2.2', input: { enhancedCode: '4.2.2', text: '' }, outcome: 'transient', reason: 'mailbox_full', rule: 'generic.mailbox_full.status' },
  { name: 'Postfix 552 5.3.4 message size exceeds fixed limit', input: { stage: 'data', text: '552 5.3.4 Message size exceeds fixed limit' }, outcome: 'recipient_soft', reason: 'message_too_large', rule: 'generic.message_too_large.status' },
  { name: 'Exim 552 message size exceeds maximum permitted', input: { stage: 'data', text: '552 Message size exceeds maximum permitted' }, outcome: 'recipient_soft', reason: 'message_too_large', rule: 'generic.message_too_large.text' },
  { name: 'Exim 550 spam score', input: { stage: 'data', text: '550 This message scored 15.2 spam points.' }, outcome: 'recipient_soft', reason: 'content_rejected', rule: 'generic.content_rejected' },
  { name: 'clamav-milter 550 5.7.1 virus found', input: { stage: 'data', text: '550 5.7.1 Virus found: Win.Test.EICAR_HDB-1' }, outcome: 'recipient_soft', reason: 'content_rejected', rule: 'generic.content_rejected' },
  { name: 'generic 554 5.7.1 rejected due to policy', input: { stage: 'data', code: 554, text: '554 5.7.1 Message rejected due to policy' }, outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'generic.policy_rejected' },
  { name: 'iCloud 554 5.7.1 [CS01] rejected due to local policy', input: { stage: 'data', text: '554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137' }, outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'generic.policy_rejected' },
  { name: 'DSN of a relay-denied far MX (stage unknown: not our account)', input: { enhancedCode: '5.7.1', text: 'smtp; 554 5.7.1 <jane@example.test>: Relay access denied' }, outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'generic.policy_rejected' },
  { name: 'RFC 5321 550 mailbox unavailable without a code (not hard)', input: { stage: 'rcpt', text: '550 Requested action not taken: mailbox unavailable' }, outcome: 'recipient_soft', reason: 'undefined', rule: 'generic.undefined' },

  // --- Sender authentication ---
  { name: 'OpenDMARC 550 5.7.1 rejected by DMARC policy', input: { stage: 'data', text: '550 5.7.1 rejected by DMARC policy for acme.test' }, outcome: 'sender_auth', reason: 'auth_dmarc', rule: 'generic.auth_dmarc.text' },
  { name: 'Exchange Online 450 4.7.26 IPv6 message must pass SPF or DKIM', input: { stage: 'data', text: '450 4.7.26 Service unavailable, message sent over IPv6 [2001:db8::25] must pass either SPF or DKIM validation, this message is not signed' }, outcome: 'sender_auth', reason: 'auth_unauthenticated', rule: 'generic.auth_unauthenticated.text' },
  { name: 'RFC 7372 550 5.7.20 no passing DKIM signature', input: { stage: 'data', text: '550 5.7.20 No passing DKIM signature found' }, outcome: 'sender_auth', reason: 'auth_dkim', rule: 'generic.auth_dkim.status' },
  { name: 'policyd-spf 550 5.7.23 SPF fail', input: { stage: 'rcpt', text: '550 5.7.23 <bob@acme.test>: Recipient address rejected: Message rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=mfrom;id=bob@acme.test;ip=192.0.2.25;r=<UNKNOWN>' }, outcome: 'sender_auth', reason: 'auth_spf', rule: 'generic.auth_spf.status' },
  { name: 'RFC 7372 550 5.7.25 reverse DNS validation failed', input: { stage: 'connect', text: '550 5.7.25 Reverse DNS validation failed' }, outcome: 'sender_auth', reason: 'auth_ptr', rule: 'generic.auth_ptr.status' },
  { name: 'RFC 7372 550 5.7.26 multiple authentication checks failed', input: { stage: 'data', text: '550 5.7.26 Multiple authentication checks failed' }, outcome: 'sender_auth', reason: 'auth_unauthenticated', rule: 'generic.auth_unauthenticated.status' },
  { name: 'older policyd-spf 550 5.7.1 SPF fail', input: { stage: 'rcpt', text: '550 5.7.1 <bob@acme.test>: Recipient address rejected: Message rejected due to: SPF fail - not authorized.' }, outcome: 'sender_auth', reason: 'auth_spf', rule: 'generic.auth_spf.text' },
  { name: 'filter 550 5.7.1 DKIM signature verification failed', input: { stage: 'data', text: '550 5.7.1 Message rejected: DKIM signature verification failed' }, outcome: 'sender_auth', reason: 'auth_dkim', rule: 'generic.auth_dkim.text' },
  { name: 'Postfix 450 4.7.1 cannot find your reverse hostname (4xx stays sender_auth)', input: { stage: 'rcpt', text: '450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.25]' }, outcome: 'sender_auth', reason: 'auth_ptr', rule: 'generic.auth_ptr.text' },
  { name: 'GMX 554 bad DNS PTR resource record', input: { stage: 'connect', text: lines('554-gmx.net (mxgmx017) Nemesis ESMTP Service not available', '554-No SMTP service', '554-Bad DNS PTR resource record.', '554 For explanation visit https://postmaster.gmx.net/en/case?c=r0601&i=ip&v=192.0.2.25&r=1MHabc-1u0Xyz2') }, outcome: 'sender_auth', reason: 'auth_ptr', rule: 'generic.auth_ptr.text' },
  { name: 'Postfix 450 4.1.8 sender domain not found', input: { stage: 'rcpt', text: '450 4.1.8 <bob@acme.test>: Sender address rejected: Domain not found' }, outcome: 'sender_auth', reason: 'sender_domain_unresolvable', rule: 'generic.sender_domain_unresolvable' },
  { name: 'Sendmail 553 5.1.8 domain of sender address does not exist', input: { stage: 'mail', text: '553 5.1.8 <bob@acme.test>... Domain of sender address bob@acme.test does not exist' }, outcome: 'sender_auth', reason: 'sender_domain_unresolvable', rule: 'generic.sender_domain_unresolvable' },

  // --- Sender reputation ---
  { name: 'Postfix 554 5.7.1 blocked using zen.spamhaus.org', input: { stage: 'rcpt', text: '554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.25' }, outcome: 'sender_reputation', reason: 'blocklisted', rule: 'generic.blocklisted' },
  { name: 'Proofpoint 554 5.7.0 blocked (DNSBL lookup)', input: { stage: 'connect', text: '554 5.7.0 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.25' }, outcome: 'sender_reputation', reason: 'blocklisted', rule: 'generic.blocklisted' },
  { name: 'Barracuda 554 blocked using Barracuda Reputation', input: { stage: 'rcpt', text: '554 Service unavailable; Client host [192.0.2.25] blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?pr=1&ip=192.0.2.25' }, outcome: 'sender_reputation', reason: 'blocklisted', rule: 'generic.blocklisted' },
  { name: 'filter 554 5.7.1 poor sender IP reputation', input: { stage: 'rcpt', text: '554 5.7.1 Rejected: sending IP 192.0.2.25 has a poor reputation' }, outcome: 'sender_reputation', reason: 'bad_reputation', rule: 'generic.bad_reputation' },
  { name: 'filter 550 5.7.1 unsolicited bulk email', input: { stage: 'data', text: '550 5.7.1 Message rejected as unsolicited bulk email (UBE)' }, outcome: 'sender_reputation', reason: 'unsolicited', rule: 'generic.unsolicited' },
  { name: 'Amazon SES 454 daily message quota exceeded', input: { stage: 'mail', text: '454 Throttling failure: Daily message quota exceeded.' }, outcome: 'sender_reputation', reason: 'sending_quota_exceeded', rule: 'generic.sending_quota' },
  { name: 'Amazon SES 454 maximum sending rate exceeded', input: { stage: 'mail', text: '454 Throttling failure: Maximum sending rate exceeded.' }, outcome: 'sender_reputation', reason: 'rate_limited', rule: 'generic.rate_limited' },
  { name: 'Postfix 450 4.7.1 too much mail from our IP', input: { stage: 'rcpt', text: '450 4.7.1 Error: too much mail from 192.0.2.25' }, outcome: 'sender_reputation', reason: 'rate_limited', rule: 'generic.rate_limited' },
  { name: 'Postfix 421 4.7.0 too many connections', input: { stage: 'connect', text: '421 4.7.0 mx.example.test Error: too many connections from 192.0.2.25' }, outcome: 'transient', reason: 'too_many_connections', rule: 'generic.too_many_connections' },
  { name: 'Postfix 553 5.7.1 sender address not owned by user', input: { stage: 'rcpt', text: '553 5.7.1 <bob@acme.test>: Sender address rejected: not owned by user bob@acme.test' }, outcome: 'sender_reputation', reason: 'sender_address_rejected', rule: 'generic.sender_address_rejected.text' },
  { name: 'Postfix 501 5.1.7 bad sender address syntax', input: { stage: 'mail', text: '501 5.1.7 Bad sender address syntax' }, outcome: 'sender_reputation', reason: 'sender_address_rejected', rule: 'generic.sender_address_rejected.text' },
  { name: 'Gmail 553 5.1.7 sender not a valid RFC 5321 address', input: { stage: 'mail', text: '553 5.1.7 The sender address <bob@acme..test> is not a valid RFC 5321 address. d2e1a72fcca58-7424f3b3b42si1234567b3a.75 - gsmtp' }, outcome: 'sender_reputation', reason: 'sender_address_rejected', rule: 'generic.sender_address_rejected.status' },
  { name: 'any permanent refusal of the greeting', input: { stage: 'connect', text: '554 mail.example.test ESMTP not accepting messages' }, outcome: 'sender_reputation', reason: 'sender_blocked', rule: 'generic.connect_refused' },
  { name: 'any permanent refusal of MAIL FROM', input: { stage: 'mail', text: '553 5.7.1 Access denied' }, outcome: 'sender_reputation', reason: 'sender_address_rejected', rule: 'generic.mail_from_refused' },
  { name: 'a 5.1.1 to MAIL FROM is about our address, not a recipient', input: { stage: 'mail', text: '550 5.1.1 Mailbox unavailable' }, outcome: 'sender_reputation', reason: 'sender_address_rejected', rule: 'generic.mail_from_refused' },
  { name: "a provider's recipient wording at MAIL FROM still blames no recipient", input: { stage: 'mail', text: '550 5.1.1 The email account that you tried to reach does not exist.' }, outcome: 'sender_reputation', reason: 'sender_address_rejected', rule: 'generic.mail_from_refused' },
  { name: 'a mailbox-full wording in the greeting blames no recipient', input: { stage: 'connect', text: '552 5.2.2 Mailbox full' }, outcome: 'sender_reputation', reason: 'sender_blocked', rule: 'generic.connect_refused' },

  // --- Our account ---
  { name: 'Postfix 554 5.7.1 relay access denied', input: { stage: 'rcpt', text: '554 5.7.1 <jane@example.test>: Relay access denied' }, outcome: 'auth', reason: 'relay_denied', rule: 'generic.relay_denied' },
  { name: 'qmail 553 not in my list of allowed rcpthosts', input: { stage: 'rcpt', text: "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)" }, outcome: 'auth', reason: 'relay_denied', rule: 'generic.relay_denied' },
  { name: 'Postfix 454 4.7.0 temporary authentication failure', input: { stage: 'auth', text: '454 4.7.0 Temporary authentication failure' }, outcome: 'transient', reason: 'auth_temporary_failure', rule: 'generic.auth_temporary' },
  { name: 'Postfix 535 5.7.8 authentication failed', input: { stage: 'auth', text: '535 5.7.8 Error: authentication failed: authentication failure' }, outcome: 'auth', reason: 'credentials_refused', rule: 'generic.credentials_refused.code' },
  { name: 'any permanent answer to AUTH: 504 5.7.4 unrecognized type', input: { stage: 'auth', text: '504 5.7.4 Unrecognized authentication type' }, outcome: 'auth', reason: 'credentials_refused', rule: 'generic.credentials_refused.stage' },
  { name: 'RFC 4954 status 5.7.8 alone', input: { enhancedCode: '5.7.8', text: 'Authentication credentials invalid' }, outcome: 'auth', reason: 'credentials_refused', rule: 'generic.credentials_refused.status' },

  // --- Transient ---
  { name: 'Postgrey 450 4.2.0 greylisted', input: { stage: 'rcpt', text: '450 4.2.0 <jane@example.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.test.html' }, outcome: 'transient', reason: 'greylisted', rule: 'generic.greylisted' },
  { name: 'generic 421 4.3.2 service shutting down', input: { stage: 'rcpt', text: '421 4.3.2 Service shutting down' }, outcome: 'transient', reason: 'temporary_failure', rule: 'generic.temporary' },
  { name: 'generic 450 4.2.1 mailbox busy (not a disabled mailbox)', input: { stage: 'rcpt', text: '450 4.2.1 Mailbox busy' }, outcome: 'transient', reason: 'temporary_failure', rule: 'generic.temporary' },
  { name: 'a reply code outside 2xx/4xx/5xx is no final answer', input: { stage: 'data', code: 354, text: '354 End data with <CR><LF>.<CR><LF>' }, outcome: 'transient', reason: 'temporary_failure', rule: 'generic.temporary' },

  // --- Accepted ---
  { name: 'Postfix 250 2.0.0 queued', input: { stage: 'data', text: '250 2.0.0 Ok: queued as 4E17325CB0C' }, outcome: 'accepted', reason: 'delivered', rule: 'generic.delivered' },
];
