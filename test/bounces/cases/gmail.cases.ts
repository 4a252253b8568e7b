/**
 * Gmail and Google Workspace replies, in Google's words (gmail-smtp-in for delivery,
 * smtp.gmail.com / smtp-relay.gmail.com for submission), multi-line as nodemailer reports them.
 */
import { lines, type ReplyCase } from './reply-case';

const GSMTP = 'd2e1a72fcca58-7424f3b3b42si1234567b3a.75 - gsmtp';

export const GMAIL_CASES: ReplyCase[] = [
  {
    name: 'Gmail 550 5.1.1 account does not exist',
    input: { stage: 'rcpt', text: lines('550-5.1.1 The email account that you tried to reach does not exist. Please try', "550-5.1.1 double-checking the recipient's email address for typos or", '550-5.1.1 unnecessary spaces. For more information, go to', `550 5.1.1  https://support.google.com/mail/?p=NoSuchUser ${GSMTP}`) },
    outcome: 'recipient_hard', reason: 'user_unknown', rule: 'gmail.user_unknown',
  },
  {
    name: 'Gmail 553 5.1.2 recipient domain not found (smtp.gmail.com)',
    input: { stage: 'rcpt', text: lines("553-5.1.2 We weren't able to find the recipient domain. Please check for any", "553-5.1.2 spelling errors, and make sure you didn't enter any spaces, periods,", `553 5.1.2 or other punctuation after the recipient's email address. ${GSMTP}`) },
    outcome: 'recipient_hard', reason: 'host_unknown', rule: 'gmail.domain_not_found',
  },
  {
    name: 'Gmail 553 5.1.3 recipient not a valid RFC 5321 address',
    input: { stage: 'rcpt', text: lines('553-5.1.3 The recipient address <ann..smith@example.test> is not a valid RFC 5321', `553 5.1.3 address. For more information, go to https://support.google.com/a/answer/3221692 ${GSMTP}`) },
    outcome: 'recipient_hard', reason: 'invalid_address', rule: 'gmail.invalid_address',
  },
  {
    name: 'Gmail 550 5.2.1 account inactive',
    input: { stage: 'rcpt', text: lines('550-5.2.1 The email account that you tried to reach is inactive. For more', '550-5.2.1 information, go to', `550 5.2.1  https://support.google.com/mail/?p=DisabledUser ${GSMTP}`) },
    outcome: 'recipient_hard', reason: 'mailbox_disabled', rule: 'gmail.account_disabled',
  },
  {
    name: 'Gmail 550 5.2.1 account disabled',
    input: { stage: 'rcpt', text: lines('550-5.2.1 The email account that you tried to reach is disabled. Learn more at', `550 5.2.1  https://support.google.com/mail/?p=DisabledUser ${GSMTP}`) },
    outcome: 'recipient_hard', reason: 'mailbox_disabled', rule: 'gmail.account_disabled',
  },
  {
    name: 'Gmail 452 4.2.2 inbox out of storage (temporary)',
    input: { stage: 'rcpt', text: lines("452-4.2.2 The recipient's inbox is out of storage space. Please direct the", '452-4.2.2 recipient to', `452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp ${GSMTP}`) },
    outcome: 'transient', reason: 'mailbox_full', rule: 'gmail.over_quota',
  },
  {
    name: 'Gmail 552 5.2.2 inbox out of storage and inactive (permanent)',
    input: { stage: 'data', text: lines("552-5.2.2 The recipient's inbox is out of storage space and inactive. Please direct", '552-5.2.2 the recipient to', `552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm ${GSMTP}`) },
    outcome: 'recipient_soft', reason: 'mailbox_full', rule: 'gmail.over_quota',
  },
  {
    name: 'Gmail 550 5.7.1 email quota exceeded (a full mailbox under a 5.7 code)',
    input: { stage: 'rcpt', text: `550 5.7.1 Email quota exceeded. ${GSMTP}` },
    outcome: 'recipient_soft', reason: 'mailbox_full', rule: 'gmail.over_quota',
  },
  {
    name: 'Gmail 550 5.4.5 daily user sending limit exceeded (smtp.gmail.com)',
    input: { stage: 'mail', text: lines('550-5.4.5 Daily user sending limit exceeded. For more information on Gmail', '550-5.4.5 sending limits go to', `550 5.4.5  https://support.google.com/a/answer/166852 ${GSMTP}`) },
    outcome: 'sender_reputation', reason: 'sending_quota_exceeded', rule: 'gmail.sending_quota',
  },
  {
    name: 'Gmail 421 4.7.28 unusual rate of mail from the DKIM domain',
    input: {
      stage: 'data',
      text: lines(
        '421-4.7.28 [192.0.2.25      15] Gmail has detected an unusual rate of mail',
        '421-4.7.28 originating from your DKIM domain [acme.test      15]. To protect our',
        '421-4.7.28 users from spam, mail has been temporarily rate limited. For more',
        '421-4.7.28 information, go to',
        '421-4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to',
        `421 4.7.28 review our Bulk Email Senders Guidelines. ${GSMTP}`,
      ),
    },
    outcome: 'sender_reputation', reason: 'rate_limited', rule: 'gmail.unusual_rate',
  },
  {
    name: 'Gmail 550 5.7.28 unusual rate of unsolicited mail from the IP',
    input: { stage: 'rcpt', text: lines('550-5.7.28 [192.0.2.25] There is an unusual rate of unsolicited mail', '550-5.7.28 originating from your IP address. To protect our users from spam, mail', '550-5.7.28 sent from your IP address has been blocked. To review our bulk', '550-5.7.28 email senders guidelines, go to', `550 5.7.28  https://support.google.com/mail/?p=UnsolicitedIPError ${GSMTP}`) },
    outcome: 'sender_reputation', reason: 'rate_limited', rule: 'gmail.unusual_rate',
  },
  {
    name: 'Gmail 421 4.7.0 very low reputation of the sending IP',
    input: { stage: 'data', text: lines('421-4.7.0 [192.0.2.25      15] Our system has detected that this message is', '421-4.7.0 suspicious due to the very low reputation of the sending IP address.', '421-4.7.0 To protect our users from spam, mail sent from your IP address has', '421-4.7.0 been temporarily rate limited. For more information, go to', `421 4.7.0  https://support.google.com/mail/answer/188131 ${GSMTP}`) },
    outcome: 'sender_reputation', reason: 'bad_reputation', rule: 'gmail.low_reputation',
  },
  {
    name: 'Gmail 550 5.7.1 likely unsolicited mail',
    input: { stage: 'data', text: lines('550-5.7.1 [192.0.2.25      12] Our system has detected that this message is', '550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,', '550-5.7.1 this message has been blocked. For more information, go to', `550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError ${GSMTP}`) },
    outcome: 'sender_reputation', reason: 'unsolicited', rule: 'gmail.unsolicited',
  },
  {
    name: 'Gmail 550 5.7.1 IP not authorized to send directly',
    input: { stage: 'rcpt', text: lines("550-5.7.1 [192.0.2.25] The IP you're using to send mail is not authorized to", '550-5.7.1 send email directly to our servers. Please use the SMTP relay at your', '550-5.7.1 service provider instead. For more information, go to', `550 5.7.1  https://support.google.com/mail/?p=NotAuthorizedError ${GSMTP}`) },
    outcome: 'sender_reputation', reason: 'blocklisted', rule: 'gmail.ip_not_authorized',
  },
  {
    name: 'Gmail 552 5.7.0 content presents a security issue',
    input: { stage: 'data', text: lines('552-5.7.0 This message was blocked because its content presents a potential', '552-5.7.0 security issue. To review our message content and attachment content', '552-5.7.0 guidelines, go to', `552 5.7.0  https://support.google.com/mail/?p=BlockedMessage ${GSMTP}`) },
    outcome: 'recipient_soft', reason: 'content_rejected', rule: 'gmail.content',
  },
  {
    name: "Gmail 550 5.7.26 unauthenticated mail refused by the domain's DMARC policy",
    input: { stage: 'data', text: lines('550-5.7.26 Unauthenticated email from acme.test is not accepted due to', "550-5.7.26 domain's DMARC policy. Please contact the administrator of acme.test", '550-5.7.26 domain if this was a legitimate mail. To learn about the DMARC', '550-5.7.26 initiative, go to', `550 5.7.26  https://support.google.com/mail/?p=DmarcRejection ${GSMTP}`) },
    outcome: 'sender_auth', reason: 'auth_dmarc', rule: 'gmail.auth_dmarc_policy',
  },
  {
    name: 'Gmail 550 5.7.26 SPF hard fail',
    input: { stage: 'data', text: lines('550-5.7.26 The MAIL FROM domain [acme.test] has an SPF record with a hard fail', '550-5.7.26 policy (-all) but it fails to pass SPF checks with the ip:', '550-5.7.26 [192.0.2.25]. To best protect our users from spam and phishing,', '550-5.7.26 the message has been blocked. For more information, go to', `550 5.7.26  https://support.google.com/mail/answer/81126#authentication ${GSMTP}`) },
    outcome: 'sender_auth', reason: 'auth_spf', rule: 'gmail.auth_spf_hard_fail',
  },
  {
    name: 'Gmail 421 4.7.26 rate limited because unauthenticated',
    input: {
      stage: 'data',
      text: lines(
        '421-4.7.26 This mail has been rate limited because it is unauthenticated.',
        '421-4.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.',
        '421-4.7.26',
        '421-4.7.26  Authentication results:',
        '421-4.7.26  DKIM = did not pass',
        '421-4.7.26  SPF [acme.test] with ip: [192.0.2.25] = did not pass',
        '421-4.7.26',
        '421-4.7.26  For instructions on setting up authentication, go to',
        `421 4.7.26  https://support.google.com/mail/answer/81126#authentication ${GSMTP}`,
      ),
    },
    outcome: 'sender_auth', reason: 'auth_unauthenticated', rule: 'generic.auth_unauthenticated.text',
  },
  {
    name: 'Gmail 421 4.7.27 SPF did not pass',
    input: { stage: 'data', text: lines("421-4.7.27 Your email has been rate limited because SPF authentication didn't", '421-4.7.27 pass for this message. Gmail requires all bulk email senders to', '421-4.7.27 authenticate their emails with SPF. Authentication results: SPF', '421-4.7.27 [acme.test] with ip: [192.0.2.25] = Did not pass. For instructions on', '421-4.7.27 setting up SPF authentication, go to', `421 4.7.27  https://support.google.com/mail/answer/81126#authentication ${GSMTP}`) },
    outcome: 'sender_auth', reason: 'auth_spf', rule: 'gmail.auth_spf',
  },
  {
    name: 'Gmail 421 4.7.30 DKIM did not pass',
    input: { stage: 'data', text: lines("421-4.7.30 Your email has been rate limited because DKIM authentication didn't", '421-4.7.30 pass for this message. Gmail requires all email bulk senders to', '421-4.7.30 authenticate their email with DKIM. Authentication results: DKIM =', '421-4.7.30 Did not pass. For instructions on setting up DKIM authentication, go to', `421 4.7.30  https://support.google.com/mail/answer/81126#authentication ${GSMTP}`) },
    outcome: 'sender_auth', reason: 'auth_dkim', rule: 'gmail.auth_dkim',
  },
  {
    name: 'Gmail 421 4.7.32 From not aligned with SPF or DKIM',
    input: { stage: 'data', text: lines('421-4.7.32 Your email has been rate limited because the From: header (RFC5322) in', "421-4.7.32 this message isn't aligned with either the authenticated SPF or DKIM", '421-4.7.32 organizational domain. To learn more about DMARC alignment, go to', `421 4.7.32  https://support.google.com/mail/?p=DmarcRejection ${GSMTP}`) },
    outcome: 'sender_auth', reason: 'auth_unaligned', rule: 'gmail.auth_unaligned',
  },
  {
    name: 'Gmail 421 4.7.40 no DMARC record',
    input: { stage: 'data', text: lines("421-4.7.40 Your email has been rate limited because the sending domain doesn't", "421-4.7.40 have a DMARC record, or the DMARC record doesn't specify a DMARC policy.", '421-4.7.40 Gmail requires all bulk email senders to add a DMARC record to their', '421-4.7.40 sending domain. For more information, go to', `421 4.7.40  https://support.google.com/mail/answer/81126#authentication ${GSMTP}`) },
    outcome: 'sender_auth', reason: 'auth_dmarc', rule: 'gmail.auth_no_dmarc',
  },
  {
    name: 'Gmail 421 4.7.29 not sent over TLS',
    input: { stage: 'data', text: lines("421-4.7.29 Your email has been rate limited because this message wasn't sent", '421-4.7.29 over a TLS connection. Gmail requires all bulk email senders to use', '421-4.7.29 TLS/SSL for SMTP connections. For more information, go to', `421 4.7.29  https://support.google.com/mail/answer/81126#authentication ${GSMTP}`) },
    outcome: 'sender_auth', reason: 'tls_required', rule: 'gmail.tls_required',
  },
  {
    name: 'Gmail 421 4.7.23 no PTR record',
    input: { stage: 'connect', text: lines("421-4.7.23 The sending IP address for this message doesn't have a PTR record, or", "421-4.7.23 the PTR record's forward DNS entry doesn't match the sending IP address.", '421-4.7.23 To protect users from spam, your email has been temporarily rate limited.', '421-4.7.23 For more information, go to', `421 4.7.23  https://support.google.com/mail/answer/81126#ip-practices ${GSMTP}`) },
    outcome: 'sender_auth', reason: 'auth_ptr', rule: 'gmail.ptr',
  },
  {
    name: 'Gmail 550 5.7.0 Mail Sending denied (smtp-relay.gmail.com)',
    input: { stage: 'mail', text: `550 5.7.0 Mail Sending denied. This error occurs if the sender account is disabled or not registered within your Google Workspace domain. For more information, go to https://support.google.com/a/answer/6140680#maildenied ${GSMTP}` },
    outcome: 'auth', reason: 'relay_denied', rule: 'gmail.relay_sending_denied',
  },
  {
    name: 'Gmail 550 5.7.0 mail relay denied, IP not registered (smtp-relay.gmail.com)',
    input: {
      stage: 'mail',
      text: lines(
        '550-5.7.0 Mail relay denied [192.0.2.25]. Invalid credentials for relay for',
        '550-5.7.0 one of the domains in: acme.test (as obtained from HELO and MAIL FROM).',
        "550-5.7.0 Email is being sent from a domain or IP address which isn't registered",
        '550-5.7.0 in your Workspace account. Please login to your Workspace account and',
        '550-5.7.0 verify that your sending device IP address has been registered within',
        '550-5.7.0 the Workspace SMTP Relay Settings. For more information, go to',
        `550 5.7.0  https://support.google.com/a/answer/6140680#invalidcred ${GSMTP}`,
      ),
    },
    outcome: 'auth', reason: 'relay_denied', rule: 'generic.relay_denied',
  },
  {
    name: 'Gmail 535 5.7.8 username and password not accepted',
    input: { stage: 'auth', text: lines('535-5.7.8 Username and Password not accepted. For more information, go to', `535 5.7.8  https://support.google.com/mail/?p=BadCredentials ${GSMTP}`) },
    outcome: 'auth', reason: 'credentials_refused', rule: 'generic.credentials_refused.code',
  },
  {
    name: 'Gmail 534 5.7.9 application-specific password required',
    input: { stage: 'auth', text: lines('534-5.7.9 Application-specific password required. For more information, go to', `534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor ${GSMTP}`) },
    outcome: 'auth', reason: 'credentials_refused', rule: 'generic.credentials_refused.code',
  },
  {
    name: 'Gmail 534 5.7.14 log in via the web browser',
    input: { stage: 'auth', text: lines('534-5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbt0abc>', '534-5.7.14 Please log in via your web browser and then try again.', '534-5.7.14  Learn more at', `534 5.7.14  https://support.google.com/mail/answer/78754 ${GSMTP}`) },
    outcome: 'auth', reason: 'credentials_refused', rule: 'generic.credentials_refused.code',
  },
  {
    name: 'Gmail 530 5.7.0 authentication required',
    input: { stage: 'mail', text: lines('530-5.7.0 Authentication Required. For more information, go to', `530 5.7.0  https://support.google.com/mail/?p=WantAuthError ${GSMTP}`) },
    outcome: 'auth', reason: 'authentication_required', rule: 'generic.authentication_required',
  },
  {
    name: 'Gmail 530 5.7.0 must issue STARTTLS first',
    input: { stage: 'mail', text: `530 5.7.0 Must issue a STARTTLS command first. ${GSMTP}` },
    outcome: 'auth', reason: 'starttls_required', rule: 'generic.starttls_required',
  },
  {
    name: 'Gmail 454 4.7.0 too many login attempts',
    input: { stage: 'auth', text: lines('454-4.7.0 Too many login attempts, please try again later. For more information,', '454-4.7.0 go to', `454 4.7.0  https://support.google.com/mail/answer/7126229 ${GSMTP}`) },
    outcome: 'transient', reason: 'auth_temporary_failure', rule: 'generic.auth_temporary',
  },
  {
    name: 'Gmail 421 4.7.0 try again later, closing connection',
    input: { stage: 'connect', text: lines('421-4.7.0 Try again later, closing connection. (EHLO)', '421-4.7.0  For more information, go to', `421 4.7.0  https://support.google.com/a/answer/3221692 ${GSMTP}`) },
    outcome: 'transient', reason: 'temporary_failure', rule: 'generic.temporary',
  },
  {
    name: "Gmail 550 5.7.1 the recipient's domain policy prohibited the mail",
    input: { stage: 'rcpt', text: lines('550-5.7.1 The user or domain that you are sending to (or from) has a policy that', '550-5.7.1 prohibited the mail that you sent. Please contact your domain', '550-5.7.1 administrator for further details. For more information, go to', `550 5.7.1  https://support.google.com/a/answer/172179 ${GSMTP}`) },
    outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'generic.policy_rejected',
  },
  {
    name: 'Gmail 550 5.7.1 message without a valid Message-ID',
    input: { stage: 'data', text: lines('550-5.7.1 [192.0.2.25] Messages missing a valid Message-ID header are not', '550-5.7.1 accepted. For more information, go to', '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review', `550 5.7.1 RFC 5322 specifications. ${GSMTP}`) },
    outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'generic.policy_rejected',
  },
  {
    name: 'Gmail 450 4.2.1 user receiving mail too quickly',
    input: { stage: 'rcpt', text: lines('450-4.2.1 The user you are trying to contact is receiving mail too quickly.', '450-4.2.1 Please resend your message at a later time. If the user is able to', '450-4.2.1 receive mail at that time, your message will be delivered. For more', '450-4.2.1 information, go to', `450 4.2.1  https://support.google.com/mail/answer/22839 ${GSMTP}`) },
    outcome: 'transient', reason: 'recipient_rate_limited', rule: 'generic.recipient_rate_limited',
  },
  {
    name: 'Gmail 550 5.2.1 user receiving mail at a rate that prevents delivery (not a disabled mailbox)',
    input: { stage: 'rcpt', text: lines('550-5.2.1 The user you are trying to contact is receiving mail at a rate that', '550-5.2.1 prevents additional messages from being delivered. For more', '550-5.2.1 information, go to', `550 5.2.1  https://support.google.com/mail/?p=ReceivingRatePerm ${GSMTP}`) },
    outcome: 'recipient_soft', reason: 'recipient_rate_limited', rule: 'generic.recipient_rate_limited',
  },
  {
    name: 'Gmail 552 5.3.4 message exceeded the size limits',
    input: { stage: 'data', text: lines("552-5.3.4 Your message exceeded Google's message size limits. For more", '552-5.3.4 information, go to', `552 5.3.4  https://support.google.com/mail/?p=MaxSizeError ${GSMTP}`) },
    outcome: 'recipient_soft', reason: 'message_too_large', rule: 'generic.message_too_large.status',
  },
  {
    name: 'Gmail 554 5.6.0 malformed message (unrecognised: soft, not hard)',
    input: { stage: 'data', text: `554 5.6.0 Mail message is malformed. Not accepted. ${GSMTP}` },
    outcome: 'recipient_soft', reason: 'undefined', rule: 'generic.undefined',
  },
];
