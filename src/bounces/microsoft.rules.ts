/**
 * Microsoft: Outlook.com / Hotmail (olc.protection.outlook.com), Exchange Online (Microsoft 365,
 * also as our submission server smtp.office365.com) and Exchange Server. Texts from Microsoft's
 * NDR reference ("Email non-delivery reports and SMTP errors in Exchange Online") and Sisimai's
 * rhost/for-microsoft and for-outlook. Microsoft's 5.7.5xx–7xx codes are its own, so the rules
 * that read only a code use those; the rest also require Microsoft's wording.
 */
import type { ClassificationRule } from './classification-rule';

export const MICROSOFT_RULES: readonly ClassificationRule[] = [
  // 550 5.1.10 RecipientNotFound; Recipient not found by SMTP address lookup (Exchange Online). RFC
  // 7505 gives 5.1.10 to null MX, which the generic rule reads; this wording is a missing mailbox.
  { id: 'microsoft.recipient_not_found', provider: 'microsoft', match: { status: ['5.1.10'], text: /recipientnotfound|not found by smtp address lookup/i }, outcome: 'recipient_hard', reason: 'user_unknown' },
  // 550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302): Outlook.com's answer for
  // a mailbox that does not exist. The same words without 5.5.0 are RFC 5321's generic 550 text.
  { id: 'microsoft.mailbox_unavailable', provider: 'microsoft', match: { status: ['5.5.0'], text: /requested action not taken: mailbox unavailable/i }, outcome: 'recipient_hard', reason: 'user_unknown' },
  // 550 5.4.1 Recipient address rejected: Access denied. AS(201806281): directory-based edge
  // blocking, Exchange Online's refusal of an address the tenant does not have.
  { id: 'microsoft.directory_blocking', provider: 'microsoft', match: { status: ['5.4.1'], text: /recipient address rejected: access denied/i }, outcome: 'recipient_hard', reason: 'user_unknown' },
  // 550 5.7.515 Access denied, sending domain acme.test doesn't meet the required authentication
  // level (Outlook.com consumer, high-volume senders since May 2025: SPF, DKIM and DMARC).
  { id: 'microsoft.auth_level', provider: 'microsoft', match: { status: ['5.7.515'] }, outcome: 'sender_auth', reason: 'auth_unauthenticated' },
  // 550 5.7.509 Access denied, sending domain acme.test does not pass DMARC verification and has a
  // DMARC policy of reject.
  { id: 'microsoft.auth_dmarc', provider: 'microsoft', match: { status: ['5.7.509'] }, outcome: 'sender_auth', reason: 'auth_dmarc' },
  // 550 5.7.511 Access denied, banned sender; 550 5.7.606–649 Access denied, banned sending IP.
  { id: 'microsoft.banned_sender', provider: 'microsoft', match: { text: /access denied, banned sen(?:der|ding ip)/i }, outcome: 'sender_reputation', reason: 'blocklisted' },
  // 550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact your Internet
  // service provider since part of their network is on our block list (S3150).
  { id: 'microsoft.block_list_s3150', provider: 'microsoft', match: { text: /\(S3150\)/i }, outcome: 'sender_reputation', reason: 'blocklisted' },
  // 550 SC-001 / SC-003 / SC-004 / OU-001 / DY-001 (Outlook.com legacy codes): policy blocks of the
  // sending IP (reputation, open proxy, complaints, Spamhaus, dynamic IP).
  { id: 'microsoft.legacy_block', provider: 'microsoft', match: { text: /\b(?:SC-00[1-4]|OU-00[12]|DY-00[12])\b/i }, outcome: 'sender_reputation', reason: 'blocklisted' },
  // 421 RP-001 / RP-002 / RP-003 (Outlook.com legacy): messages per hour or connections from our IP
  // over the limit granted to its reputation.
  { id: 'microsoft.legacy_rate', provider: 'microsoft', match: { text: /\bRP-00[1-3]\b/i }, outcome: 'sender_reputation', reason: 'rate_limited' },
  // 550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP; 5.7.705
  // Access denied, tenant has exceeded threshold.
  { id: 'microsoft.traffic_not_accepted', provider: 'microsoft', match: { text: /traffic not accepted from this ip|tenant has exceeded threshold/i }, outcome: 'sender_reputation', reason: 'bad_reputation' },
  // 451 4.7.650 The mail server [192.0.2.25] has been temporarily rate limited due to IP reputation. (S775)
  { id: 'microsoft.ip_reputation', provider: 'microsoft', match: { text: /rate limited due to ip reputation/i }, outcome: 'sender_reputation', reason: 'bad_reputation' },
  // 550 5.1.8 Access denied, bad outbound sender; 550 5.7.501 Access denied, spam abuse detected:
  // Microsoft 365 has restricted our mailbox from sending.
  { id: 'microsoft.restricted_sender', provider: 'microsoft', match: { text: /bad outbound sender|spam abuse detected/i }, outcome: 'sender_reputation', reason: 'bad_reputation' },
  // 554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; 550 5.1.90 Your
  // message can't be sent because you've reached your daily limit for message recipients. Read
  // before the generic 5.2.2 "mailbox full": Exchange also reports its submission quota as 5.2.2.
  { id: 'microsoft.submission_quota', provider: 'microsoft', match: { text: /submission ?quota ?exceeded|daily limit for message recipients/i }, outcome: 'sender_reputation', reason: 'sending_quota_exceeded' },
  // 554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied;
  // 550 5.7.60 SMTP; Client does not have permissions to send as this sender.
  { id: 'microsoft.send_as_denied', provider: 'microsoft', match: { text: /sendasdenied|permissions? to send as this sender/i }, outcome: 'auth', reason: 'send_as_denied' },
  // 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant /
  // basic authentication is disabled: the operator must switch SMTP AUTH on, no password helps.
  { id: 'microsoft.smtp_auth_disabled', provider: 'microsoft', match: { text: /smtpclientauthentication is disabled|basic authentication is disabled/i }, outcome: 'auth', reason: 'smtp_auth_disabled' },
  // 550 5.2.122 The recipient has exceeded their limit for the number of messages they can receive
  // per hour; 5.2.121 … per hour message receive limit; 432 4.3.2 STOREDRV.Deliver; recipient
  // thread limit exceeded.
  { id: 'microsoft.recipient_receive_limit', provider: 'microsoft', match: { text: /messages they can receive per hour|per hour message receive limit|recipient thread limit exceeded/i }, outcome: 'recipient_soft', reason: 'recipient_rate_limited' },
];
