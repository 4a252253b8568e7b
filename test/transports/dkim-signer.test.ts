/**
 * Over-signing (RFC 6376 §8.15) along the real path: the message built by buildMessage, sent
 * by the SMTP transport with a DKIM key, captured by a real smtp-server peer, and checked by
 * mailauth (another implementation than the signer) against the test's public key.
 */
import crypto from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { buildMessage } from '../../src/sending/message-builder';
import { createTrackingSigner } from '../../src/tracking/tracking-token';
import { createSmtpTransport } from '../../src/transports/smtp.transport';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';

const OVERSIGNED = ['From', 'To', 'Subject', 'Date', 'Reply-To', 'Message-ID', 'In-Reply-To', 'References', 'List-Unsubscribe', 'List-Unsubscribe-Post'];

const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const dkim = { domainName: 'acme.test', keySelector: 'sel1', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
const dnsRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === 'sel1._domainkey.acme.test') return [[dnsRecord]];
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
};

async function verify(raw: string): Promise<string | undefined> {
  const result = await dkimVerify(Buffer.from(raw, 'binary'), { resolver });
  expect(result.results).toHaveLength(1);
  return result.results[0]?.status.result;
}

/** Inserts a header field right after the DKIM-Signature field, as a relay appending below it would. */
function addBelowSignature(raw: string, field: string): string {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const lines = raw.slice(0, headerEnd).split(/\r\n(?![ \t])/);
  const at = lines.findIndex((l) => /^DKIM-Signature:/i.test(l)) + 1;
  lines.splice(at, 0, field);
  return lines.join('\r\n') + raw.slice(headerEnd);
}

describe('DKIM over-signing', () => {
  let peer: SmtpPeer;
  let raw: string;

  beforeAll(async () => {
    peer = await startSmtpPeer();
    const message = buildMessage({
      client: { id: '11111111-1111-4111-8111-111111111111', name: 'Acme', postal_address: 'Acme Ltd, 1 Main St' },
      account: { id: '22222222-2222-4222-8222-222222222222', email: 'ann@acme.test', display_name: 'Ann Sender' },
      campaign: { id: '33333333-3333-4333-8333-333333333333', track_opens: false, track_clicks: false },
      step: { id: '44444444-4444-4444-8444-444444444444', step_number: 2, subject: 'Following up, {{first_name}}', body_html: '', body_text: 'Hi {{first_name}},\n\njust checking in.  \n\n\n' },
      contact: { email: 'bob@example.test', first_name: 'Bob', last_name: 'Ray', company: 'Example', custom_fields: {} },
      queue: { id: 7, message_id: '<q7@acme.test>', to_email: 'bob@example.test' },
      signer: createTrackingSigner('test-secret-0123456789abcdef0123456789', 'https://track.acme.test'),
      thread: { inReplyTo: '<q6@acme.test>', references: ['<q6@acme.test>'] },
    });
    const transport = createSmtpTransport({ host: peer.host, port: peer.port, dkim });
    try {
      expect(await transport.send(message)).toMatchObject({ outcome: 'accepted' });
    } finally {
      await transport.close();
    }
    raw = peer.received[0]!.raw;
  });

  afterAll(async () => {
    await peer.close();
  });

  it('signs a message that verifies as sent', async () => {
    expect(await verify(raw)).toBe('pass');
  });

  it('lists every over-signed field in h= once more than the message has it', () => {
    const headerBlock = raw.slice(0, raw.indexOf('\r\n\r\n'));
    const signed = /[;\s]h=([^;]+);/.exec(headerBlock.replace(/\r\n[ \t]+/g, ' '))?.[1]?.split(':').map((h) => h.trim().toLowerCase()) ?? [];
    const fields = headerBlock.split(/\r\n(?![ \t])/).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
    for (const name of OVERSIGNED.map((n) => n.toLowerCase())) {
      const present = fields.filter((f) => f === name).length;
      expect({ name, listed: signed.filter((h) => h === name).length }).toEqual({ name, listed: present + 1 });
    }
    // The message has them (so the test covers signed instances, not only the empty extra one), but no Reply-To.
    for (const name of ['from', 'to', 'subject', 'date', 'message-id', 'in-reply-to', 'references', 'list-unsubscribe', 'list-unsubscribe-post']) expect(fields).toContain(name);
    expect(fields).not.toContain('reply-to');
  });

  it('breaks when a Reply-To is added in transit', async () => {
    expect(await verify(addBelowSignature(raw, 'Reply-To: thief@evil.test'))).toBe('fail');
  });

  it('breaks when a second From is prepended', async () => {
    expect(await verify(`From: CEO <ceo@evil.test>\r\n${raw}`)).toBe('fail');
  });

  it('breaks when a second Subject or List-Unsubscribe is added', async () => {
    expect(await verify(addBelowSignature(raw, 'Subject: Urgent: wire the money'))).toBe('fail');
    expect(await verify(addBelowSignature(raw, 'List-Unsubscribe: <https://evil.test/u>'))).toBe('fail');
  });
});
