/**
 * RFC 5322 header blocks: a message's headers, a returned message's headers, and the
 * header-like field groups of delivery-status and feedback-report parts. Values are kept raw
 * (unfolded, not decoded) and read through `headerText`, which decodes MIME words and 8-bit
 * UTF-8 only when asked: most fields are never read.
 */
import libmime from 'libmime';

/** Lower-case field name → every value in order of appearance. */
export type HeaderBlock = ReadonlyMap<string, readonly string[]>;

const FIELD = /^([!-9;-~]+)[ \t]*:[ \t]*(.*)$/;

/**
 * The fields of header-formatted text in order, continuation lines (leading space or tab)
 * joined to their field, each with the number of its blank-line-separated group. Stops at the first empty line unless `acrossBlankLines` (the field
 * groups of a delivery-status part, whose blank lines some MTAs leave out or double). Lines
 * that are neither a field nor a continuation (garbage, a quoted "> " line) are skipped, as
 * mail readers do.
 */
export function readFields(text: string, acrossBlankLines = false): Array<[name: string, value: string, group: number]> {
  const fields: Array<[string, string, number]> = [];
  let current: [string, string, number] | undefined;
  // Which blank-line-separated group a field is in (delivery-status blocks).
  let group = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (!acrossBlankLines) break;
      if (current) group += 1;
      current = undefined;
      continue;
    }
    if ((line[0] === ' ' || line[0] === '\t') && current) {
      current[1] += ` ${line.trim()}`;
      continue;
    }
    const match = FIELD.exec(line);
    current = match ? [(match[1] as string).toLowerCase(), match[2] as string, group] : undefined;
    if (current) fields.push(current);
  }
  for (const field of fields) field[1] = field[1].trim();
  return fields;
}

/** The header block at the start of `text` as a map (see readFields). */
export function parseHeaderBlock(text: string): Map<string, string[]> {
  const block = new Map<string, string[]>();
  for (const [name, value] of readFields(text)) {
    const values = block.get(name);
    if (values) values.push(value);
    else block.set(name, [value]);
  }
  return block;
}

/**
 * The header block at the start of `text`, and where the body begins. Accepts CRLF or LF; a
 * block with no empty line after it is all headers.
 */
export function splitHeaders(text: string): { headers: string; bodyStart: number } {
  const lf = text.indexOf('\n\n');
  const crlf = text.indexOf('\r\n\r\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { headers: text.slice(0, crlf), bodyStart: crlf + 4 };
  if (lf >= 0) return { headers: text.slice(0, lf), bodyStart: lf + 2 };
  return { headers: text, bodyStart: text.length };
}

// A raw value holds the header's bytes as latin1 characters; 8-bit bytes are most often UTF-8.
const HIGH_BYTES = /[\u0080-\u00ff]/;

/** Bytes read as latin1 → text, taking 8-bit sequences as UTF-8 when they are valid UTF-8. */
export function latin1ToText(raw: string): string {
  if (!HIGH_BYTES.test(raw)) return raw;
  const bytes = Buffer.from(raw, 'latin1');
  const utf8 = bytes.toString('utf8');
  return utf8.includes('\ufffd') ? raw : utf8;
}

/** The first value of a field, decoded (MIME encoded words, 8-bit UTF-8), or undefined. */
export function headerText(block: HeaderBlock, name: string): string | undefined {
  const raw = block.get(name)?.[0];
  if (raw === undefined) return undefined;
  const text = latin1ToText(raw);
  return text.includes('=?') ? libmime.decodeWords(text) : text;
}

/** Every value of a field, raw. */
export function headerValues(block: HeaderBlock, name: string): readonly string[] {
  return block.get(name) ?? [];
}
