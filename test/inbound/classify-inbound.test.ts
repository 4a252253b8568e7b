/**
 * classifyInbound over every fixture in test/fixtures/inbound: real Postfix DSNs of our own
 * messages, and samples of the other MTAs, feedback loops and mail clients (inbound-cases.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { classifyInbound } from '../../src/inbound/classify-inbound';
import { ALL_CASES, type InboundCase } from './inbound-cases';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'inbound');
// Dates stated without a year ("until 14 December", "Monday 7th") read from this day.
const RECEIVED_AT = new Date('2026-12-02T10:00:00Z');
const read = (file: string) => fs.readFileSync(path.join(FIXTURES, file));

describe('classifyInbound on the fixture corpus', () => {
  it('has an expectation for every fixture', () => {
    const files = fs.readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.eml'));
    expect(files.sort()).toEqual(ALL_CASES.map((c) => c.file).sort());
  });

  it.each(ALL_CASES.map((c) => [c.file, c] as const))('%s', (_file, expected: InboundCase) => {
    const result = classifyInbound(read(expected.file), { receivedAt: RECEIVED_AT });
    expect(result.kind).toBe(expected.kind);
    expect(result.evidence).toBe(expected.evidence);
    expect(result.match.messageIds).toEqual(expected.messageIds);
    if (expected.recipients) {
      const recipients = result.report?.recipients.map((r) => ({
        recipient: r.recipient,
        action: r.action,
        ...(r.status ? { status: r.status } : {}),
        ...(r.classification ? { outcome: r.classification.outcome, reason: r.classification.reason } : {}),
      }));
      expect(recipients).toEqual(expected.recipients);
    } else {
      expect(result.report).toBeUndefined();
    }
    if (expected.feedbackId) expect(result.match.feedbackId).toBe(expected.feedbackId);
    if (expected.originalRecipient) expect(result.match.originalRecipient).toBe(expected.originalRecipient);
    if (expected.originalSender) expect(result.match.originalSender).toBe(expected.originalSender);
    if (expected.complaint) expect(result.complaint).toMatchObject(expected.complaint);
    expect(result.autoReplyKind).toBe(expected.autoReplyKind);
    expect(result.returnDate).toBe(expected.returnDate);
    if (expected.text !== undefined) expect(result.text).toBe(expected.text);
  });
});

describe('classifyInbound details', () => {
  it('reads a report the same from a Buffer, a string and with CRLF line ends', () => {
    const raw = read('postfix/08-failed-one-of-three-rcpts-ret-full-envid.eml');
    const fromBuffer = classifyInbound(raw);
    expect(classifyInbound(raw.toString('utf8'))).toEqual(fromBuffer);
    expect(classifyInbound(Buffer.from(raw.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'))).toEqual(fromBuffer);
  });

  it('gives the per-recipient and per-message fields of an RFC 3464 report', () => {
    const result = classifyInbound(read('postfix/04-delayed-remote-451-4.7.1.eml'));
    expect(result.report).toEqual({
      source: 'delivery-status',
      reportingMta: 'mx.relaylab.test',
      arrivalDate: new Date('2026-12-01T19:42:00Z'),
      recipients: [
        {
          recipient: 'later@defer.test',
          action: 'delayed',
          status: '4.7.1',
          diagnosticCode: { type: 'smtp', text: '451 4.7.1 Greylisted, please try again later' },
          remoteMta: '127.0.0.1',
          willRetryUntil: new Date('2026-12-01T19:46:00Z'),
          classification: { outcome: 'transient', reason: 'greylisted', rule: 'generic.greylisted', code: 451, enhancedCode: '4.7.1' },
        },
      ],
    });
    expect(classifyInbound(read('postfix/07-failed-local-unknown-ret-hdrs-envid-orcpt.eml')).report?.envelopeId).toBe('q-fail-0002');
    const gmail = classifyInbound(read('mta/gmail-mailer-daemon-address-not-found.eml')).report?.recipients[0];
    expect(gmail?.lastAttemptDate).toEqual(new Date('2026-12-02T14:30:12Z'));
    // The folded "550-5.1.1" prefixes of a multi-line reply are gone from the diagnostic.
    expect(gmail?.diagnosticCode?.text).toMatch(/^550-5\.1\.1 The email account that you tried to reach does not exist\. Please try double-checking/);
  });

  it('keeps ORCPT apart from the final recipient when they differ', () => {
    const dsn = [
      'From: MAILER-DAEMON@relay.test',
      'To: bob@mail.harbour.test',
      'Subject: Undelivered Mail Returned to Sender',
      'Content-Type: multipart/report; report-type=delivery-status; boundary=b',
      '',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; relay.test',
      'Final-Recipient: rfc822; mailbox7@internal.relay.test',
      'Original-Recipient: rfc822; Sales@Client.test',
      'Action: failed',
      'Status: 5.2.1',
      '--b--',
      '',
    ].join('\n');
    expect(classifyInbound(dsn).report?.recipients[0]).toMatchObject({ recipient: 'mailbox7@internal.relay.test', originalRecipient: 'sales@client.test', classification: { outcome: 'recipient_hard', reason: 'mailbox_disabled' } });
  });

  it('keeps a bounce it cannot read for a person, with the keys it found', () => {
    const notice = ['From: MAILER-DAEMON@mx.odd.test', 'To: bob@mail.harbour.test', 'Subject: Undeliverable', '', 'Something went wrong with your mail.', '', 'Message-ID: <ours-1@mail.harbour.test>', ''].join('\n');
    const result = classifyInbound(notice);
    expect(result.kind).toBe('unmatched');
    expect(result.evidence).toBe('unreadable-report');
    expect(result.match.messageIds).toEqual(['<ours-1@mail.harbour.test>']);
  });

  it('counts a reply only when it names one of our messages, when told which are ours', () => {
    const raw = read('conversation/gmail-reply-quoted.eml');
    expect(classifyInbound(raw, { isOurMessageId: (id) => id.endsWith('@mail.harbour.test>') }).kind).toBe('reply');
    const foreign = classifyInbound(raw, { isOurMessageId: () => false });
    expect(foreign.kind).toBe('unmatched');
    expect(foreign.evidence).toBe('not-our-thread');
  });

  it('never returns HTML or control characters in a reply text', () => {
    const html = ['From: eve@x.test', 'In-Reply-To: <ours-2@mail.harbour.test>', 'Content-Type: text/html; charset=utf-8', '', '<p>Hi \u202etxt.exe</p><script>alert(1)</script><iframe src="javascript:alert(2)"></iframe><p>ok\u0007</p>', ''].join('\n');
    const result = classifyInbound(html);
    expect(result.kind).toBe('reply');
    expect(result.text).toBe('Hi txt.exe\n\nok');
  });

  it('survives hostile structure: garbage, missing boundaries, deep nesting', () => {
    expect(classifyInbound(Buffer.from([0, 255, 10, 10, 13]))).toMatchObject({ kind: 'unmatched' });
    expect(classifyInbound('Content-Type: multipart/mixed\n\nno boundary at all')).toMatchObject({ kind: 'unmatched' });
    let nested = 'Content-Type: text/plain\n\ninnermost';
    for (let depth = 0; depth < 200; depth++) nested = `Content-Type: multipart/mixed; boundary=b${depth}\n\n--b${depth}\n${nested}\n--b${depth}--\n`;
    expect(classifyInbound(`From: a@b.test\n${nested}`)).toMatchObject({ kind: 'unmatched', evidence: 'no-thread' });
  });
});

describe('classifyInbound: daemons and receipts that are not bounces', () => {
  it('takes a MAILER-DAEMON message that names no failure for an automatic answer', () => {
    const held = ['From: MAILER-DAEMON@gateway.test', 'To: bob@mail.harbour.test', 'Subject: Your message is held for review', 'In-Reply-To: <ours-3@mail.harbour.test>', '', 'A moderator will look at it.', ''].join('\n');
    expect(classifyInbound(held)).toMatchObject({ kind: 'auto_reply', autoReplyKind: 'other', evidence: 'null-sender', match: { messageIds: ['<ours-3@mail.harbour.test>'] } });
  });

  it('never takes a read receipt for an auto-reply, even when it says Auto-Submitted', () => {
    const receipt = fs.readFileSync(path.join(FIXTURES, 'conversation/read-receipt-mdn.eml'), 'utf8').replace('MIME-Version: 1.0', 'Auto-Submitted: auto-replied\nMIME-Version: 1.0');
    expect(classifyInbound(receipt)).toMatchObject({ kind: 'unmatched', evidence: 'other-report' });
  });
});
