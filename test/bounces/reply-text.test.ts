import { normaliseReplyText, parseEnhancedCode, parseReplyCode, readReply, severityOf } from '../../src/bounces/reply-text';

describe('reading a reply', () => {
  it('joins a multi-line SMTP reply into one line without the code prefixes that split its phrases', () => {
    const reply = '550-5.7.1 Our system has detected that this message is\r\n550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError x - gsmtp';
    expect(normaliseReplyText(reply)).toBe('Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, https://support.google.com/mail/?p=UnsolicitedMessageError x - gsmtp');
  });

  it('reads a DSN Diagnostic-Code with its type and folded continuation line', () => {
    const diagnostic = 'smtp; 550 5.1.1 <gone@bounce.test>: Recipient address\n    rejected: User unknown in virtual mailbox table';
    expect(parseReplyCode(diagnostic)).toBe(550);
    expect(parseEnhancedCode(diagnostic)).toBe('5.1.1');
    expect(normaliseReplyText(diagnostic)).toBe('<gone@bounce.test>: Recipient address rejected: User unknown in virtual mailbox table');
    expect(normaliseReplyText('X-Postfix; unknown user: "nosuchuser"')).toBe('unknown user: "nosuchuser"');
  });

  it('finds an enhanced code after the text, but never inside an IP address or a version number', () => {
    expect(parseEnhancedCode('550 sorry, no mailbox here by that name. (#5.1.1)')).toBe('5.1.1');
    expect(parseEnhancedCode('550 Rejected: your host 10.5.4.3 is not welcome')).toBeUndefined();
    expect(parseEnhancedCode('421 4.7.0 [TSS04] Messages deferred - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes')).toBe('4.7.0');
    expect(parseEnhancedCode('554 delivery error: dd This mailbox is disabled (554.30).')).toBeUndefined();
  });

  it('takes severity from the reply code, else the enhanced code, else reads a bare text as a failure', () => {
    expect(severityOf(250, undefined)).toBe('success');
    expect(severityOf(421, '5.7.32')).toBe('temporary');
    expect(severityOf(undefined, '4.2.2')).toBe('temporary');
    expect(severityOf(undefined, '5.1.1')).toBe('permanent');
    expect(severityOf(undefined, undefined)).toBe('permanent');
    expect(severityOf(354, undefined)).toBe('temporary');
  });

  it('ignores a malformed enhanced code it is given and reads the text instead', () => {
    expect(readReply({ enhancedCode: '5.1', text: '550 5.1.1 User unknown' })).toMatchObject({ code: 550, enhancedCode: '5.1.1', severity: 'permanent', text: 'User unknown' });
  });
});
