/**
 * Turns an OutgoingMessage into RFC 822 bytes with nodemailer's MailComposer, so the SMTP,
 * Gmail and sink transports put exactly the same message on the wire, and DKIM-signs it when
 * the sender domain has a key.
 */
import * as base64 from 'nodemailer/lib/base64';
import MailComposer from 'nodemailer/lib/mail-composer';
import type MimeNode from 'nodemailer/lib/mime-node';
import * as qp from 'nodemailer/lib/qp';
import { signDkimMessage, type DkimKey } from './dkim-signer';
import type { OutgoingMessage } from './transport';

export type DkimSettings = DkimKey;

/** Defence in depth: message-builder already strips CR/LF, but a transport must never emit a header break. */
const oneLine = (value: string): string => value.replace(/[\r\n\0]+/g, ' ');

export async function composeMessage(message: OutgoingMessage): Promise<Buffer> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.headers)) {
    // Header names are ours (never from contacts) but keep them to RFC 5322 field-name chars.
    if (/^[!-9;-~]+$/.test(key)) headers[key] = oneLine(value);
  }
  const composer = new MailComposer({
    from: { address: oneLine(message.from.address), name: oneLine(message.from.name) },
    to: oneLine(message.to),
    subject: oneLine(message.subject),
    messageId: oneLine(message.messageId),
    ...(message.inReplyTo ? { inReplyTo: oneLine(message.inReplyTo) } : {}),
    ...(message.references?.length ? { references: message.references.map(oneLine) } : {}),
    text: message.text,
    html: message.html,
    headers,
    xMailer: false,
    // Content comes from templates and contacts: never let it make nodemailer read files or URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const tree = composer.compile();
  return serializeMimeTree(tree) ?? tree.build();
}

/**
 * The bytes MimeNode.build() produces for a tree whose contents are all strings (ours always
 * are: no files, URLs, streams or Buffers), written in one synchronous pass with
 * nodemailer's own header builder and encoders. Why: build() streams every part through
 * Transform streams, pipelines and setImmediate hops, which cost ~300 µs of CPU per message
 * (a quarter of a worker's work per email); this takes ~60 µs. Undefined for a tree with
 * anything else (build() it). test/transports/mime.test.ts holds both to the same bytes.
 */
export function serializeMimeTree(root: MimeNode): Buffer | undefined {
  const parts: string[] = [];
  if (!appendNode(root, parts)) return undefined;
  let raw = parts.join('');
  // MimeNode's LastNewline stage: the message always ends with a line break.
  if (raw.endsWith('\r')) raw += '\n';
  else if (!raw.endsWith('\n')) raw += '\r\n';
  return Buffer.from(raw, 'utf8');
}

/** Mirrors MimeNode.stream(): headers, encoded content, then the children between boundaries. */
function appendNode(node: MimeNode, parts: string[]): boolean {
  const internals = node as MimeNode & { _raw?: unknown };
  const content = node.content;
  if (internals._raw || (content && typeof content !== 'string')) return false;
  parts.push(`${node.buildHeaders()}\r\n\r\n`);
  if (content) {
    const encoding = node.getTransferEncoding();
    parts.push(encoding === 'base64' ? base64.wrap(base64.encode(content), 76) : encoding === 'quoted-printable' ? qp.wrap(qp.encode(content), 76) : content);
  }
  // multipart and boundary are set by buildHeaders().
  if (node.multipart) {
    for (const [index, child] of node.childNodes.entries()) {
      parts.push(`${index > 0 ? '\r\n' : ''}--${node.boundary}\r\n`);
      if (!appendNode(child, parts)) return false;
    }
    parts.push(`\r\n--${node.boundary}--\r\n`);
  }
  return true;
}

/** Signs composed bytes; every signed header is over-signed (dkim-signer.ts). */
export async function signDkim(raw: Buffer, dkim: DkimSettings): Promise<Buffer> {
  return signDkimMessage(raw, dkim);
}

/** The envelope sender and recipient: bare addresses, never display names. */
export function envelopeOf(message: OutgoingMessage): { from: string; to: string[] } {
  return { from: oneLine(message.from.address), to: [oneLine(message.to)] };
}
