/**
 * Inbound messages about messages we really sent: a Postfix-shaped RFC 3464 DSN and an RFC 5965
 * ARF report each carrying the sent message as it arrived, a person's reply and an RFC 3834
 * out-of-office answering it. What a receiving side would write back, built from the raw mail
 * the SMTP peer took from our sender.
 */
const CRLF = '\r\n';

function lines(...parts: string[]): string {
  return parts.join(CRLF);
}

export interface SentMail {
  raw: string;
  messageId: string;
  from: string;
  to: string;
  subject: string;
}

export function dsnFor(sent: SentMail, when: Date): Buffer {
  const boundary = 'dsn-boundary-1';
  return Buffer.from(
    lines(
      'Return-Path: <>',
      `Date: ${when.toUTCString()}`,
      'From: Mail Delivery System <MAILER-DAEMON@mx.remote.test>',
      'Subject: Undelivered Mail Returned to Sender',
      `To: ${sent.from}`,
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      `Message-Id: <dsn-${Date.now()}@mx.remote.test>`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `<${sent.to}>: host mx.remote.test said: 550 5.1.1 <${sent.to}>: Recipient address rejected: User unknown`,
      '',
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.remote.test',
      `X-Postfix-Sender: rfc822; ${sent.from}`,
      `Arrival-Date: ${when.toUTCString()}`,
      '',
      `Final-Recipient: rfc822; ${sent.to}`,
      `Original-Recipient: rfc822;${sent.to}`,
      'Action: failed',
      'Status: 5.1.1',
      'Remote-MTA: dns; mx.remote.test',
      `Diagnostic-Code: smtp; 550 5.1.1 <${sent.to}>: Recipient address rejected: User unknown`,
      '',
      `--${boundary}`,
      'Content-Type: message/rfc822',
      '',
      sent.raw.replace(/\r?\n/g, CRLF).trimEnd(),
      '',
      `--${boundary}--`,
      '',
    ),
  );
}

export function arfFor(sent: SentMail, when: Date): Buffer {
  const boundary = 'arf-boundary-1';
  return Buffer.from(
    lines(
      `Date: ${when.toUTCString()}`,
      'From: Feedback Loop <fbl@isp.test>',
      `To: abuse@${sent.from.split('@')[1]}`,
      'Subject: Abuse report',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
      `Message-Id: <arf-${Date.now()}@isp.test>`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain',
      '',
      'This is an email abuse report for a message received from your network.',
      '',
      `--${boundary}`,
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'User-Agent: ISP-FBL/1.0',
      'Version: 1',
      `Original-Mail-From: <${sent.from}>`,
      `Original-Rcpt-To: <${sent.to}>`,
      `Arrival-Date: ${when.toUTCString()}`,
      '',
      `--${boundary}`,
      'Content-Type: message/rfc822',
      '',
      sent.raw.replace(/\r?\n/g, CRLF).trimEnd(),
      '',
      `--${boundary}--`,
      '',
    ),
  );
}

export function replyTo(sent: SentMail, when: Date, text: string): Buffer {
  return Buffer.from(
    lines(
      `From: ${sent.to}`,
      `To: ${sent.from}`,
      `Subject: Re: ${sent.subject}`,
      `Date: ${when.toUTCString()}`,
      `Message-ID: <reply-${Date.now()}-${Math.random().toString(36).slice(2)}@client.test>`,
      `In-Reply-To: ${sent.messageId}`,
      `References: ${sent.messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text,
      '',
      `On ${when.toUTCString()}, ${sent.from} wrote:`,
      `> ${sent.subject}`,
      '',
    ),
  );
}

export function outOfOfficeTo(sent: SentMail, when: Date): Buffer {
  return Buffer.from(
    lines(
      `From: ${sent.to}`,
      `To: ${sent.from}`,
      `Subject: Out of Office: ${sent.subject}`,
      `Date: ${when.toUTCString()}`,
      `Message-ID: <ooo-${Date.now()}@client.test>`,
      `In-Reply-To: ${sent.messageId}`,
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'I am out of the office with limited access to email.',
      '',
    ),
  );
}
