import { classifyGmailError, classifySmtpError, classifySmtpReply, isDeliveryUncertain, parseRetryAfter } from '../../src/transports/classify';

describe('classifySmtpReply', () => {
  it.each([
    [250, '2.0.0 OK', undefined, 'accepted'],
    [421, '4.3.2 shutting down', 'RCPT TO', 'transient'],
    [450, '4.2.1 busy', 'RCPT TO', 'transient'],
    [451, '4.7.1 greylisted', 'DATA', 'transient'],
    [452, '4.2.2 mailbox full', 'DATA', 'transient'],
    [454, '4.7.0 Temporary authentication failure', 'AUTH PLAIN', 'transient'],
    [535, '5.7.8 Username and Password not accepted', 'AUTH PLAIN', 'auth'],
    [534, '5.7.14 Please log in via your web browser', 'AUTH LOGIN', 'auth'],
    [530, '5.7.0 Authentication required', 'MAIL FROM', 'auth'],
    [550, '5.1.1 The email account that you tried to reach does not exist', 'RCPT TO', 'recipient_hard'],
    [553, 'mailbox name not allowed', 'RCPT TO', 'recipient_hard'],
    [552, '5.2.2 The recipient inbox is out of storage space', 'DATA', 'recipient_hard'],
    [550, 'User unknown', 'RCPT TO', 'recipient_hard'],
    [554, '5.7.1 Message rejected due to policy', 'DATA', 'sender_reputation'],
    [550, '5.7.26 Unauthenticated email is not accepted from this domain (DMARC)', 'DATA', 'sender_reputation'],
    [550, '5.4.5 Daily user sending quota exceeded', 'MAIL FROM', 'sender_reputation'],
    [554, 'Sending quota exceeded', 'DATA', 'sender_reputation'],
    [550, 'Sender rejected', 'MAIL FROM', 'sender_reputation'],
  ] as const)('classifies %d %s (%s) as %s', (code, text, command, expected) => {
    expect(classifySmtpReply(code, undefined, text, command)).toBe(expected);
  });
});

describe('classifySmtpError', () => {
  it('marks a network error after the message was handed over as uncertain, and before as plain transient', () => {
    const drop = { code: 'ECONNECTION', message: 'Connection closed unexpectedly', command: 'CONN' };
    expect(isDeliveryUncertain(classifySmtpError(drop, true))).toBe(true);
    expect(classifySmtpError(drop, false)).toEqual({ outcome: 'transient', response: 'Connection closed unexpectedly' });
    expect(isDeliveryUncertain(classifySmtpError({ code: 'ETIMEDOUT', message: 'Timeout' }, true))).toBe(true);
  });

  it('keeps a server answer certain even when it came after the message', () => {
    const result = classifySmtpError({ code: 'EMESSAGE', responseCode: 451, response: '451 4.3.0 try later', command: 'DATA' }, true);
    expect(result).toEqual({ outcome: 'transient', code: 451, enhancedCode: '4.3.0', response: '451 4.3.0 try later' });
  });

  it('classifies a failed login without a reply code as auth', () => {
    expect(classifySmtpError({ code: 'EAUTH', message: 'Missing credentials for "PLAIN"' }, false).outcome).toBe('auth');
  });

  it('keeps server text to one bounded line', () => {
    const result = classifySmtpError({ responseCode: 550, response: `550-5.1.1 first\r\n550 5.1.1 ${'x'.repeat(1000)}` }, false);
    expect(result.response).not.toMatch(/[\r\n]/);
    expect(result.response.length).toBeLessThanOrEqual(500);
  });
});

describe('classifyGmailError', () => {
  it.each([
    [{ status: 429, retryAfterSeconds: 60 }, 'transient'],
    [{ status: 500 }, 'transient'],
    [{ status: 503 }, 'transient'],
    [{ status: 400, reason: 'invalidArgument', message: 'Invalid To header' }, 'recipient_hard'],
    [{ status: 401, reason: 'authError' }, 'auth'],
    [{ status: 400, reason: 'invalid_grant', duringTokenExchange: true }, 'auth'],
    [{ status: 403, reason: 'dailyLimitExceeded' }, 'sender_reputation'],
    [{ status: 403, reason: 'userRateLimitExceeded' }, 'transient'],
    [{ status: 403, reason: 'forbidden', message: 'Delegation denied' }, 'auth'],
    [{ status: 500, duringTokenExchange: true }, 'transient'],
  ] as const)('classifies %j as %s', (error, expected) => {
    expect(classifyGmailError(error).outcome).toBe(expected);
  });

  it('treats a lost answer as uncertain, but not a refused connection or a token failure', () => {
    expect(isDeliveryUncertain(classifyGmailError({ networkCode: 'ECONNRESET' }))).toBe(true);
    expect(isDeliveryUncertain(classifyGmailError({ networkCode: 'ECONNREFUSED' }))).toBe(false);
    expect(isDeliveryUncertain(classifyGmailError({ networkCode: 'ECONNRESET', duringTokenExchange: true }))).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
