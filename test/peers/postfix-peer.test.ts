/**
 * The Postfix test peer itself: a message it accepted and the remote MX then refused comes back
 * as a real Postfix DSN in the sender's Dovecot mailbox, which the real classifier reads as a
 * hard bounce of that recipient; mail for our address is delivered there too; a message the MX
 * takes is relayed as sent; SMTP AUTH checks the Dovecot user's password.
 */
import nodemailer from 'nodemailer';
import { classifyInbound } from '../../src/inbound/classify-inbound';
import { withImap } from '../inbound/readers/reading-harness';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { waitFor } from '../helpers/wait-for';
import { startImapPeer, type ImapPeer } from './imap-peer';
import { startPostfixPeer, type PostfixPeer } from './postfix-peer';

const SENDER = 'sam@mail.peer.example';

async function inbox(imap: ImapPeer): Promise<string[]> {
  return withImap(imap, async (client) => {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const raws: string[] = [];
      if ((client.mailbox as { exists: number }).exists === 0) return raws;
      for await (const message of client.fetch('1:*', { source: true })) raws.push(message.source!.toString('utf8'));
      return raws;
    } finally {
      lock.release();
    }
  });
}

describe('the Postfix test peer', () => {
  let mx: SmtpPeer;
  let imap: ImapPeer;
  let postfix: PostfixPeer;
  beforeAll(async () => {
    mx = await startSmtpPeer({ script: ({ stage, rcpt }) => (stage === 'rcpt' && rcpt?.startsWith('gone@') ? { code: 550, message: '5.1.1 <gone@far.example>: Recipient address rejected: User unknown' } : undefined) });
    imap = await startImapPeer({ user: SENDER });
    postfix = await startPostfixPeer({ relayTo: { host: mx.host, port: mx.port }, mailboxes: { [SENDER]: imap.maildir }, saslDovecotSocket: imap.authSocket });
  });
  afterAll(async () => {
    await postfix?.stop();
    await imap?.stop();
    await mx?.close();
  });

  const message = (to: string, id: string) => ['From: Sam <sam@mail.peer.example>', `To: ${to}`, `Message-ID: <${id}@mail.peer.example>`, 'Subject: hello', 'Date: Mon, 02 Mar 2026 12:00:00 +0000', '', 'Hello.', ''].join('\r\n');

  it('relays what the MX takes, and returns what it refuses as a DSN in the sender mailbox', async () => {
    await postfix.submit({ from: SENDER, to: 'kept@far.example' }, message('kept@far.example', 'kept-1'));
    await postfix.submit({ from: SENDER, to: 'gone@far.example' }, message('gone@far.example', 'gone-1'));
    await waitFor(async () => mx.received.some((m) => m.to.includes('kept@far.example')), 'the MX to get kept@', 20_000);
    await waitFor(async () => (await inbox(imap)).length === 1, 'the DSN in the mailbox', 20_000);
    const [dsn] = await inbox(imap);
    expect(dsn).toContain('Return-Path: <>');
    expect(dsn).toContain('Reporting-MTA: dns; mta.postfix-peer.test');
    const classified = classifyInbound(Buffer.from(dsn!));
    expect(classified).toMatchObject({ kind: 'bounce' });
    expect(JSON.stringify(classified)).toContain('gone@far.example');
    expect(JSON.stringify(classified)).toContain('gone-1@mail.peer.example');
    expect(mx.received.some((m) => m.to.includes('gone@far.example'))).toBe(false);
  }, 60_000);

  it('delivers mail for our own address into its mailbox', async () => {
    const before = (await inbox(imap)).length;
    await postfix.submit({ from: 'lee@far.example', to: SENDER }, message(SENDER, 'reply-1'));
    await waitFor(async () => (await inbox(imap)).length === before + 1, 'the reply in the mailbox', 20_000);
    expect((await inbox(imap)).at(-1)).toContain('reply-1@mail.peer.example');
  }, 60_000);

  it('logs in the Dovecot user over SMTP AUTH, and refuses a wrong password', async () => {
    const login = (pass: string) => nodemailer.createTransport({ host: postfix.host, port: postfix.port, secure: false, ignoreTLS: true, auth: { user: imap.user, pass } }).verify();
    await expect(login(imap.pass)).resolves.toBe(true);
    await expect(login('wrong')).rejects.toMatchObject({ responseCode: 535 });
  });
});
