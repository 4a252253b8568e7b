import crypto from 'node:crypto';
import { simpleParser } from 'mailparser';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { buildMessage, extractLinks, MessageBuildError, prepareMessage, type BuildMessageInput } from '../../src/sending/message-builder';
import { findLink, upsertLinks } from '../../src/tracking/link.repository';
import { createTrackingSigner } from '../../src/tracking/tracking-token';
import { createSmtpTransport } from '../../src/transports/smtp.transport';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';

const signer = createTrackingSigner('test-secret-0123456789abcdef0123456789', 'https://track.acme.test');

function input(over: Partial<BuildMessageInput> = {}): BuildMessageInput {
  return {
    client: { id: '11111111-1111-4111-8111-111111111111', name: 'Acme', postal_address: 'Acme Ltd\n1 Main St, Springfield' },
    account: { id: '22222222-2222-4222-8222-222222222222', email: 'ann@acme.test', display_name: 'Ann Sender' },
    campaign: { id: '33333333-3333-4333-8333-333333333333', track_opens: false, track_clicks: false },
    step: { id: '44444444-4444-4444-8444-444444444444', step_number: 1, subject: '{Hi|Hello} {{first_name|there}}', body_html: '<html><body><p>Hi {{first_name|there}} at {{company}}</p><a href="https://acme.test/offer?a=1&amp;b=2">Offer</a></body></html>', body_text: '' },
    contact: { email: 'bob@example.test', first_name: 'Bob', last_name: 'Ray', company: 'Example Inc', custom_fields: {} },
    queue: { id: 42, message_id: '<q42.abc@acme.test>', to_email: 'bob@example.test' },
    signer,
    ...over,
  };
}

describe('buildMessage', () => {
  it('renders parts, appends the unsubscribe link and postal address, and sets the required headers', () => {
    const message = buildMessage(input({ unsubscribeMailto: 'unsub@acme.test' }));
    const unsubscribeUrl = signer.unsubscribeUrl(42);
    expect(message.messageId).toBe('<q42.abc@acme.test>');
    expect(message.subject).toMatch(/^(Hi|Hello) Bob$/);
    expect(message.html).toContain('Hi Bob at Example Inc');
    expect(message.html).toContain(`<a href="${unsubscribeUrl}">Unsubscribe</a>`);
    expect(message.html).toContain('Acme Ltd<br>1 Main St, Springfield');
    expect(message.html.indexOf('Unsubscribe')).toBeLessThan(message.html.indexOf('</body>'));
    expect(message.text).toContain('Hi Bob at Example Inc');
    expect(message.text).toContain(`Unsubscribe: ${unsubscribeUrl}`);
    expect(message.text).toContain('1 Main St, Springfield');
    expect(message.headers).toEqual({
      'List-Unsubscribe': `<${unsubscribeUrl}>, <mailto:unsub@acme.test?subject=unsubscribe>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'Feedback-ID': '33333333-3333-4333-8333-333333333333:11111111-1111-4111-8111-111111111111:22222222-2222-4222-8222-222222222222:outreach',
    });
    expect(message.inReplyTo).toBeUndefined();
  });

  it('renders the same message for every retry of the same row', () => {
    expect(buildMessage(input())).toEqual(buildMessage(input()));
  });

  it('builds an HTML part from a text-only step', () => {
    const message = buildMessage(input({ step: { ...input().step, body_html: '', body_text: 'Hi {{first_name}}\n<b>not markup</b>' } }));
    expect(message.html).toContain('Hi Bob<br>');
    expect(message.html).toContain('&lt;b&gt;not markup&lt;/b&gt;');
    expect(message.text).toMatch(/^Hi Bob\n<b>not markup<\/b>/);
  });

  it('threads a follow-up under the earlier messages and reuses their subject when its own is empty', () => {
    const message = buildMessage(
      input({ step: { ...input().step, step_number: 2, subject: '' }, thread: { inReplyTo: '<q1@acme.test>', references: ['<q0@acme.test>'], subject: 'Quick question' } }),
    );
    expect(message.inReplyTo).toBe('<q1@acme.test>');
    expect(message.references).toEqual(['<q0@acme.test>', '<q1@acme.test>']);
    expect(message.subject).toBe('Re: Quick question');
  });

  it('adds an open pixel and rewrites only known links through signed click URLs', () => {
    const message = buildMessage(input({ campaign: { ...input().campaign, track_opens: true, track_clicks: true }, linkIds: new Map([['https://acme.test/offer?a=1&b=2', 7]]) }));
    expect(message.html).toContain(`href="${signer.clickUrl(42, 7)}"`);
    expect(message.html).not.toContain('acme.test/offer');
    expect(message.html).toContain(`<img src="${signer.openUrl(42)}"`);
    // The unsubscribe link is never rewritten.
    expect(message.html).toContain(`href="${signer.unsubscribeUrl(42)}"`);
  });

  it('strips CR/LF from every header value built from contact or account data', () => {
    const message = buildMessage(
      input({
        account: { ...input().account, display_name: 'Ann\r\nBcc: victim@evil.test' },
        contact: { ...input().contact, first_name: 'x\r\nBcc: victim@evil.test' },
        step: { ...input().step, subject: 'Hello {{first_name}}' },
      }),
    );
    expect(message.subject).toBe('Hello x Bcc: victim@evil.test');
    expect(message.from.name).toBe('Ann Bcc: victim@evil.test');
    for (const value of [message.subject, message.from.name, ...Object.values(message.headers)]) expect(value).not.toMatch(/[\r\n]/);
  });

  it('refuses a recipient that is not one plain address', () => {
    expect(() => buildMessage(input({ queue: { ...input().queue, to_email: 'bob@example.test, victim@evil.test' } }))).toThrow(MessageBuildError);
    expect(() => buildMessage(input({ queue: { ...input().queue, to_email: 'bob@example.test\r\nBcc: victim@evil.test' } }))).toThrow(MessageBuildError);
  });

  it('extracts the links click tracking would rewrite', () => {
    expect(extractLinks('<a href="https://a.test/x?y=1&amp;z=2">a</a><a href=\'http://b.test\'>b</a><a href="mailto:c@d.test">c</a>')).toEqual([
      'https://a.test/x?y=1&z=2',
      'http://b.test',
    ]);
  });
});

describe('tracked links and a real message on the wire', () => {
  const t = useTestDatabase();
  let peer: SmtpPeer;
  let ids: { clientId: string; campaignId: string; stepId: string };

  beforeAll(async () => {
    peer = await startSmtpPeer();
    const client = await t.db.insertInto('clients').values({ name: 'Acme', postal_address: 'Acme Ltd, 1 Main St' }).returning('id').executeTakeFirstOrThrow();
    const campaign = await t.db.insertInto('campaigns').values({ client_id: client.id, name: 'c', track_clicks: true }).returning('id').executeTakeFirstOrThrow();
    const step = await t.db.insertInto('sequence_steps').values({ campaign_id: campaign.id, step_number: 1, subject: 's' }).returning('id').executeTakeFirstOrThrow();
    ids = { clientId: client.id, campaignId: campaign.id, stepId: step.id };
  });
  afterAll(async () => {
    await peer.close();
  });

  it('stores each link once per step and reads the target back by id', async () => {
    const first = await upsertLinks(t.db, { ...ids, urls: ['https://a.test/1', 'https://a.test/2', 'https://a.test/1'] });
    const second = await upsertLinks(t.db, { ...ids, urls: ['https://a.test/2', 'https://a.test/3'] });
    expect(first.size).toBe(2);
    expect(second.get('https://a.test/2')).toBe(first.get('https://a.test/2'));
    expect(await findLink(t.db, second.get('https://a.test/3') ?? 0)).toMatchObject({ url: 'https://a.test/3', campaignId: ids.campaignId });
  });

  it('delivers a DKIM-signed message with the required headers and no injected headers from hostile contact fields', async () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dkim = { domainName: 'acme.test', keySelector: 'sel1', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const dnsRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
    const hostile = 'x\r\nBcc: victim@evil.test\r\nX-Injected: yes';
    const base = input();
    const message = await prepareMessage(t.db, {
      ...base,
      client: { ...base.client, id: ids.clientId },
      campaign: { id: ids.campaignId, track_opens: true, track_clicks: true },
      step: { ...base.step, id: ids.stepId, subject: 'Hi {{first_name}} at {{company}}' },
      contact: { ...base.contact, first_name: hostile, company: `Evil\nX-Other: 1` },
      account: { ...base.account, display_name: hostile },
      thread: { inReplyTo: '<q1@acme.test>' },
    });
    const transport = createSmtpTransport({ host: peer.host, port: peer.port, dkim });
    try {
      expect(await transport.send(message)).toMatchObject({ outcome: 'accepted' });
    } finally {
      await transport.close();
    }
    const received = peer.received.find((r) => r.raw.includes('<q42.abc@acme.test>'));
    if (!received) throw new Error('message not received');
    expect(received.to).toEqual(['bob@example.test']);

    const parsed = await simpleParser(received.raw);
    expect(parsed.messageId).toBe('<q42.abc@acme.test>');
    expect(parsed.inReplyTo).toBe('<q1@acme.test>');
    expect(received.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    expect(String(parsed.headers.get('feedback-id'))).toContain(ids.campaignId);
    expect(received.raw).toMatch(new RegExp(`^List-Unsubscribe: <${signer.unsubscribeUrl(42).replace(/[.?+]/g, '\\$&')}>\\r?$`, 'm'));
    expect(parsed.subject).toBe('Hi x Bcc: victim@evil.test X-Injected: yes at Evil X-Other: 1');
    const headerBlock = received.raw.slice(0, received.raw.indexOf('\r\n\r\n'));
    expect(headerBlock).not.toMatch(/^(Bcc|X-Injected|X-Other):/im);
    expect(parsed.bcc).toBeUndefined();

    const links = await upsertLinks(t.db, { ...ids, urls: ['https://acme.test/offer?a=1&b=2'] });
    expect(parsed.html).toContain(signer.clickUrl(42, links.get('https://acme.test/offer?a=1&b=2') ?? -1));
    expect(parsed.text).toContain(`Unsubscribe: ${signer.unsubscribeUrl(42)}`);

    const resolver = async (name: string, type: string) => {
      if (type === 'TXT' && name === 'sel1._domainkey.acme.test') return [[dnsRecord]];
      throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
    };
    const verified = await dkimVerify(Buffer.from(received.raw), { resolver });
    expect(verified.results).toHaveLength(1);
    expect(verified.results[0]).toMatchObject({ signingDomain: 'acme.test', selector: 'sel1', status: { result: 'pass' } });
    const signedHeaders = /[;\s]h=([^;]+);/.exec(received.raw.replace(/\r\n\s+/g, ' '))?.[1]?.toLowerCase() ?? '';
    for (const header of ['from', 'to', 'subject', 'message-id', 'list-unsubscribe', 'list-unsubscribe-post', 'feedback-id']) {
      expect(signedHeaders.split(':').map((h) => h.trim())).toContain(header);
    }
  });
});
