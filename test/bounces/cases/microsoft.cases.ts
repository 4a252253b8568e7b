/**
 * Microsoft replies: Outlook.com / Hotmail (olc.protection.outlook.com), Exchange Online (inbound,
 * and smtp.office365.com as our submission server) and Exchange Server, in Microsoft's words.
 */
import type { ReplyCase } from './reply-case';

const EOP = '[DM6NAM12FT019.eop-nam12.prod.protection.outlook.com 2025-11-03T10:12:41.123Z 08DE1A2B3C4D5E6F]';

export const MICROSOFT_CASES: ReplyCase[] = [
  {
    name: 'Exchange Online 550 5.1.10 RecipientNotFound',
    input: { stage: 'rcpt', text: `550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient nobody@contoso.example not found by SMTP address lookup ${EOP}` },
    outcome: 'recipient_hard', reason: 'user_unknown', rule: 'microsoft.recipient_not_found',
  },
  {
    name: 'Outlook.com 550 5.5.0 mailbox unavailable',
    input: { stage: 'rcpt', text: `550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). ${EOP}` },
    outcome: 'recipient_hard', reason: 'user_unknown', rule: 'microsoft.mailbox_unavailable',
  },
  {
    name: 'Exchange Online 550 5.4.1 directory-based edge blocking',
    input: { stage: 'rcpt', text: `550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors ${EOP}` },
    outcome: 'recipient_hard', reason: 'user_unknown', rule: 'microsoft.directory_blocking',
  },
  {
    name: 'Exchange Server 550 5.1.1 RecipNotFound',
    input: { stage: 'rcpt', code: 550, text: '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found' },
    outcome: 'recipient_hard', reason: 'user_unknown', rule: 'generic.user_unknown.status',
  },
  {
    name: 'Outlook.com 550 5.7.515 domain below the required authentication level',
    input: { stage: 'data', text: `550 5.7.515 Access denied, sending domain ACME.TEST doesn't meet the required authentication level. The sender's domain in the 5322.From address doesn't meet the authentication requirements defined for the sender. To learn how to fix this see: https://go.microsoft.com/fwlink/p/?linkid=2319303 ${EOP}` },
    outcome: 'sender_auth', reason: 'auth_unauthenticated', rule: 'microsoft.auth_level',
  },
  {
    name: 'Exchange Online 550 5.7.509 DMARC verification failed',
    input: { stage: 'data', text: `550 5.7.509 Access denied, sending domain ACME.TEST does not pass DMARC verification and has a DMARC policy of reject. ${EOP}` },
    outcome: 'sender_auth', reason: 'auth_dmarc', rule: 'microsoft.auth_dmarc',
  },
  {
    name: 'Exchange Online 550 5.7.511 banned sender',
    input: { stage: 'rcpt', text: '550 5.7.511 Access denied, banned sender[192.0.2.25]. To request removal from this list please forward this message to delist@microsoft.com. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653. AS(1410) [VI1EUR04FT012.eop-eur04.prod.protection.outlook.com]' },
    outcome: 'sender_reputation', reason: 'blocklisted', rule: 'microsoft.banned_sender',
  },
  {
    name: 'Exchange Online 550 5.7.606 banned sending IP',
    input: { stage: 'rcpt', text: '550 5.7.606 Access denied, banned sending IP [192.0.2.25]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) [BN8NAM12FT056.eop-nam12.prod.protection.outlook.com]' },
    outcome: 'sender_reputation', reason: 'blocklisted', rule: 'microsoft.banned_sender',
  },
  {
    name: 'Outlook.com 550 5.7.1 network on our block list (S3150)',
    input: { stage: 'rcpt', text: `550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. ${EOP}` },
    outcome: 'sender_reputation', reason: 'blocklisted', rule: 'microsoft.block_list_s3150',
  },
  {
    name: 'Outlook.com legacy 550 SC-001',
    input: { stage: 'rcpt', text: "550 SC-001 (BAY004-MC5F30) Unfortunately, messages from 192.0.2.25 weren't sent. Please contact your Internet service provider. You can tell your provider to refer to http://mail.live.com/mail/troubleshooting.aspx#errors." },
    outcome: 'sender_reputation', reason: 'blocklisted', rule: 'microsoft.legacy_block',
  },
  {
    name: 'Outlook.com legacy 421 RP-001 hourly limit',
    input: { stage: 'rcpt', text: "421 RP-001 (BAY004-MC1F35) Unfortunately, some messages from 192.0.2.25 weren't sent. Please try again. We have limits for how many messages can be sent per hour and per day. You can also refer to http://mail.live.com/mail/troubleshooting.aspx#errors." },
    outcome: 'sender_reputation', reason: 'rate_limited', rule: 'microsoft.legacy_rate',
  },
  {
    name: 'Exchange Online 550 5.7.708 traffic not accepted from this IP',
    input: { stage: 'rcpt', text: '550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7230) [DM6NAM12FT019.eop-nam12.prod.protection.outlook.com]' },
    outcome: 'sender_reputation', reason: 'bad_reputation', rule: 'microsoft.traffic_not_accepted',
  },
  {
    name: 'Outlook.com 451 4.7.650 rate limited due to IP reputation (S775)',
    input: { stage: 'mail', text: `451 4.7.650 The mail server [192.0.2.25] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775) [Name=Protocol Filter Agent][AGT=PFA][MxId=11B9B3F8A16C2E1A] ${EOP}` },
    outcome: 'sender_reputation', reason: 'bad_reputation', rule: 'microsoft.ip_reputation',
  },
  {
    name: 'Outlook.com 451 4.7.652 maximum number of connections (S3115)',
    input: { stage: 'mail', text: '451 4.7.652 The mail server [192.0.2.25] has exceeded the maximum number of connections. (S3115) [Name=Protocol Filter Agent][AGT=PFA][MxId=11BA9B3FA168ABBF] [BN3PEPF0000B370.namprd21.prod.outlook.com 2025-02-20T14:30:32.425Z 08DD4D9FD5AFF45C]' },
    outcome: 'transient', reason: 'too_many_connections', rule: 'generic.too_many_connections',
  },
  {
    name: 'smtp.office365.com 550 5.1.8 bad outbound sender (our mailbox restricted)',
    input: { stage: 'mail', text: '550 5.1.8 Access denied, bad outbound sender. AS(42004) [AM0PR02MB5812.eurprd02.prod.outlook.com]' },
    outcome: 'sender_reputation', reason: 'bad_reputation', rule: 'microsoft.restricted_sender',
  },
  {
    name: 'smtp.office365.com 554 5.2.0 SubmissionQuotaExceeded',
    input: { stage: 'data', text: '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. 0.35250:0A00C784, 1.36674:0A000000, 1.61250:00000000[EndDiagnosticData] [Hostname=AM0PR02MB5812.eurprd02.prod.outlook.com]' },
    outcome: 'sender_reputation', reason: 'sending_quota_exceeded', rule: 'microsoft.submission_quota',
  },
  {
    name: 'smtp.office365.com 550 5.1.90 daily recipient limit reached',
    input: { stage: 'rcpt', text: "550 5.1.90 Your message can't be sent because you've reached your daily limit for message recipients. For more information, visit https://go.microsoft.com/fwlink/?linkid=2134950 [Hostname=AM0PR02MB5812.eurprd02.prod.outlook.com]" },
    outcome: 'sender_reputation', reason: 'sending_quota_exceeded', rule: 'microsoft.submission_quota',
  },
  {
    name: 'smtp.office365.com 554 5.2.0 SendAsDenied',
    input: { stage: 'data', text: '554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message. 16.55847:4A0B0000, 17.43559:0000000094000000 [Hostname=PAXPR02MB7264.eurprd02.prod.outlook.com]' },
    outcome: 'auth', reason: 'send_as_denied', rule: 'microsoft.send_as_denied',
  },
  {
    name: 'smtp.office365.com 550 5.7.60 no permission to send as this sender',
    input: { stage: 'mail', text: '550 5.7.60 SMTP; Client does not have permissions to send as this sender [PAXPR02MB7264.eurprd02.prod.outlook.com]' },
    outcome: 'auth', reason: 'send_as_denied', rule: 'microsoft.send_as_denied',
  },
  {
    name: 'smtp.office365.com 535 5.7.139 SMTP AUTH disabled for the tenant',
    input: { stage: 'auth', text: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [AM0PR10CA0041.EURPRD10.PROD.OUTLOOK.COM 2025-11-03T10:12:41.123Z 08DE1A2B3C4D5E6F]' },
    outcome: 'auth', reason: 'smtp_auth_disabled', rule: 'microsoft.smtp_auth_disabled',
  },
  {
    name: 'smtp.office365.com 535 5.7.139 basic authentication disabled',
    input: { stage: 'auth', text: '535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [DB8PR04CA0005.eurprd04.prod.outlook.com 2025-11-03T10:12:41.123Z 08DE1A2B3C4D5E6F]' },
    outcome: 'auth', reason: 'smtp_auth_disabled', rule: 'microsoft.smtp_auth_disabled',
  },
  {
    name: 'smtp.office365.com 535 5.7.3 authentication unsuccessful',
    input: { stage: 'auth', text: '535 5.7.3 Authentication unsuccessful [BN0PR04CA0123.namprd04.prod.outlook.com 2025-11-03T10:12:41.123Z 08DE1A2B3C4D5E6F]' },
    outcome: 'auth', reason: 'credentials_refused', rule: 'generic.credentials_refused.code',
  },
  {
    name: 'smtp.office365.com 530 5.7.57 client not authenticated',
    input: { stage: 'mail', text: '530 5.7.57 Client not authenticated to send mail. [DM6PR02CA0045.namprd02.prod.outlook.com 2025-11-03T10:12:41.123Z 08DE1A2B3C4D5E6F]' },
    outcome: 'auth', reason: 'authentication_required', rule: 'generic.authentication_required',
  },
  {
    name: 'Exchange Online 550 5.2.122 recipient over their hourly receive limit',
    input: { stage: 'rcpt', text: `550 5.2.122 The recipient has exceeded their limit for the number of messages they can receive per hour. For more information go to http://go.microsoft.com/fwlink/?LinkId=526653 ${EOP}` },
    outcome: 'recipient_soft', reason: 'recipient_rate_limited', rule: 'microsoft.recipient_receive_limit',
  },
  {
    name: 'Exchange Online 432 4.3.2 recipient thread limit exceeded',
    input: { stage: 'data', text: '432 4.3.2 STOREDRV.Deliver; recipient thread limit exceeded' },
    outcome: 'transient', reason: 'recipient_rate_limited', rule: 'microsoft.recipient_receive_limit',
  },
  {
    name: 'Exchange Online 550 5.7.133 group refuses external senders',
    input: { stage: 'rcpt', text: '550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; Delivery restriction check failed because the sender was not authenticated when sending to this group [BN8NAM12FT064.eop-nam12.prod.protection.outlook.com]' },
    outcome: 'recipient_soft', reason: 'policy_rejected', rule: 'generic.policy_rejected',
  },
  {
    name: 'Exchange Online 554 5.2.2 mailbox full (quota exceeded on delivery)',
    input: { stage: 'data', text: '554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot open mailbox.[EndDiagnosticData] [Hostname=BN8PR04MB6227.namprd04.prod.outlook.com]' },
    outcome: 'recipient_soft', reason: 'mailbox_full', rule: 'generic.mailbox_full.status',
  },
  {
    name: 'Outlook.com 451 4.7.500 server busy (AS761)',
    input: { stage: 'rcpt', text: '451 4.7.500 Server busy. Please try again later from [192.0.2.25]. (AS761) [VI1EUR04FT046.eop-eur04.prod.protection.outlook.com]' },
    outcome: 'transient', reason: 'temporary_failure', rule: 'generic.temporary',
  },
  {
    name: 'Exchange Online 550 5.7.513 recipient domain Customer Block list',
    input: { stage: 'rcpt', text: '550 5.7.513 Service unavailable, Client host [192.0.2.25] blocked by contoso.example using Customer Block list (AS16012607)' },
    outcome: 'sender_reputation', reason: 'blocklisted', rule: 'generic.blocklisted',
  },
];
