import net from 'node:net';
import { findSentOverImap, ImapLookupError } from '../../src/transports/imap-sent';
import { createSmtpTransport } from '../../src/transports/smtp.transport';
import { type ImapPeer, startImapPeer } from '../peers/imap-peer';

let peer: ImapPeer;

beforeAll(async () => {
  // Named unlike "Sent" so that finding it proves the \Sent special-use lookup.
  peer = await startImapPeer({ sentMailbox: 'Sent Messages' });
  await peer.appendMessage('Sent Messages', '<sent-1.4f2a@outreach.test>');
  await peer.appendMessage('INBOX', '<inbox-only.77@outreach.test>');
  await peer.appendMessage('Copies/Outgoing', '<custom-box.9@outreach.test>');
});

afterAll(async () => {
  await peer?.stop();
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('findSentOverImap', () => {
  it('finds a Message-ID in the mailbox flagged \\Sent, whatever that mailbox is called', async () => {
    expect(await findSentOverImap(peer.settings(), '<sent-1.4f2a@outreach.test>')).toBe(true);
  });

  it('answers false when the Sent mailbox does not hold the Message-ID, even if another mailbox does', async () => {
    expect(await findSentOverImap(peer.settings(), '<never-sent.1@outreach.test>')).toBe(false);
    expect(await findSentOverImap(peer.settings(), '<inbox-only.77@outreach.test>')).toBe(false);
  });

  it('matches the whole Message-ID with or without angle brackets, and never a shorter id contained in a stored one', async () => {
    expect(await findSentOverImap(peer.settings(), 'sent-1.4f2a@outreach.test')).toBe(true);
    expect(await findSentOverImap(peer.settings(), ' <sent-1.4f2a@outreach.test>\r\n')).toBe(true);
    // IMAP SEARCH HEADER matches substrings: a bare "ent-1.4f2a@outreach.test" would hit <sent-1.4f2a@…>.
    expect(await findSentOverImap(peer.settings(), 'ent-1.4f2a@outreach.test')).toBe(false);
    expect(await findSentOverImap(peer.settings(), '<sent-1.4f2a@outreach.tes>')).toBe(false);
  });

  it('searches the configured sentMailbox instead of the \\Sent one', async () => {
    expect(await findSentOverImap(peer.settings({ sentMailbox: 'Copies/Outgoing' }), '<custom-box.9@outreach.test>')).toBe(true);
    expect(await findSentOverImap(peer.settings({ sentMailbox: 'Copies/Outgoing' }), '<sent-1.4f2a@outreach.test>')).toBe(false);
    expect(await findSentOverImap(peer.settings(), '<custom-box.9@outreach.test>')).toBe(false);
  });

  it('throws, naming neither the user nor the password, when the login is refused', async () => {
    // A server of its own: Dovecot delays the next login from an address that just failed one.
    const strict = await startImapPeer();
    try {
      const attempt = findSentOverImap(strict.settings({ auth: { user: strict.user, pass: 'wrong-password-123' } }), '<sent-1.4f2a@outreach.test>');
      await expect(attempt).rejects.toThrow(ImapLookupError);
      const message = await attempt.catch((error: Error) => error.message);
      expect(message).toMatch(/login refused/);
      expect(message).not.toContain('wrong-password-123');
      expect(message).not.toContain(strict.user);
    } finally {
      await strict.stop();
    }
  });

  it('throws when the configured Sent mailbox does not exist, rather than answering "not sent"', async () => {
    await expect(findSentOverImap(peer.settings({ sentMailbox: 'No Such Box' }), '<sent-1.4f2a@outreach.test>')).rejects.toThrow(/Sent mailbox "No Such Box" cannot be opened/);
  });

  it('throws when the IMAP server cannot be reached', async () => {
    await expect(findSentOverImap(peer.settings({ port: await closedPort() }), '<sent-1.4f2a@outreach.test>')).rejects.toThrow(/ECONNREFUSED|connect/i);
  });

  it('rejects an empty Message-ID instead of searching for everything', async () => {
    await expect(findSentOverImap(peer.settings(), ' <> ')).rejects.toThrow(/empty Message-ID/);
  });
});

describe('the SMTP transport', () => {
  it('answers Sent-mail lookups over IMAP when the account has IMAP settings, and "cannot tell" without them', async () => {
    const withImap = createSmtpTransport({ host: '127.0.0.1', port: await closedPort(), imap: peer.settings() });
    const relayOnly = createSmtpTransport({ host: '127.0.0.1', port: await closedPort() });
    try {
      expect(await withImap.findSent('<sent-1.4f2a@outreach.test>')).toBe(true);
      expect(await withImap.findSent('<never-sent.1@outreach.test>')).toBe(false);
      expect(await relayOnly.findSent('<sent-1.4f2a@outreach.test>')).toBeUndefined();
    } finally {
      await withImap.close();
      await relayOnly.close();
    }
  });
});
