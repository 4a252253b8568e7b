/** Text-only bounces of MTAs with no delivery-status part, written after their usual wording. */
import { classifyInbound } from '../../src/inbound/classify-inbound';

const message = (headers: string[], body: string[]) => [...headers, '', ...body, ''].join('\n');

describe('text bounces', () => {
  it('reads every failed address of an Exim notice and ignores the furniture around them', () => {
    const raw = message(
      ['From: Mail Delivery System <Mailer-Daemon@mx.exim.test>', 'To: bob@mail.harbour.test', 'Subject: Mail delivery failed: returning message to sender', 'X-Failed-Recipients: one@a.test, two@b.test'],
      [
        'This message was created automatically by mail delivery software.',
        '',
        'A message that you sent could not be delivered to one or more of its',
        'recipients. This is a permanent error. The following address(es) failed:',
        '',
        '  one@a.test',
        '    SMTP error from remote mail server after RCPT TO:<one@a.test>:',
        '    550 5.1.1 <one@a.test>: Recipient address rejected: User unknown',
        '  two@b.test',
        '    SMTP error from remote mail server after end of data:',
        '    552 5.2.2 Mailbox over quota',
        '',
        'For help write to',
        '  postmaster@mx.exim.test',
      ],
    );
    const recipients = classifyInbound(raw).report?.recipients.map((r) => [r.recipient, r.action, r.classification?.outcome, r.classification?.reason]);
    expect(recipients).toEqual([
      ['one@a.test', 'failed', 'recipient_hard', 'user_unknown'],
      ['two@b.test', 'failed', 'recipient_soft', 'mailbox_full'],
    ]);
  });

  it('never takes the help address a notice names for a failed recipient', () => {
    const raw = message(
      ['From: Mail Delivery System <Mailer-Daemon@mx.exim.test>', 'To: bob@mail.harbour.test', 'Subject: Mail delivery failed: returning message to sender'],
      ['The following address(es) failed:', '', '  gone@c.test', '    550 5.1.1 User unknown', '', 'If you need help, write to', '', '  postmaster@mx.exim.test', '    (answered on working days)', ''],
    );
    expect(classifyInbound(raw).report?.recipients.map((r) => r.recipient)).toEqual(['gone@c.test']);
  });

  it("reads hMailServer's recipient list and its remote server's reply", () => {
    const raw = message(
      ['From: mailer-daemon@hmail.test', 'To: bob@mail.harbour.test', 'Subject: Message undeliverable: A question for you', 'Return-Path: <>'],
      [
        'Your message did not reach some or all of the intended recipients.',
        '',
        '   Subject: A question for you',
        '',
        'The following recipient(s) could not be reached:',
        '',
        'nobody@hmail-client.test',
        '   Error Type: SMTP',
        '   Remote server (198.51.100.9) issued an error.',
        '   hMailServer sent: RCPT TO:<nobody@hmail-client.test>',
        '   Remote server replied: 550 5.1.1 <nobody@hmail-client.test>: User unknown',
      ],
    );
    expect(classifyInbound(raw).report?.recipients).toMatchObject([{ recipient: 'nobody@hmail-client.test', action: 'failed', status: '5.1.1', classification: { outcome: 'recipient_hard' } }]);
  });

  it("reads Domino's \"was not delivered to:\" sentence", () => {
    const raw = message(
      ['From: Postmaster@domino.test', 'To: bob@mail.harbour.test', 'Subject: DELIVERY FAILURE: User jdoe (jdoe@domino-client.test) not listed in Domino Directory'],
      ['Your message', '', '  Subject: A question for you', '', 'was not delivered to:', '', '  jdoe@domino-client.test', '', 'because:', '', '  User jdoe (jdoe@domino-client.test) not listed in Domino Directory'],
    );
    const result = classifyInbound(raw);
    expect(result.kind).toBe('bounce');
    expect(result.report?.recipients.map((r) => [r.recipient, r.action])).toEqual([['jdoe@domino-client.test', 'failed']]);
  });

  it('takes a Sendmail warning for a delay, not a failure', () => {
    const raw = message(
      ['From: Mail Delivery Subsystem <MAILER-DAEMON@relay.sendmail.test>', 'To: bob@mail.harbour.test', 'Subject: Warning: could not send message for past 4 hours'],
      [
        '    **********************************************',
        '    **      THIS IS A WARNING MESSAGE ONLY      **',
        '    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **',
        '    **********************************************',
        '',
        '   ----- Transcript of session follows -----',
        '<slow@sendmail-client.test>... Deferred: Connection timed out with mx.sendmail-client.test.',
        'Warning: message still undelivered after 4 hours',
        '',
        '   ----- The following addresses had transient non-fatal errors -----',
        '<slow@sendmail-client.test>',
      ],
    );
    const result = classifyInbound(raw);
    expect(result.kind).toBe('delay');
    expect(result.report?.recipients).toMatchObject([{ recipient: 'slow@sendmail-client.test', action: 'delayed' }]);
  });
});

describe('delivery-status fields written in the notice text', () => {
  it('reads them as a report when no delivery-status part carries them', () => {
    const raw = message(
      ['From: postmaster@old-exchange.test', 'To: bob@mail.harbour.test', 'Subject: Delivery Status Notification (Failure)', 'Content-Type: text/plain'],
      [
        'This is an automatically generated Delivery Status Notification.',
        '',
        'Delivery to the following recipients failed.',
        '',
        '       Sales Team',
        '',
        'Reporting-MTA: dns;exch03.old-exchange.test',
        '',
        'Final-Recipient: rfc822;sales@old-exchange.test',
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp;550 5.1.1 unknown or illegal alias: sales@old-exchange.test',
      ],
    );
    const result = classifyInbound(raw);
    expect(result.evidence).toBe('rfc3464');
    expect(result.report).toMatchObject({ reportingMta: 'exch03.old-exchange.test', recipients: [{ recipient: 'sales@old-exchange.test', action: 'failed', status: '5.1.1', classification: { outcome: 'recipient_hard' } }] });
  });
});
