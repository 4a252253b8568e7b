import MailComposer from 'nodemailer/lib/mail-composer';
import { simpleParser } from 'mailparser';
import { composeMessage, serializeMimeTree } from '../../src/transports/mime';

// Bodies chosen for the encoders' edge cases: non-ASCII (QP or base64), lines over 76
// characters, trailing whitespace before a line break and at the end, lone CR and LF, CRLF,
// astral characters split across soft line breaks, and an HTML-only or text-only message.
const BODIES: { text?: string; html?: string }[] = [
  { text: 'Hi there,\n\nA short note.\n', html: '<div>Hi there,<br>A short note.</div>' },
  { text: 'Grüße aus Köln ✓ '.repeat(20) + '\n trailing space \nlast line', html: `<p>${'long line without breaks '.repeat(30)}</p>\r\n<p>é</p>` },
  { text: '🙂'.repeat(100), html: 'x\ry\nz\r\n\t \t' },
  { text: 'a'.repeat(500) },
  { html: '<p>only html Ω</p>' },
  { text: 'ends with a carriage return\r' },
  { text: `${'=3D= '.repeat(40)}\n.\n..leading dots\n`, html: '日本語のテキスト'.repeat(30) },
];

function composerFor(body: { text?: string; html?: string }, subject: string): MailComposer {
  return new MailComposer({
    from: { address: 'sender@example.test', name: 'Jürgen "J" Ö' },
    to: 'rcpt@example.test',
    subject,
    messageId: '<1@example.test>',
    inReplyTo: '<0@example.test>',
    references: ['<0@example.test>'],
    headers: { 'List-Unsubscribe': '<https://t.example.test/u/1>', 'Feedback-ID': 'a:b:c:outreach' },
    date: new Date('2026-01-02T03:04:05Z'),
    xMailer: false,
    disableFileAccess: true,
    disableUrlAccess: true,
    ...body,
  });
}

describe('serializeMimeTree', () => {
  it.each(BODIES.map((body, index) => [index, body] as const))('writes the same bytes as MimeNode.build() (body %i)', async (_index, body) => {
    const tree = composerFor(body, `Grüße ${'x'.repeat(100)}`).compile();
    const streamed = await tree.build();
    const synchronous = serializeMimeTree(tree);
    expect(synchronous?.toString('utf8')).toBe(streamed.toString('utf8'));
    expect(synchronous?.equals(streamed)).toBe(true);
  });

  it('round-trips through a MIME parser', async () => {
    const raw = serializeMimeTree(composerFor(BODIES[1] ?? {}, 'Grüße').compile());
    if (!raw) throw new Error('not serialized');
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe('Grüße');
    expect(parsed.text).toBe(BODIES[1]?.text);
    expect(parsed.from?.value[0]).toEqual({ address: 'sender@example.test', name: 'Jürgen "J" Ö' });
  });

  it('leaves a tree with streamed content to build()', async () => {
    const { Readable } = await import('node:stream');
    const composer = new MailComposer({ from: 'a@example.test', to: 'b@example.test', subject: 's', text: Readable.from(['streamed body']) as unknown as string, xMailer: false });
    expect(serializeMimeTree(composer.compile())).toBeUndefined();
  });
});

describe('composeMessage', () => {
  it('strips line breaks from every header value', async () => {
    const raw = await composeMessage({
      from: { address: 'sender@example.test', name: 'Evil\r\nBcc: victim@example.test' },
      to: 'rcpt@example.test',
      subject: 'Hello\r\nX-Injected: yes',
      text: 'body',
      html: '<p>body</p>',
      messageId: '<2@example.test>',
      headers: { 'X-Note': 'one\ntwo', 'Bad Name': 'dropped' },
    });
    const head = raw.toString().split('\r\n\r\n')[0] ?? '';
    expect(head).not.toMatch(/^Bcc:/im);
    expect(head).not.toMatch(/^X-Injected:/im);
    expect(head).toMatch(/^X-Note: one two$/m);
    expect(head).not.toMatch(/Bad Name/);
  });
});
