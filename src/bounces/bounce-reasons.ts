/**
 * The reason codes of the classification table (names after the Sisimai library's reasons, in
 * snake_case). A reason says *why* a send failed; the outcome class beside it in the table says
 * what the system does about it. Most reasons belong to one class; a few recipient-side ones
 * (mailbox_full, user_unknown, recipient_rate_limited, content_rejected, …) come back as
 * `transient` when the server answered with a temporary (4xx) reply, and `rate_limited` is
 * `transient` for the Gmail API's per-user rate (429) but `sender_reputation` for an SMTP
 * receiver that throttles our IP or domain.
 */
export const BOUNCE_REASONS = {
  delivered: 'accepted by the receiving server (2xx, or a DSN with status 2.x.x)',

  // Recipient, permanent: the address is suppressed (Sisimai's hard bounces).
  user_unknown: 'the mailbox does not exist (5.1.1, Microsoft 5.1.10 RecipientNotFound / 5.5.0 "mailbox unavailable" / 5.4.1 directory-based blocking, Yahoo "user doesn\'t have a … account")',
  invalid_address: 'the address is not a valid mailbox address (5.1.3, Gmail API "Invalid To header", rejected by nodemailer before sending)',
  host_unknown: 'the recipient domain does not exist or cannot be routed to (5.1.2, 5.4.4)',
  has_moved: 'the mailbox has moved and left no forwarding address (5.1.6)',
  not_accepting: 'the recipient domain accepts no mail at all (null MX, 5.1.10, 521 / 556)',
  mailbox_disabled: 'the mailbox exists but is disabled or inactive (5.2.1, Gmail "account … is inactive", Yahoo "This mailbox is disabled")',

  // Recipient, soft: retried a few times, then `failed`; never suppressed.
  mailbox_full: 'the mailbox is over its quota (x.2.2): transient when 4xx, recipient_soft when 5xx',
  recipient_rate_limited: 'the recipient receives mail too fast (Gmail / Yahoo "receiving mail too quickly", Microsoft 5.2.121 / 5.2.122)',
  message_too_large: 'the message is larger than the recipient accepts (x.2.3, x.3.4)',
  content_rejected: 'a content filter refused this message (spam score, virus, attachment, link)',
  policy_rejected: 'a per-recipient or per-domain policy refused it (5.7.x with nothing more specific)',
  undefined: 'a permanent failure the table does not recognise',

  // Sender reputation: pause or slow the mailbox, give the row to another sender.
  blocklisted: 'the sending IP or domain is on a blocklist (DNSBL, Microsoft banned sender / S3150, Yahoo BL2x)',
  bad_reputation: 'the receiver rates the sending IP or domain too low (Gmail "very low reputation", Microsoft 5.7.708, Yahoo TSS09)',
  unsolicited: 'the receiver judged our mail unsolicited (Gmail 550 5.7.1 "likely unsolicited mail")',
  rate_limited: 'the receiver throttles our IP or domain (Gmail 4.7.28, Yahoo TSS04); Gmail API per-user rate (transient)',
  sending_quota_exceeded: 'the sending mailbox is out of its provider quota (Gmail 5.4.5, Microsoft SubmissionQuotaExceeded, Gmail API dailyLimitExceeded)',
  sender_address_rejected: 'our MAIL FROM address was refused (5.1.7, 5.1.8, "Sender address rejected", any 5xx to MAIL FROM)',
  sender_blocked: 'the receiver refused the connection itself before any recipient was named',

  // Sender authentication: the whole sender domain stops and an alert is raised.
  auth_spf: 'SPF failed (x.7.23, x.7.24, Gmail x.7.27, "SPF" in the text)',
  auth_dkim: 'DKIM failed (x.7.20–22, Gmail x.7.30, "DKIM" in the text)',
  auth_dmarc: 'DMARC failed or the domain has no DMARC record (Gmail 5.7.26 "DMARC policy", 4.7.40, Microsoft 5.7.509)',
  auth_unaligned: 'From is not aligned with the SPF or DKIM domain (Gmail x.7.32)',
  auth_unauthenticated: 'neither SPF nor DKIM passed, or not at the level required (x.7.26, Microsoft 5.7.515, Yahoo 5.7.9)',
  auth_ptr: 'the sending IP has no or a mismatched reverse DNS (PTR) record (x.7.25, Gmail 4.7.23)',
  tls_required: 'the receiver requires the delivering hop to use TLS (Gmail x.7.29)',
  sender_domain_unresolvable: 'the sender domain does not resolve ("Sender address rejected: Domain not found", Yahoo "unresolvable RFC.5321 from domain")',

  // Account: suspend the mailbox and raise an alert.
  credentials_refused: 'the provider refused our credentials (530-series AUTH replies, 534, 535, 5.7.8, OAuth invalid_grant, Gmail API 401 / 403 / 404)',
  authentication_required: 'the submission server requires SMTP AUTH and we sent none (530)',
  smtp_auth_disabled: 'SMTP AUTH is switched off for this mailbox or tenant (Microsoft 535 5.7.139)',
  send_as_denied: 'the account may not send as this From address (Microsoft SendAsDenied, 5.7.60)',
  relay_denied: 'our submission server does not relay for this account or IP (Workspace SMTP relay, "Relay access denied")',
  starttls_required: 'our submission server requires STARTTLS and the account does not use it (530 "Must issue a STARTTLS command first")',
  starttls_unavailable: 'the account requires TLS but its server refused STARTTLS (a 5xx to our STARTTLS): fix the account\'s port or TLS settings',
  tls_certificate_invalid: 'the account\'s server showed a certificate that does not check out (unknown CA, other host name, expired): nothing was sent; trust its CA (WORKER_NODE_EXTRA_CA_CERTS) or fix the host',

  // Transient: retried with backoff.
  greylisted: 'greylisting: the first attempt is deferred on purpose',
  too_many_connections: 'the receiver limits concurrent connections from our IP',
  auth_temporary_failure: 'authentication could not be checked now (454 4.7.0)',
  temporary_failure: 'any other temporary (4xx) reply',
  network_error: 'no usable answer: connection refused, reset or closed, DNS or TLS failure',
  timeout: 'the server did not answer in time',
} as const;

export type BounceReason = keyof typeof BOUNCE_REASONS;
