/**
 * Generic rules (RFC 3463 / 4954 / 7372 codes, Postfix / Exim / Sendmail / ESP texts) for answers
 * that are the sender's problem: authentication of the domain, reputation, quotas, our account
 * and its credentials, and refusals before any recipient was named. They are read before the
 * recipient rules (generic-recipient.rules.ts) on purpose: when the text says it is about us
 * ("blocked using zen.spamhaus.org", "SPF fail") the reply code's subject does not count, and
 * suppressing the recipient would be wrong.
 */
import type { ClassificationRule } from './classification-rule';

/** Stages where the server that answers is our own submission server or relay, not a recipient's. */
const SUBMISSION_STAGES = ['connect', 'auth', 'mail', 'rcpt'] as const;

export const GENERIC_SENDER_RULES: readonly ClassificationRule[] = [
  // --- Sender authentication: every mailbox of the domain fails alike, so the domain stops. ---
  // 550 5.7.1 rejected by DMARC policy for acme.test (OpenDMARC); a DMARC failure is named as such.
  { id: 'generic.auth_dmarc.text', provider: 'generic', match: { text: /\bdmarc\b/i }, outcome: 'sender_auth', reason: 'auth_dmarc' },
  // "… must pass either SPF or DKIM validation", "the sender is unauthenticated".
  { id: 'generic.auth_unauthenticated.text', provider: 'generic', match: { text: /\bunauthenticated (?:e-?mail|mail|message)|\bsender is unauthenticated|\b(?:spf|dkim) or (?:dkim|spf)\b|must pass either spf or dkim/i }, outcome: 'sender_auth', reason: 'auth_unauthenticated' },
  // RFC 7372: 5.7.20 no passing DKIM signature, 5.7.21 no acceptable one, 5.7.22 none author-matched.
  { id: 'generic.auth_dkim.status', provider: 'generic', match: { status: ['*.7.20', '*.7.21', '*.7.22'] }, outcome: 'sender_auth', reason: 'auth_dkim' },
  // RFC 7372: 5.7.23 SPF validation failed, 5.7.24 SPF validation error.
  { id: 'generic.auth_spf.status', provider: 'generic', match: { status: ['*.7.23', '*.7.24'] }, outcome: 'sender_auth', reason: 'auth_spf' },
  // RFC 7372: 5.7.25 reverse DNS validation failed.
  { id: 'generic.auth_ptr.status', provider: 'generic', match: { status: ['*.7.25'] }, outcome: 'sender_auth', reason: 'auth_ptr' },
  // RFC 7372: 5.7.26 multiple authentication checks failed (Gmail's unauthenticated mail too).
  { id: 'generic.auth_unauthenticated.status', provider: 'generic', match: { status: ['*.7.26'] }, outcome: 'sender_auth', reason: 'auth_unauthenticated' },
  // 550 5.7.1 … Message rejected due to: SPF fail - not authorized (policyd-spf).
  { id: 'generic.auth_spf.text', provider: 'generic', match: { text: /\bspf\b|sender policy framework/i }, outcome: 'sender_auth', reason: 'auth_spf' },
  { id: 'generic.auth_dkim.text', provider: 'generic', match: { text: /\bdkim\b/i }, outcome: 'sender_auth', reason: 'auth_dkim' },
  // 450 4.7.1 Client host rejected: cannot find your reverse hostname (Postfix); GMX "Bad DNS PTR
  // resource record". Not softened for a 4xx: waiting does not add a PTR record.
  { id: 'generic.auth_ptr.text', provider: 'generic', match: { text: /\bptr\b|reverse (?:dns|hostname|lookup)|\brdns\b/i }, outcome: 'sender_auth', reason: 'auth_ptr' },
  // 450 4.1.8 <bob@acme.test>: Sender address rejected: Domain not found (Postfix); 553 5.1.8 …
  // Domain of sender address bob@acme.test does not exist (Sendmail): our domain's DNS is broken.
  { id: 'generic.sender_domain_unresolvable', provider: 'generic', match: { text: /sender address rejected: domain not found|domain of sender address \S+ does not (?:exist|resolve)|unresolvable rfc[ .]?5321 (?:from )?domain|sender domain (?:must (?:exist|resolve)|not found|does not exist)/i }, outcome: 'sender_auth', reason: 'sender_domain_unresolvable' },

  // --- Sender reputation: pause or slow the mailbox; the row goes to another sender. ---
  // 554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.org. A
  // recipient's personal blocklist of our address lands here too: still not the address's fault.
  { id: 'generic.blocklisted', provider: 'generic', match: { text: /\b(?:spamhaus|spamcop|barracuda|sorbs|surbl|uribl|uceprotect|dnsbl|rbl)|\b(?:block|black|deny) ?list(?:ed)?\b|\bblocked using\b/i }, outcome: 'sender_reputation', reason: 'blocklisted' },
  { id: 'generic.bad_reputation', provider: 'generic', match: { text: /\breputation\b/i }, outcome: 'sender_reputation', reason: 'bad_reputation' },
  { id: 'generic.unsolicited', provider: 'generic', match: { text: /\bunsolicited\b|\bbulk (?:e-?)?mail\b|\bU[BC]E\b/i }, outcome: 'sender_reputation', reason: 'unsolicited' },
  // 454 Throttling failure: Daily message quota exceeded (Amazon SES).
  { id: 'generic.sending_quota', provider: 'generic', match: { text: /\b(?:daily|hourly|sending|message|submission) (?:user )?(?:sending )?(?:quota|limit) (?:is |has been |was )?(?:exceeded|reached)|exceeded (?:the |your |its )?(?:daily |hourly )?(?:sending|message) (?:quota|limit)/i }, outcome: 'sender_reputation', reason: 'sending_quota_exceeded' },
  // 421 4.7.0 Error: too many connections from 192.0.2.25 (Postfix anvil): a concurrency limit
  // clears in seconds, a retry with backoff is enough; pausing the mailbox would overreact.
  { id: 'generic.too_many_connections', provider: 'generic', match: { text: /too many (?:concurrent |simultaneous |open )?connections|maximum number of (?:concurrent )?connections/i }, outcome: 'transient', reason: 'too_many_connections' },
  // 454 Throttling failure: Maximum sending rate exceeded (SES); 450 4.7.1 Error: too much mail from …
  { id: 'generic.rate_limited', provider: 'generic', match: { text: /\brate[- ]?limit(?:ed|ing|s)?\b|\bthrottl(?:ed|ing)\b|\bsending rate\b|too much mail from|too many (?:messages|mails|e-?mails) (?:from|sent)/i }, outcome: 'sender_reputation', reason: 'rate_limited' },
  // 553 5.7.1 <bob@acme.test>: Sender address rejected: not owned by user; 550 5.1.0 Sender denied.
  { id: 'generic.sender_address_rejected.text', provider: 'generic', match: { text: /\bsender address rejected\b|\bsender (?:address )?(?:denied|refused|blocked|not (?:allowed|permitted))|\bunknown sender\b|\bsender verify failed\b|\b(?:bad|invalid) sender\b/i }, outcome: 'sender_reputation', reason: 'sender_address_rejected' },
  // RFC 3463: 5.1.7 bad sender's mailbox address syntax, 5.1.8 bad sender's system address.
  { id: 'generic.sender_address_rejected.status', provider: 'generic', match: { status: ['*.1.7', '*.1.8'] }, outcome: 'sender_reputation', reason: 'sender_address_rejected' },

  // --- Our account at the submission server: suspend the mailbox and alert. ---
  // 554 5.7.1 <x@example.test>: Relay access denied; 550 5.7.0 Mail relay denied … Invalid
  // credentials for relay; qmail's "not in my list of allowed rcpthosts". Only when it answers
  // us directly (stage known): in a DSN the same words come from a far MX, not our account.
  { id: 'generic.relay_denied', provider: 'generic', match: { stages: ['mail', 'rcpt'], text: /\brelay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|\b(?:unable|not permitted) to relay\b|invalid credentials for relay|list of allowed rcpthosts/i }, outcome: 'auth', reason: 'relay_denied' },
  // 530 5.7.0 Must issue a STARTTLS command first: the account's transport settings lack TLS.
  { id: 'generic.starttls_required', provider: 'generic', match: { stages: SUBMISSION_STAGES, text: /must issue a starttls|starttls (?:is )?required|\btls (?:is )?required\b|encryption required/i }, outcome: 'auth', reason: 'starttls_required' },
  // 454 4.7.0 Temporary authentication failure / Cannot authenticate due to a temporary system problem.
  { id: 'generic.auth_temporary', provider: 'generic', match: { codes: [454] }, outcome: 'transient', reason: 'auth_temporary_failure' },
  // 530 5.7.0 Authentication required; 530 5.7.57 Client not authenticated to send mail.
  { id: 'generic.authentication_required', provider: 'generic', match: { codes: [530] }, outcome: 'auth', reason: 'authentication_required' },
  // 535 5.7.8 Username and Password not accepted; 534 5.7.9 Application-specific password required;
  // 534 5.7.14 Please log in via your web browser; 535 5.7.3 Authentication unsuccessful.
  { id: 'generic.credentials_refused.code', provider: 'generic', match: { codes: [534, 535] }, outcome: 'auth', reason: 'credentials_refused' },
  // Any other permanent answer to AUTH (504 5.7.4 Unrecognized authentication type, 538 …).
  { id: 'generic.credentials_refused.stage', provider: 'generic', match: { stages: ['auth'], severity: 'permanent' }, outcome: 'auth', reason: 'credentials_refused' },
  // RFC 4954: 5.7.8 authentication credentials invalid, when only the status is known.
  { id: 'generic.credentials_refused.status', provider: 'generic', match: { status: ['5.7.8'] }, outcome: 'auth', reason: 'credentials_refused' },

  // --- Refused before any recipient was named: never the recipient's fault. ---
  { id: 'generic.connect_refused', provider: 'generic', match: { stages: ['connect'], severity: 'permanent' }, outcome: 'sender_reputation', reason: 'sender_blocked' },
  { id: 'generic.mail_from_refused', provider: 'generic', match: { stages: ['mail'], severity: 'permanent' }, outcome: 'sender_reputation', reason: 'sender_address_rejected' },
];
