import net from 'node:net';
import { isDeliveryUncertain } from '../../src/transports/classify';
import { createSmtpTransport } from '../../src/transports/smtp.transport';
import type { OutgoingMessage, Transport } from '../../src/transports/transport';
import { startSmtpPeer, type SmtpAnswer, type SmtpPeer, type SmtpStage } from '../helpers/smtp-peer';

function message(n = 1): OutgoingMessage {
  return {
    from: { address: 'sender@acme.test', name: 'Ann Sender' },
    to: `rcpt${n}@example.test`,
    subject: `Hello ${n}`,
    html: `<p>Hello ${n}</p>`,
    text: `Hello ${n}`,
    messageId: `<m${n}.${Date.now()}@acme.test>`,
    headers: { 'Feedback-ID': 'c1:cl1:outreach:s1' },
  };
}

const answerAt = (stage: SmtpStage, answer: SmtpAnswer) => (context: { stage: SmtpStage }) => (context.stage === stage ? answer : undefined);

describe('SMTP transport against a real SMTP server', () => {
  let peer: SmtpPeer;
  let transport: Transport;

  beforeAll(async () => {
    peer = await startSmtpPeer({ auth: { user: 'sender@acme.test', pass: 's3cret-pass' } });
  });
  afterAll(async () => {
    await peer.close();
  });
  beforeEach(() => {
    peer.script = () => undefined;
    transport = createSmtpTransport({ host: peer.host, port: peer.port, auth: { user: 'sender@acme.test', pass: 's3cret-pass' } });
  });
  afterEach(async () => {
    await transport.close();
  });

  it('reports a server that refuses STARTTLS to an account requiring TLS as an account problem (auth), sending nothing', async () => {
    const before = peer.received.length;
    const strict = createSmtpTransport({ host: peer.host, port: peer.port, requireTLS: true, auth: { user: 'sender@acme.test', pass: 's3cret-pass' } });
    try {
      expect(await strict.send(message(90))).toMatchObject({ outcome: 'auth', reason: 'starttls_unavailable', code: 500, stage: 'connect' });
    } finally {
      await strict.close();
    }
    expect(peer.received).toHaveLength(before);
  });

  it('reports 250 as accepted and delivers the message with its fixed Message-ID', async () => {
    const m = message();
    const result = await transport.send(m);
    expect(result).toMatchObject({ outcome: 'accepted', code: 250 });
    const received = peer.received.find((r) => r.raw.includes(m.messageId));
    expect(received?.to).toEqual([m.to]);
    expect(received?.user).toBe('sender@acme.test');
    expect(received?.raw).toMatch(/^Feedback-ID: c1:cl1:outreach:s1\r?$/m);
  });

  // A 421 closes the session: nodemailer reports the one to RCPT TO as "server closed the
  // connection" without the command it answered, so its stage is unknown.
  it.each([
    ['421 at RCPT', 'rcpt', { code: 421, message: '4.3.2 Service shutting down' }, 'temporary_failure', undefined],
    ['450 at RCPT', 'rcpt', { code: 450, message: '4.2.1 Mailbox busy' }, 'temporary_failure', 'rcpt'],
    ['451 at DATA', 'data', { code: 451, message: '4.7.1 Greylisted, try again later' }, 'greylisted', 'data'],
    ['452 4.2.2 at DATA', 'data', { code: 452, message: '4.2.2 Mailbox full, try later' }, 'mailbox_full', 'data'],
    ['421 at MAIL FROM', 'mail', { code: 421, message: '4.7.0 Too many connections' }, 'too_many_connections', 'mail'],
  ] as const)('classifies %s as transient, never as uncertain', async (_name, stage, answer, reason, reportedStage) => {
    peer.script = answerAt(stage, answer);
    const result = await transport.send(message());
    expect(result).toMatchObject({ outcome: 'transient', code: answer.code, reason });
    expect(result.stage).toBe(reportedStage);
    expect(isDeliveryUncertain(result)).toBe(false);
  });

  it('classifies 550 5.1.1 user unknown at RCPT as recipient_hard', async () => {
    peer.script = answerAt('rcpt', { code: 550, message: '5.1.1 User unknown' });
    expect(await transport.send(message())).toMatchObject({ outcome: 'recipient_hard', reason: 'user_unknown', code: 550, enhancedCode: '5.1.1', stage: 'rcpt' });
  });

  it('classifies 552 5.2.2 mailbox full as recipient_soft: retried, never suppressed', async () => {
    peer.script = answerAt('data', { code: 552, message: '5.2.2 Mailbox full' });
    expect(await transport.send(message())).toMatchObject({ outcome: 'recipient_soft', reason: 'mailbox_full', code: 552, enhancedCode: '5.2.2', stage: 'data' });
  });

  it('classifies a generic 554 5.7.1 policy rejection as recipient_soft, not as a sender block', async () => {
    peer.script = answerAt('data', { code: 554, message: '5.7.1 Message rejected due to policy' });
    expect(await transport.send(message())).toMatchObject({ outcome: 'recipient_soft', reason: 'policy_rejected', code: 554, enhancedCode: '5.7.1', stage: 'data' });
  });

  it("classifies Gmail's likely-unsolicited refusal after DATA as sender_reputation", async () => {
    peer.script = answerAt('data', {
      code: 550,
      message: '5.7.1 [127.0.0.1 12] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked. For more information, go to https://support.google.com/mail/?p=UnsolicitedMessageError - gsmtp',
    });
    expect(await transport.send(message())).toMatchObject({ outcome: 'sender_reputation', reason: 'unsolicited', code: 550, stage: 'data' });
  });

  it('classifies a DMARC refusal as sender_auth, for the whole sender domain', async () => {
    peer.script = answerAt('data', { code: 550, message: "5.7.26 Unauthenticated email from acme.test is not accepted due to domain's DMARC policy. Please contact the administrator of acme.test domain if this was a legitimate mail. - gsmtp" });
    expect(await transport.send(message())).toMatchObject({ outcome: 'sender_auth', reason: 'auth_dmarc', code: 550, enhancedCode: '5.7.26', stage: 'data' });
  });

  it('classifies a 5xx refusal of the sender at MAIL FROM as sender_reputation', async () => {
    peer.script = answerAt('mail', { code: 550, message: '5.7.1 Sender blocked' });
    expect(await transport.send(message())).toMatchObject({ outcome: 'sender_reputation', reason: 'sender_address_rejected', code: 550, stage: 'mail' });
  });

  it('never blames the recipient for a 5.1.1 that answered MAIL FROM', async () => {
    peer.script = answerAt('mail', { code: 550, message: '5.1.1 Mailbox unavailable' });
    expect(await transport.send(message())).toMatchObject({ outcome: 'sender_reputation', reason: 'sender_address_rejected', stage: 'mail' });
  });

  it('classifies 535 as auth and keeps the password out of the result', async () => {
    const wrong = createSmtpTransport({ host: peer.host, port: peer.port, auth: { user: 'sender@acme.test', pass: 'wrong-password-xyz' } });
    try {
      const result = await wrong.send(message());
      expect(result).toMatchObject({ outcome: 'auth', reason: 'credentials_refused', code: 535, enhancedCode: '5.7.8', stage: 'auth' });
      expect(JSON.stringify(result)).not.toContain('wrong-password-xyz');
      expect(JSON.stringify(result)).not.toContain(Buffer.from('wrong-password-xyz').toString('base64'));
    } finally {
      await wrong.close();
    }
  });

  it('marks a connection dropped after the whole message was sent as delivery-uncertain', async () => {
    peer.script = answerAt('data', 'drop');
    const result = await transport.send(message());
    expect(result).toMatchObject({ outcome: 'transient', reason: 'network_error' });
    expect(isDeliveryUncertain(result)).toBe(true);
  });

  it('treats a connection dropped before the message was sent as a plain transient failure', async () => {
    peer.script = answerAt('rcpt', 'drop');
    const result = await transport.send(message());
    expect(result.outcome).toBe('transient');
    expect(isDeliveryUncertain(result)).toBe(false);
  });

  it('keeps using its connection after a refused message', async () => {
    peer.script = (c) => (c.stage === 'rcpt' && c.rcpt === 'rcpt1@example.test' ? { code: 550, message: '5.1.1 User unknown' } : undefined);
    expect((await transport.send(message(1))).outcome).toBe('recipient_hard');
    expect((await transport.send(message(2))).outcome).toBe('accepted');
  });

  it('sends concurrent messages over at most maxConnections pooled connections', async () => {
    const pooled = createSmtpTransport({ host: peer.host, port: peer.port, auth: { user: 'sender@acme.test', pass: 's3cret-pass' }, maxConnections: 2 });
    const sockets = new Set<string>();
    const before = peer.received.length;
    try {
      const messages = Array.from({ length: 8 }, (_, i) => message(100 + i));
      const results = await Promise.all(messages.map((m) => pooled.send(m)));
      expect(results.every((r) => r.outcome === 'accepted')).toBe(true);
      expect(peer.received.length - before).toBe(8);
      for (const m of messages) sockets.add(m.messageId);
      expect(sockets.size).toBe(8);
    } finally {
      await pooled.close();
    }
  });

  it('reports a refused connection as transient without uncertainty', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const nowhere = createSmtpTransport({ host: '127.0.0.1', port });
    try {
      const result = await nowhere.send(message());
      expect(result.outcome).toBe('transient');
      expect(isDeliveryUncertain(result)).toBe(false);
    } finally {
      await nowhere.close();
    }
  });

  it('cannot tell whether a message was sent when no IMAP mailbox is configured', async () => {
    await expect(transport.findSent('<x@acme.test>')).resolves.toBeUndefined();
  });
});
