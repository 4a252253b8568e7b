import { classifyGmailError, classifySmtpError, isDeliveryUncertain, parseRetryAfter, stageOfCommand } from '../../src/transports/classify';

describe('stageOfCommand', () => {
  it.each([
    ['CONN', 'connect'],
    ['EHLO', 'connect'],
    ['HELO', 'connect'],
    ['LHLO', 'connect'],
    ['STARTTLS', 'connect'],
    ['AUTH PLAIN', 'auth'],
    ['AUTH LOGIN', 'auth'],
    ['AUTH XOAUTH2', 'auth'],
    ['MAIL FROM', 'mail'],
    ['RCPT TO', 'rcpt'],
    ['DATA', 'data'],
    ['API', undefined],
    ['RSET', undefined],
    [undefined, undefined],
  ] as const)("maps nodemailer's command %s to the stage %s", (command, stage) => {
    expect(stageOfCommand(command)).toBe(stage);
  });
});

describe('classifySmtpError with a server reply', () => {
  it.each([
    [{ responseCode: 550, response: '550 5.1.1 <a@example.test>: Recipient address rejected: User unknown', command: 'RCPT TO' }, { outcome: 'recipient_hard', reason: 'user_unknown', stage: 'rcpt', enhancedCode: '5.1.1' }],
    [{ responseCode: 552, response: '552 5.2.2 The recipient inbox is out of storage space', command: 'DATA' }, { outcome: 'recipient_soft', reason: 'mailbox_full', stage: 'data', enhancedCode: '5.2.2' }],
    [{ responseCode: 452, response: '452 4.2.2 Mailbox full, try later', command: 'DATA' }, { outcome: 'transient', reason: 'mailbox_full', stage: 'data' }],
    [{ responseCode: 554, response: '554 5.7.1 Message rejected due to policy', command: 'DATA' }, { outcome: 'recipient_soft', reason: 'policy_rejected', stage: 'data' }],
    [{ responseCode: 550, response: '550 5.7.26 Unauthenticated email from acme.test is not accepted due to domain\'s DMARC policy', command: 'DATA' }, { outcome: 'sender_auth', reason: 'auth_dmarc', stage: 'data' }],
    [{ responseCode: 550, response: '550-5.7.1 Our system has detected that this message is\n550 5.7.1 likely unsolicited mail.', command: 'DATA' }, { outcome: 'sender_reputation', reason: 'unsolicited', stage: 'data' }],
    [{ responseCode: 550, response: '550 5.4.5 Daily user sending quota exceeded', command: 'MAIL FROM' }, { outcome: 'sender_reputation', reason: 'sending_quota_exceeded', stage: 'mail' }],
    [{ responseCode: 550, response: '550 5.7.1 Sender blocked', command: 'MAIL FROM' }, { outcome: 'sender_reputation', reason: 'sender_address_rejected', stage: 'mail' }],
    [{ responseCode: 554, response: '554 mail.example.test ESMTP not accepting messages', command: 'CONN' }, { outcome: 'sender_reputation', reason: 'sender_blocked', stage: 'connect' }],
    [{ responseCode: 535, response: '535 5.7.8 Username and Password not accepted', command: 'AUTH PLAIN' }, { outcome: 'auth', reason: 'credentials_refused', stage: 'auth' }],
    [{ responseCode: 534, response: '534 5.7.14 Please log in via your web browser', command: 'AUTH LOGIN' }, { outcome: 'auth', reason: 'credentials_refused', stage: 'auth' }],
    [{ responseCode: 454, response: '454 4.7.0 Temporary authentication failure', command: 'AUTH PLAIN' }, { outcome: 'transient', reason: 'auth_temporary_failure', stage: 'auth' }],
    [{ responseCode: 530, response: '530 5.7.0 Authentication required', command: 'MAIL FROM' }, { outcome: 'auth', reason: 'authentication_required', stage: 'mail' }],
    [{ responseCode: 421, response: '421 4.3.2 Service shutting down', command: 'RCPT TO' }, { outcome: 'transient', reason: 'temporary_failure', stage: 'rcpt' }],
  ] as const)('classifies %j through the table as %j', (error, expected) => {
    expect(classifySmtpError(error, false)).toMatchObject({ ...expected, code: error.responseCode });
  });

  it('leaves the stage of a 421 reported as the server closing unknown, but keeps a refused EHLO at connect', () => {
    const result = classifySmtpError({ code: 'ECONNECTION', responseCode: 421, response: '421 4.7.0 Try again later, closing connection.', command: 'CONN' }, false);
    expect(result).toEqual({ outcome: 'transient', reason: 'temporary_failure', code: 421, enhancedCode: '4.7.0', response: '421 4.7.0 Try again later, closing connection.' });
    const ehlo = classifySmtpError({ code: 'ECONNECTION', responseCode: 554, response: '554 5.7.1 Client host rejected: Access denied', command: 'EHLO' }, false);
    expect(ehlo).toMatchObject({ outcome: 'sender_reputation', reason: 'sender_blocked', stage: 'connect' });
  });

  it('keeps a server answer certain even when it came after the message', () => {
    const result = classifySmtpError({ code: 'EMESSAGE', responseCode: 451, response: '451 4.3.0 try later', command: 'DATA' }, true);
    expect(result).toEqual({ outcome: 'transient', reason: 'temporary_failure', code: 451, enhancedCode: '4.3.0', response: '451 4.3.0 try later', stage: 'data' });
  });

  it('keeps server text to one bounded line', () => {
    const result = classifySmtpError({ responseCode: 550, response: `550-5.1.1 first\r\n550 5.1.1 ${'x'.repeat(1000)}` }, false);
    expect(result.response).not.toMatch(/[\r\n]/);
    expect(result.response.length).toBeLessThanOrEqual(500);
  });
});

describe('classifySmtpError without a server reply', () => {
  it('marks a network error after the message was handed over as uncertain, and before as plain transient', () => {
    const drop = { code: 'ECONNECTION', message: 'Connection closed unexpectedly', command: 'CONN' };
    expect(classifySmtpError(drop, true)).toMatchObject({ outcome: 'transient', reason: 'network_error', deliveryUncertain: true });
    expect(classifySmtpError(drop, false)).toEqual({ outcome: 'transient', reason: 'network_error', response: 'Connection closed unexpectedly', stage: 'connect' });
    expect(isDeliveryUncertain(classifySmtpError({ code: 'ETIMEDOUT', message: 'Timeout' }, true))).toBe(true);
  });

  it('tells a timeout from other network errors', () => {
    expect(classifySmtpError({ code: 'ETIMEDOUT', message: 'Timeout', command: 'CONN' }, false)).toMatchObject({ outcome: 'transient', reason: 'timeout' });
    expect(classifySmtpError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:2525' }, false)).toMatchObject({ outcome: 'transient', reason: 'network_error' });
  });

  it('classifies a failed login without a reply code as auth', () => {
    expect(classifySmtpError({ code: 'EAUTH', message: 'Missing credentials for "PLAIN"', command: 'API' }, false)).toMatchObject({ outcome: 'auth', reason: 'credentials_refused', stage: 'auth' });
  });

  it('classifies an address nodemailer refused itself: an invalid recipient is hard, an invalid sender is ours', () => {
    expect(classifySmtpError({ code: 'EENVELOPE', message: 'Invalid recipient "a@@example.test"', command: 'API' }, false)).toEqual({ outcome: 'recipient_hard', reason: 'invalid_address', response: 'Invalid recipient "a@@example.test"' });
    expect(classifySmtpError({ code: 'EENVELOPE', message: 'Invalid sender "bob@@acme.test"', command: 'API' }, false)).toMatchObject({ outcome: 'sender_reputation', reason: 'sender_address_rejected' });
  });

  it('classifies a message over the server\'s SIZE as too large, not as a network error', () => {
    expect(classifySmtpError({ code: 'EMESSAGE', message: 'Message size larger than allowed 1000', command: 'MAIL FROM' }, false)).toMatchObject({ outcome: 'recipient_soft', reason: 'message_too_large', stage: 'mail' });
  });
});

describe('classifyGmailError', () => {
  it.each([
    [{ status: 429, retryAfterSeconds: 60 }, { outcome: 'transient', reason: 'rate_limited', retryAfterSeconds: 60 }],
    [{ status: 500 }, { outcome: 'transient', reason: 'temporary_failure' }],
    [{ status: 503 }, { outcome: 'transient', reason: 'temporary_failure' }],
    [{ status: 400, reason: 'invalidArgument', message: 'Invalid To header' }, { outcome: 'recipient_hard', reason: 'invalid_address' }],
    [{ status: 400, reason: 'invalidArgument', message: "Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed" }, { outcome: 'recipient_soft', reason: 'undefined' }],
    [{ status: 401, reason: 'authError' }, { outcome: 'auth', reason: 'credentials_refused' }],
    [{ status: 403, reason: 'dailyLimitExceeded' }, { outcome: 'sender_reputation', reason: 'sending_quota_exceeded' }],
    [{ status: 403, reason: 'userRateLimitExceeded', retryAfterSeconds: 30 }, { outcome: 'transient', reason: 'rate_limited', retryAfterSeconds: 30 }],
    [{ status: 403, reason: 'backendError' }, { outcome: 'transient', reason: 'temporary_failure' }],
    [{ status: 403, reason: 'forbidden', message: 'Delegation denied for ann@acme.test' }, { outcome: 'auth', reason: 'credentials_refused' }],
    [{ status: 404, reason: 'notFound' }, { outcome: 'auth', reason: 'credentials_refused' }],
  ] as const)('classifies the API answer %j as %j', (error, expected) => {
    expect(classifyGmailError(error)).toMatchObject({ ...expected, code: error.status, stage: 'api' });
  });

  it('places token endpoint failures at the auth stage', () => {
    expect(classifyGmailError({ status: 400, reason: 'invalid_grant', duringTokenExchange: true })).toMatchObject({ outcome: 'auth', reason: 'credentials_refused', stage: 'auth' });
    expect(classifyGmailError({ status: 500, duringTokenExchange: true })).toMatchObject({ outcome: 'transient', reason: 'temporary_failure', stage: 'auth' });
  });

  it('treats a lost answer as uncertain, but not a refused connection or a token failure', () => {
    expect(classifyGmailError({ networkCode: 'ECONNRESET' })).toMatchObject({ outcome: 'transient', reason: 'network_error', deliveryUncertain: true });
    expect(classifyGmailError({ networkCode: 'ETIMEDOUT' })).toMatchObject({ reason: 'timeout', deliveryUncertain: true });
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
