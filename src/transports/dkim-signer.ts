/**
 * DKIM signing (RFC 6376, rsa-sha256, relaxed/relaxed) with every signed header field
 * over-signed (§8.15): h= names each field once more than the message has it, the extra entry
 * standing for "no further instance". A header added in transit (a Reply-To, a second From,
 * a second Subject) then changes what the verifier hashes and breaks the signature.
 *
 * Why not nodemailer's signer: it lists each name at most once and drops the names the
 * message lacks, so it cannot over-sign (and mailauth's signer cannot either).
 * The message is in memory already (mime.ts composes it whole), so this is one synchronous
 * pass over a Buffer.
 */
import crypto from 'node:crypto';

export interface DkimKey {
  domainName: string;
  keySelector: string;
  /** PEM (RSA); never logged. */
  privateKey: string;
}

/**
 * The fields we sign, every one over-signed: the ones a forwarder could add to change what the
 * reader sees or where a reply goes, and both List-Unsubscribe headers (Gmail and Yahoo only
 * honour one-click unsubscribe when the signature covers them).
 */
export const SIGNED_HEADER_FIELDS = [
  'From', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'Cc', 'In-Reply-To', 'References',
  'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'Feedback-ID',
] as const;

interface HeaderField {
  /** Lower-cased name. */
  key: string;
  /** The whole field as it stands, folding included, without the final CRLF. */
  raw: string;
}

/** RFC 6376 §3.4.2: lower-case name, unfolded value, runs of SP/HTAB as one SP, no WSP at the ends or around the colon. */
function relaxedHeader(field: string): string {
  const colon = field.indexOf(':');
  const name = field.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase();
  const value = field
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
  return `${name}:${value}`;
}

/** RFC 6376 §3.4.4: no WSP at line ends, runs of WSP as one SP, no empty lines at the end, a non-empty body ends with CRLF. */
function relaxedBody(body: string): string {
  const reduced = body
    .replace(/[ \t]+(?=\r\n|$)/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/(?:\r\n)+$/, '');
  return reduced === '' ? '' : `${reduced}\r\n`;
}

/** d= and s= are DNS names: nothing that could end the tag or open another one. */
function tagValue(value: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(value)) throw new Error('DKIM domain and selector must be plain DNS names');
  return value;
}

/** `a:b:c…` broken after a colon every ~70 characters (FWS is allowed there, §3.5). */
function foldList(names: string[]): string {
  const lines = [''];
  for (const name of names) {
    const last = lines.length - 1;
    if (lines[last]!.length + name.length > 70) lines.push('');
    lines[lines.length - 1] += `${name}:`;
  }
  return lines.join('\r\n ').replace(/:$/, '');
}

/** Signs `raw` (line ends normalised to CRLF, as SMTP carries them) and returns it with its DKIM-Signature on top. */
export function signDkimMessage(raw: Buffer, key: DkimKey): Buffer {
  // latin1 keeps every byte as one char, so what is hashed is exactly what goes on the wire.
  const message = raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  const split = message.indexOf('\r\n\r\n');
  const headerBlock = split === -1 ? message.replace(/\r\n$/, '') : message.slice(0, split);
  const body = split === -1 ? '' : message.slice(split + 4);

  const fields: HeaderField[] = headerBlock
    .split(/\r\n(?![ \t])/)
    .filter((line) => line.includes(':'))
    .map((line) => ({ key: line.slice(0, line.indexOf(':')).trim().toLowerCase(), raw: line }));

  // h=: each name once per instance plus once more. Instances are hashed bottom-up (§5.4.2);
  // the extra entry matches no instance and hashes as nothing.
  const names: string[] = [];
  const hashed: string[] = [];
  for (const name of SIGNED_HEADER_FIELDS) {
    const key = name.toLowerCase();
    const instances = fields.filter((f) => f.key === key).reverse();
    for (const instance of instances) {
      names.push(name);
      hashed.push(relaxedHeader(instance.raw));
    }
    names.push(name);
  }

  const bodyHash = crypto.createHash('sha256').update(relaxedBody(body), 'latin1').digest('base64');
  const tags = [
    'v=1',
    'a=rsa-sha256',
    'c=relaxed/relaxed',
    `d=${tagValue(key.domainName.toLowerCase())}`,
    `s=${tagValue(key.keySelector)}`,
    `h=${foldList(names)}`,
    `bh=${bodyHash}`,
  ];
  // Folded between tags (relaxed canonicalisation unfolds it again); b= is empty while hashing.
  const unsigned = `DKIM-Signature: ${tags.join(';\r\n ')};\r\n b=`;
  const signedData = [...hashed, relaxedHeader(unsigned)].join('\r\n');
  const signature = crypto.sign('sha256', Buffer.from(signedData, 'latin1'), key.privateKey).toString('base64');
  const folded = signature.replace(/.{1,72}/g, (chunk, offset: number) => (offset === 0 ? chunk : `\r\n ${chunk}`));
  return Buffer.from(`${unsigned}${folded}\r\n${message}`, 'latin1');
}
