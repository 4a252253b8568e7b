/**
 * Bounces without a usable delivery-status part: the recipients and their SMTP errors are read
 * from the notification's words. One reader for the common layouts rather than one per MTA,
 * since they share two shapes:
 *
 *   address on its own line, the error on the lines under it       Exim ("  gone@x.test\n    host …
 *                                                                   550 5.1.1 …"), Sendmail,
 *                                                                   Gmail's older notices, Exchange
 *                                                                   ("gone@x.test<mailto:…>")
 *   "<address>:" and the error on the same or the next lines        qmail, Yahoo, Courier, Postfix
 *
 * plus the sentences that name the address: Gmail's "Your message wasn't delivered to gone@x.test
 * because …" / "There was a temporary problem delivering your message to …", Domino's "was not delivered to:", and Exim's
 * X-Failed-Recipients header. An error found nowhere near an address (Exchange's "Remote Server
 * returned '550 5.1.10 …'", Gmail's "The response was:") is given to the recipients that have
 * none.
 *
 * Failed or delayed comes from the notification's own words (warnings, "will retry",
 * "deferred"); a bounce that does not say it is a warning is a failure, classified as final.
 */
import { addressIn } from './addresses';
import { classifyRecipient } from './delivery-status';
import type { DeliveryAction, DeliveryRecipient } from './inbound-classification';

/** Where the returned copy of our message starts: nothing after it is the MTA's own text. */
const COPY_MARKERS = [
  /^-+ ?This is a copy of the message/im, // Exim
  /^-+ ?Below this line is a copy of the message/im, // qmail, Yahoo
  /^-+ ?Enclosed (?:is a copy|are the original headers)/im, // qmail variants
  /^Original message headers:/im, // Exchange
  /^-+ ?(?:Original message follows|Unsent message below|Original message) ?-+/im, // Sendmail, Domino
  /^-+ ?The header of the original message is following/im,
  /^-+ ?Original Message Header ?-+/im,
];

/** Words that make a notification a warning about a delay, not a failure. */
const DELAY_WORDS = /\bTHIS IS A WARNING(?: MESSAGE)? ONLY\b|\bhas not (?:yet )?been delivered\b|\bnot yet been delivered\b|\bdelivery (?:is|has been) delayed\b|\bdelayed to these recipients\b|\bwill (?:continue to )?(?:be )?retr(?:y|ied)\b|\bstill (?:trying|being retried)\b|\bfollowing address(?:\(es\)|es)? deferred\b|\btransient non-fatal errors\b|\btemporary problem delivering\b|\bno action is required on your part\b|\bdelivery incomplete\b/i;

const SMTP_REPLY = /(?:^|[\s'"(#])([45]\d\d(?:[ -][245]\.\d{1,3}\.\d{1,3})?[ -:][^\n]*)/;
const ENHANCED = /\b[245]\.\d{1,3}\.\d{1,3}\b/;

// "Name <a@b>" but not "Message-ID: <id@host>": a display name has no colon.
const ALONE_ON_LINE = /^[ \t]*(?:[^<>@:\n]*<)?([^\s<>@]+@[^\s<>@]+?)>?(?:<mailto:[^>]*>)?[ \t]*:?[ \t]*$/;
const ANGLE_COLON = /^[ \t]*<([^\s<>@]+@[^\s<>@]+)>:[ \t]*(.*)$/;
const GMAIL_SENTENCE = /(?:wasn't delivered to|was not delivered to|couldn't be delivered to|could not be delivered to|temporary problem delivering your message to)[ \t]*:?\s+<?(\S+@[^\s,<>]+?)>?[.,]?\s/gi;
const DETACHED_REPLY = /(?:Remote Server returned\s+'([^'\n]+)'|The (?:response|error that the other server returned) (?:from the remote server )?was:\s*\n+\s*([^\n]+)|Remote host said:\s*([^\n]+)|\(reason:\s*([^)\n]+)\)|<<<\s*([45]\d\d[^\n]*)|#([45]\d\d [245]\.\d{1,3}\.\d{1,3}[^#\n]*)##?)/i;

// Role addresses a notice names for help ("write to postmaster@…"), never a failed recipient.
const ROLE_ADDRESS = /^(?:postmaster|mailer-daemon|mail-daemon|abuse|hostmaster|helpdesk|noreply|no-reply)@/i;

interface Entry {
  address: string;
  lines: string[];
}

function noticeOnly(text: string): string {
  let end = text.length;
  for (const marker of COPY_MARKERS) {
    const match = marker.exec(text);
    if (match && match.index < end) end = match.index;
  }
  return text.slice(0, end);
}

/** Address lines and the error lines under or beside them. */
function entries(notice: string, ignore: ReadonlySet<string>): Entry[] {
  const found: Entry[] = [];
  let current: Entry | undefined;
  for (const line of notice.split(/\r?\n/)) {
    const angle = ANGLE_COLON.exec(line);
    const alone = angle ? undefined : ALONE_ON_LINE.exec(line);
    const address = addressIn(angle?.[1] ?? alone?.[1]);
    if (address && !ignore.has(address) && !ROLE_ADDRESS.test(address)) {
      current = found.find((entry) => entry.address === address) ?? { address, lines: [] };
      if (!found.includes(current)) found.push(current);
      if (angle?.[2]) current.lines.push(angle[2]);
      continue;
    }
    if (!current) continue;
    if (line.trim() === '') {
      // An error block ends at a blank line once it has any text (Exim leaves none inside one).
      if (current.lines.length > 0) current = undefined;
      continue;
    }
    current.lines.push(line.trim());
  }
  return found;
}

/** The error within an entry's lines: from its first SMTP reply on, else all of it. */
function errorText(lines: readonly string[]): string {
  const joined = lines.join('\n');
  const reply = DETACHED_REPLY.exec(joined);
  const fromReply = reply ? reply.slice(1).find((group) => group !== undefined) : SMTP_REPLY.exec(joined)?.[1];
  if (fromReply) {
    const start = joined.indexOf(fromReply);
    return joined.slice(start).replace(/\s+/g, ' ').trim();
  }
  return joined.replace(/\s+/g, ' ').trim();
}

export interface TextBounceInput {
  /** The notification's text (text/plain, or the HTML part as text). */
  text: string;
  subject: string;
  /** X-Failed-Recipients addresses. */
  failedRecipients: string[];
  /** Addresses never taken for a recipient: the notice's own To (our sender), the daemon itself. */
  ignore: ReadonlySet<string>;
}

/** The recipients a text bounce names, each failed or delayed and classified; empty when none is named. */
export function readTextBounce(input: TextBounceInput): DeliveryRecipient[] {
  const notice = noticeOnly(input.text);
  const action: DeliveryAction = DELAY_WORDS.test(notice) || /\b(?:delayed|delay|warning)\b/i.test(input.subject) ? 'delayed' : 'failed';
  const found = entries(notice, input.ignore);
  for (const match of notice.matchAll(GMAIL_SENTENCE)) {
    const address = addressIn(match[1]);
    if (address && !input.ignore.has(address) && !found.some((entry) => entry.address === address)) found.push({ address, lines: [] });
  }
  for (const failed of input.failedRecipients) {
    if (!found.some((entry) => entry.address === failed)) found.push({ address: failed, lines: [] });
  }
  // The X-Failed-Recipients header is authoritative when present: other addresses alone on a line
  // are then the notice's furniture (a postmaster contact, a help address).
  const recipients = input.failedRecipients.length > 0 ? found.filter((entry) => input.failedRecipients.includes(entry.address)) : found;

  const detached = DETACHED_REPLY.exec(notice);
  const noticeError = detached ? detached.slice(1).find((group) => group !== undefined) : undefined;
  return recipients
    .map((entry) => {
      let error = errorText(entry.lines);
      if (!ENHANCED.test(error) && !SMTP_REPLY.test(error) && noticeError) error = noticeError.trim();
      const status = ENHANCED.exec(error)?.[0];
      // A bare address list with no error at all still says which recipient failed.
      const recipient: DeliveryRecipient = {
        recipient: entry.address,
        action,
        ...(status ? { status } : {}),
        ...(error ? { diagnosticCode: { type: 'text', text: error } } : {}),
      };
      return classifyRecipient(recipient);
    })
    .filter((recipient) => recipient.diagnosticCode !== undefined || input.failedRecipients.includes(recipient.recipient) || recipients.length === 1);
}
