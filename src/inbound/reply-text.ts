/**
 * The new text of a reply: its quoted history removed (planer, a port of Mailgun's talon, knows
 * the "On … wrote:" / "-----Original Message-----" / "From: … Sent:" splitters of the common
 * clients in several languages) and reduced to safe plain text. The result is never HTML: the
 * HTML part is only used, converted to text, when a message has no text part; whoever shows it
 * must still escape it like any text.
 */
import { extractFromPlain } from 'planer';

const MAX_CHARS = 20_000;
// The new text is at the top; planer's splitter patterns need not read a 10 MB quoted history.
const MAX_SOURCE_CHARS = 100_000;
// Splitters planer lacks: Gmail's and Apple Mail's Spanish, Italian and Portuguese headers.
const MORE_SPLITTERS = /^[ \t]*(?:El|Il giorno|Em|Il)\b.{0,200}\b(?:escribió|ha scritto|escreveu)\s*:?\s*$/im;

function htmlAsText(html: string): string {
  // Loaded on first use: most replies carry a text part and never need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { convert } = require('html-to-text') as typeof import('html-to-text');
  return convert(html, { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }, { selector: 'a', options: { ignoreHref: true } }] });
}

/** Control characters (but tab and newline) and the bidirectional overrides that can disguise text. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufeff]/g;

export function replyText(text: string | undefined, html: string | undefined): string {
  const source = text !== undefined && text.trim() !== '' ? text : html ? htmlAsText(html) : '';
  const normalised = source.slice(0, MAX_SOURCE_CHARS).replace(/\r\n?/g, '\n');
  const extra = MORE_SPLITTERS.exec(normalised);
  const own = extractFromPlain(extra ? normalised.slice(0, extra.index) : normalised);
  return own.replace(UNSAFE, '').replace(/\n{3,}/g, '\n\n').trim().slice(0, MAX_CHARS);
}
