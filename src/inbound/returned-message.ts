/**
 * The headers of our message as a report returns them: a message/rfc822 or text/rfc822-headers
 * part, or quoted inline in the notification text (Exim's "This is a copy of the message",
 * qmail's "Below this line is a copy", Exchange's "Original message headers:"), from which come
 * the keys that find our row: Message-ID, Feedback-ID, To, From, Date.
 */
import { addressIn, dateIn, messageIdsIn } from './addresses';
import { headerText, parseHeaderBlock, type HeaderBlock } from './header-block';

export interface ReturnedHeaders {
  messageId?: string;
  feedbackId?: string;
  to?: string;
  from?: string;
  date?: Date;
  /** Microsoft JMRP names the complaining recipient here. */
  hotmailOriginalRecipient?: string;
}

export function returnedHeaders(block: HeaderBlock): ReturnedHeaders {
  const messageId = messageIdsIn(headerText(block, 'message-id'))[0];
  const feedbackId = headerText(block, 'feedback-id')?.replace(/\s+/g, '');
  const to = addressIn(headerText(block, 'to'));
  const from = addressIn(headerText(block, 'from'));
  const date = dateIn(headerText(block, 'date'));
  const hotmailOriginalRecipient = addressIn(headerText(block, 'x-hmxmroriginalrecipient'));
  return {
    ...(messageId ? { messageId } : {}),
    ...(feedbackId ? { feedbackId } : {}),
    ...(to ? { to } : {}),
    ...(from ? { from } : {}),
    ...(date ? { date } : {}),
    ...(hotmailOriginalRecipient ? { hotmailOriginalRecipient } : {}),
  };
}

const HEADER_LINE = /^[!-9;-~]+[ \t]*:/;
// A notice quotes one original, a digest a few; more is hostile and only costs time.
const MAX_INLINE_BLOCKS = 10;
const INLINE_MESSAGE_ID = /^([> \t]*)Message-ID[ \t]*:/gim;

/**
 * Header blocks quoted in a notification's text, found from their Message-ID line: the run of
 * header and continuation lines around it, with a common quoting prefix ("> ", indentation)
 * removed. Finds the returned headers whatever words the MTA put before them.
 */
export function inlineHeaderBlocks(text: string): HeaderBlock[] {
  if (!/message-id/i.test(text)) return [];
  const blocks: HeaderBlock[] = [];
  const lines = text.split(/\r?\n/);
  const lineStarts: number[] = [];
  let offset = 0;
  for (const line of lines) {
    lineStarts.push(offset);
    offset += line.length + 1;
  }
  for (const match of text.matchAll(INLINE_MESSAGE_ID)) {
    if (blocks.length === MAX_INLINE_BLOCKS) break;
    const prefix = match[1] ?? '';
    // The line of this match: the last line starting at or before it (the text split on \n keeps \r at line ends).
    let index = lineStarts.length - 1;
    while (index > 0 && (lineStarts[index] as number) > (match.index ?? 0)) index -= 1;
    const inRun = (line: string | undefined) => {
      if (line === undefined || !line.startsWith(prefix)) return false;
      const rest = line.slice(prefix.length).replace(/\r$/, '');
      return rest.trim() !== '' && (HEADER_LINE.test(rest) || rest[0] === ' ' || rest[0] === '\t');
    };
    let first = index;
    while (first > 0 && inRun(lines[first - 1])) first -= 1;
    // A run never starts with a continuation line.
    while (first < index && /^[ \t]/.test((lines[first] as string).slice(prefix.length))) first += 1;
    let last = index;
    while (last + 1 < lines.length && inRun(lines[last + 1])) last += 1;
    const run = lines.slice(first, last + 1).map((line) => line.slice(prefix.length)).join('\n');
    blocks.push(parseHeaderBlock(run));
  }
  return blocks;
}
